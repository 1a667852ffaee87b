"""Session fixtures: the real Kafka broker and PostgreSQL, started (or reused) by ops/.

Unit tests (tests/unit) need no servers and run first; everything under
tests/integration talks to the stack the ops scripts run on loopback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from registry import bootstrap
from registry.infra import settings as settings_mod
from registry.infra.kafka import client_config

ROOT = Path(__file__).resolve().parent.parent


def _ops(script: str, *args: str) -> str:
    out = subprocess.run([str(ROOT / "ops" / script), *args], check=True, capture_output=True, text=True, timeout=600)
    return out.stdout.strip().splitlines()[-1]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in item.path.parts:
            item.add_marker(pytest.mark.integration)
    # fastest first: pure unit tests before anything that needs the stack
    items.sort(key=lambda i: 1 if "integration" in i.path.parts else 0)


# Every process a test starts inherits this marker, so the check below sees exactly this run's
# servers (not the stack ops/test started before pytest, nor another clone's test run).
RUN_MARKER = f"PRAKTIJK_TEST_RUN={uuid.uuid4().hex}"
# Tests and the processes they start use database_url (the stack's superuser) for everything; the components'
# own logins from stack.env (PRAKTIJK_DATABASE_URL_<COMPONENT>) are tested with roles of their own
# (tests/integration/test_db_roles.py), so they are not inherited here.
for _name in [n for n in os.environ if n.startswith("PRAKTIJK_DATABASE_URL_")]:
    del os.environ[_name]
os.environ["PRAKTIJK_TEST_RUN"] = RUN_MARKER.split("=", 1)[1]


# Every temporary file and folder of this run (pytest's tmp_path too, and the processes the tests start: TMPDIR) is
# made inside one private folder, removed at the end of the run whatever happened; what a test or a helper left there
# under a ``praktijk-*`` name (it should have removed it itself), or made in the system's temp folders, fails the run.
_TEMP_PATTERNS = ("praktijk-*", "praktijkregister-*")
_SYSTEM_TEMP = (Path(tempfile.gettempdir()), Path("/var/tmp"))
RUN_TEMP = Path(tempfile.mkdtemp(prefix="praktijk-testrun-"))
tempfile.tempdir = str(RUN_TEMP)
os.environ["TMPDIR"] = str(RUN_TEMP)


def _temp_entries(*folders: Path) -> set[Path]:
    return {
        p
        for folder in folders
        for pattern in _TEMP_PATTERNS
        for p in folder.glob(pattern)
        if not p.name.startswith("praktijk-testrun-")
    }  # this run's folder, or another test run's


_TEMP_BEFORE = _temp_entries(*_SYSTEM_TEMP)


@pytest.fixture(scope="session", autouse=True)
def no_temporary_folders_left_behind() -> Iterator[None]:
    """Nothing of a test run outlives it (key files least of all): see ``RUN_TEMP`` above."""
    yield
    left = sorted(str(p) for p in _temp_entries(RUN_TEMP) | (_temp_entries(*_SYSTEM_TEMP) - _TEMP_BEFORE))
    shutil.rmtree(RUN_TEMP, ignore_errors=True)
    assert not left, f"temporary files or folders left behind by this test run: {left}"


def _servers_of_this_run() -> dict[int, str]:
    """PostgreSQL postmasters and Kafka brokers started by this test run: pid -> command line."""
    found: dict[int, str] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = [a.decode(errors="replace") for a in (proc / "cmdline").read_bytes().split(b"\0") if a]
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue  # ended while we looked, or not ours to read
        is_postmaster = bool(argv) and argv[0].endswith("/postgres") and "-D" in argv
        is_kafka = bool(argv) and argv[0].endswith("java") and "kafka.Kafka" in argv
        if (is_postmaster or is_kafka) and RUN_MARKER.encode() in environ:
            found[int(proc.name)] = " ".join(argv)
    return found


def _stack_pids() -> set[int]:
    """The PIDs of the stack this session's fixtures may have started (kept running by design)."""
    cache = Path(os.environ.get("PRAKTIJK_CACHE_DIR", ROOT / ".cache"))
    pids: set[int] = set()
    record = cache / "pg" / "datadir"
    data = Path(record.read_text().strip()) if record.exists() else cache / "pg" / "data"
    for pidfile in (cache / "kafka" / "kafka.pid", data / "postmaster.pid"):
        try:
            pids.add(int(pidfile.read_text().split()[0]))
        except (OSError, ValueError, IndexError):
            pass
    return pids


@pytest.fixture(scope="session", autouse=True)
def no_servers_left_behind() -> Iterator[None]:
    """A test that starts its own PostgreSQL or Kafka must stop it, also when it fails: any server
    this run started that still runs at the end (other than the stack itself) fails the run."""
    yield
    left = {pid: cmd for pid, cmd in _servers_of_this_run().items() if pid not in _stack_pids()}
    assert not left, f"servers started by this test run are still running: {left}"


@pytest.fixture(autouse=True)
def kafka_login() -> None:
    """The test run is an entry point: every test starts with the Kafka login of the settings as they are now (a
    command a test ran in-process may have set its own)."""
    bootstrap.configure(settings_mod.load())


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    if os.environ.get("PRAKTIJK_KAFKA_BOOTSTRAP"):
        return os.environ["PRAKTIJK_KAFKA_BOOTSTRAP"]
    _ops("kafka.sh", "start")
    # the broker's bootstrap and admin login (export NAME='value' lines) for every client of this run
    out = subprocess.run(
        [str(ROOT / "ops" / "kafka.sh"), "env"], check=True, capture_output=True, text=True, timeout=60
    )
    for line in out.stdout.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        os.environ[name] = value.strip("'")
    bootstrap.configure(settings_mod.load())  # the login just exported
    return os.environ["PRAKTIJK_KAFKA_BOOTSTRAP"]


@pytest.fixture(scope="session")
def database_url() -> str:
    return os.environ.get("PRAKTIJK_DATABASE_URL") or _ops("postgres.sh", "start")


# One broker holds every topic a test run makes; each partition keeps a segment file open, so a whole run's topics
# (a demo world alone has ~1,200 partitions) reach the process's open-file limit, and the broker dies late in the run.
DROP_TOPICS = os.environ.get("PRAKTIJK_TEST_DROP_TOPICS") == "1"  # ops/test: the run owns its broker


@pytest.fixture(scope="module", autouse=True)
def drop_the_modules_topics(request: pytest.FixtureRequest) -> Iterator[None]:
    """With ``PRAKTIJK_TEST_DROP_TOPICS=1``: the topics an integration module made are deleted when it ends."""
    if not DROP_TOPICS or "integration" not in request.node.path.parts:
        yield
        return
    before = set(_topics(lambda admin: admin.list_topics()))
    yield
    _topics(lambda admin: _delete_new(admin, before))


def _topics(action: Callable[[Any], Any]) -> Any:
    from kafka import KafkaAdminClient

    bootstrap.configure(settings_mod.load())  # the module's fixtures run before the per-test login fixture
    admin = KafkaAdminClient(**client_config(os.environ["PRAKTIJK_KAFKA_BOOTSTRAP"]))
    try:
        return action(admin)
    finally:
        admin.close()


def topics_to_drop(before: set[str], now: set[str]) -> list[str]:
    """The topics made since ``before``; never the broker's own (``__transaction_state``, ``__consumer_offsets``:
    made on first use, so within some module), nor the default prefix's (the demo reuses them)."""
    return sorted(t for t in now - before if not t.startswith(("_", "praktijkleren.")))


def _delete_new(admin: Any, before: set[str]) -> None:
    from tests.support.opruimen import verwijder_topics

    verwijder_topics(admin, topics_to_drop(before, set(admin.list_topics())))


@pytest.fixture()
def unique() -> str:
    """A short unique suffix so tests never share topics, groups or tables."""
    return uuid.uuid4().hex[:10]


@pytest.fixture()
def admin(kafka_bootstrap: str) -> Iterator[object]:
    from kafka import KafkaAdminClient

    client = KafkaAdminClient(**client_config(kafka_bootstrap))
    yield client
    client.close()
