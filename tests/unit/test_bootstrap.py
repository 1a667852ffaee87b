"""The one wiring (registry/bootstrap.py): every component from one ``Settings``; the environment is read by the
settings module alone, and the settings are loaded only by entry points."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from registry import bootstrap
from registry.infra import kafka
from registry.infra import settings as settings_mod
from tests.support.pseudoniemen import REGISTRY_KEY, key_file

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("registry", "consumers", "producers", "projections")
SETTINGS_MODULE = "registry/infra/settings.py"
# the command line is the product's entry point (each command loads the settings once: registry/cli/config.py);
# ops/ and tests/ are entry points of their own and are not scanned
ENTRY_POINTS = ("registry/cli/",)


def _modules() -> list[tuple[str, ast.Module]]:
    out = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            out.append((rel, ast.parse(path.read_text(), rel)))
    return out


def environment_reads(tree: ast.Module) -> list[int]:
    """Lines that read the process environment: ``os.environ``, ``os.getenv``, ``from os import environ``."""
    lines = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("environ", "environb", "getenv", "putenv")
            or (
                isinstance(node, ast.ImportFrom)
                and node.module == "os"
                and {a.name for a in node.names} & {"environ", "environb", "getenv"}
            )
        ):
            lines.append(node.lineno)
    return lines


def settings_loads(tree: ast.Module) -> list[int]:
    """Lines that call ``load()`` of registry.infra.settings (as ``settings.load()``, ``settings_mod.load()``, or an
    imported ``load``)."""
    aliases, loads = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "registry.infra":
            aliases |= {a.asname or a.name for a in node.names if a.name == "settings"}
        if isinstance(node, ast.ImportFrom) and node.module == "registry.infra.settings":
            loads |= {a.asname or a.name for a in node.names if a.name == "load"}
        if isinstance(node, ast.Import):
            aliases |= {a.asname for a in node.names if a.name == "registry.infra.settings" and a.asname}
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if (
            (
                isinstance(f, ast.Attribute)
                and f.attr == "load"
                and isinstance(f.value, ast.Name)
                and f.value.id in aliases
            )
            or isinstance(f, ast.Name)
            and f.id in loads
        ):
            lines.append(node.lineno)
    return lines


def test_only_the_settings_module_and_the_entry_points_read_the_environment() -> None:
    found = [
        f"{rel}:{line}"
        for rel, tree in _modules()
        if rel != SETTINGS_MODULE and not rel.startswith(ENTRY_POINTS)
        for line in environment_reads(tree)
    ]
    assert found == [], f"reads the environment below the entry points: {found}"


def test_only_the_entry_points_load_the_settings() -> None:
    found = [
        f"{rel}:{line}" for rel, tree in _modules() if not rel.startswith(ENTRY_POINTS) for line in settings_loads(tree)
    ]
    assert found == [], f"loads the settings below the entry points: {found}"


def test_the_checks_catch_a_read_and_a_load() -> None:
    tree = ast.parse(
        "import os\nfrom os import getenv\nfrom registry.infra import settings as s\n"
        "x = os.environ.get('A')\ny = s.load()\n"
    )
    assert environment_reads(tree) == [2, 4] and settings_loads(tree) == [5]
    assert settings_loads(ast.parse("from registry.infra.settings import load\nload()\n")) == [2]


def test_the_kafka_login_comes_from_the_settings_the_entry_point_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    s = dataclasses.replace(
        settings_mod.load(), kafka_security="sasl_scram", kafka_username="validator", kafka_password="geheim"
    )
    monkeypatch.setattr(kafka, "_login", None)
    with pytest.raises(kafka.KafkaSecurityError, match="no Kafka login configured"):
        kafka.client_config(["127.0.0.1:9092"])
    assert bootstrap.configure(s) is s
    cfg = kafka.client_config(["127.0.0.1:9092"])
    assert (cfg["sasl_plain_username"], cfg["sasl_plain_password"]) == ("validator", "geheim")
    assert "geheim" not in repr(kafka.login())


def test_the_validator_config_is_built_from_the_settings(tmp_path: Path) -> None:
    s = dataclasses.replace(
        settings_mod.load(),
        registry_pseudonym_key_file=key_file(tmp_path),
        private_key_file=tmp_path / "registry.key",
        master_key_file=tmp_path / "master.key",
        validator_group="groep-x",
        max_ingress_bytes=4096,
        ingress_retention_days=3,
        component_database_urls=(("validator", "postgresql+psycopg://validator@127.0.0.1/x"),),
    )
    cfg = bootstrap.validator_config(s, prefix="p", schema="p_validator")
    assert (cfg.group, cfg.prefix, cfg.schema, cfg.max_record_bytes) == ("groep-x", "p", "p_validator", 4096)
    assert cfg.registry_pseudonym_key == REGISTRY_KEY and cfg.ingress_retention_days == 3
    assert cfg.database_url.startswith("postgresql+psycopg://validator@")  # its own login
    assert (cfg.private_key_file, cfg.master_key_file) == (tmp_path / "registry.key", tmp_path / "master.key")
    assert bootstrap.validator_config(s, group="ander").group == "ander"


def test_the_reconciler_and_projector_configs_take_their_window_and_login_from_the_settings() -> None:
    s = dataclasses.replace(settings_mod.load(), reconcile_window_days=9, kafka_bootstrap="h1:9092,h2:9092")
    follow = bootstrap.reconciler_config(s, instance=2)
    assert (follow.venster_dagen, follow.instance, follow.bootstrap) == (9, 2, ["h1:9092", "h2:9092"])
    assert bootstrap.projector_config(s, batch_size=7).batch_size == 7
