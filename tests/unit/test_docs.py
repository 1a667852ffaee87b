"""The documentation: a MkDocs site built in strict mode (a broken link fails), every setting documented, a README
of one screen, and no dated run history."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _mkdocs(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_site_builds_in_strict_mode(tmp_path: Path) -> None:
    done = _mkdocs(ROOT / "mkdocs.yml", tmp_path / "site")
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "site" / "operations" / "index.html").exists()


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    with (tmp_path / "docs" / "faults.md").open("a") as f:
        f.write("\nSee [nowhere](missing-page.md).\n")
    done = _mkdocs(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert done.returncode != 0 and "missing-page.md" in done.stderr


def test_every_setting_is_documented() -> None:
    source = (ROOT / "registry" / "infra" / "settings.py").read_text()
    names = set(re.findall(r'_(?:env|int|choice|duration)\("([A-Z0-9_]+)"', source))
    assert len(names) >= 20, names
    documented = (ROOT / "docs" / "settings.md").read_text()
    missing = sorted(n for n in names if f"PRAKTIJK_{n}" not in documented)
    assert not missing, f"settings missing from docs/settings.md: {missing}"


def test_readme_is_one_screen_and_docs_hold_no_run_history() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    dated = re.compile(r"20\d\d-\d\d-\d\d \d\d:\d\d|\d\d:\d\d today|this session|[Ll]ast (full )?(CI )?runs?\b")
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        hits = dated.findall(page.read_text())
        assert not hits, f"{page.name}: {hits}"


def test_code_and_docs_cite_no_issue_numbers() -> None:
    """An issue number means nothing to a reader of the code: say why, not which ticket."""
    cited = re.compile(r"\b[Ii]ssues? #?\d+")
    roots = ["registry", "consumers", "producers", "projections", "ops", "tests", "schemas", "docs"]
    suffixes = {".py", ".sh", ".md", ".yml", ".toml", ".html", ".js", ".avsc"}
    files = [p for r in roots for p in (ROOT / r).rglob("*") if p.suffix in suffixes and p.is_file()]
    files += [ROOT / "README.md", ROOT / "pyproject.toml", *(ROOT / "ops").glob("*")]
    me = Path(__file__).resolve()
    hits = [
        f"{p.relative_to(ROOT)}: {m}" for p in files if p.is_file() and p != me for m in cited.findall(p.read_text())
    ]
    assert len(files) > 200 and not hits, hits[:10]
