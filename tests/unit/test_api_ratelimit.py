"""The per-client token buckets of the public endpoints: bounded memory with O(1) eviction of the least recently
seen client, IPv6 clients by their /64, and the key set and status lists rate-limited and cached."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from registry.api import ratelimit, statuslijsten
from registry.api.app import create_app
from registry.api.auth import MemoryKeyStore
from registry.api.ratelimit import TokenBucket, client_key
from registry.api.verklaringen import bronnen
from registry.infra import settings as settings_mod
from registry.infra.ondertekening import Ondertekenaar
from tests.unit.test_document import SIGNER, FakeBronnen, FakeReadModels


class NoScan(OrderedDict[str, tuple[float, float]]):
    """A bucket table that fails the test when anything walks it (an eviction must not look at every client)."""

    def __iter__(self) -> Any:
        raise AssertionError("the bucket table was scanned")

    def items(self) -> Any:
        raise AssertionError("the bucket table was scanned")

    def values(self) -> Any:
        raise AssertionError("the bucket table was scanned")


def test_memory_is_bounded_and_the_least_recently_seen_client_goes_first() -> None:
    now = [0.0]
    bucket = TokenBucket(2, 0.001, clock=lambda: now[0], max_keys=3)
    bucket._buckets = NoScan()
    for client in ("a", "b", "c"):
        assert bucket.take(client) == 0.0
    bucket.take("a")  # a was seen again: b is now the least recent
    for n in range(1000):  # every bucket half empty (nothing refills): still never more than 3
        bucket.take(f"new-{n}")
        assert len(bucket) <= 3
    assert len(bucket) == 3


def test_a_remembered_client_keeps_its_empty_bucket() -> None:
    bucket = TokenBucket(2, 0.001, clock=lambda: 0.0, max_keys=3)
    bucket.take("a"), bucket.take("a")
    bucket.take("b")
    assert bucket.take("a") > 0  # still empty: "a" was not evicted while it was among the 3 most recent


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        ("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe", True),  # one /64: one subscriber
        ("2001:db8:1:2::1", "2001:db8:1:3::1", False),
        ("::ffff:192.0.2.7", "192.0.2.7", True),  # IPv4-mapped
        ("192.0.2.7", "192.0.2.8", False),
        ("fe80::1%eth0", "fe80::2", True),
    ],
)
def test_clients_are_keyed_by_ipv4_address_or_ipv6_64(one: str, other: str, same: bool) -> None:
    assert (client_key(one) == client_key(other)) is same
    assert client_key("2001:db8:1:2::1") == "2001:db8:1:2::/64" and client_key("testclient") == "testclient"


class CountingBronnen(FakeBronnen):
    def __init__(self) -> None:
        super().__init__()
        self.key_reads = 0

    def ondertekenaar(self) -> Ondertekenaar:
        self.key_reads += 1
        return SIGNER


def _app() -> tuple[TestClient, CountingBronnen]:
    settings = replace(settings_mod.load(), public_url="https://r.example")
    app = create_app(settings, connect_database=False, keys=MemoryKeyStore(), queries=FakeReadModels())
    src = CountingBronnen()
    app.dependency_overrides[bronnen] = lambda: src
    return TestClient(app, base_url="https://r.example"), src


def test_key_set_is_read_once_then_cached() -> None:
    client, src = _app()
    answers = [client.get("/.well-known/praktijkregister-keys.json").json() for _ in range(5)]
    assert answers == [SIGNER.jwks()] * 5 and src.key_reads == 1


def test_key_set_cache_expires() -> None:
    now = [0.0]

    class State:
        pass

    state, reads = State(), []

    def signer() -> Ondertekenaar:
        reads.append(1)
        return SIGNER

    for t in (0.0, statuslijsten.KEYSET_SECONDS - 1, statuslijsten.KEYSET_SECONDS):
        now[0] = t
        statuslijsten.key_set(state, signer, lambda exc: exc, clock=lambda: now[0])
    assert len(reads) == 2


@pytest.mark.parametrize("url", ["/.well-known/praktijkregister-keys.json", "/v1/statuslijst/3"])
def test_key_set_and_status_lists_are_rate_limited_together(url: str) -> None:
    client, _ = _app()
    codes = [client.get(url).status_code for _ in range(ratelimit.SLEUTELS_BURST)]
    assert codes == [200] * ratelimit.SLEUTELS_BURST
    other = "/v1/statuslijst/3" if url.startswith("/.well-known") else "/.well-known/praktijkregister-keys.json"
    limited = client.get(other)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert client.get("/verificatie/3f2a9c1e-7b4d-4e11-9a0b-5c6d7e8f9012").status_code == 200  # its own bucket
