"""Which peildata publiek may ask: month (quarter) ends up to the last completed month (quarter), or yesterday."""

from __future__ import annotations

from datetime import date, timedelta

PEILDATA_RULES = ("maandeinde", "kwartaaleinde", "dag")


def _month_end(d: date) -> date:
    nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def latest_published(rule: str, today: date) -> date:
    """The newest published peildatum: the end of the last completed month (quarter); ``dag``: yesterday."""
    if rule == "dag":
        return today - timedelta(days=1)
    d = today.replace(day=1) - timedelta(days=1)
    while rule == "kwartaaleinde" and d.month % 3:
        d = d.replace(day=1) - timedelta(days=1)
    return d


def is_published(d: date, rule: str, today: date) -> bool:
    """Whether publiek may ask peildatum ``d``: a month (quarter) end no later than ``latest_published``.
    No day inside a month and no date in the current month: bisecting days would date a single person's start."""
    if d > latest_published(rule, today):
        return False
    if rule == "dag":
        return True
    return d == _month_end(d) and (rule == "maandeinde" or d.month % 3 == 0)


def nearest_published(d: date, rule: str, today: date) -> list[date]:
    """The published peildata around ``d`` (at most two: the one before and the one after)."""
    last = latest_published(rule, today)
    if d >= last:
        return [last]
    before = d.replace(day=1) - timedelta(days=1)
    while not is_published(before, rule, today):
        before = before.replace(day=1) - timedelta(days=1)
    after = _month_end(d)
    while not is_published(after, rule, today):
        after = _month_end(after + timedelta(days=1))
    return [before, after] if before.year >= 1990 else [after]
