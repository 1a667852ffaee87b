"""Database engine (SQLAlchemy 2 + psycopg 3). Adapters take a session from here."""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Engine, create_engine


@lru_cache(maxsize=8)
def engine(url: str) -> Engine:
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
