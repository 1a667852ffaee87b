"""The systemd units in ops/systemd/: accepted by ``systemd-analyze verify`` without a warning, restarting for ever,
the validator's watchdog exit restarted and a usage error not, and every service with least privilege."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from consumers.validator import EXIT_TRANSACTIE_HANGT

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "ops" / "systemd"
SERVICES = sorted(UNITS.glob("*.service"))
INSTALLED = "/opt/praktijkregister/bin/praktijkregister"


def _unit(path: Path) -> configparser.RawConfigParser:
    # systemd allows a key more than once (LoadCredential=): keep the last, enough for the keys checked here
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path)
    return parser


def test_there_is_a_unit_per_component() -> None:
    names = {p.name for p in SERVICES}
    assert names == {
        "praktijk-validator@.service",
        "praktijk-projector.service",
        "praktijk-reconciler@.service",
        "praktijk-api.service",
        "praktijk-prometheus.service",
    }


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.name)
def test_every_service_restarts_for_ever_with_least_privilege(path: Path) -> None:
    service = _unit(path)["Service"]
    assert service["Restart"] == "always"
    assert _unit(path)["Unit"]["StartLimitIntervalSec"] == "0"
    assert service["DynamicUser"] == "yes" and service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict" and service["ProtectHome"] == "yes"
    assert service["CapabilityBoundingSet"] == "" and service["UMask"] == "0077"
    text = path.read_text()
    assert "PRAKTIJK_KAFKA_PASSWORD" not in text and "PRAKTIJK_DATABASE_URL" not in text  # secrets live in /etc


@pytest.mark.parametrize(
    "name",
    [
        "praktijk-validator@.service",
        "praktijk-projector.service",
        "praktijk-reconciler@.service",
        "praktijk-api.service",
    ],
)
def test_components_read_their_settings_from_their_own_environment_file(name: str) -> None:
    service = _unit(UNITS / name)["Service"]
    component = name.removeprefix("praktijk-").split("@")[0].split(".")[0]
    assert service["EnvironmentFile"] == f"/etc/praktijkregister/{component}.env"
    assert service["ExecStart"].startswith(INSTALLED + " ")
    assert "RestartPreventExitStatus" in service and service["RestartPreventExitStatus"] == "2"


def test_the_validator_is_restarted_after_its_watchdog_exit() -> None:
    service = _unit(UNITS / "praktijk-validator@.service")["Service"]
    assert service["RestartForceExitStatus"] == str(EXIT_TRANSACTIE_HANGT)
    assert service["Environment"] == "PRAKTIJK_KEYS_DIR=%d"  # keys come as systemd credentials (0400)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not on this machine")
def test_systemd_analyze_verifies_every_unit_without_a_warning(tmp_path: Path) -> None:
    for unit in UNITS.iterdir():
        # verify checks that ExecStart exists: point it at this checkout's command
        text = unit.read_text().replace(INSTALLED, str(Path(sys.executable).parent / "praktijkregister"))
        (tmp_path / unit.name).write_text(text)
    names = [n.replace("@.", "@0.") for n in sorted(p.name for p in UNITS.iterdir())]
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *[f"./{n}" for n in names]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_systemd_analyze_catches_a_misspelt_key(tmp_path: Path) -> None:
    """The check above can fail: an unknown key is reported."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not on this machine")
    text = (UNITS / "praktijk-projector.service").read_text()
    text = text.replace("ProtectSystem=", "ProtectSystm=").replace(
        INSTALLED, str(Path(sys.executable).parent / "praktijkregister")
    )
    (tmp_path / "praktijk-projector.service").write_text(text)
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", "./praktijk-projector.service"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "ProtectSystm" in done.stderr
