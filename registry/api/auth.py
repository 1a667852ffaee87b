"""API keys and scopes.

A key is ``prk_<key_id>_<secret>`` (secret: 32 random bytes, URL-safe base64). Only the SHA-256 of the whole
key is stored (table ``api_keys``), so the key is shown once when it is created and can never be recovered;
a 256-bit random secret needs no salt or slow hash. ``key_id`` is not secret: it names the key in
``apikey list`` / ``apikey revoke`` and in logs.

Scopes (one per key):

* ``landelijk`` - everything.
* ``regio:<arbeidsmarktregio>`` - aggregates (overzichten, aantallen) of that region only; no trajecten/tijdlijnen.
* ``instelling:<mbo partner id>`` (``instelling:mbo.albeda``; the display name ``instelling:Albeda`` is accepted
  and stored as the partner id) - aggregates restricted to the instelling and its own trajecten/tijdlijnen.
* ``publiek`` - overzichten (small cells suppressed) and verification only.
* ``operations`` - ``/metrics`` and ``/v1/status`` and nothing else (``OPERATIONS_PATHS``): the key a scraper such
  as Prometheus keeps on disk, which must not open names, birth dates or the audit trail.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal, Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from registry.domein import referentie
from registry.infra.db import EnsuredTable

Kind = Literal["landelijk", "regio", "instelling", "publiek", "operations"]
KINDS: tuple[Kind, ...] = ("landelijk", "regio", "instelling", "publiek", "operations")
UNQUALIFIED: tuple[Kind, ...] = ("landelijk", "publiek", "operations")  # scopes without a value
# the only paths an operations key opens; checked when the key is authenticated, so a route that forgets a scope
# check still refuses it
OPERATIONS_PATHS = frozenset({"/metrics", "/v1/status"})
KEY_PREFIX = "prk_"
_KEY = re.compile(r"^prk_([0-9a-f]{12})_[A-Za-z0-9_-]{20,}$")


def _fold(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.casefold())


def canonical_regio(value: str) -> str | None:
    """The arbeidsmarktregio as spelled in the reference data (case, spaces and punctuation ignored)."""
    folded = _fold(value)
    for regio in referentie.arbeidsmarktregios():
        if _fold(regio) == folded:
            return regio
    return None


def canonical_instelling(value: str) -> str | None:
    """The mbo partner id (``mbo.albeda``) for a partner id, an id without ``mbo.``, or a display name."""
    folded = _fold(value)
    for partner, naam in referentie.mbo_instellingen().items():
        if folded in (_fold(partner), _fold(partner.removeprefix("mbo.")), _fold(naam)):
            return partner
    return None


@dataclass(frozen=True)
class Scope:
    kind: Kind
    value: str | None = None  # canonical regio name or instelling partner id

    def __str__(self) -> str:
        return self.kind if self.value is None else f"{self.kind}:{self.value}"


def scope_help() -> str:
    return "landelijk | publiek | operations | regio:<arbeidsmarktregio> | instelling:<mbo partner id or name>"


def parse_scope(raw: str) -> Scope:
    """Parse and canonicalise a scope; ValueError (with the valid values) when it is not valid."""
    kind, sep, value = raw.strip().partition(":")
    kind = kind.strip().lower()
    if kind in UNQUALIFIED and not value.strip():
        return Scope(kind)
    if kind == "regio" and sep:
        regio = canonical_regio(value)
        if regio is None:
            raise ValueError(
                f"unknown arbeidsmarktregio {value!r}; valid: {', '.join(referentie.arbeidsmarktregios())}"
            )
        return Scope("regio", regio)
    if kind == "instelling" and sep:
        inst = canonical_instelling(value)
        if inst is None:
            raise ValueError(
                f"unknown mbo-instelling {value!r}; valid: {', '.join(sorted(referentie.mbo_instellingen()))}"
            )
        return Scope("instelling", inst)
    raise ValueError(f"invalid scope {raw!r}; valid: {scope_help()}")


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    scope: Scope
    naam: str
    created_at: datetime
    revoked_at: datetime | None = None


def opens(scope: Scope, path: str) -> bool:
    """Whether a key of ``scope`` may be used for ``path`` at all (the routes then check the scope further):
    an operations key only for ``OPERATIONS_PATHS``."""
    return scope.kind != "operations" or path in OPERATIONS_PATHS


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> tuple[str, str]:
    """(key_id, full key)."""
    key_id = secrets.token_hex(6)
    return key_id, f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def well_formed(key: str) -> bool:
    return bool(_KEY.match(key))


class KeyLookup(Protocol):
    def lookup(self, key: str, conn: Connection | None = None) -> ApiKey | None:
        """The active (not revoked) key, or None. ``conn``: an open connection to reuse (the request's)."""


class MemoryKeyStore:
    """Keys in memory (unit tests, local experiments). Same behaviour as KeyStore."""

    def __init__(self) -> None:
        self._keys: dict[str, tuple[str, ApiKey]] = {}  # key_id -> (hash, key)
        self._lock = threading.Lock()

    def create(self, scope: Scope | str, naam: str = "") -> tuple[ApiKey, str]:
        sc = parse_scope(scope) if isinstance(scope, str) else scope
        key_id, key = new_key()
        api_key = ApiKey(key_id, sc, naam, datetime.now(UTC))
        with self._lock:
            self._keys[key_id] = (hash_key(key), api_key)
        return api_key, key

    def revoke(self, key_id: str) -> bool:
        with self._lock:
            if key_id not in self._keys or self._keys[key_id][1].revoked_at is not None:
                return False
            h, k = self._keys[key_id]
            self._keys[key_id] = (h, replace(k, revoked_at=datetime.now(UTC)))
            return True

    def list(self) -> list[ApiKey]:
        return [k for _, k in self._keys.values()]

    def lookup(self, key: str, conn: Connection | None = None) -> ApiKey | None:
        if not well_formed(key):
            return None
        h = hash_key(key)
        for stored, api_key in self._keys.values():
            if secrets.compare_digest(stored, h) and api_key.revoked_at is None:
                return api_key
        return None


class KeyStore(EnsuredTable):
    """Keys in PostgreSQL: table ``api_keys(key_id, key_hash, scope, naam, created_at, revoked_at)``.
    ``ensure()`` creates the table when missing (idempotent)."""

    def __init__(self, engine: Engine, table: str = "api_keys") -> None:
        super().__init__(engine, table)

    def _ensure(self, conn: Connection, exists: bool) -> None:
        # the API's own role may read the table but not create anything (PostgreSQL checks that right
        # even for CREATE TABLE IF NOT EXISTS on an existing table): look first
        if not exists:
            conn.execute(
                text(
                    f"CREATE TABLE IF NOT EXISTS {self.table} ("
                    " key_id text PRIMARY KEY,"
                    " key_hash char(64) NOT NULL UNIQUE,"
                    " scope text NOT NULL,"
                    " naam text NOT NULL DEFAULT '',"
                    " created_at timestamptz NOT NULL DEFAULT now(),"
                    " revoked_at timestamptz)"
                )
            )
        self._ensure_audit(conn)

    def _ensure_audit(self, conn: Connection) -> None:
        """The audit trail of person-level reads next to the key table (``registry.api.audit``). The API's own
        role may not create it: then it is left to ``db roles`` / ``apikey create`` (run as the owner)."""
        from registry.api.audit import audit_table_of, create_audit_table

        try:
            with conn.begin_nested():
                create_audit_table(conn, audit_table_of(self.table))
        except DBAPIError:
            pass

    def create(self, scope: Scope | str, naam: str = "") -> tuple[ApiKey, str]:
        sc = parse_scope(scope) if isinstance(scope, str) else scope
        self.ensure()
        key_id, key = new_key()
        with self.engine.begin() as conn:
            row = conn.execute(
                text(
                    f"INSERT INTO {self.table} (key_id, key_hash, scope, naam) VALUES (:i, :h, :s, :n) RETURNING created_at"
                ),
                {"i": key_id, "h": hash_key(key), "s": str(sc), "n": naam},
            ).one()
        return ApiKey(key_id, sc, naam, row.created_at), key

    def revoke(self, key_id: str) -> bool:
        """True when an active key was revoked; False when unknown or already revoked."""
        self.ensure()
        with self.engine.begin() as conn:
            res = conn.execute(
                text(f"UPDATE {self.table} SET revoked_at = now() WHERE key_id = :i AND revoked_at IS NULL"),
                {"i": key_id},
            )
            return bool(res.rowcount)

    def list(self) -> list[ApiKey]:
        self.ensure()
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    f"SELECT key_id, scope, naam, created_at, revoked_at FROM {self.table} ORDER BY created_at, key_id"
                )
            ).all()
        return [
            ApiKey(
                r.key_id, _stored_scope(r.scope) or Scope("publiek", "?" + r.scope), r.naam, r.created_at, r.revoked_at
            )
            for r in rows
        ]

    def lookup(self, key: str, conn: Connection | None = None) -> ApiKey | None:
        if not well_formed(key):
            return None
        self.ensure()
        query = text(
            f"SELECT key_id, scope, naam, created_at, revoked_at FROM {self.table}"
            " WHERE key_hash = :h AND revoked_at IS NULL"
        )
        if conn is not None:
            r = conn.execute(query, {"h": hash_key(key)}).first()
        else:
            with self.engine.connect() as own:
                r = own.execute(query, {"h": hash_key(key)}).first()
        if r is None:
            return None
        scope = _stored_scope(r.scope)
        return None if scope is None else ApiKey(r.key_id, scope, r.naam, r.created_at, r.revoked_at)


def _stored_scope(raw: str) -> Scope | None:
    """A scope as stored (already canonical). None for a value this version does not understand: such a key
    authenticates nobody rather than getting some default access."""
    kind, sep, value = raw.partition(":")
    if kind in UNQUALIFIED and not sep:
        return Scope(kind)
    if kind in ("regio", "instelling") and value:
        return Scope(kind, value)  # type: ignore[arg-type]
    return None
