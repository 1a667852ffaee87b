"""A private pipeline for an integration test: its own topics (``t<unique><suffix>.*``), a validator on them, a
read-model schema and an API key table (``api_keys_<unique>``). The caller closes the validator and cleans up
(``tests.support.opruimen.ruim_op``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import Engine

from consumers.validator import Validator
from registry.api.auth import KeyStore
from registry.infra.db import engine as make_engine
from registry.infra.topics import Topics
from tests.support import validator as h


class Pijplijn(NamedTuple):
    prefix: str
    schema: str
    topics: Topics
    validator: Validator
    engine: Engine
    keystore: KeyStore


def pijplijn(
    kafka_bootstrap: str, database_url: str, suffix: str = "", unique: str | None = None, keydir: Path | None = None
) -> Pijplijn:
    """``unique``: default a fresh one; ``keydir``: the validator's keys (``tests.support.validator.validator``)."""
    unique = unique or uuid.uuid4().hex[:10]
    prefix, schema = f"t{unique}{suffix}", f"t{unique}{suffix}_read"
    t = h.make_topics(kafka_bootstrap, prefix)
    v = h.validator(kafka_bootstrap, database_url, prefix, keydir=keydir)
    eng = make_engine(database_url)
    return Pijplijn(prefix, schema, t, v, eng, KeyStore(eng, table=f"api_keys_{unique}"))


def sleutels(keystore: KeyStore, scopes: Iterable[str]) -> dict[str, str]:
    """One new key per scope (named ``test``): scope -> key."""
    return {s: keystore.create(s, "test")[1] for s in scopes}
