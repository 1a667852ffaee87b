"""ops/lib.sh helpers run in bash against a PATH of stand-ins (no apt-get, no root, no network)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASH = shutil.which("bash") or "/bin/bash"


def _bin(folder: Path, uid: int) -> Path:
    """A PATH holding only what ensure_wrk needs: the real mkdir/dirname/chmod, an ``id`` that says ``uid`` and an
    ``apt-get`` that "installs" wrk by writing a script next to itself."""
    folder.mkdir()
    for tool in ("mkdir", "dirname", "chmod"):
        real = shutil.which(tool)
        assert real, tool
        (folder / tool).symlink_to(real)
    (folder / "id").write_text(f"#!{BASH}\necho {uid}\n")
    (folder / "apt-get").write_text(
        f'#!{BASH}\necho "apt-get $*"\n'
        f'if [ "$1" = install ]; then printf "#!{BASH}\\necho wrk\\n" >"{folder}/wrk"; chmod +x "{folder}/wrk"; fi\n'
    )
    for name in ("id", "apt-get"):
        (folder / name).chmod(0o755)
    return folder


def _ensure_wrk(tmp_path: Path, uid: int) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    fake = _bin(tmp_path / "bin", uid)
    cache = tmp_path / "fresh-clone" / ".cache"  # does not exist yet, as in a fresh clone
    out = subprocess.run(
        [BASH, "-c", f'source "{ROOT}/ops/lib.sh"; ensure_wrk; command -v wrk || echo "no wrk"'],
        env={"PATH": str(fake), "PRAKTIJK_CACHE_DIR": str(cache)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    return out, fake, cache


def test_ensure_wrk_installs_on_a_fresh_clone_before_its_cache_folder_exists(tmp_path: Path) -> None:
    out, fake, cache = _ensure_wrk(tmp_path, uid=0)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(fake / "wrk"), "wrk must be on PATH after ensure_wrk"
    log = (cache / "apt-wrk.log").read_text()
    assert "apt-get update" in log and "apt-get install" in log and "wrk" in log


def test_ensure_wrk_without_root_skips_with_a_note_and_installs_nothing(tmp_path: Path) -> None:
    out, fake, cache = _ensure_wrk(tmp_path, uid=1000)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "no wrk"
    assert "wrk not installed" in out.stderr and "API latency skipped" in out.stderr
    assert not cache.exists()
