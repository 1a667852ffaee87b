"""Key rotation applied, over the real broker and database: after `keys list-registry-pseudonyms`,
`keys rotate-registry-pseudonym` and `keys apply-registry-pseudonym`, a deelnemer enrolled before the rotation is
found with the partner's own pseudonym, a new event for it lands on the same (new) registry pseudonym, its
persoonsgegevens written before the rotation still open, no old form is left in the database (but the mapping), and a
replay of the immutable log lands on the new form too."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from kafka import KafkaAdminClient
from sqlalchemy import text
from typer.testing import CliRunner

from consumers.projector import RunnerConfig
from consumers.replay import replay
from producers.sleutels import Pseudonymiser, Sealer, init_keys
from projections import queries
from projections import store as read_store
from registry.api.app import create_app
from registry.api.auth import KeyStore
from registry.api.verklaringen import LogBronnen
from registry.bootstrap import build_validator
from registry.cli.main import app as cli_app
from registry.domein import pseudoniemen
from registry.infra import pseudoniem_rotatie
from registry.infra import settings as settings_mod
from registry.infra.db import engine as make_engine
from registry.infra.kafka import client_config
from registry.infra.sleutelbestanden import RegistryPseudoniemSleutel
from tests.support import validator as h
from tests.support.builders import LB, MBO, T1, ev, inschrijving, referentie_events
from tests.support.projecteren import project_once
from tests.support.pseudoniemen import canoniek, key_file

pytestmark = pytest.mark.integration

NAAM = "Roos van Dijk"


def _cli(runner: CliRunner, *args: str) -> str:
    res = runner.invoke(cli_app, ["keys", *args])
    assert res.exit_code == 0, res.output
    return res.output


def _holds(eng: Any, schema: str, value: str, skip: tuple[str, ...] = ()) -> list[str]:
    """Every table.column of ``schema`` whose text holds ``value``."""
    with eng.connect() as conn:
        cols = conn.execute(
            text(
                "SELECT c.table_name, c.column_name FROM information_schema.columns c "
                "JOIN information_schema.tables t USING (table_schema, table_name) "
                "WHERE c.table_schema = :s AND t.table_type = 'BASE TABLE'"
            ),
            {"s": schema},
        ).all()
        return [
            f"{t}.{c}"
            for t, c in cols
            if t not in skip
            and conn.execute(
                text(f'SELECT count(*) FROM "{schema}"."{t}" WHERE "{c}"::text LIKE :v'), {"v": f"%{value}%"}
            ).scalar_one()
        ]


def test_rotation_rekeys_state_read_models_vault_and_replays(
    kafka_bootstrap: str, database_url: str, unique: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix, schema, state = f"t{unique}", f"t{unique}_read", f"t{unique}_validator"
    init_keys(
        tmp_path / "pseudonym.key",
        tmp_path / "registry.pub",
        tmp_path / "registry.key",
        master_file=tmp_path / "master.key",
    )
    keyfile = key_file(tmp_path)  # generation 1: the test validators' REGISTRY_KEY
    p = Pseudonymiser.from_file(tmp_path / "pseudonym.key")("111222333")  # what the partner knows
    oud = canoniek(p)
    t = h.make_topics(kafka_bootstrap, prefix)
    eng = make_engine(database_url)
    keystore = KeyStore(eng, table=f"api_keys_{unique}")
    try:
        v = h.validator(kafka_bootstrap, database_url, prefix, keydir=tmp_path)
        try:
            h.publish(kafka_bootstrap, prefix, referentie_events())
            h.drain(v)
            sealed = Sealer.from_file(tmp_path / "registry.pub").seal({"naam": NAAM, "geboortedatum": "1990-02-03"})
            h.publish(
                kafka_bootstrap, prefix, [("DeelnemerIngeschreven", inschrijving(deelnemer=p, persoonsgegevens=sealed))]
            )
            h.drain(v)
        finally:
            v.close()
        project_once(kafka_bootstrap, database_url, prefix, schema)

        # the operator's steps (README): list, rotate, apply - validator and projector stopped
        for name, value in (
            ("DATABASE_URL", database_url),
            ("REGISTRY_PSEUDONYM_KEY_FILE", str(keyfile)),
            ("MASTER_KEY_FILE", str(tmp_path / "master.key")),
            ("VAULT_SCHEMA", state),
        ):
            monkeypatch.setenv(f"PRAKTIJK_{name}", value)
        runner = CliRunner()
        _cli(runner, "list-registry-pseudonyms", "--uit", str(tmp_path / "oud.txt"), "--schema", schema)
        assert (tmp_path / "oud.txt").read_text().split() == [oud]
        _cli(
            runner,
            "rotate-registry-pseudonym",
            "--pseudoniemen",
            str(tmp_path / "oud.txt"),
            "--uit",
            str(tmp_path / "map.csv"),
        )
        out = _cli(runner, "apply-registry-pseudonym", "--mapping", str(tmp_path / "map.csv"), "--schema", schema)
        assert "1 data key(s) moved" in out
        generaties = RegistryPseudoniemSleutel.from_file(keyfile).generaties
        nieuw = pseudoniemen.canoniek(generaties, p)
        assert len(generaties) == 2 and nieuw != oud

        # the validator starts with the new generation: a new event for the deelnemer lands on the same new form
        v2 = build_validator(dataclasses.replace(v.config, registry_pseudonym_key=generaties))
        v2.start()
        try:
            h.publish(
                kafka_bootstrap,
                prefix,
                [
                    (
                        "LeerbedrijfVastgelegd",
                        ev(MBO, deelnemer=p, traject_id=T1, leerbedrijf_id=LB, praktijkopleider="po-0001"),
                    )
                ],
            )
            h.drain(v2)
        finally:
            v2.close()
        assert h.rejections(kafka_bootstrap, t) == []
        # (keyed by pseudonym: the two forms may sit on different partitions, so no order across them)
        assert sorted((et, r["deelnemer"]) for et, r in h.canonical(kafka_bootstrap, t) if r.get("deelnemer")) == [
            ("DeelnemerIngeschreven", oud),
            ("KandidaatAangemeld", oud),
            ("LeerbedrijfVastgelegd", nieuw),
        ]
        project_once(kafka_bootstrap, database_url, prefix, schema)

        # the API: the partner's own pseudonym finds the whole history on the new form
        s = dataclasses.replace(settings_mod.load(), registry_pseudonym_key_file=keyfile)
        app = create_app(s, queries=queries, engine=eng, keys=keystore, schema=schema, events_topic=t.events)
        sleutel = keystore.create("instelling:mbo.albeda", "test")[1]
        res = TestClient(app).get(f"/v1/deelnemers/{p}/tijdlijn", headers={"Authorization": f"Bearer {sleutel}"})
        assert res.status_code == 200, res.text
        assert [e["event_type"] for e in res.json()] == [
            "KandidaatAangemeld",
            "DeelnemerIngeschreven",
            "LeerbedrijfVastgelegd",
        ]
        assert _holds(eng, schema, oud, skip=(pseudoniem_rotatie.TABLE,)) == [] and _holds(eng, state, oud) == []

        # persoonsgegevens sealed before the rotation: the event names the old form, the key moved to the new one
        with eng.connect() as conn:
            pos = conn.execute(
                text(
                    f'SELECT log_partition, log_offset FROM "{schema}".event_log '
                    "WHERE event_type = 'DeelnemerIngeschreven'"
                )
            ).one()
        context = SimpleNamespace(
            settings=dataclasses.replace(s, master_key_file=tmp_path / "master.key", vault_schema=state),
            engine=eng,
            events_topic=t.events,
            read_schema=schema,
        )
        assert (LogBronnen(context).persoonsgegevens([(pos[0], pos[1])]) or {}).get("naam") == NAAM

        # a replay of the immutable log (old forms inside) lands on the new form
        replay(
            RunnerConfig(
                bootstrap=[kafka_bootstrap],
                database_url=database_url,
                schema=schema,
                events_topic=t.events,
                rejections_topic=t.rejections,
                topic_wait_s=5.0,
            ),
            ["tijdlijn"],
            progress=False,
        )
        with eng.connect() as conn:
            assert conn.execute(
                text(f'SELECT DISTINCT deelnemer FROM "{schema}".event_log WHERE deelnemer IS NOT NULL')
            ).scalars().all() == [nieuw]
    finally:
        with eng.begin() as conn:
            read_store.drop_schema(conn, schema)
            read_store.drop_schema(conn, state)
            conn.execute(text(f"DROP TABLE IF EXISTS {keystore.table}_audit, {keystore.table}"))
        admin = KafkaAdminClient(**client_config([kafka_bootstrap]))
        try:
            admin.delete_topics([n for n in admin.list_topics() if n.startswith(prefix + ".")])
        finally:
            admin.close()
