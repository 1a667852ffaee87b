"""What the verklaringen at the peildatum are: their kwalificaties (B2, with the stacked 2nd
and 3rd ones), brancheorganisaties (B1) and number of werkprocessen (overzicht 5.1)."""

from __future__ import annotations

from collections import Counter, defaultdict

from registry.demo.dossiers import domein_van, niveau_van
from registry.demo.opzet import BRANCHE_DOMEINEN, DOMEIN_VOORKEUR, STAPELS
from registry.demo.wereld import Persoon, Verklaring, Wereld
from registry.domein.telregels import NIET_GEREGISTREERD

_KOLOMMEN = ((1, "eerste"), (2, "tweede"), (3, "derde"))  # volgnummer -> column of B1 and B2


def sleutels(w: Wereld) -> None:
    """Give every deelnemer with a verklaring its B2 keys (chains first, then the 1st column)."""
    rng = w.toeval.rng
    b2 = w.doel["kwalificaties"]
    eerste, tweede, derde = (Counter({k: v[kolom] for k, v in b2.items()}) for _, kolom in _KOLOMMEN)
    houders: dict[str, list[Persoon]] = defaultdict(list)
    for p in w.personen:
        if p.houder:
            houders[p.pilot].append(p)
    for lst in houders.values():
        rng.shuffle(lst)
    for pilot, keys, trajecten in STAPELS:
        p = houders[pilot].pop()
        for i, (s, t) in enumerate(zip(keys, trajecten, strict=False)):
            p.verklaringen.append(Verklaring(s, i + 1, t))
            (eerste, tweede, derde)[i][s] -= 1
    if any(v < 0 for c in (eerste, tweede, derde) for v in c.values()) or +tweede or +derde:
        raise ValueError("STAPELS do not match the 2nd and 3rd columns of B2")
    rest = [p for lst in houders.values() for p in lst]
    rng.shuffle(rest)
    rest.sort(key=lambda p: p.pilot != "dji")  # DJI first: it is restricted to niveau <= 2
    for p in rest:
        voorkeur = DOMEIN_VOORKEUR.get(p.pilot, {})
        keys_ = [k for k in sorted(eerste) if eerste[k] > 0 and (p.pilot != "dji" or niveau_van(k) <= 2)]
        weights = [eerste[k] * voorkeur.get(domein_van(k), 1.0) for k in keys_]
        k = rng.choices(keys_, weights=weights)[0]
        eerste[k] -= 1
        p.verklaringen.append(Verklaring(k, 1, 0))
    if +eerste:
        raise ValueError("first column of B2 not used up")


def _score(combinatie: str, domein: str) -> float:
    """How well a B1 combination ("ActiZ, VGN") fits a domein: the share of its members at home there."""
    afk = combinatie.split(", ")
    return sum(domein in BRANCHE_DOMEINEN[a] for a in afk) / len(afk)


def branche(w: Wereld) -> None:
    """Pair B1's brancheorganisaties with the verklaringen, per volgnummer, by domein: a greedy
    transportation (best fitting combination first); 'Niet geregistreerd' takes what is left."""
    alle_domeinen = sorted({d.kwalificatie.domein for d in w.dossiers.values()})

    def uitwijk(combinatie: str) -> int:  # how many domeinen the combination fits at all
        return sum(_score(combinatie, d) > 0 for d in alle_domeinen)

    b1 = w.doel["brancheorganisaties"]
    for v_nr, kolom in _KOLOMMEN:
        verkl = [v for p in w.personen for v in p.verklaringen if v.volgnummer == v_nr]
        w.toeval.rng.shuffle(verkl)
        per_domein: dict[str, list[Verklaring]] = defaultdict(list)
        for v in verkl:
            per_domein[domein_van(v.sleutel)].append(v)
        rest = {k: b1[k][kolom] for k in b1 if k != NIET_GEREGISTREERD and b1[k][kolom]}
        while rest:
            paren = [(k, d) for k in rest for d in sorted(per_domein) if per_domein[d]]
            if not paren:
                raise ValueError(f"B1 column {kolom} has more verklaringen than B2")
            k, d = max(paren, key=lambda kd: (_score(*kd), -uitwijk(kd[0]), -rest[kd[0]], kd))
            n = min(rest[k], len(per_domein[d]))
            for v in per_domein[d][:n]:
                gemengd = k.split(", ")
                w.toeval.rng.shuffle(gemengd)  # the report writes combinations in any order
                v.branche = tuple(gemengd)
            per_domein[d] = per_domein[d][n:]
            rest[k] -= n
            if not rest[k]:
                del rest[k]
        if sum(map(len, per_domein.values())) != b1[NIET_GEREGISTREERD][kolom]:
            raise ValueError(f"B1 column {kolom} does not add up")


def branche_voor(w: Wereld, crebo: str) -> tuple[str, ...]:
    """Brancheorganisaties of a verklaring after the peildatum (outside B1): any that fit the domein."""
    if w.toeval.rng.random() < 0.3:
        return ()
    d = w.dossiers[crebo].kwalificatie.domein
    opties = sorted(
        k
        for k in w.doel["brancheorganisaties"]
        if k != NIET_GEREGISTREERD and all(d in BRANCHE_DOMEINEN[a] for a in k.split(", "))
    )
    return tuple(w.toeval.rng.choice(opties).split(", ")) if opties else ()


def aantallen(w: Wereld) -> None:
    """Werkprocessen per verklaring: overzicht 5.1 for the first ones (1 werkproces only at Marlijn)."""
    rng = w.toeval.rng
    pool = Counter({int(k): v for k, v in w.doel["werkprocessen-per-verklaring"].items()})
    eerste = [(p, p.verklaringen[0]) for p in w.personen if p.houder]
    rng.shuffle(eerste)

    def neem(n: int) -> int:
        pool[n] -= 1
        return n

    for _, v in [(p, v) for p, v in eerste if "," in v.sleutel]:  # two kwalificaties: at least 2
        v.n_werkprocessen = neem(rng.choice([n for n in sorted(pool) if n >= 2 and pool[n] > 0]))
    marlijn = [(p, v) for p, v in eerste if _marlijn(p) and "," not in v.sleutel]
    for _, v in marlijn[: pool[1]]:
        v.n_werkprocessen = neem(1)
    voorkeur_dji = {9: 6.0, 6: 4.0, 7: 2.0, 12: 1.5}
    for p, v in sorted((x for x in eerste if not x[1].n_werkprocessen), key=lambda x: x[0].pilot != "dji"):
        ns = [n for n in sorted(pool) if pool[n] > 0 and n != 1]
        weights = [pool[n] * (voorkeur_dji.get(n, 0.5) if p.pilot == "dji" else 1.0) for n in ns]
        v.n_werkprocessen = neem(rng.choices(ns, weights=weights)[0])
    if +pool:
        raise ValueError("overzicht 5.1 not used up")
    for p in w.personen:
        for v in p.verklaringen[1:]:
            v.n_werkprocessen = n_volgend(w, p, v.sleutel)


def _marlijn(p: Persoon) -> bool:
    """Marlijn Academie outside DJI issues verklaringen for a single werkproces."""
    return p.instelling == "mbo.marlijn-academie" and p.pilot != "dji"


def n_volgend(w: Wereld, p: Persoon, sleutel: str) -> int:
    """Werkprocessen of a later verklaring (outside overzicht 5.1, which counts first ones)."""
    if _marlijn(p):
        n = w.toeval.gewogen((("1", 35), ("2", 30), ("3", 20), ("4", 10), ("5", 5)))
    else:
        n = w.toeval.gewogen((("2", 4), ("3", 3.5), ("4", 2.5)))
    return max(int(n), 2 if "," in sleutel else 1)
