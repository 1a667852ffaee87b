"""The leerbedrijf of every first traject (overzicht 5.3): 95 leerbedrijven hold the deelnemers
with a verklaring, five serve two pilots, DJI has one vestiging with 143 deelnemers."""

from __future__ import annotations

from registry.demo.opzet import DJI_LEERBEDRIJF_GROOTTE, GEDEELDE_LEERBEDRIJVEN, VERKLARING_LEERBEDRIJVEN
from registry.demo.wereld import Leerbedrijf, Persoon, Wereld


def leerbedrijven(w: Wereld) -> None:
    per_pilot = w.per_pilot()
    slots = _slots(w, list(per_pilot))
    for pilot, lst in per_pilot.items():
        _verdeel(w, pilot, slots[pilot], [p for p in lst if p.lb_bekend])
    for pilot in w.doel["deelnemers-per-pilot"]:
        w.pilot_lbs[pilot] = list(slots.get(pilot, []))
    seen: set[str] = set()
    for pilot in w.doel["deelnemers-per-pilot"]:
        for lb in slots.get(pilot, []):
            if lb.lb_id not in seen:
                seen.add(lb.lb_id)
                w.leerbedrijven.append(lb)


def _slots(w: Wereld, pilots: list[str]) -> dict[str, list[Leerbedrijf]]:
    """The leerbedrijven of each pilot, those with verklaringen first; shared ones in both pilots."""
    gedeeld_b = {b: a for a, b in GEDEELDE_LEERBEDRIJVEN}
    slots: dict[str, list[Leerbedrijf]] = {}
    for pilot in pilots:
        n_lb = w.doel["leerbedrijven-per-pilot"][pilot]["leerbedrijven"]
        m = VERKLARING_LEERBEDRIJVEN.get(pilot, 0)
        slots[pilot] = [Leerbedrijf(w.toeval.lb_id(), [pilot], i < m) for i in range(n_lb - (pilot in gedeeld_b))]
    for a, b in GEDEELDE_LEERBEDRIJVEN:  # a leerbedrijf of pilot a, without verklaringen in pilot b
        lb = [lb for lb in slots[a] if len(lb.pilots) == 1][-1]
        lb.pilots.append(b)
        slots[b].append(lb)
    return slots


def _verdeel(w: Wereld, pilot: str, lbs: list[Leerbedrijf], bekend: list[Persoon]) -> None:
    """Every leerbedrijf gets one deelnemer, the rest go to the larger ones (a long tail)."""
    rng = w.toeval.rng
    houders = [p for p in bekend if p.houder]
    anderen = [p for p in bekend if not p.houder]
    rng.shuffle(houders)
    rng.shuffle(anderen)
    met = [lb for lb in lbs if lb.verklaring and pilot in lb.pilots[:1]]
    zonder = [lb for lb in lbs if lb not in met]
    if len(met) > len(houders) or len(zonder) > len(anderen) or (houders and not met):
        raise ValueError(f"leerbedrijven of {pilot} cannot be filled")
    for lb, p in zip(met, houders, strict=False):
        p.lb = lb
    for lb, p in zip(zonder, anderen, strict=False):
        p.lb = lb
    if pilot == "dji":  # the vestigingen have the sizes the report gives
        ruimte = {lb.lb_id: g - 1 for lb, g in zip(met, DJI_LEERBEDRIJF_GROOTTE, strict=False)}
        rest = houders[len(met) :] + anderen[len(zonder) :]
        rng.shuffle(rest)
        vol = [lb for lb in met for _ in range(ruimte[lb.lb_id])]
        for lb, p in zip(vol, rest, strict=False):
            p.lb = lb
        return
    gewicht_met = [1 / (1 + i) ** 0.9 for i in range(len(met))]
    for p in houders[len(met) :]:
        p.lb = rng.choices(met, weights=gewicht_met)[0]
    gewicht_alle = [1 / (1 + i) ** 0.9 for i in range(len(lbs))]
    for p in anderen[len(zonder) :]:
        p.lb = rng.choices(lbs, weights=gewicht_alle)[0]


def nieuw_leerbedrijf(w: Wereld, pilot: str) -> Leerbedrijf:
    """A leerbedrijf that joins after the peildatum."""
    lb = Leerbedrijf(w.toeval.lb_id(), [pilot], False)
    w.leerbedrijven.append(lb)
    w.pilot_lbs[pilot].append(lb)
    return lb
