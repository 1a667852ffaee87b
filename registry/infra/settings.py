"""All settings, read from environment variables with the prefix ``PRAKTIJK_``.

One place so the README can list every knob; nothing else reads ``os.environ``.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from registry.domein.parkeren import DEFAULT_TIMEOUT, duur

PREFIX = "PRAKTIJK_"


def _env(name: str, default: str) -> str:
    return os.environ.get(PREFIX + name, default)


def _int(name: str, default: str, *, minimum: int, maximum: int) -> int:
    raw = _env(name, default)
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{PREFIX}{name}={raw!r} is not a whole number") from None
    if not minimum <= value <= maximum:
        raise ValueError(f"{PREFIX}{name}={value} is outside {minimum}..{maximum}")
    return value


@dataclass(frozen=True)
class Settings:
    kafka_bootstrap: str
    database_url: str
    partitions: int
    api_host: str
    api_port: int
    keys_dir: Path
    pseudonym_key_file: Path
    public_key_file: Path
    private_key_file: Path
    validator_group: str
    reconcile_window_days: int  # a telling counts for peildatum D when its own peildatum is within this many days
    signing_key_file: Path  # Ed25519 key that signs verklaringen (credential, status list)
    public_url: str  # base URL printed on verklaringen (QR code, credential ids); empty: the request's own URL
    # a parked event waiting longer than this (canonical-log time) is refused with its reason (PRAKTIJK_PARK_TIMEOUT)
    park_timeout: dt.timedelta = field(default=DEFAULT_TIMEOUT)

    @property
    def kafka_servers(self) -> list[str]:
        return [s.strip() for s in self.kafka_bootstrap.split(",") if s.strip()]


def load() -> Settings:
    keys = Path(_env("KEYS_DIR", "keys"))
    return Settings(
        kafka_bootstrap=_env("KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
        database_url=_env("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/praktijkregister"),
        partitions=int(_env("PARTITIONS", "6")),
        api_host=_env("API_HOST", "127.0.0.1"),
        api_port=int(_env("API_PORT", "8000")),
        keys_dir=keys,
        pseudonym_key_file=Path(_env("PSEUDONYM_KEY_FILE", str(keys / "pseudonym.key"))),
        public_key_file=Path(_env("PUBLIC_KEY_FILE", str(keys / "registry.pub"))),
        private_key_file=Path(_env("PRIVATE_KEY_FILE", str(keys / "registry.key"))),
        validator_group=_env("VALIDATOR_GROUP", "praktijkregister-validator"),
        reconcile_window_days=_int("RECONCILE_WINDOW_DAYS", "31", minimum=0, maximum=366),
        park_timeout=_duration("PARK_TIMEOUT", "7d"),
        signing_key_file=Path(_env("SIGNING_KEY_FILE", str(keys / "signing.key"))),
        public_url=_env("PUBLIC_URL", "").rstrip("/"),
    )


def _duration(name: str, default: str) -> dt.timedelta:
    raw = _env(name, default)
    try:
        return duur(raw)
    except ValueError as exc:
        raise ValueError(f"{PREFIX}{name}: {exc}") from None
