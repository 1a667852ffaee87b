"""The tests' entry point to the event builders (registry.demo.bouwer) and the small worlds
the tests, the crash drill and the benchmarks share. Every event here is canonical: as the
validator appends it (``partner``, ``deelnemer``, ``recorded_at``, ``warnings`` set).

* one deelnemer ``P`` in one traject ``T1`` at ``MBO`` with leerbedrijf ``LB``: ``ev``,
  ``aanmelding``, ``inschrijving``, ``afteken``, ``verklaring`` (random event ids, so the
  same call twice gives two events) and ``referentie_events`` (dossier, erkend leerbedrijf,
  erkenning of crebo 25250);
* ``Bouwer``: deterministic ids and Dutch business days, for hand-written logs;
* ``scenario(n)``: a plausible log for ``n`` deelnemers, streamed (memory stays flat).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from registry.demo import bouwer
from registry.demo.bouwer import Event, canoniek, inzending
from registry.domein import referentie
from registry.domein.telregels import AMSTERDAM

__all__ = [
    "ANDER",
    "Bouwer",
    "Event",
    "LB",
    "MBO",
    "P",
    "Q",
    "T0",
    "T1",
    "V1",
    "WERKPROCESSEN",
    "aanmelding",
    "aanmeldingen",
    "afteken",
    "bouwer",
    "canoniek",
    "ev",
    "inschrijving",
    "inzending",
    "moment",
    "referentie_events",
    "scenario",
    "verklaring",
]

UTC = dt.UTC

# ---- one deelnemer, one traject ----------------------------------------------------------------------
P = "a" * 64  # deelnemer pseudonym
Q = "b" * 64
MBO, ANDER = "mbo.albeda", "mbo.roc-top"
LB = "123456789"
T1 = "11111111-1111-4111-8111-111111111111"
V1 = "22222222-2222-4222-8222-222222222222"
T0 = dt.datetime(2020, 6, 1, tzinfo=UTC)  # occurred_at of every event of this world


def ev(partner: str, **fields: Any) -> dict[str, Any]:
    """A canonical envelope around any fields (for events the builders below do not cover)."""
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": T0,
        "partner": partner,
        "recorded_at": None,
        "warnings": [],
        **fields,
    }


def _canoniek(event_type: str, partner: str, payload: bouwer.Payload, deelnemer: str | None = P) -> dict[str, Any]:
    return canoniek(
        event_type, payload, event_id=str(uuid.uuid4()), occurred_at=T0, partner=partner, deelnemer=deelnemer
    )[1]


def aanmelding(partner: str = "gemeente.gm0599", deelnemer: str = P, pilot: str = "rijnmond") -> dict[str, Any]:
    return _canoniek("KandidaatAangemeld", partner, bouwer.aanmelding(pilot, "gemeente", "a", None, False), deelnemer)


def aanmeldingen(*deelnemers: str, pilot: str = "rijnmond") -> list[tuple[str, dict[str, Any]]]:
    """An aanmelding (by gemeente.gm0599) of each deelnemer for ``pilot``: what an inschrijving there needs."""
    return [("KandidaatAangemeld", aanmelding(deelnemer=d, pilot=pilot)) for d in deelnemers]


def inschrijving(**over: Any) -> dict[str, Any]:
    payload = bouwer.inschrijving(T1, MBO, "25250", "rijnmond", dt.date(2020, 6, 1), "vrouw", 30, leerbedrijf_id=LB)
    return _canoniek("DeelnemerIngeschreven", MBO, payload) | over


def afteken(wp: str = "B1-K1-W1", partner: str = MBO, **over: Any) -> dict[str, Any]:
    return _canoniek("WerkprocesAfgetekend", partner, bouwer.aftekening(T1, "25250", wp, "po-1")) | over


def verklaring(wps: list[str], **over: Any) -> dict[str, Any]:
    payload = bouwer.verklaring(
        T1, V1, [("25250", w) for w in wps], LB, ondertekend_door="po-0042", ondertekend_op=T0.date()
    )
    return _canoniek("PraktijkverklaringUitgegeven", MBO, payload) | over


def referentie_events(domein: str = "x") -> list[Event]:
    """Dossier 25250 (werkprocessen B1-K1-W1..W4), leerbedrijf LB erkend for it, MBO's erkenning."""
    werkprocessen = [(f"B1-K1-W{i}", "w") for i in range(1, 5)]
    return [
        (
            "KwalificatiedossierVastgesteld",
            _canoniek(
                "KwalificatiedossierVastgesteld",
                "sbb",
                bouwer.dossier("25250", "Assistent bouwen", 1, domein, [("B1-K1", "k", werkprocessen)]),
                None,
            ),
        ),
        (
            "LeerbedrijfErkend",
            _canoniek("LeerbedrijfErkend", "sbb", bouwer.leerbedrijf_erkend(LB, "Bouw BV", ["25250"]), None),
        ),
        (
            "ErkenningDerdeLeerwegVerleend",
            _canoniek(
                "ErkenningDerdeLeerwegVerleend", "duo", bouwer.erkenning(MBO, "25250", dt.date(2019, 1, 1)), None
            ),
        ),
    ]


# ---- hand-written logs ---------------------------------------------------------------------------------
def moment(day: dt.date, hour: int = 10) -> dt.datetime:
    """A business timestamp on that Dutch calendar day (UTC, as the codec returns it)."""
    return dt.datetime.combine(day, dt.time(hour), AMSTERDAM).astimezone(UTC)


_GEHEIM = b"\x01SECRET-BYTES"  # stands in for sealed persoonsgegevens


class Bouwer:
    """Canonical events with deterministic ids (uuid5 of a seed and a counter), recorded five
    minutes after they occurred at the given hour of a Dutch business day."""

    def __init__(self, seed: str = "voorbeeld") -> None:
        self.seed = seed
        self.n = 0

    def uuid(self) -> str:
        self.n += 1
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.seed}/{self.n}"))

    def _event(
        self,
        event_type: str,
        partner: str,
        on: dt.date,
        payload: bouwer.Payload,
        hour: int = 10,
        deelnemer: str | None = None,
        persoonsgegevens: bytes | None = None,
        volgnummer: int | None = None,
    ) -> Event:
        at = moment(on, hour)
        return canoniek(
            event_type,
            payload,
            event_id=self.uuid(),
            occurred_at=at,
            partner=partner,
            deelnemer=deelnemer,
            recorded_at=at + dt.timedelta(minutes=5),
            persoonsgegevens=persoonsgegevens,
            volgnummer=volgnummer,
        )

    def aanmelding(
        self,
        deelnemer: str,
        pilot: str,
        on: dt.date,
        gemeente: str | None = None,
        aanmelder: str = "gemeente",
        doelgroep: str = "a",
        uitkering: str = "onbekend",
        partner: str | None = None,
    ) -> Event:
        return self._event(
            "KandidaatAangemeld",
            partner or "gemeente." + (gemeente or "gm0599").lower(),
            on,
            bouwer.aanmelding(pilot, aanmelder, doelgroep, gemeente, False, uitkering=uitkering),
            deelnemer=deelnemer,
            persoonsgegevens=_GEHEIM,
        )

    def advies(self, deelnemer: str, instelling: str, on: dt.date, advies: str = "praktijkverklaring") -> Event:
        return self._event(
            "AdviesUitgebracht",
            instelling,
            on,
            bouwer.advies(instelling, advies, "geen_inschrijving_geen_startkwalificatie"),
            deelnemer=deelnemer,
        )

    def inschrijving(
        self,
        deelnemer: str,
        traject_id: str,
        pilot: str,
        instelling: str,
        crebo: str,
        startdatum: dt.date,
        *,
        leerbedrijf_id: str | None = None,
        geslacht: str = "vrouw",
        leeftijd: int = 30,
        gemeente: str | None = None,
        on: dt.date | None = None,
    ) -> Event:
        payload = bouwer.inschrijving(
            traject_id,
            instelling,
            crebo,
            pilot,
            startdatum,
            geslacht,
            leeftijd,
            leerbedrijf_id=leerbedrijf_id,
            gemeente=gemeente,
            pok_datum=startdatum,
        )
        return self._event(
            "DeelnemerIngeschreven",
            instelling,
            on or startdatum,
            payload,
            deelnemer=deelnemer,
            persoonsgegevens=_GEHEIM,
        )

    def afspraken(
        self,
        deelnemer: str,
        traject_id: str,
        werkprocessen: Sequence[tuple[str, str]],
        on: dt.date,
        geplande_einddatum: dt.date = dt.date(2021, 6, 30),
        uren_per_week: int = 24,
        instelling: str = "mbo.albeda",
    ) -> Event:
        payload = bouwer.praktijkafspraken(traject_id, werkprocessen, geplande_einddatum, uren_per_week)
        return self._event("PraktijkafsprakenVastgelegd", instelling, on, payload, deelnemer=deelnemer)

    def leerbedrijf(self, deelnemer: str, traject_id: str, leerbedrijf_id: str, on: dt.date) -> Event:
        return self._event(
            "LeerbedrijfVastgelegd",
            "sbb",
            on,
            bouwer.leerbedrijf_vastgelegd(traject_id, leerbedrijf_id, "po-1"),
            deelnemer=deelnemer,
        )

    def aftekening(
        self, deelnemer: str, traject_id: str, crebo: str, werkproces: str, on: dt.date, hour: int = 10
    ) -> Event:
        return self._event(
            "WerkprocesAfgetekend",
            "leerbedrijf.100000001",
            on,
            bouwer.aftekening(traject_id, crebo, werkproces, "po-1"),
            hour,
            deelnemer=deelnemer,
        )

    def aftekening_ingetrokken(
        self, deelnemer: str, traject_id: str, crebo: str, werkproces: str, on: dt.date, hour: int = 11
    ) -> Event:
        return self._event(
            "AftekeningIngetrokken",
            "leerbedrijf.100000001",
            on,
            bouwer.aftekening_ingetrokken(traject_id, crebo, werkproces, "onterecht_afgetekend"),
            hour,
            deelnemer=deelnemer,
        )

    def verklaring(
        self,
        deelnemer: str,
        traject_id: str,
        verklaring_id: str,
        werkprocessen: Sequence[tuple[str, str]],
        on: dt.date,
        *,
        volgnummer: int,
        leerbedrijf_id: str = "100000001",
        brancheorganisaties: Sequence[str] = (),
        instelling: str = "mbo.albeda",
    ) -> Event:
        payload = bouwer.verklaring(
            traject_id,
            verklaring_id,
            werkprocessen,
            leerbedrijf_id,
            brancheorganisaties,
            ondertekend_door="po-0001",
            ondertekend_op=on,
        )
        return self._event(
            "PraktijkverklaringUitgegeven", instelling, on, payload, 14, deelnemer=deelnemer, volgnummer=volgnummer
        )

    def verklaring_ingetrokken(
        self,
        deelnemer: str,
        verklaring_id: str,
        on: dt.date,
        instelling: str = "mbo.albeda",
        reden: str = "administratieve_fout",
    ) -> Event:
        return self._event(
            "PraktijkverklaringIngetrokken",
            instelling,
            on,
            bouwer.verklaring_ingetrokken(verklaring_id, reden),
            deelnemer=deelnemer,
        )

    def beeindigd(
        self,
        deelnemer: str,
        traject_id: str,
        reden: str,
        on: dt.date,
        instelling: str = "mbo.albeda",
        uitvalreden: str | None = None,
    ) -> Event:
        """``uitvalreden``: for ``voortijdig_gestopt`` ``overig`` unless given (the registry requires one)."""
        if uitvalreden is None and reden == "voortijdig_gestopt":
            uitvalreden = "overig"
        payload = bouwer.beeindiging(traject_id, reden, uitvalreden)
        return self._event("TrajectBeeindigd", instelling, on, payload, 16, deelnemer=deelnemer)

    def uitstroom(
        self,
        deelnemer: str,
        soort: str,
        on: dt.date,
        peilmoment: str = "einde",
        contract: str | None = None,
        uitkering_na: str = "onbekend",
        partner: str = "uwv",
    ) -> Event:
        payload = bouwer.uitstroom(soort, peilmoment, contract, uitkering_na)
        return self._event("UitstroomGeregistreerd", partner, on, payload, 17, deelnemer=deelnemer)

    def verwijderd(self, deelnemer: str, on: dt.date) -> Event:
        return self._event(
            "DeelnemerGegevensVerwijderd", "sbb", on, bouwer.verwijdering("AVG art. 17"), deelnemer=deelnemer
        )

    def dossier(
        self,
        crebo: str,
        naam: str,
        niveau: int,
        domein: str,
        werkprocessen: Sequence[tuple[str, str]],
        on: dt.date = dt.date(2019, 1, 1),
    ) -> Event:
        return self._event(
            "KwalificatiedossierVastgesteld",
            "sbb",
            on,
            bouwer.dossier(crebo, naam, niveau, domein, [("B1-K1", "Kerntaak 1", werkprocessen)]),
        )

    def leerbedrijf_erkend(
        self, leerbedrijf_id: str, naam: str, crebos: Sequence[str], on: dt.date = dt.date(2019, 1, 1)
    ) -> Event:
        return self._event("LeerbedrijfErkend", "sbb", on, bouwer.leerbedrijf_erkend(leerbedrijf_id, naam, crebos))

    def erkenning(self, instelling: str, crebo: str, on: dt.date = dt.date(2019, 1, 1)) -> Event:
        return self._event("ErkenningDerdeLeerwegVerleend", "duo", on, bouwer.erkenning(instelling, crebo, on))

    def telling(self, pilot: str, peildatum: dt.date, aantal: int, deelnemers: Sequence[str] = ()) -> Event:
        payload = bouwer.telling(
            "monitor", pilot, peildatum, aantal, deelnemers=[(d, "in_traject") for d in deelnemers]
        )
        return self._event("TellingGemeld", "monitor", peildatum, payload)


# ---- a plausible log of any size ------------------------------------------------------------------------
WERKPROCESSEN = [f"B1-K1-W{i}" for i in range(1, 7)]


def scenario(n: int, seed: int = 1, start: dt.date = dt.date(2019, 9, 1)) -> Iterator[Event]:
    """A plausible canonical log for ``n`` deelnemers, one deelnemer's events in order."""
    rnd = random.Random(seed)
    b = Bouwer(f"scenario-{seed}")
    pilots = sorted(referentie.pilots())
    instellingen = sorted(referentie.mbo_instellingen())
    crebos = sorted(referentie.kwalificaties())
    for crebo in crebos[:6]:
        k = referentie.kwalificaties()[crebo]
        yield b.dossier(crebo, k.naam, k.niveau, k.domein, [(w, f"Werkproces {w}") for w in WERKPROCESSEN])
    for i in range(n):
        yield from _deelnemer(rnd, b, f"d{seed:03d}{i:06d}".ljust(64, "0"), pilots, instellingen, crebos[:6], start)


def _deelnemer(
    rnd: random.Random, b: Bouwer, d: str, pilots: list[str], instellingen: list[str], crebos: list[str], start: dt.date
) -> Iterator[Event]:
    traject = b.uuid()
    pilot = rnd.choice(pilots)
    inst = rnd.choice(instellingen)
    crebo = rnd.choice(crebos)
    day = start + dt.timedelta(days=rnd.randrange(0, 500))
    yield b.aanmelding(d, pilot, day - dt.timedelta(days=30), gemeente=f"GM{rnd.randrange(1, 2000):04d}")
    yield b.inschrijving(
        d,
        traject,
        pilot,
        inst,
        crebo,
        day,
        leerbedrijf_id=rnd.choice([None, f"1{rnd.randrange(10**8):08d}"]),
        geslacht=rnd.choice(["man", "vrouw", "onbekend"]),
        leeftijd=rnd.randrange(16, 64),
    )
    if rnd.random() < 0.3:
        yield b.leerbedrijf(d, traject, f"1{rnd.randrange(10**8):08d}", day + dt.timedelta(days=20))
    wps = rnd.sample(WERKPROCESSEN, rnd.randrange(1, 6))
    for j, wp in enumerate(wps):
        yield b.aftekening(d, traject, crebo, wp, day + dt.timedelta(days=40 + j))
    if rnd.random() < 0.1:
        yield b.aftekening_ingetrokken(d, traject, crebo, wps[0], day + dt.timedelta(days=60))
    if rnd.random() < 0.6:
        vid = b.uuid()
        yield b.verklaring(
            d,
            traject,
            vid,
            [(crebo, w) for w in wps],
            day + dt.timedelta(days=90),
            volgnummer=1,
            brancheorganisaties=rnd.choice([[], ["SBB"], ["ActiZ", "CBM"]]),
            instelling=inst,
        )
        if rnd.random() < 0.1:
            yield b.verklaring_ingetrokken(d, vid, day + dt.timedelta(days=120), instelling=inst)
    if rnd.random() < 0.5:
        yield b.beeindigd(
            d, traject, rnd.choice(["afgerond", "voortijdig_gestopt"]), day + dt.timedelta(days=150), instelling=inst
        )
        yield b.uitstroom(d, rnd.choice(["betaald_werk", "geen"]), day + dt.timedelta(days=160))
