"""The validator's view of the registry: what it must know to judge the next event.

State is a fold over the canonical log (``pas_toe`` applies one accepted event), so
it can always be rebuilt or rolled forward from ``praktijkleren.events``. No I/O here:
the validator adapter persists the entities it marks dirty.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from registry.domein.handlers import EventHandlers

Record = Mapping[str, Any]
Werkproces = tuple[str, str]  # (crebo, werkproces code)


@dataclass
class Traject:
    traject_id: str
    deelnemer: str
    mbo_instelling: str
    crebo: str
    startdatum: dt.date
    leerbedrijf_id: str | None = None
    open: bool = True
    afgetekend: set[Werkproces] = field(default_factory=set)
    einde: dt.datetime | None = None  # occurred_at of TrajectBeeindigd
    # the werkprocessen of the latest PraktijkafsprakenVastgelegd (by occurred_at) and its occurred_at; None: none yet
    afspraak: set[Werkproces] | None = None
    afspraak_op: dt.datetime | None = None


@dataclass
class Verklaring:
    verklaring_id: str
    deelnemer: str
    traject_id: str
    mbo_instelling: str
    werkprocessen: set[Werkproces]
    volgnummer: int
    ingetrokken: bool = False


@dataclass
class Deelnemer:
    deelnemer: str
    advies: bool = False
    aangemeld_door: set[str] = field(default_factory=set)
    trajecten: list[str] = field(default_factory=list)
    verklaringen: list[str] = field(default_factory=list)
    advies_door: set[str] = field(default_factory=set)  # instellingen that gave an advies
    aangemeld_voor: set[str] = field(default_factory=set)  # pilots it was aangemeld for (by anyone)


@dataclass
class Staat:
    event_ids: set[str] = field(default_factory=set)
    dossiers: dict[str, set[str]] = field(default_factory=dict)  # crebo -> werkproces codes
    leerbedrijven: dict[str, set[str]] = field(default_factory=dict)  # leerbedrijf_id -> crebos
    erkenningen: dict[tuple[str, str], dt.date] = field(default_factory=dict)  # (instelling, crebo) -> vanaf
    trajecten: dict[str, Traject] = field(default_factory=dict)
    verklaringen: dict[str, Verklaring] = field(default_factory=dict)
    deelnemers: dict[str, Deelnemer] = field(default_factory=dict)
    # (kind, id) of entities changed since the adapter last persisted them
    dirty: set[tuple[str, str]] = field(default_factory=set)
    # erasure (DeelnemerGegevensVerwijderd): SHA-256 of the erased pseudonyms (later events for them are refused
    # with gegevens_verwijderd), and the (kind, id) of entities it removed that the adapter must delete
    verwijderd: set[str] = field(default_factory=set)
    weg: set[tuple[str, str]] = field(default_factory=set)
    # per erased pseudonym (its hash): the partners that had a relation with it (only they hear gegevens_verwijderd)
    verwijderd_relaties: dict[str, set[str]] = field(default_factory=dict)
    # pilot -> the partners that referred someone to it or enrolled someone in it (who may send its telling lists)
    pilot_partners: dict[str, set[str]] = field(default_factory=dict)

    def is_verwijderd(self, pseudonym: str) -> bool:
        # every event asks (twice): no erasure yet, no hash to compute
        return bool(self.verwijderd) and verwijderd_sleutel(pseudonym) in self.verwijderd

    def deelnemer(self, pseudonym: str) -> Deelnemer:
        d = self.deelnemers.get(pseudonym)
        if d is None:
            d = self.deelnemers[pseudonym] = Deelnemer(pseudonym)
        self.dirty.add(("deelnemer", pseudonym))
        return d

    def open_trajecten(self, pseudonym: str) -> list[Traject]:
        d = self.deelnemers.get(pseudonym)
        return [self.trajecten[t] for t in (d.trajecten if d else []) if self.trajecten[t].open]

    def actieve_verklaringen(self, pseudonym: str) -> list[Verklaring]:
        d = self.deelnemers.get(pseudonym)
        return [v for v in (self.verklaringen[i] for i in (d.verklaringen if d else [])) if not v.ingetrokken]

    def instellingen_van(self, pseudonym: str) -> set[str]:
        d = self.deelnemers.get(pseudonym)
        return {self.trajecten[t].mbo_instelling for t in (d.trajecten if d else [])}

    def leerbedrijven_van(self, pseudonym: str) -> set[str]:
        """The partner ids of the leerbedrijven named on the deelnemer's trajecten."""
        d = self.deelnemers.get(pseudonym)
        ids = {self.trajecten[t].leerbedrijf_id for t in (d.trajecten if d else [])}
        return {f"leerbedrijf.{i}" for i in ids if i}

    def pilot_partner(self, pilot: str, partner: str) -> None:
        ids = self.pilot_partners.setdefault(pilot, set())
        if partner not in ids:
            ids.add(partner)
            self.dirty.add(("pilot", pilot))


def verwijderd_sleutel(pseudonym: str) -> str:
    """How the state remembers an erased pseudonym without holding it (a one-way hash)."""
    return hashlib.sha256(b"verwijderd|" + pseudonym.encode()).hexdigest()


def pas_toe(staat: Staat, event_type: str, r: Record) -> None:
    """Apply one ACCEPTED canonical event (idempotent on event_id)."""
    if r["event_id"] in staat.event_ids:
        return
    staat.event_ids.add(r["event_id"])
    staat.dirty.add(("event", r["event_id"]))
    handler = _HANDLERS.get(event_type)
    if handler:
        handler(staat, r)


def _aangemeld(s: Staat, r: Record) -> None:
    d = s.deelnemer(r["deelnemer"])
    d.aangemeld_door.add(r["partner"])
    d.aangemeld_voor.add(r["pilot"])
    s.pilot_partner(r["pilot"], r["partner"])


def _advies(s: Staat, r: Record) -> None:
    d = s.deelnemer(r["deelnemer"])
    d.advies = True
    d.advies_door.add(r["partner"])


def _ingeschreven(s: Staat, r: Record) -> None:
    t = Traject(
        r["traject_id"], r["deelnemer"], r["mbo_instelling"], r["crebo"], r["startdatum"], r.get("leerbedrijf_id")
    )
    s.trajecten[t.traject_id] = t
    s.dirty.add(("traject", t.traject_id))
    s.deelnemer(r["deelnemer"]).trajecten.append(t.traject_id)
    s.pilot_partner(r["pilot"], r["mbo_instelling"])


def _traject(s: Staat, r: Record) -> Traject:
    s.dirty.add(("traject", r["traject_id"]))
    return s.trajecten[r["traject_id"]]


def _leerbedrijf(s: Staat, r: Record) -> None:
    _traject(s, r).leerbedrijf_id = r["leerbedrijf_id"]


def _afspraken(s: Staat, r: Record) -> None:
    t = _traject(s, r)
    if t.afspraak_op is None or r["occurred_at"] >= t.afspraak_op:  # the latest agreement counts, whatever the order
        t.afspraak = {(w["crebo"], w["werkproces"]) for w in r["werkprocessen"]}
        t.afspraak_op = r["occurred_at"]


def _afgetekend(s: Staat, r: Record) -> None:
    _traject(s, r).afgetekend.add((r["crebo"], r["werkproces"]))


def _ingetrokken_aftekening(s: Staat, r: Record) -> None:
    _traject(s, r).afgetekend.discard((r["crebo"], r["werkproces"]))


def _verklaring(s: Staat, r: Record) -> None:
    t = s.trajecten[r["traject_id"]]
    v = Verklaring(
        r["verklaring_id"],
        r["deelnemer"],
        t.traject_id,
        t.mbo_instelling,
        {(w["crebo"], w["werkproces"]) for w in r["werkprocessen"]},
        r["volgnummer"] or 0,
    )
    s.verklaringen[v.verklaring_id] = v
    s.dirty.add(("verklaring", v.verklaring_id))
    s.deelnemer(r["deelnemer"]).verklaringen.append(v.verklaring_id)


def _verklaring_ingetrokken(s: Staat, r: Record) -> None:
    s.verklaringen[r["verklaring_id"]].ingetrokken = True
    s.dirty.add(("verklaring", r["verklaring_id"]))


def _beeindigd(s: Staat, r: Record) -> None:
    t = _traject(s, r)
    t.open, t.einde = False, r["occurred_at"]


def _verwijderd(s: Staat, r: Record) -> None:
    """Erasure: forget the deelnemer, its trajecten and verklaringen; remember only the hash of its pseudonym and
    which partners had a relation with it (they alone are told ``gegevens_verwijderd`` later)."""
    relaties = relaties_van(s, r["deelnemer"]) | ({str(r["partner"])} if r.get("partner") else set())
    d = s.deelnemers.pop(r["deelnemer"], None)
    weg: set[tuple[str, str]] = {("deelnemer", r["deelnemer"])}
    for t in d.trajecten if d else []:
        s.trajecten.pop(t, None)
        weg.add(("traject", t))
    for v in d.verklaringen if d else []:
        s.verklaringen.pop(v, None)
        weg.add(("verklaring", v))
    s.dirty -= weg
    s.weg |= weg
    sleutel = verwijderd_sleutel(r["deelnemer"])
    s.verwijderd.add(sleutel)
    s.verwijderd_relaties[sleutel] = s.verwijderd_relaties.get(sleutel, set()) | relaties
    s.dirty.add(("verwijderd", sleutel))


def heeft_relatie_met(s: Staat, partner: str, pseudonym: str) -> bool:
    """``partner in relaties_van(s, pseudonym)``, asked for every event about a deelnemer: the first relation found
    answers, no sets are built."""
    d = s.deelnemers.get(pseudonym)
    if d is None:
        return False
    if partner in d.aangemeld_door or partner in d.advies_door:
        return True
    trajecten = [s.trajecten[t] for t in d.trajecten]
    if any(t.mbo_instelling == partner for t in trajecten):
        return True
    return partner.startswith("leerbedrijf.") and any(
        t.leerbedrijf_id and f"leerbedrijf.{t.leerbedrijf_id}" == partner for t in trajecten
    )


def relaties_van(s: Staat, pseudonym: str) -> set[str]:
    """The partners with a relation to a known deelnemer, through the log: its referrers (KandidaatAangemeld), the
    instellingen of its advies and trajecten, and the leerbedrijven those trajecten name (sbb: always, not listed)."""
    d = s.deelnemers.get(pseudonym)
    if d is None:
        return set()
    return set(d.aangemeld_door) | d.advies_door | s.instellingen_van(pseudonym) | s.leerbedrijven_van(pseudonym)


def _dossier(s: Staat, r: Record) -> None:
    s.dossiers[r["crebo"]] = {w["code"] for k in r["kerntaken"] for w in k["werkprocessen"]}
    s.dirty.add(("dossier", r["crebo"]))


def _leerbedrijf_erkend(s: Staat, r: Record) -> None:
    s.leerbedrijven[r["leerbedrijf_id"]] = set(r["crebos"])
    s.dirty.add(("leerbedrijf", r["leerbedrijf_id"]))


def _erkenning(s: Staat, r: Record) -> None:
    s.erkenningen[(r["mbo_instelling"], r["crebo"])] = r["vanaf"]
    s.dirty.add(("erkenning", f"{r['mbo_instelling']}|{r['crebo']}"))


# how each accepted event type changes what the validator knows (tests/unit/test_catalogus.py
# checks every catalogue event type is here or in IGNORED)
_HANDLERS: EventHandlers[Callable[[Staat, Record], None]] = EventHandlers(
    "staat",
    {
        "KandidaatAangemeld": _aangemeld,
        "AdviesUitgebracht": _advies,
        "DeelnemerIngeschreven": _ingeschreven,
        "LeerbedrijfVastgelegd": _leerbedrijf,
        "PraktijkafsprakenVastgelegd": _afspraken,
        "WerkprocesAfgetekend": _afgetekend,
        "AftekeningIngetrokken": _ingetrokken_aftekening,
        "PraktijkverklaringUitgegeven": _verklaring,
        "PraktijkverklaringIngetrokken": _verklaring_ingetrokken,
        "TrajectBeeindigd": _beeindigd,
        "DeelnemerGegevensVerwijderd": _verwijderd,
        "KwalificatiedossierVastgesteld": _dossier,
        "LeerbedrijfErkend": _leerbedrijf_erkend,
        "ErkenningDerdeLeerwegVerleend": _erkenning,
    },
    # these change nothing a rule looks at (their event_id is still recorded, so a resubmission stays a
    # no-op): uitstroom ends no traject (TrajectBeeindigd does), and
    # a telling is a pilot's count, not a fact about a traject
    ignored={"UitstroomGeregistreerd", "TellingGemeld", "ReconciliatieUitgevoerd"},
)
HANDLED = _HANDLERS.handled
IGNORED = _HANDLERS.ignored


# ---- entity <-> JSON, for the adapter's persistence -------------------------------------------
def entity_json(staat: Staat, kind: str, key: str) -> Any:
    if kind == "event":
        return None
    if kind == "verwijderd":
        return sorted(staat.verwijderd_relaties.get(key, ()))
    if kind == "pilot":
        return sorted(staat.pilot_partners.get(key, ()))
    # written out field by field: dataclasses.asdict deep-copies every value, which cost the validator more
    # than the database write of the same rows (same JSON as asdict gave: load_entity reads it back)
    if kind == "traject":
        t = staat.trajecten[key]
        return {
            "traject_id": t.traject_id,
            "deelnemer": t.deelnemer,
            "mbo_instelling": t.mbo_instelling,
            "crebo": t.crebo,
            "startdatum": t.startdatum.isoformat(),
            "leerbedrijf_id": t.leerbedrijf_id,
            "open": t.open,
            "afgetekend": [list(w) for w in sorted(t.afgetekend)],
            "einde": t.einde.isoformat() if t.einde is not None else None,
            "afspraak": [list(w) for w in sorted(t.afspraak)] if t.afspraak is not None else None,
            "afspraak_op": t.afspraak_op.isoformat() if t.afspraak_op is not None else None,
        }
    if kind == "verklaring":
        v = staat.verklaringen[key]
        return {
            "verklaring_id": v.verklaring_id,
            "deelnemer": v.deelnemer,
            "traject_id": v.traject_id,
            "mbo_instelling": v.mbo_instelling,
            "werkprocessen": [list(w) for w in sorted(v.werkprocessen)],
            "volgnummer": v.volgnummer,
            "ingetrokken": v.ingetrokken,
        }
    if kind == "deelnemer":
        d = staat.deelnemers[key]
        return {
            "deelnemer": d.deelnemer,
            "advies": d.advies,
            "aangemeld_door": sorted(d.aangemeld_door),
            "trajecten": list(d.trajecten),
            "verklaringen": list(d.verklaringen),
            "advies_door": sorted(d.advies_door),
            "aangemeld_voor": sorted(d.aangemeld_voor),
        }
    if kind == "dossier":
        return sorted(staat.dossiers[key])
    if kind == "leerbedrijf":
        return sorted(staat.leerbedrijven[key])
    if kind == "erkenning":
        instelling, crebo = key.split("|")
        return staat.erkenningen[(instelling, crebo)].isoformat()
    raise ValueError(kind)


def load_entity(staat: Staat, kind: str, key: str, data: Any) -> None:
    if kind == "event":
        staat.event_ids.add(key)
    elif kind == "verwijderd":
        staat.verwijderd.add(key)
        staat.verwijderd_relaties[key] = set(data or ())  # a snapshot from before relations were kept: none
    elif kind == "pilot":
        staat.pilot_partners[key] = set(data or ())
    elif kind == "traject":
        einde, afspraak, afspraak_op = data.get("einde"), data.get("afspraak"), data.get("afspraak_op")
        staat.trajecten[key] = Traject(
            **{
                **data,
                "startdatum": dt.date.fromisoformat(data["startdatum"]),
                "afgetekend": {tuple(w) for w in data["afgetekend"]},
                "einde": dt.datetime.fromisoformat(einde) if einde else None,
                # a snapshot from before praktijkafspraken were kept: none
                "afspraak": {tuple(w) for w in afspraak} if afspraak is not None else None,
                "afspraak_op": dt.datetime.fromisoformat(afspraak_op) if afspraak_op else None,
            }
        )
    elif kind == "verklaring":
        staat.verklaringen[key] = Verklaring(**{**data, "werkprocessen": {tuple(w) for w in data["werkprocessen"]}})
    elif kind == "deelnemer":
        staat.deelnemers[key] = Deelnemer(
            **{
                **data,
                "aangemeld_door": set(data["aangemeld_door"]),
                "advies_door": set(data.get("advies_door") or ()),
                "aangemeld_voor": set(data.get("aangemeld_voor") or ()),
            }
        )
    elif kind == "dossier":
        staat.dossiers[key] = set(data)
    elif kind == "leerbedrijf":
        staat.leerbedrijven[key] = set(data)
    elif kind == "erkenning":
        instelling, crebo = key.split("|")
        staat.erkenningen[(instelling, crebo)] = dt.date.fromisoformat(data)
    else:
        raise ValueError(kind)
