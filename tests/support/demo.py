"""The demo data set (``registry.demo``) through the real producer and validator under a private topic prefix."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consumers import projector
from producers.sleutels import Pseudonymiser, Sealer, init_keys
from registry.demo import data as demodata
from registry.demo import run
from registry.infra.db import engine
from registry.infra.topics import Topics
from tests.support import validator as h
from tests.support.opruimen import ruim_op


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
    the demo used to do); within a phase the partners publish at the same time, as the demo does now (one producer
    each: started one after the other they took ~25 s). The topics of ``prefix``, one ingress topic per partner."""
    t = h.make_topics(bootstrap, prefix, sorted(run.files(records)))
    v = h.validator(bootstrap, database_url, prefix)
    try:
        for phase in run.PHASES:
            batch = run.files(r for r in records if r.record["type"] in phase)
            run.publish_concurrently([bootstrap], 6, batch, pseudo, sealer, prefix=prefix)
            v.drain()
    finally:
        v.close()
    return t


@dataclass(frozen=True)
class Wereld:
    """The demo data set published in phases and projected (``all``) into ``schema``: built once per test run
    (``demo_world`` in tests/integration/conftest.py) for every test that reads it and changes nothing in it. The
    canonical log and the refusals are read right after the publication, so a test may compare against them also
    when the module that built the world has had its topics deleted (``PRAKTIJK_TEST_DROP_TOPICS``)."""

    pseudo: Pseudonymiser
    sealer: Sealer
    records: list[demodata.DemoRecord]
    prefix: str
    schema: str
    canonical: list[tuple[str, dict[str, Any]]]
    rejections: list[dict[str, Any]]


@contextmanager
def phased_world(bootstrap: str, database_url: str, keys_dir: Path) -> Iterator[Wereld]:
    """Build the phased demo world under a fresh prefix; its schemas and topics go when the context ends."""
    pseudo, sealer = demo_keys(keys_dir)
    records = run._route(demodata.generate())
    prefix = f"t{uuid.uuid4().hex[:10]}k"
    schema = f"{prefix}_read"
    try:
        t = publish_in_phases(bootstrap, database_url, prefix, records, pseudo, sealer)
        canonical, rejections = h.canonical(bootstrap, t), h.rejections(bootstrap, t)
        projector.project(
            projector.RunnerConfig(bootstrap, database_url, schema, t.events, t.rejections), ["all"], once=True
        )
        yield Wereld(pseudo, sealer, records, prefix, schema, canonical, rejections)
    finally:
        ruim_op(engine(database_url), bootstrap, prefix, schema)
