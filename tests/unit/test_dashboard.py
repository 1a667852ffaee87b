"""The Grafana dashboard (ops/grafana/dashboards/praktijkregister.json): every panel's PromQL parses (promtool, as
recording rules) and names only metrics the code exports (collected from the code's prometheus-client registries)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import yaml
from prometheus_client import REGISTRY, CollectorRegistry

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "ops" / "grafana" / "dashboards" / "praktijkregister.json"
SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
    "gauge": ("",),
    "summary": ("_count", "_sum"),
}


def exported(registry: CollectorRegistry) -> set[str]:
    """Series names a registry exports (a counter as ``_total``, a histogram as ``_bucket``/``_count``/``_sum``)."""
    return {family.name + suffix for family in registry.collect() for suffix in SUFFIXES.get(family.type, ("",))}


def exported_by_the_code() -> set[str]:
    import consumers.parkeer  # noqa: F401  (the validator's own counters register on import)
    import registry.infra.metrics  # noqa: F401
    from registry.api.metrics import ApiMetrics

    return exported(REGISTRY) | exported(ApiMetrics().registry) | {"up"}  # up: Prometheus' own per target


def expressions() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [t["expr"] for p in panels for t in p["targets"]]


def metric_names(expr: str) -> set[str]:
    """The metric names in a PromQL expression: ours all start with praktijk (plus up); quoted strings are values."""
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    return set(re.findall(r"\b(praktijk\w*|up)\b(?=\s*[{\[)\s]|$)", bare))


def test_every_panel_parses(tmp_path: Path) -> None:
    exprs = expressions()
    rules = {
        "groups": [{"name": "dashboard", "rules": [{"record": f"panel:{i}", "expr": e} for i, e in enumerate(exprs)]}]
    }
    (tmp_path / "dashboard.rules.yml").write_text(yaml.safe_dump(rules))
    exe = shutil.which("promtool")
    assert exe, "promtool not found: Debian package prometheus (ops/test installs it)"
    out = subprocess.run(
        [exe, "check", "rules", str(tmp_path / "dashboard.rules.yml")], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in out.stdout


def test_panels_name_only_exported_metrics() -> None:
    known = exported_by_the_code()
    used = set().union(*(metric_names(e) for e in expressions()))
    assert used <= known, f"not exported by the code: {sorted(used - known)}"
    # what the issue asks the dashboard to show
    assert {
        "praktijk_ingress_records_total",
        "praktijk_consumer_lag_records",
        "praktijk_projection_freshness_seconds",
        "praktijk_rejections_total",
        "praktijk_deadletters_total",
        "praktijk_api_request_seconds_bucket",
        "praktijk_reconciliation_difference",
    } <= used


def test_the_name_check_catches_a_typo() -> None:
    assert metric_names('sum(rate(praktijk_rejection_total{reden="x"}[5m]))') == {"praktijk_rejection_total"}
    assert "praktijk_rejection_total" not in exported_by_the_code()


def test_alerts_name_only_exported_metrics() -> None:
    alerts = yaml.safe_load((ROOT / "ops" / "prometheus" / "alerts.yml").read_text())
    used = set().union(*(metric_names(r["expr"]) for g in alerts["groups"] for r in g["rules"]))
    assert used <= exported_by_the_code(), sorted(used - exported_by_the_code())


def test_metric_names_list_matches_the_definitions() -> None:
    from registry.infra import metrics

    ours = {n for n in exported(REGISTRY) if n.startswith("praktijk_")}  # every one, from one module
    trimmed = {re.sub(r"_(bucket|count|sum)$", "", n) for n in ours}
    assert trimmed == metrics.METRIC_NAMES


def test_provisioning_points_grafana_at_the_dashboard_and_its_datasource() -> None:
    prov = ROOT / "ops" / "grafana" / "provisioning"
    sources = yaml.safe_load((prov / "datasources" / "praktijkregister.yml").read_text())["datasources"]
    providers = yaml.safe_load((prov / "dashboards" / "praktijkregister.yml").read_text())["providers"]
    assert [s["type"] for s in sources] == ["prometheus"] and providers[0]["type"] == "file"
    panels = json.loads(DASHBOARD.read_text())["panels"]
    uids = {p["datasource"]["uid"] for p in panels} | {t["datasource"]["uid"] for p in panels for t in p["targets"]}
    assert uids == {sources[0]["uid"]}
