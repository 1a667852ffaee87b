"""The alert rules (ops/prometheus/alerts.yml) are valid and behave as their unit tests say: `promtool check rules`
and `promtool test rules ops/prometheus/alerts_test.yml` (every rule firing on one series, quiet on another)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

PROM = Path(__file__).resolve().parents[2] / "ops" / "prometheus"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("promtool")
    assert exe, "promtool not found: Debian package prometheus (ops/test installs it)"
    return subprocess.run([exe, *args], cwd=PROM, capture_output=True, text=True, timeout=120)


def test_rules_check() -> None:
    out = promtool("check", "rules", "alerts.yml")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: 8 rules found" in out.stdout


def test_rules_unit_tests_pass() -> None:
    out = promtool("test", "rules", "alerts_test.yml")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_every_rule_is_tested_firing_and_quiet() -> None:
    rules = {r["alert"] for g in yaml.safe_load((PROM / "alerts.yml").read_text())["groups"] for r in g["rules"]}
    firing: set[str] = set()
    quiet: set[str] = set()
    for test in yaml.safe_load((PROM / "alerts_test.yml").read_text())["tests"]:
        for case in test["alert_rule_test"]:
            (firing if case["exp_alerts"] else quiet).add(case["alertname"])
    assert rules == firing
    # the reconciliation test shows the quiet pilots (under 10 %) in the same evaluation as the firing one
    assert rules - quiet == {"PraktijkReconciliatieOnverklaard"}


def test_a_broken_expectation_fails(tmp_path: Path) -> None:
    """promtool really compares: the same tests against a rule with another threshold fail."""
    broken = (
        (PROM / "alerts.yml")
        .read_text()
        .replace("praktijk_projection_freshness_seconds > 300", "praktijk_projection_freshness_seconds > 600")
    )
    (tmp_path / "alerts.yml").write_text(broken)
    shutil.copy(PROM / "alerts_test.yml", tmp_path / "alerts_test.yml")
    out = promtool("test", "rules", str(tmp_path / "alerts_test.yml"))
    assert out.returncode != 0
    assert "PraktijkProjectieVerouderd" in out.stdout + out.stderr
