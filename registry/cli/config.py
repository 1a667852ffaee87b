"""The command line's settings: loaded once per invocation (the one read of the environment), then handed down.

``main``'s callback starts every invocation afresh (``begin``), so a second command in one process (tests with
CliRunner) sees its own environment; the first ``settings()`` of a command loads them and sets the process's
Kafka login (registry/bootstrap.py)."""

from __future__ import annotations

import logging

from registry.infra import settings as settings_mod

_loaded: settings_mod.Settings | None = None


def begin() -> None:
    """A new invocation: its settings are loaded when first asked for."""
    global _loaded
    _loaded = None


def settings() -> settings_mod.Settings:
    """This invocation's settings (loaded on first use; the Kafka login follows them)."""
    global _loaded
    if _loaded is None:
        from registry import bootstrap

        _loaded = bootstrap.configure(settings_mod.load())
    return _loaded


def daemon_logging() -> None:
    """Long-running consumers log what they do (joins, hand-overs, stalls) to stderr: the operator's trail."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
