"""Parking: an event that is refused only for want of an event that may still come waits for it.

Pure rules (no I/O): ``beslis`` turns (state, parked set, event) into accept, refuse or park-on-keys;
``vervult`` names the keys an accepted event satisfies; ``Parkeerplaats`` is the parked set, a fold over
the validator's parked topic (``geparkeerd`` / ``opgelost`` records, see ``vouw``), so it can always be
rebuilt exactly from what was committed.

Keys: ``dossier:<crebo>``, ``erkenning:<instelling>/<crebo>``, ``leerbedrijf:<id>``, ``traject:<id>``,
``verklaring:<id>``, ``deelnemer:<pseudonym>``, ``afgetekend:<traject>/<crebo>/<werkproces>``,
``leerbedrijf_van:<traject>/<leerbedrijf>`` and ``na:<event_id>`` (an earlier parked event of the same
partner for the same deelnemer: events of one partner for one deelnemer are never accepted out of order).
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from registry.domein.handlers import EventHandlers
from registry.domein.regels import AANVAARD, Besluit, afgetekend_sleutel, beoordeel
from registry.domein.relaties import aanmelding_sleutel, verwijdering_sleutel
from registry.domein.staat import Staat

Record = Mapping[str, Any]
GEPARKEERD, OPGELOST = "geparkeerd", "opgelost"
DEFAULT_TIMEOUT = dt.timedelta(days=7)


@dataclass(frozen=True)
class Geparkeerd:
    """One parked submission: what it is, where it came from, what it waits for and why."""

    event_id: str
    event_type: str
    partner: str  # the ingress partner
    deelnemer: str | None
    volgorde: int  # arrival sequence (global, increasing)
    wacht_op: tuple[str, ...]
    reden: str  # the reason code it would be refused with now (on time-out: its refusal)
    melding: str
    parked_at: dt.datetime  # first parked (canonical-log time); the time-out counts from here
    waarde: bytes = b""  # the original ingress bytes
    key: bytes | None = None
    bron: Mapping[str, Any] = field(default_factory=dict)  # ingress topic / partition / offset
    record: Record | None = field(default=None, compare=False)  # decoded, filled by the validator

    @classmethod
    def aangekomen(
        cls,
        event_id: str,
        event_type: str,
        partner: str,
        deelnemer: str | None,
        volgorde: int,
        parked_at: dt.datetime,
        waarde: bytes,
        key: bytes | None,
        bron: Mapping[str, Any],
        record: Record,
    ) -> Geparkeerd:
        """A new arrival, waiting for nothing yet: what the constructor makes of these, without a frozen
        dataclass's ``object.__setattr__`` per field (the validator makes one per ingress record: less than half
        the constructor's time for the 13 fields; tests/unit/test_parkeren.py checks both give the same fields)."""
        g = object.__new__(cls)
        g.__dict__.update(
            event_id=event_id,
            event_type=event_type,
            partner=partner,
            deelnemer=deelnemer,
            volgorde=volgorde,
            wacht_op=(),
            reden="",
            melding="",
            parked_at=parked_at,
            waarde=waarde,
            key=key,
            bron=bron,
            record=record,
        )
        return g

    @property
    def stroom(self) -> tuple[str, str] | None:
        return (self.partner, self.deelnemer) if self.deelnemer else None

    @property
    def ingress(self) -> tuple[str, int]:
        """The ingress (topic, partition) it came from: the validator instance that owns that partition owns it."""
        return str(self.bron.get("topic", "")), int(self.bron.get("partition", -1))

    @property
    def alleen_volgorde(self) -> bool:
        """Waits only behind an earlier event of its own stream (never times out by itself)."""
        return all(k.startswith("na:") for k in self.wacht_op)

    def to_json(self) -> dict[str, Any]:
        return {
            "soort": GEPARKEERD,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "partner": self.partner,
            "deelnemer": self.deelnemer,
            "volgorde": self.volgorde,
            "wacht_op": list(self.wacht_op),
            "reden": self.reden,
            "melding": self.melding,
            "parked_at": self.parked_at.isoformat(),
            "bron": dict(self.bron),
            "key_base64": None if self.key is None else base64.b64encode(self.key).decode(),
            "waarde_base64": base64.b64encode(self.waarde).decode(),
        }

    @classmethod
    def from_json(cls, j: Mapping[str, Any]) -> Geparkeerd:
        key = j.get("key_base64")
        return cls(
            str(j["event_id"]),
            str(j["event_type"]),
            str(j["partner"]),
            j.get("deelnemer"),
            int(j["volgorde"]),
            tuple(j["wacht_op"]),
            str(j["reden"]),
            str(j["melding"]),
            dt.datetime.fromisoformat(j["parked_at"]),
            base64.b64decode(j.get("waarde_base64") or ""),
            None if key is None else base64.b64decode(key),
            dict(j.get("bron") or {}),
        )


def opgelost(g: Geparkeerd, uitkomst: str, reden: str | None, now: dt.datetime) -> dict[str, Any]:
    """The marker that ends a parking (written in the same transaction as the acceptance or refusal)."""
    return {
        "soort": OPGELOST,
        "event_id": g.event_id,
        "partner": g.partner,
        "uitkomst": uitkomst,
        "reden": reden,
        "recorded_at": now.isoformat(),
    }


class Parkeerplaats:
    """The parked set, indexed by key and by stream (partner, deelnemer)."""

    def __init__(self) -> None:
        self.entries: dict[str, Geparkeerd] = {}
        self.by_key: dict[str, set[str]] = {}
        self.streams: dict[tuple[str, str], dict[str, int]] = {}
        self.volgende = 0  # next arrival sequence number
        self.geparkeerd_ooit = 0  # distinct events ever parked (fold of the whole topic)
        self.opgelost_ooit: Counter[str] = Counter()  # resolutions by outcome

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self.entries

    def zet(self, g: Geparkeerd) -> None:
        """Park (or re-park with new keys) ``g``."""
        old = self.entries.get(g.event_id)
        if old is not None:
            self._unindex(old)
        else:
            self.geparkeerd_ooit += 1
        if old is not None and g.record is None and old.record is not None:
            g = replace(g, record=old.record)
        self.entries[g.event_id] = g
        for k in g.wacht_op:
            self.by_key.setdefault(k, set()).add(g.event_id)
        if g.stroom:
            self.streams.setdefault(g.stroom, {})[g.event_id] = g.volgorde
        self.volgende = max(self.volgende, g.volgorde + 1)

    def verwijder(self, event_id: str, uitkomst: str = "") -> Geparkeerd | None:
        g = self.entries.pop(event_id, None)
        if g is not None:
            self._unindex(g)
            if g.stroom:
                s = self.streams.get(g.stroom, {})
                s.pop(event_id, None)
                if not s:
                    self.streams.pop(g.stroom, None)
            if uitkomst:
                self.opgelost_ooit[uitkomst] += 1
        return g

    def neem_over(self, andere: Parkeerplaats, bronnen: Collection[tuple[str, int]]) -> list[Geparkeerd]:
        """Take over what ``andere`` (the fold of some parked partitions) holds for the ingress partitions
        ``bronnen`` (a validator instance was assigned them), with its counters; returns them in arrival order."""
        genomen = sorted((g for g in andere.entries.values() if g.ingress in bronnen), key=lambda g: g.volgorde)
        for g in genomen:
            self.zet(g)
        self.geparkeerd_ooit += andere.geparkeerd_ooit - len(genomen)
        self.opgelost_ooit.update(andere.opgelost_ooit)
        self.volgende = max(self.volgende, andere.volgende)
        return genomen

    def laat_los(self, bronnen: Collection[tuple[str, int]]) -> int:
        """Forget (unresolved) what came from the ingress partitions ``bronnen``: another instance owns them now."""
        weg = [g.event_id for g in self.entries.values() if g.ingress in bronnen]
        for event_id in weg:
            self.verwijder(event_id)
        return len(weg)

    def _unindex(self, g: Geparkeerd) -> None:
        for k in g.wacht_op:
            ids = self.by_key.get(k)
            if ids is not None:
                ids.discard(g.event_id)
                if not ids:
                    del self.by_key[k]

    def vouw(self, j: Mapping[str, Any]) -> None:
        """Apply one record of the parked topic."""
        if j.get("soort") == GEPARKEERD:
            self.zet(Geparkeerd.from_json(j))
        elif j.get("soort") == OPGELOST:
            self.verwijder(str(j["event_id"]), str(j.get("uitkomst") or "opgelost"))

    def wachtend_op(self, key: str) -> list[Geparkeerd]:
        """Everything parked on ``key``, in arrival order."""
        ids = self.by_key.get(key)
        if not ids:  # the common case: every accepted event asks for each key it satisfies
            return []
        return sorted((self.entries[i] for i in ids), key=lambda g: g.volgorde)

    def eerder_in_stroom(self, partner: str, deelnemer: str, volgorde: int | None = None) -> Geparkeerd | None:
        """The latest parked event of ``partner`` for ``deelnemer`` that arrived before ``volgorde`` (None: now)."""
        s = self.streams.get((partner, deelnemer))
        if not s:
            return None
        earlier = [(v, i) for i, v in s.items() if volgorde is None or v < volgorde]
        return self.entries[max(earlier)[1]] if earlier else None

    def verlopen(self, now: dt.datetime, timeout: dt.timedelta) -> list[Geparkeerd]:
        """Parked longer than ``timeout`` and waiting for a dependency (not only behind an earlier event), oldest first."""
        return sorted(
            (g for g in self.entries.values() if not g.alleen_volgorde and now - g.parked_at >= timeout),
            key=lambda g: g.volgorde,
        )

    def tellingen(self) -> Counter[tuple[str, str]]:
        """Parked events per (partner, reason code)."""
        return Counter((g.partner, g.reden) for g in self.entries.values())


def vouw_alles(records: Iterable[Mapping[str, Any]]) -> Parkeerplaats:
    p = Parkeerplaats()
    for j in records:
        p.vouw(j)
    return p


@dataclass(frozen=True)
class Uitkomst:
    soort: Literal["accepteer", "weiger", "parkeer"]
    besluit: Besluit
    wacht_op: tuple[str, ...] = ()


AANVAARD_UITKOMST = Uitkomst("accepteer", AANVAARD)  # shared, as ``regels.AANVAARD``


def beslis(
    staat: Staat,
    plaats: Parkeerplaats,
    event_type: str,
    r: Record,
    partner: str,
    now: dt.datetime,
    volgorde: int | None = None,
) -> Uitkomst:
    """Accept, refuse, or park on keys. ``volgorde``: the arrival sequence of a parked event being judged again
    (None for a new arrival): only parked events of its stream that arrived before it hold it back."""
    deelnemer = r.get("deelnemer")
    if deelnemer:
        eerder = plaats.eerder_in_stroom(partner, deelnemer, volgorde)
        if eerder is not None:
            return Uitkomst(
                "parkeer",
                Besluit(
                    eerder.reden,
                    f"waits behind earlier event {eerder.event_id} of {partner} for this deelnemer ({eerder.melding})",
                ),
                (f"na:{eerder.event_id}",),
            )
    b = beoordeel(staat, event_type, r, partner, now)
    if b is AANVAARD:
        return AANVAARD_UITKOMST
    if b.geaccepteerd:
        return Uitkomst("accepteer", b)
    if b.wacht_op:
        return Uitkomst("parkeer", b, b.wacht_op)
    return Uitkomst("weiger", b)


def voor_partner(wacht_op: Iterable[str], registry: str | None, partner: str | None) -> tuple[str, ...]:
    """Wait keys as a partner may read them: its own pseudonym where a key names the deelnemer's registry one."""
    if not registry or not partner:
        return tuple(wacht_op)
    return tuple(k.replace(registry, partner) for k in wacht_op)


def vervult(event_type: str, r: Record) -> set[str]:
    """The keys an ACCEPTED event satisfies (``na:`` keys are satisfied by resolving a parked event)."""
    keys: set[str] = {f"deelnemer:{r['deelnemer']}"} if r.get("deelnemer") else set()
    sleutels = _VERVULT.get(event_type)
    return keys | sleutels(r) if sleutels else keys


def _inschrijving_vervult(r: Record) -> set[str]:
    keys = {f"traject:{r['traject_id']}"}
    if r.get("leerbedrijf_id"):
        keys.add(f"leerbedrijf_van:{r['traject_id']}/{r['leerbedrijf_id']}")
    return keys


# what each event type satisfies besides its deelnemer (checked against the catalogue when built)
_VERVULT: EventHandlers[Callable[[Record], set[str]]] = EventHandlers(
    "vervult",
    {
        "KandidaatAangemeld": lambda r: {aanmelding_sleutel(str(r["deelnemer"]), str(r["pilot"]))},
        # only sbb's confirmation completes an erasure another partner asked for
        "DeelnemerGegevensVerwijderd": lambda r: (
            {verwijdering_sleutel(str(r["deelnemer"]))} if r.get("partner") == "sbb" else set()
        ),
        "KwalificatiedossierVastgesteld": lambda r: {f"dossier:{r['crebo']}"},
        "ErkenningDerdeLeerwegVerleend": lambda r: {f"erkenning:{r['mbo_instelling']}/{r['crebo']}"},
        "LeerbedrijfErkend": lambda r: {f"leerbedrijf:{r['leerbedrijf_id']}"},
        "DeelnemerIngeschreven": _inschrijving_vervult,
        "LeerbedrijfVastgelegd": lambda r: {f"leerbedrijf_van:{r['traject_id']}/{r['leerbedrijf_id']}"},
        "WerkprocesAfgetekend": lambda r: {afgetekend_sleutel(r["traject_id"], r["crebo"], r["werkproces"])},
        "PraktijkverklaringUitgegeven": lambda r: {f"verklaring:{r['verklaring_id']}"},
    },
    # nothing waits for these (besides their deelnemer)
    ignored={
        "AdviesUitgebracht",
        "PraktijkafsprakenVastgelegd",
        "AftekeningIngetrokken",
        "PraktijkverklaringIngetrokken",
        "TrajectBeeindigd",
        "UitstroomGeregistreerd",
        "TellingGemeld",
        "ReconciliatieUitgevoerd",
    },
)


_DUUR = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dhms]?)\s*$")
_EENHEID = {"d": 86400, "h": 3600, "m": 60, "s": 1, "": 1}


def duur(text: str) -> dt.timedelta:
    """``7d``, ``12h``, ``30m``, ``45s`` or plain seconds; ValueError with the cause otherwise."""
    m = _DUUR.match(text.lower())
    if not m:
        raise ValueError(f"{text!r} is not a duration (e.g. 7d, 12h, 30m, 45s or seconds)")
    seconds = float(m.group(1)) * _EENHEID[m.group(2)]
    if seconds <= 0:
        raise ValueError(f"{text!r}: a duration must be more than 0")
    return dt.timedelta(seconds=seconds)
