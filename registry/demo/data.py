"""Demo data set: the pilots *praktijkleren met praktijkverklaring* as the evaluation saw them.

``generate(seed)`` builds, deterministically from the seed, the partner submissions
(JSON-lines rows for ``praktijkregister publish --as PARTNER FILE``) of a realistic,
entirely fictitious population whose projections at the evaluation's peildatum
(13 January 2021) reproduce the published tables of the KBA Nijmegen evaluation
"Praktijkleren met praktijkverklaring. Evaluatie van de pilots" (March 2021,
source tables: SBB Praktijkloket MBO): 784 deelnemers over 26 pilots, 405 of them
with a praktijkverklaring, 458 verklaringen. The tables, transcribed as published,
and every place where the report contradicts itself (and how the data set resolves
it) are in ``registry/domein/data/evaluatie_2021.json``; ``doelen()`` returns the tables
with those resolutions applied, which is exactly what the data reproduces.

What is in it, in publication order:

* reference data first: SBB's kwalificatiedossiers (invented, plausible werkprocessen:
  the seeds hold none) and erkende leerbedrijven, DUO's erkenningen derde leerweg;
* per person, in causal order: aanmelding by the referrer (gemeente, UWV, DJI or the
  mbo-instelling on behalf of an employer, uitzendbureau, school ...), advies and
  inschrijving by the mbo-instelling, leerbedrijf vastgelegd, werkproces sign-offs by
  the leerbedrijf (or the school), praktijkverklaringen (stacked 2nd and 3rd ones,
  some in a new traject), beeindiging and uitstroom;
* what the evaluation could not see: candidates who were aangemeld but never enrolled,
  stopped trajecten, retracted sign-offs, and activity after the peildatum (new
  deelnemers, verklaringen and two revoked verklaringen in 2021), so that a later
  peildatum gives larger numbers.

Every person is fictitious: BSNs are random numbers that pass the elfproef, names are
drawn from common Dutch name lists, leerbedrijven have invented names and SBB numbers.
``refusals(seed)`` adds a handful of submissions the validator must refuse.

Where it is built (all in ``registry/demo``): doelen (the target tables), opzet (design
choices per pilot), dossiers, personen, verklaringen, leerbedrijven, trajecten and stappen
(each deelnemer's story), buiten_beeld (what the evaluation could not see), publicatie (the
rows, via the shared event builders in bouwer), weigeringen (the refusals); generator runs
the steps in order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from registry.demo.doelen import doelen, evaluatie
from registry.demo.generator import bouw
from registry.demo.weigeringen import WEIGERREDENEN, refusals
from registry.demo.wereld import DemoRecord

__all__ = ["DemoRecord", "WEIGERREDENEN", "doelen", "evaluatie", "generate", "refusals", "write_jsonl"]


def generate(seed: int = 2021) -> list[DemoRecord]:
    """The demo data set for ``seed``, in the order it must be published (reference data first,
    then every event in occurred_at order; one deelnemer's events are in causal order)."""
    return bouw(seed)[1]


def write_jsonl(records: Iterable[DemoRecord], directory: Path | str) -> list[Path]:
    """Write one ``<partner>.jsonl`` per partner (rows in the given order); returns the files in
    order of first appearance. Publish them in that order, or better in the order of ``records``."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    per_partner: dict[str, list[str]] = {}
    for r in records:
        per_partner.setdefault(r.partner, []).append(json.dumps(r.record, ensure_ascii=False, sort_keys=False))
    paths: list[Path] = []
    for partner, lines in per_partner.items():
        path = folder / f"{partner}.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths
