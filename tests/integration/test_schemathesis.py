"""Schemathesis (property-based API fuzzing from ``/openapi.json``) against a real ``praktijkregister serve`` over
real read models, once per key scope (landelijk, regio, instelling, publiek): every check, a bounded number of
examples, a time bound per response. No 5xx, no response outside the schema, no undocumented status.

The world (partner events -> validator -> Kafka -> projector -> PostgreSQL) is the one of
``test_api_readmodels``; the server is a subprocess on a free loopback port over that world's read-model schema.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from registry.api.auth import KeyStore
from registry.infra.db import engine as make_engine
from tests.integration.test_api_readmodels import T2, World, world  # noqa: F401 (the module-scoped fixture)
from tests.support.builders import T1, V1, P, Q
from tests.support.serve import free_port, serve_env, start_serve, wait_until_serving

SCOPES = ["landelijk", "regio:Rijnmond", "instelling:mbo.albeda", "publiek"]
MAX_EXAMPLES = 8  # per operation and phase: keeps the four runs well under a minute together
MAX_RESPONSE_S = 5.0  # every operation answers within this (the /v1/aantallen bound keeps it cheap)

# All checks. positive_data_acceptance also allows 400 because some rules span parameters or need the reference
# data (tot before van, more than 120 months, an unknown pilot/regio/instelling name in the declared format) and no
# JSON schema can say them; every other check runs with its defaults.
# Half of the generated ids are ones the world really holds, so the 200 answers (and their schemas) are fuzzed too.
CONFIG = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]

[dictionaries.trajecten]
values = ["{T1}", "{T2}"]
[dictionaries.deelnemers]
values = ["{P}", "{Q}"]
[dictionaries.verklaringen]
values = ["{V1}"]
[dictionaries.pilots]
values = ["rijnmond", "twente"]
[dictionaries.partners]
values = ["gemeente.gm0599", "uwv", "mbo.albeda"]

[parameters]
"path.traject_id" = {{ dictionary = "trajecten", probability = 0.5 }}
"path.pseudonym" = {{ dictionary = "deelnemers", probability = 0.5 }}
"path.verklaring_id" = {{ dictionary = "verklaringen", probability = 0.5 }}
"path.pilot" = {{ dictionary = "pilots", probability = 0.5 }}
"query.partner" = {{ dictionary = "partners", probability = 0.5 }}
"""


@pytest.fixture(scope="module")
def server(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """``praktijkregister serve --schema <the world's>`` and one key per scope (default api_keys table)."""
    keystore = KeyStore(make_engine(world.database_url))
    created = {s: keystore.create(s, "test_schemathesis") for s in SCOPES}
    port = free_port()
    env = serve_env(world.database_url, world.kafka, port)
    home = tmp_path_factory.mktemp("serve")
    env["PRAKTIJK_KEYS_DIR"] = str(home / "keys")  # the signing key of credentials and status lists
    for name in (
        "PRAKTIJK_SIGNING_KEY_FILE",
        "PRAKTIJK_PSEUDONYM_KEY_FILE",
        "PRAKTIJK_PUBLIC_KEY_FILE",
        "PRAKTIJK_PRIVATE_KEY_FILE",
    ):
        env.pop(name, None)
    subprocess.run([sys.executable, "-m", "registry.cli", "keys", "init"], env=env, check=True, capture_output=True)
    log = home / "serve.log"
    with open(log, "wb") as out:
        proc = start_serve(env, world.schema, stdout=out)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(proc, base, log=log)
        yield base, {s: secret for s, (_, secret) in created.items()}
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        with keystore.engine.begin() as conn:
            conn.execute(
                text("DELETE FROM api_keys WHERE key_id = ANY(:ids)"), {"ids": [k.key_id for k, _ in created.values()]}
            )


@pytest.mark.parametrize("scope", SCOPES)
def test_schemathesis_all_checks(server: tuple[str, dict[str, str]], scope: str, tmp_path: Path) -> None:
    base, keys = server
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG.format(T1=T1, T2=T2, P=P, Q=Q, V1=V1))
    cmd = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{base}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--max-response-time",
        str(MAX_RESPONSE_S),
        "--phases",
        "examples,coverage,fuzzing",
        "--request-timeout",
        "30",
        "--header",
        f"Authorization: Bearer {keys[scope]}",
        "--max-failures",
        "20",
        "--output-truncate",
        "false",
        "--generation-deterministic",
    ]  # reproducible: the same cases every run
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    report = result.stdout + result.stderr
    assert result.returncode == 0, f"schemathesis found problems with scope {scope}:\n{report[-12000:]}"
    operations = sum(len(ops) for ops in httpx.get(f"{base}/openapi.json").json()["paths"].values())
    assert f"Tested: {operations}" in report, report[-4000:]  # every operation, none skipped
    summary = re.search(r"(\d+) generated, (\d+) passed", report)
    assert summary and int(summary[1]) == int(summary[2]) > 100, report[-4000:]
