"""A test run leaves nothing in the temp folders: the session check in tests/conftest.py fails a run that does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_inner.py").write_text(body)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.conftest",
            "--rootdir",
            str(tmp_path),
            str(tmp_path / "test_inner.py"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_a_run_that_leaves_a_praktijk_folder_fails_and_the_folder_is_gone(tmp_path: Path) -> None:
    done = _run(tmp_path, "import tempfile\n\ndef test_leak():\n    print(tempfile.mkdtemp(prefix='praktijk-keys-'))\n")
    assert done.returncode != 0
    assert "temporary files or folders left behind by this test run" in done.stdout + done.stderr
    assert "praktijk-keys-" in done.stdout + done.stderr


def test_a_run_that_cleans_up_passes(tmp_path: Path) -> None:
    done = _run(
        tmp_path,
        "import tempfile\n\ndef test_tidy(tmp_path):\n    (tmp_path / 'k').write_text('x')\n"
        "    with tempfile.TemporaryDirectory(prefix='praktijk-keys-'):\n        pass\n",
    )
    assert done.returncode == 0, done.stdout + done.stderr
