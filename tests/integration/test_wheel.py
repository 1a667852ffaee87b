"""A wheel built from the tree works outside it (the editable install in ops/ would hide a
package left out of the build). Slow-ish (a build, a fresh venv and pip), so not a unit test.

The wheel is installed without its dependencies: the fresh venv sees them in this environment's site-packages
through a ``.pth`` line (a path only: the ``.pth`` files there, the editable install's among them, are not read),
so ``registry`` is the wheel's. Installing them from the index again took ~20 s of the suite and checked what
``ops/lib.sh`` already does on every fresh clone; that the wheel declares them is checked here."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


ROOTS = ("registry", "consumers", "producers", "projections", "schemas")
# imports every module under the given packages (never a __main__: that runs its program) and prints their names
IMPORT_ALL = """
import importlib, pkgutil, sys
for root in sys.argv[1:]:
    for m in pkgutil.walk_packages(importlib.import_module(root).__path__, root + "."):
        if not m.name.endswith(".__main__"):
            importlib.import_module(m.name)
            print(m.name)
"""


def _modules(tree: Path) -> set[str]:
    """The module and subpackage names under ``ROOTS`` in a source tree, as ``IMPORT_ALL`` prints them."""
    out = set()
    for root in ROOTS:
        for f in (tree / root).rglob("*.py"):
            parts = f.relative_to(tree).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if len(parts) > 1 and parts[-1] != "__main__":
                out.add(".".join(parts))
    return out


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

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    required = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    names_of = lambda reqs: {canonicalize_name(r.name) for r in map(Requirement, reqs) if not r.marker}  # noqa: E731
    assert names_of(required) == names_of(declared)  # the extras' requirements carry a marker (extra == ...)

    venv = tmp_path / "venv"
    assert _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path).returncode == 0
    deps = Path(sysconfig.get_paths()["purelib"])  # this environment's: the wheel's dependencies are installed there
    (next(venv.glob("lib/python*/site-packages")) / "afhankelijkheden.pth").write_text(f"{deps}\n")
    installed = _run(
        [str(venv / "bin" / "pip"), "install", "-q", "--no-deps", "--disable-pip-version-check", str(wheel)],
        cwd=tmp_path,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]

    where = _run(
        [str(venv / "bin" / "python"), "-c", "import registry.api.app, registry; print(registry.__file__)"],
        cwd=tmp_path,
    )
    assert where.returncode == 0, where.stderr[-3000:]
    assert where.stdout.strip().startswith(str(venv)), f"imported from {where.stdout.strip()}, not the installed wheel"
    # every module of the tree is in the wheel and imports there, with the declared dependencies only
    walked = _run([str(venv / "bin" / "python"), "-c", IMPORT_ALL, *ROOTS], cwd=tmp_path)
    assert walked.returncode == 0, walked.stderr[-3000:]
    assert set(walked.stdout.split()) == _modules(source), "modules of the tree missing from the wheel"
    helped = _run([str(venv / "bin" / "praktijkregister"), "--help"], cwd=tmp_path)
    assert helped.returncode == 0 and "publish" in helped.stdout, helped.stderr[-3000:]
    checked = _run([str(venv / "bin" / "praktijkregister"), "schemas", "check"], cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr[-3000:]
    assert checked.stdout.startswith("ok: ")
