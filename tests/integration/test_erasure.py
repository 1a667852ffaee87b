"""Erasure on an immutable log, over the real broker and database: partner-sealed persoonsgegevens ->
validator (re-encrypted with the deelnemer's data key from the vault) -> canonical log -> projector -> API.
After DeelnemerGegevensVerwijderd: the data key is gone, no name, birth date or pseudonym of that deelnemer is in
any table, no name or birth date in any topic (canonical events decrypted) or in the validator's log, every
overzicht at two peildata is unchanged, later events are refused (gegevens_verwijderd) and the document is 410."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from kafka import KafkaAdminClient
from sqlalchemy import text

from producers.sleutels import Pseudonymiser, Sealer, init_keys
from projections import queries
from registry.api.app import create_app
from registry.infra import codec, topics
from registry.infra import settings as settings_mod
from registry.infra.db import engine as make_engine
from registry.infra.gegevenskluis import Gegevenskluis
from registry.infra.kafka import client_config
from tests.support import validator as h
from tests.support.builders import MBO, T1, V1, afteken, ev
from tests.support.opruimen import ruim_op
from tests.support.projecteren import project_once
from tests.support.verklaringen import V2, publiceer_verklaringen
from tests.support.wereld import pijplijn

pytestmark = pytest.mark.integration

NAAM_P, GEBOREN_P = "Anouk Erasmus-Verwijderd", "1979-07-21"
NAAM_Q, GEBOREN_Q = "Blijft Bewaard", "1990-02-02"
PEILDATA = (dt.date(2020, 12, 31), dt.date(2021, 6, 30))


def _overzichten(database_url: str, schema: str) -> dict[tuple[str, dt.date, bool], Any]:
    """Every overzicht at the peildata, and its record-key sums (so the publiek, perturbed numbers too)."""
    eng = make_engine(database_url)
    try:
        with eng.connect() as conn:
            c = conn.execution_options(praktijk_schema=schema)
            return {
                (n, d, s): queries.overzicht(c, n, d, sleutels=s)
                for n in queries.OVERZICHTEN
                for d in PEILDATA
                for s in (False, True)
            }
    finally:
        eng.dispose()


def _table_texts(database_url: str, schemas: list[str]) -> dict[str, str]:
    """Every row of every table in ``schemas`` as text, per table."""
    eng = make_engine(database_url)
    out: dict[str, str] = {}
    try:
        with eng.connect() as conn:
            tables = conn.execute(
                text("SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema = ANY(:s)"),
                {"s": schemas},
            ).all()
            for schema, table in tables:
                rows = conn.execute(text(f'SELECT t::text FROM "{schema}"."{table}" t')).scalars().all()
                out[f"{schema}.{table}"] = "\n".join(rows)
    finally:
        eng.dispose()
    return out


def _geopend(
    bootstrap: str, topic_names: list[str], box: Any, kluis: Gegevenskluis, vormen: list[str]
) -> dict[str, list[str]]:
    """Per topic, every persoonsgegevens value that opens with the registry's private key (partner-sealed) or with
    a data key of the vault (under any of ``vormen``, the deelnemer's pseudonyms): in an event, in a parked entry's
    or dead letter's bytes (JSON ``waarde_base64``)."""
    import base64
    import json

    from nacl.exceptions import CryptoError

    out: dict[str, list[str]] = {}
    for topic in topic_names:
        for rec in topics.read_all([bootstrap], topic):
            kandidaten = [rec.value or b""]
            try:
                j = json.loads(rec.value or b"")
                if isinstance(j, dict) and j.get("waarde_base64"):
                    kandidaten.append(base64.b64decode(j["waarde_base64"]))
            except ValueError:
                pass
            for waarde in kandidaten:
                try:
                    _et, r = codec.decode(waarde)
                except Exception:  # noqa: BLE001 - not an event (a refusal, a marker, a prefix)
                    continue
                pg = r.get("persoonsgegevens")
                if not pg:
                    continue
                try:
                    out.setdefault(topic, []).append(box.decrypt(bytes(pg)).decode())
                except CryptoError:
                    pass
                for vorm in vormen:
                    try:
                        geopend = kluis.ontsleutel(vorm, bytes(pg))
                    except ValueError:
                        continue
                    if geopend is not None:
                        out.setdefault(topic, []).append(repr(geopend))
    return out


def test_erasure_leaves_nothing_readable_and_every_overzicht_unchanged(
    kafka_bootstrap: str, database_url: str, unique: str, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="praktijkregister")
    keydir = tmp_path / "keys"
    init_keys(
        keydir / "pseudonym.key",
        keydir / "registry.pub",
        keydir / "registry.key",
        signing_file=keydir / "signing.key",
        master_file=keydir / "master.key",
    )
    pseudo, sealer = Pseudonymiser.from_file(keydir / "pseudonym.key"), Sealer.from_file(keydir / "registry.pub")
    p, q = pseudo("111222333"), pseudo("123456782")
    prefix, schema, t, v, eng, keystore = pijplijn(kafka_bootstrap, database_url, "e", unique=unique, keydir=keydir)
    landelijk = keystore.create("landelijk", "test")[1]
    try:
        publiceer_verklaringen(
            kafka_bootstrap,
            prefix,
            v,
            sealer,
            p,
            q,
            {"naam": NAAM_P, "geboortedatum": GEBOREN_P},
            {"naam": NAAM_Q, "geboortedatum": GEBOREN_Q},
            # refused (al_afgetekend): a rejection row of p
            meer_aftekeningen=[("WerkprocesAfgetekend", afteken("B1-K1-W1", deelnemer=p))],
        )
        project_once(kafka_bootstrap, database_url, prefix, schema)
        voor = _overzichten(database_url, schema)
        canon = h.canonical(kafka_bootstrap, t)
        rp = next(r["deelnemer"] for et, r in canon if et == "DeelnemerIngeschreven" and r["traject_id"] == T1)
        kluis = Gegevenskluis.from_file(eng, keydir / "master.key", f"{prefix}_validator")
        sealed_p = next(
            r["persoonsgegevens"] for et, r in canon if r.get("deelnemer") == rp and r.get("persoonsgegevens")
        )
        assert kluis.ontsleutel(rp, sealed_p) == {"naam": NAAM_P, "geboortedatum": GEBOREN_P}  # readable before
        assert any(rp in txt for txt in _table_texts(database_url, [schema]).values())  # the scan below can find it
        from nacl.public import PrivateKey, SealedBox

        from registry.infra.sleutelbestanden import read_secret_hex

        box = SealedBox(PrivateKey(read_secret_hex(keydir / "registry.key", "registry private key")))
        admin = KafkaAdminClient(**client_config(kafka_bootstrap))
        try:
            alle = [n for n in admin.list_topics() if n.startswith(prefix + ".")]
        finally:
            admin.close()
        voor_wissen = _geopend(kafka_bootstrap, alle, box, kluis, [rp, p])
        # the scan opens p's name before the erasure: in the partner's ingress bytes and in the canonical log
        assert any(NAAM_P in g for g in voor_wissen.get(t.ingress(MBO), []))
        assert any(NAAM_P in g for g in voor_wissen.get(t.events, []))

        later = dt.datetime(2021, 1, 5, 10, tzinfo=dt.UTC)
        h.publish(
            kafka_bootstrap,
            prefix,
            [
                ("DeelnemerGegevensVerwijderd", ev(MBO, deelnemer=q, grondslag="  ") | {"occurred_at": later}),
                (
                    "DeelnemerGegevensVerwijderd",
                    ev(MBO, deelnemer=p, grondslag="AVG art. 17 verzoek 2021-0042") | {"occurred_at": later},
                ),
            ],
        )
        h.drain(v)
        h.publish(
            kafka_bootstrap,
            prefix,
            [("WerkprocesAfgetekend", afteken("B1-K2-W1", deelnemer=p, event_id=str(uuid.uuid4())))],
        )
        h.drain(v)
        project_once(kafka_bootstrap, database_url, prefix, schema)

        # every overzicht at two peildata is unchanged, publiek's too (the record key moved to the replacement value)
        assert _overzichten(database_url, schema) == voor
        # the refusals: no grondslag; gegevens_verwijderd without the pseudonym
        weigeringen = h.rejections(kafka_bootstrap, t)
        assert [w["reden"] for w in weigeringen if w["event_type"] == "DeelnemerGegevensVerwijderd"] == [
            "geen_grondslag"
        ]
        na = [w for w in weigeringen if w["reden"] == "gegevens_verwijderd"]
        assert len(na) == 1 and na[0]["deelnemer"] == "verwijderd"
        # the data key is gone: every canonical event decrypted, no name or birth date of p
        canon = h.canonical(kafka_bootstrap, t)
        assert kluis.ontsleutel(rp, sealed_p) is None
        geopend = []
        for _et, r in canon:
            if r.get("persoonsgegevens"):
                g = kluis.ontsleutel(str(r["deelnemer"]), bytes(r["persoonsgegevens"]))
                geopend.append(repr(g))
        assert any(NAAM_Q in g for g in geopend)  # q's stay readable
        assert not any(NAAM_P in g or GEBOREN_P in g for g in geopend)
        assert not any(NAAM_P in repr(r) or GEBOREN_P in repr(r) for _et, r in canon)
        # every topic of this prefix, raw bytes: no name or birth date in clear
        admin = KafkaAdminClient(**client_config(kafka_bootstrap))
        try:
            namen = [n for n in admin.list_topics() if n.startswith(prefix + ".")]
        finally:
            admin.close()
        assert t.events in namen and t.rejections in namen
        for topic in namen:
            for rec in topics.read_all([kafka_bootstrap], topic):
                raw = (rec.value or b"") + (rec.key or b"")
                assert NAAM_P.encode() not in raw and GEBOREN_P.encode() not in raw, topic
        # with the registry's private key and the master key in hand: nothing of p opens in any topic (canonical,
        # parked, rejections, dead letters, and the ingress topics within their retention)
        na_wissen = _geopend(kafka_bootstrap, namen, box, kluis, [rp, p, h.canoniek(q)])
        assert not {topic: g for topic, gs in na_wissen.items() for g in gs if NAAM_P in g or GEBOREN_P in g}
        assert any(NAAM_Q in g for g in na_wissen.get(t.events, []))  # q's stay readable: the scan still works
        # every table (read models, validator state, vault): no name, birth date or pseudonym (partner or registry)
        tabellen = _table_texts(database_url, [schema, f"{prefix}_validator"])
        assert f"{prefix}_validator.data_sleutels" in tabellen and f"{schema}.event_log" in tabellen
        for naam, txt in tabellen.items():
            for verboden in (NAAM_P, GEBOREN_P, rp, p):
                assert verboden not in txt, f"{naam} still holds {verboden[:12]}..."
        # the validator's log
        for rec in caplog.records:
            msg = rec.getMessage()
            assert NAAM_P not in msg and GEBOREN_P not in msg and rp not in msg and p not in msg
        # the document: 410 after erasure (the verklaring of q still opens)
        s = replace(
            settings_mod.load(),
            kafka_bootstrap=kafka_bootstrap,
            database_url=database_url,
            private_key_file=keydir / "registry.key",
            signing_key_file=keydir / "signing.key",
            master_key_file=keydir / "master.key",
            vault_schema=f"{prefix}_validator",
            public_url="http://testserver",  # what the TestClient asks for: credentials are signed
        )
        app = create_app(
            s,
            queries=queries,
            engine=eng,
            keys=keystore,
            schema=schema,
            events_topic=t.events,
            ingress_prefix=t.ingress_prefix,
        )
        client = TestClient(app)
        hdr = {"Authorization": f"Bearer {landelijk}"}
        assert client.get(f"/v1/verklaringen/{V1}/document", headers=hdr).status_code == 410
        assert client.get(f"/v1/verklaringen/{V1}/credential", headers=hdr).status_code == 410
        assert client.get(f"/v1/verklaringen/{V2}/credential", headers=hdr).status_code == 200
    finally:
        v.close()
        ruim_op(eng, kafka_bootstrap, prefix, schema, [keystore.table])
        eng.dispose()


def test_ingress_and_deadletter_topics_have_the_short_retention() -> None:
    specs = {s.name: s.topic_configs for s in topics.specs(6, ["mbo.albeda"], "tretentie", retention_days=7)}
    week = str(7 * 24 * 3600 * 1000)
    assert specs["tretentie.ingress.mbo.albeda"]["retention.ms"] == week
    assert specs["tretentie.deadletter"]["retention.ms"] == week
    assert specs["tretentie.events"]["retention.ms"] == "-1"
