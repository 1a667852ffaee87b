"""ops/benchmarks/peer.py, the pure parts: both sides get the same workload and the same expected counts."""

from __future__ import annotations

import collections
import sys
from pathlib import Path

# the bench extra (eventsourcing) is installed by ops/lib.sh with the dev extra
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "ops"))

from benchmarks import peer  # noqa: E402

from tests.support.validator import met_aanmeldingen  # noqa: E402


def test_the_peer_records_as_many_events_per_deelnemer_as_the_registry_is_sent() -> None:
    app = peer.Praktijkleren(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})  # the library's in-memory store
    laatste = app.deelnemer(*peer.deelnemers(1)[0])
    assert laatste == peer.PER_DEELNEMER
    soorten = [type(e).__name__ for n in app.notification_log.select(1, 10) for e in [app.mapper.to_domain_event(n)]]
    assert collections.Counter(soorten) == {
        "Aangemeld": 1,
        "Ingeschreven": 1,
        "WerkprocesAfgetekend": 5,
        "VerklaringUitgegeven": 1,
    }


def test_werkstroom_has_an_aanmelding_an_inschrijving_five_sign_offs_and_a_verklaring_per_deelnemer() -> None:
    mensen = peer.deelnemers(8)
    items = met_aanmeldingen(peer.werkstroom(mensen))  # as the registry's side publishes them
    assert len(items) == 8 * peer.PER_DEELNEMER == 8 * 8
    assert collections.Counter(t for t, _ in items) == {
        "KandidaatAangemeld": 8,
        "DeelnemerIngeschreven": 8,
        "WerkprocesAfgetekend": 40,
        "PraktijkverklaringUitgegeven": 8,
    }
    assert [r["pilot"] for t, r in items if t == "DeelnemerIngeschreven"] == [p for _, p in mensen]
    dossier = peer.referentie5()[0][1]
    assert {w["code"] for k in dossier["kerntaken"] for w in k["werkprocessen"]} >= set(peer.WERKPROCESSEN)


def test_verwacht_counts_deelnemers_and_verklaringen_per_pilot() -> None:
    mensen = peer.deelnemers(10) + peer.deelnemers(1, peer.WARM)
    got = peer.verwacht(mensen)
    assert sum(d for d, _ in got.values()) == 11 and all(d == v for d, v in got.values())
    assert set(got) <= set(peer.PILOTS)


def test_peer_env_from_the_database_url() -> None:
    env = peer.peer_env("postgresql+psycopg://u:p%40w@127.0.0.1:5433/db", "bench1_peer")
    assert env == {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": "db",
        "POSTGRES_HOST": "127.0.0.1",
        "POSTGRES_PORT": "5433",
        "POSTGRES_USER": "u",
        "POSTGRES_PASSWORD": "p@w",
        "POSTGRES_SCHEMA": "bench1_peer",
    }
