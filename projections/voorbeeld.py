"""Canonical-log events built in code: for tests, the crash drill and benchmarks.

``Bouwer`` makes records as the validator would append them (``recorded_at``,
``warnings`` and ``volgnummer`` set); ``scenario`` streams a plausible log for n
deelnemers (a generator: memory stays flat however large n is).
"""
from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any, Iterator, Sequence

from projections.model import AMSTERDAM

Event = tuple[str, dict[str, Any]]
UTC = dt.timezone.utc


def moment(day: dt.date, hour: int = 10) -> dt.datetime:
    """A business timestamp on that Dutch calendar day (UTC, as the codec returns it)."""
    return dt.datetime.combine(day, dt.time(hour), AMSTERDAM).astimezone(UTC)


class Bouwer:
    """Deterministic ids (uuid5 of a seed and a counter) and envelope fields."""

    def __init__(self, seed: str = "voorbeeld") -> None:
        self.seed = seed
        self.n = 0

    def uuid(self) -> str:
        self.n += 1
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.seed}/{self.n}"))

    def _env(self, partner: str, on: dt.date, hour: int = 10, **fields: Any) -> dict[str, Any]:
        at = moment(on, hour)
        return {"event_id": self.uuid(), "occurred_at": at, "partner": partner,
                "recorded_at": at + dt.timedelta(minutes=5), "warnings": [], **fields}

    def aanmelding(self, deelnemer: str, pilot: str, on: dt.date, gemeente: str | None = None,
                   aanmelder: str = "gemeente", doelgroep: str = "a") -> Event:
        return "KandidaatAangemeld", self._env(
            "gemeente." + (gemeente or "gm0599").lower(), on, deelnemer=deelnemer, pilot=pilot,
            aanmelder_type=aanmelder, doelgroep=doelgroep, gemeente=gemeente, werkend=False,
            persoonsgegevens=b"\x01SECRET-BYTES")

    def advies(self, deelnemer: str, instelling: str, on: dt.date, advies: str = "praktijkverklaring") -> Event:
        return "AdviesUitgebracht", self._env(instelling, on, deelnemer=deelnemer, mbo_instelling=instelling,
                                              advies=advies, duo_check="geen_inschrijving_geen_startkwalificatie",
                                              startkwalificatie_verouderd=False)

    def inschrijving(self, deelnemer: str, traject_id: str, pilot: str, instelling: str, crebo: str,
                     startdatum: dt.date, *, leerbedrijf_id: str | None = None, geslacht: str = "vrouw",
                     leeftijd: int = 30, gemeente: str | None = None, on: dt.date | None = None) -> Event:
        return "DeelnemerIngeschreven", self._env(
            instelling, on or startdatum, deelnemer=deelnemer, traject_id=traject_id, mbo_instelling=instelling,
            crebo=crebo, leertraject="OVO", pilot=pilot, startdatum=startdatum, leerbedrijf_id=leerbedrijf_id,
            geslacht=geslacht, leeftijd=leeftijd, gemeente=gemeente, persoonsgegevens=b"\x01SECRET-BYTES",
            pok_datum=startdatum)

    def leerbedrijf(self, deelnemer: str, traject_id: str, leerbedrijf_id: str, on: dt.date) -> Event:
        return "LeerbedrijfVastgelegd", self._env("sbb", on, deelnemer=deelnemer, traject_id=traject_id,
                                                  leerbedrijf_id=leerbedrijf_id, praktijkopleider="po-1")

    def aftekening(self, deelnemer: str, traject_id: str, crebo: str, werkproces: str, on: dt.date,
                   hour: int = 10) -> Event:
        return "WerkprocesAfgetekend", self._env("leerbedrijf.100000001", on, hour, deelnemer=deelnemer,
                                                 traject_id=traject_id, crebo=crebo, werkproces=werkproces,
                                                 afgetekend_door="po-1")

    def aftekening_ingetrokken(self, deelnemer: str, traject_id: str, crebo: str, werkproces: str,
                               on: dt.date, hour: int = 11) -> Event:
        return "AftekeningIngetrokken", self._env("leerbedrijf.100000001", on, hour, deelnemer=deelnemer,
                                                  traject_id=traject_id, crebo=crebo, werkproces=werkproces,
                                                  reden="onterecht")

    def verklaring(self, deelnemer: str, traject_id: str, verklaring_id: str, werkprocessen: Sequence[tuple[str, str]],
                   on: dt.date, *, volgnummer: int, leerbedrijf_id: str = "100000001",
                   brancheorganisaties: Sequence[str] = (), instelling: str = "mbo.albeda") -> Event:
        return "PraktijkverklaringUitgegeven", self._env(
            instelling, on, 14, deelnemer=deelnemer, traject_id=traject_id, verklaring_id=verklaring_id,
            werkprocessen=[{"crebo": c, "werkproces": w} for c, w in werkprocessen], leerbedrijf_id=leerbedrijf_id,
            brancheorganisaties=list(brancheorganisaties), volgnummer=volgnummer)

    def verklaring_ingetrokken(self, deelnemer: str, verklaring_id: str, on: dt.date,
                               instelling: str = "mbo.albeda", reden: str = "fout") -> Event:
        return "PraktijkverklaringIngetrokken", self._env(instelling, on, deelnemer=deelnemer,
                                                          verklaring_id=verklaring_id, reden=reden)

    def beeindigd(self, deelnemer: str, traject_id: str, reden: str, on: dt.date,
                  instelling: str = "mbo.albeda") -> Event:
        return "TrajectBeeindigd", self._env(instelling, on, 16, deelnemer=deelnemer, traject_id=traject_id,
                                             reden=reden)

    def uitstroom(self, deelnemer: str, soort: str, on: dt.date) -> Event:
        return "UitstroomGeregistreerd", self._env("uwv", on, 17, deelnemer=deelnemer, uitstroom=soort)

    def verwijderd(self, deelnemer: str, on: dt.date) -> Event:
        return "DeelnemerGegevensVerwijderd", self._env("sbb", on, deelnemer=deelnemer, grondslag="AVG art. 17")

    def dossier(self, crebo: str, naam: str, niveau: int, domein: str, werkprocessen: Sequence[tuple[str, str]],
                on: dt.date = dt.date(2019, 1, 1)) -> Event:
        return "KwalificatiedossierVastgesteld", self._env(
            "sbb", on, crebo=crebo, naam=naam, niveau=niveau, domein=domein,
            kerntaken=[{"code": "B1-K1", "naam": "Kerntaak 1",
                        "werkprocessen": [{"code": c, "naam": n} for c, n in werkprocessen]}])

    def leerbedrijf_erkend(self, leerbedrijf_id: str, naam: str, crebos: Sequence[str],
                           on: dt.date = dt.date(2019, 1, 1)) -> Event:
        return "LeerbedrijfErkend", self._env("sbb", on, leerbedrijf_id=leerbedrijf_id, naam=naam, crebos=list(crebos))

    def erkenning(self, instelling: str, crebo: str, on: dt.date = dt.date(2019, 1, 1)) -> Event:
        return "ErkenningDerdeLeerwegVerleend", self._env("duo", on, mbo_instelling=instelling, crebo=crebo,
                                                          vanaf=on)

    def telling(self, pilot: str, peildatum: dt.date, aantal: int, deelnemers: Sequence[str] = ()) -> Event:
        return "TellingGemeld", self._env("monitor", peildatum, bron_type="monitor", pilot=pilot, peildatum=peildatum,
                                          aantal_deelnemers=aantal, aantal_verklaringen=None,
                                          deelnemers=[{"deelnemer": d, "status": "in_traject"} for d in deelnemers]
                                          or None)


WERKPROCESSEN = [f"B1-K1-W{i}" for i in range(1, 7)]


def scenario(n: int, seed: int = 1, start: dt.date = dt.date(2019, 9, 1)) -> Iterator[Event]:
    """A plausible canonical log for ``n`` deelnemers, one deelnemer's events in order."""
    from registry.domein import referentie

    rnd = random.Random(seed)
    b = Bouwer(f"scenario-{seed}")
    pilots = sorted(referentie.pilots())
    instellingen = sorted(referentie.mbo_instellingen())
    crebos = sorted(referentie.kwalificaties())
    for crebo in crebos[:6]:
        k = referentie.kwalificaties()[crebo]
        yield b.dossier(crebo, k.naam, k.niveau, k.domein, [(w, f"Werkproces {w}") for w in WERKPROCESSEN])
    for i in range(n):
        d = f"d{seed:03d}{i:06d}".ljust(64, "0")
        traject = b.uuid()
        pilot = rnd.choice(pilots)
        inst = rnd.choice(instellingen)
        crebo = rnd.choice(crebos[:6])
        day = start + dt.timedelta(days=rnd.randrange(0, 500))
        yield b.aanmelding(d, pilot, day - dt.timedelta(days=30), gemeente=f"GM{rnd.randrange(1, 2000):04d}")
        yield b.inschrijving(d, traject, pilot, inst, crebo, day, leerbedrijf_id=rnd.choice([None, f"1{rnd.randrange(10**8):08d}"]),
                             geslacht=rnd.choice(["man", "vrouw", "onbekend"]), leeftijd=rnd.randrange(16, 64))
        if rnd.random() < 0.3:
            yield b.leerbedrijf(d, traject, f"1{rnd.randrange(10**8):08d}", day + dt.timedelta(days=20))
        wps = rnd.sample(WERKPROCESSEN, rnd.randrange(1, 6))
        for j, wp in enumerate(wps):
            yield b.aftekening(d, traject, crebo, wp, day + dt.timedelta(days=40 + j))
        if rnd.random() < 0.1:
            yield b.aftekening_ingetrokken(d, traject, crebo, wps[0], day + dt.timedelta(days=60))
        if rnd.random() < 0.6:
            vid = b.uuid()
            yield b.verklaring(d, traject, vid, [(crebo, w) for w in wps], day + dt.timedelta(days=90), volgnummer=1,
                               brancheorganisaties=rnd.choice([[], ["SBB"], ["ActiZ", "CBM"]]), instelling=inst)
            if rnd.random() < 0.1:
                yield b.verklaring_ingetrokken(d, vid, day + dt.timedelta(days=120), instelling=inst)
        if rnd.random() < 0.5:
            yield b.beeindigd(d, traject, rnd.choice(["afgerond", "voortijdig_gestopt"]), day + dt.timedelta(days=150),
                              instelling=inst)
            yield b.uitstroom(d, rnd.choice(["betaald_werk", "geen"]), day + dt.timedelta(days=160))
