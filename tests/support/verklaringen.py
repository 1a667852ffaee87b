"""The world of the verklaring tests (document, erasure): reference data for crebo 25250 with named werkprocessen;
deelnemers p (traject T1) and q (traject T2) enrolled with partner-sealed persoonsgegevens, werkprocessen signed
and a praktijkverklaring issued for each (V1 for p, V2 for q); ``trek_in`` revokes one (V2, at ``INGETROKKEN``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from consumers.validator import Validator
from producers.sleutels import Pseudonymiser, Sealer, init_keys
from tests.support import validator as h
from tests.support.builders import ANDER, LB, MBO, afteken, ev, inschrijving, verklaring

T2 = "33333333-3333-4333-8333-333333333333"
V2 = "44444444-4444-4444-8444-444444444444"
WP = {
    "B1-K1-W1": "Bereidt de werkzaamheden voor",
    "B1-K1-W2": "Zet de bouwplaats op",
    "B1-K2-W1": "Voert sloopwerkzaamheden uit",
}
UITGEGEVEN = dt.datetime(2020, 11, 2, 10, tzinfo=dt.UTC)
INGETROKKEN = dt.datetime(2021, 1, 5, 10, tzinfo=dt.UTC)


def partner_sleutels(keydir: Path) -> tuple[Pseudonymiser, Sealer]:
    """A key folder (``keys init``, with the registry's signing key): the partners' pseudonymiser and sealer."""
    init_keys(
        keydir / "pseudonym.key", keydir / "registry.pub", keydir / "registry.key", signing_file=keydir / "signing.key"
    )
    return Pseudonymiser.from_file(keydir / "pseudonym.key"), Sealer.from_file(keydir / "registry.pub")


def reference() -> list[tuple[str, dict[str, Any]]]:
    kt = [
        {
            "code": "B1-K1",
            "naam": "Bereidt bouwwerkzaamheden voor",
            "werkprocessen": [{"code": c, "naam": n} for c, n in WP.items() if c.startswith("B1-K1")],
        },
        {"code": "B1-K2", "naam": "Sloopt", "werkprocessen": [{"code": "B1-K2-W1", "naam": WP["B1-K2-W1"]}]},
    ]
    return [
        (
            "KwalificatiedossierVastgesteld",
            ev(
                "sbb",
                crebo="25250",
                naam="Assistent bouwen wonen en onderhoud",
                niveau=1,
                domein="Afbouw, hout en onderhoud",
                kerntaken=kt,
            ),
        ),
        ("LeerbedrijfErkend", ev("sbb", leerbedrijf_id=LB, naam="Bouwbedrijf De Vries BV", crebos=["25250"])),
        ("ErkenningDerdeLeerwegVerleend", ev("duo", mbo_instelling=MBO, crebo="25250", vanaf=dt.date(2019, 1, 1))),
        ("ErkenningDerdeLeerwegVerleend", ev("duo", mbo_instelling=ANDER, crebo="25250", vanaf=dt.date(2019, 1, 1))),
    ]


def publiceer_verklaringen(
    bootstrap: str,
    prefix: str,
    v: Validator,
    sealer: Sealer,
    p: str,
    q: str,
    gegevens_p: dict[str, str],
    gegevens_q: dict[str, str],
    meer_aftekeningen: Iterable[tuple[str, dict[str, Any]]] = (),
) -> None:
    """Reference data; p and q enrolled with their sealed ``gegevens``; every WP signed for p and B1-K1-W1 for q
    (then ``meer_aftekeningen`` in the same batch); the verklaringen issued at ``UITGEGEVEN``. The validator
    catches up after every step."""
    h.publish(bootstrap, prefix, reference())
    h.drain(v)
    h.publish(
        bootstrap,
        prefix,
        [
            ("DeelnemerIngeschreven", inschrijving(deelnemer=p, persoonsgegevens=sealer.seal(gegevens_p))),
            (
                "DeelnemerIngeschreven",
                inschrijving(deelnemer=q, traject_id=T2, persoonsgegevens=sealer.seal(gegevens_q)),
            ),
        ],
    )
    h.drain(v)
    h.publish(
        bootstrap,
        prefix,
        [("WerkprocesAfgetekend", afteken(wp, deelnemer=p)) for wp in WP]
        + [("WerkprocesAfgetekend", afteken("B1-K1-W1", deelnemer=q, traject_id=T2)), *meer_aftekeningen],
    )
    h.drain(v)
    h.publish(
        bootstrap,
        prefix,
        [
            (
                "PraktijkverklaringUitgegeven",
                verklaring(list(WP), deelnemer=p, brancheorganisaties=["sbb"]) | {"occurred_at": UITGEGEVEN},
            ),
            (
                "PraktijkverklaringUitgegeven",
                verklaring(["B1-K1-W1"], deelnemer=q, traject_id=T2, verklaring_id=V2) | {"occurred_at": UITGEGEVEN},
            ),
        ],
    )
    h.drain(v)


def trek_in(
    bootstrap: str, prefix: str, v: Validator, deelnemer: str, verklaring_id: str = V2, at: dt.datetime = INGETROKKEN
) -> None:
    """The instelling revokes the verklaring (``administratieve_fout``) at ``at``; the validator catches up."""
    h.publish(
        bootstrap,
        prefix,
        [
            (
                "PraktijkverklaringIngetrokken",
                ev(MBO, deelnemer=deelnemer, verklaring_id=verklaring_id, reden="administratieve_fout")
                | {"occurred_at": at},
            )
        ],
    )
    h.drain(v)
