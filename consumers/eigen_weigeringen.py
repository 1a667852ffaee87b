"""Per-partner refusals: besides the shared ``<prefix>.rejections`` (the registry's own view, projected),
the validator writes each refusal to ``<prefix>.rejections.<partner>``, the one topic that partner may read
(registry/infra/toegang.py). The topic is made by ``topics create`` / ``partners add`` (the validator may not
create topics); while it does not exist the refusal goes to the shared topic only, and the validator looks
again at most every ``recheck_s`` seconds (as often as it looks for a new partner's ingress topic: a partner added
while the validator runs finds its first refusals on its own topic, never only on the shared one).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from registry.infra.topics import Topics


class EigenWeigeringen:
    def __init__(
        self,
        topics: Topics,
        bestaande: Callable[[], set[str]],
        recheck_s: float = 5.0,
        klok: Callable[[], float] = time.monotonic,
    ) -> None:
        self.topics = topics
        self.bestaande = bestaande  # the topic names the validator can see (a metadata request)
        self.recheck_s = recheck_s
        self.klok = klok
        self._bekend: set[str] = set()
        self._gekeken = float("-inf")

    def ververs(self) -> None:
        """Look again at the next refusal (a new partner's topics have just appeared)."""
        self._gekeken = float("-inf")

    def topic(self, partner: str) -> str | None:
        """``<prefix>.rejections.<partner>`` when it exists, else None."""
        try:
            naam = self.topics.rejections_of(partner)
        except ValueError:
            return None
        if naam not in self._bekend and self.klok() - self._gekeken >= self.recheck_s:
            self._bekend = set(self.bestaande())
            self._gekeken = self.klok()
        return naam if naam in self._bekend else None
