"""The demo data set (``registry.demo``) through the real producer and validator under a private topic prefix."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from producers.sleutels import Pseudonymiser, Sealer, init_keys
from registry.demo import data as demodata
from registry.demo import run
from registry.infra.topics import Topics
from tests.support import validator as h


def demo_keys(d: Path) -> tuple[Pseudonymiser, Sealer]:
    """Fresh partner keys in ``d``: the pseudonymiser and the sealer of persoonsgegevens."""
    init_keys(d / "pseudonym.key", d / "registry.pub", d / "registry.key")
    return Pseudonymiser.from_file(d / "pseudonym.key"), Sealer.from_file(d / "registry.pub")


def publish_in_phases(
    bootstrap: str,
    database_url: str,
    prefix: str,
    records: Sequence[demodata.DemoRecord],
    pseudo: Pseudonymiser,
    sealer: Sealer,
) -> Topics:
    """Every partner's file in the lifecycle order (``run.PHASES``), the validator caught up between phases (what
    the demo used to do); the topics of ``prefix``, one ingress topic per partner."""
    t = h.make_topics(bootstrap, prefix, sorted(run.files(records)))
    v = h.validator(bootstrap, database_url, prefix)
    try:
        for phase in run.PHASES:
            batch = run.files(r for r in records if r.record["type"] in phase)
            for p in sorted(batch):
                run.publish_file([bootstrap], 6, p, batch[p], pseudo, sealer, prefix)
            v.drain()
    finally:
        v.close()
    return t
