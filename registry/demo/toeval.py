"""The demo's source of chance: one ``random.Random`` per seed and the identifiers, names,
days and ages drawn from it. Every draw happens in a fixed order, so a seed fixes the data."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from typing import TypeVar

from registry.demo.namen import ACHTERNAMEN, VOORNAMEN_M, VOORNAMEN_V
from registry.demo.opzet import CORONA
from registry.domein import identifiers
from registry.domein.telregels import LEEFTIJDSGROEPEN

_T = TypeVar("_T")


class Toeval:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self._bsns: set[str] = set()
        self._lb_ids: set[str] = set()
        self._opleiders: dict[str, str] = {}

    # ---- identifiers (unique within the data set) ---------------------------------------------
    def bsn(self) -> str:
        """A random BSN: the check digit makes it pass the elfproef, the domain check confirms it."""
        while True:
            digits = [self.rng.randint(1, 6)] + [self.rng.randint(0, 9) for _ in range(7)]
            last = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=False)) % 11
            if last == 10:
                continue
            value = "".join(map(str, digits)) + str(last)
            if value not in self._bsns and identifiers.bsn(value) is None:
                self._bsns.add(value)
                return value

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def lb_id(self) -> str:
        while True:
            value = str(self.rng.randint(100_000_000, 999_999_999))
            if value not in self._lb_ids:
                self._lb_ids.add(value)
                return value

    # ---- choices ------------------------------------------------------------------------------
    def gewogen(self, paren: Sequence[tuple[_T, float]]) -> _T:
        return self.rng.choices([p for p, _ in paren], weights=[w for _, w in paren])[0]

    def naam(self, geslacht: str) -> str:
        voornamen = VOORNAMEN_V if geslacht == "vrouw" else VOORNAMEN_M
        return f"{self.rng.choice(voornamen)} {self.rng.choice(ACHTERNAMEN)}"

    def opleider(self) -> str:
        """An opaque reference to the praktijkopleider of a leerbedrijf (the schemas ask for an id,
        never a name: a name there would be personal data in clear on the canonical log). The name is
        still drawn, so the random stream and every other value of the data set stay as they were."""
        naam = self.naam(self.rng.choice(("man", "vrouw")))
        return self._opleiders.setdefault(naam, f"po-{len(self._opleiders) + 1:04d}")

    def dag(self, van: date, tot: date, corona: bool = True, laat: float = 1.0) -> date:
        """A day in [van, tot]; ``laat`` > 1 favours later days; corona months mostly avoided."""
        if tot < van:
            raise ValueError(f"empty window {van}..{tot}")
        span = (tot - van).days
        for _ in range(12):
            d = van + timedelta(days=int(span * self.rng.random() ** (1 / laat)))
            if not corona or not (CORONA[0] <= d <= CORONA[1]) or self.rng.random() < 0.12:
                return d
        return d

    # ---- ages ---------------------------------------------------------------------------------
    def leeftijd(self, groep: str) -> int:
        """An age in the overzicht 4.3 group (the youngest group: 16 or 17)."""
        if groep == LEEFTIJDSGROEPEN[0]:
            return self.rng.choice((16, 17, 17))
        if groep == LEEFTIJDSGROEPEN[1]:
            return self.rng.randint(18, 22)
        if groep == LEEFTIJDSGROEPEN[2]:
            return self.rng.randint(23, 27)
        if groep == LEEFTIJDSGROEPEN[3]:
            return self.rng.randint(28, 54)
        return self.rng.randint(55, 66)

    def geboortedatum(self, leeftijd: int, op: date) -> date:
        """A birthday that makes someone ``leeftijd`` years old on ``op``."""
        jaren = (
            op.replace(year=op.year - leeftijd)
            if not (op.month == 2 and op.day == 29)
            else date(op.year - leeftijd, 2, 28)
        )
        return jaren - timedelta(days=self.rng.randint(30, 330))


def leeftijd_op(geboren: date, op: date) -> int:
    return op.year - geboren.year - ((op.month, op.day) < (geboren.month, geboren.day))
