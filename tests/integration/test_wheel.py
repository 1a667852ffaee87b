"""A wheel built from the tree works outside it (the editable install in ops/ would hide a
package left out of the build). Slow-ish (~20 s: a fresh venv and pip), so not a unit test."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)


def test_the_wheel_installs_and_runs_outside_the_source_tree(tmp_path: Path) -> None:
    # build from a copy: setuptools writes build/ and *.egg-info next to the sources
    source = tmp_path / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            ".cache",
            "build",
            "*.egg-info",
            "__pycache__",
            ".mypy_cache",
            ".pytest_cache",
            ".hypothesis",
        ),
    )
    dist = tmp_path / "dist"
    built = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--disable-pip-version-check",
            "-w",
            str(dist),
            str(source),
        ],
        cwd=tmp_path,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    assert "warning" not in (built.stdout + built.stderr).lower(), "the build warns:\n" + built.stderr[-3000:]
    wheel = next(dist.glob("praktijkregister-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "registry/api/app.py",
        "registry/domein/data/pilots.csv",
        "schemas/TellingGemeld.v1.avsc",
        "registry/cli/main.py",
    ):
        assert needed in names, f"{needed} is missing from the wheel"
    assert not any(n.startswith("tests/") for n in names)

    venv = tmp_path / "venv"
    assert _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path).returncode == 0
    installed = _run(
        [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(wheel)], cwd=tmp_path
    )
    assert installed.returncode == 0, installed.stderr[-3000:]

    where = _run(
        [str(venv / "bin" / "python"), "-c", "import registry.api.app, registry; print(registry.__file__)"],
        cwd=tmp_path,
    )
    assert where.returncode == 0, where.stderr[-3000:]
    assert where.stdout.strip().startswith(str(venv)), f"imported from {where.stdout.strip()}, not the installed wheel"
    helped = _run([str(venv / "bin" / "praktijkregister"), "--help"], cwd=tmp_path)
    assert helped.returncode == 0 and "publish" in helped.stdout, helped.stderr[-3000:]
    checked = _run([str(venv / "bin" / "praktijkregister"), "schemas", "check"], cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr[-3000:]
    assert checked.stdout.startswith("ok: ")
