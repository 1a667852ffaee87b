"""Pure parts of the API: scopes, key format, suppression, CSV, percentiles, loopback guard."""

from __future__ import annotations

import csv
import io

import pytest

from registry.api.auth import MemoryKeyStore, Scope, hash_key, new_key, parse_scope, well_formed
from registry.api.csv_uitvoer import to_csv
from registry.api.readmodels import strip_personal
from tests.support.loadtest import check_loopback, percentile, run_load


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("landelijk", Scope("landelijk")),
        ("PUBLIEK", Scope("publiek")),
        ("regio:rijnmond", Scope("regio", "Rijnmond")),
        ("regio:Zaanstreek/Waterland", Scope("regio", "Zaanstreek/Waterland")),
        ("regio:regio zwolle", Scope("regio", "Regio Zwolle")),
        ("instelling:mbo.albeda", Scope("instelling", "mbo.albeda")),
        ("instelling:Albeda", Scope("instelling", "mbo.albeda")),
        ("instelling:roc-top", Scope("instelling", "mbo.roc-top")),
        ("instelling:ROC van Amsterdam", Scope("instelling", "mbo.roc-van-amsterdam")),
    ],
)
def test_parse_scope(raw: str, expected: Scope) -> None:
    assert parse_scope(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "admin",
        "regio:",
        "regio:Atlantis",
        "instelling:",
        "instelling:mbo.nergens",
        "landelijk:x",
        "publiek:rijnmond",
    ],
)
def test_parse_scope_rejects(raw: str) -> None:
    with pytest.raises(ValueError, match="valid"):
        parse_scope(raw)


def test_keys_are_random_and_hashed() -> None:
    ids = set()
    for _ in range(50):
        key_id, key = new_key()
        assert well_formed(key) and key.startswith(f"prk_{key_id}_") and len(key) >= 55
        assert hash_key(key) != key and len(hash_key(key)) == 64
        ids.add(key)
    assert len(ids) == 50
    assert not well_formed("prk_xyz_short") and not well_formed("Bearer prk_")


def test_memory_store_revocation() -> None:
    store = MemoryKeyStore()
    k, secret = store.create("publiek")
    assert store.lookup(secret) == k
    assert store.revoke(k.key_id) and not store.revoke(k.key_id)
    assert store.lookup(secret) is None


def test_strip_personal() -> None:
    out = strip_personal(
        {
            "verklaring_id": "v",
            "deelnemer": "p",
            "leerbedrijf": {"naam": "Bouw BV", "bsn": "1"},
            "werkprocessen": [{"code": "W1", "geboortedatum": "x"}],
            "traject_id": "t",
        }
    )
    assert out == {"verklaring_id": "v", "leerbedrijf": {"naam": "Bouw BV"}, "werkprocessen": [{"code": "W1"}]}


def test_csv_columns_and_cells() -> None:
    text = to_csv([{"a": 1, "b": None, "c": True}, {"a": 2, "d": {"x": 1}, "e": 'komma, en "quote"'}])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["a", "b", "c", "d", "e"]
    assert rows[1] == ["1", "", "true", "", ""]
    assert rows[2] == ["2", "", "", '{"x": 1}', 'komma, en "quote"']
    assert to_csv([]) == "\r\n"


def test_percentile_nearest_rank() -> None:
    values = [float(i) for i in range(1, 101)]
    assert percentile(values, 50) == 50.0 and percentile(values, 99) == 99.0 and percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0 and percentile([], 50) == 0.0


@pytest.mark.parametrize("url", ["http://example.org:8000", "http://10.0.0.1:8000", "https://praktijkregister.nl"])
def test_loadtest_refuses_non_loopback(url: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        check_loopback(url)
    with pytest.raises(ValueError, match="loopback"):
        run_load(url, None, clients=1, max_requests=1, max_seconds=1)
    check_loopback("http://127.0.0.1:8000")
    check_loopback("http://localhost:1")


def test_answer_cache_versions_and_lru() -> None:
    from registry.api.readmodels import AnswerCache, answer_bytes

    one = answer_bytes([{"n": 1}])
    cache = AnswerCache(max_bytes=2 * one, max_entry_bytes=one)  # room for two answers of this size
    cache.put(("a",), "v1", [{"n": 1}])
    assert cache.get(("a",), "v1") == [{"n": 1}]
    assert cache.get(("a",), "v2") is None  # read models moved on: never served
    cache.put(("b",), "v1", [])
    cache.get(("a",), "v1")  # a is now the most recently used
    cache.put(("c",), "v1", [{"n": 3}])
    assert cache.get(("b",), "v1") is None and cache.get(("a",), "v1") == [{"n": 1}]
    assert (cache.hits, cache.misses) == (3, 2)
    assert cache.bytes == 2 * one and len(cache) == 2
    off = AnswerCache(max_bytes=0)
    off.put(("a",), "v1", [])
    assert off.get(("a",), "v1") is None


def test_answer_cache_is_bounded_by_bytes_not_entries() -> None:
    """Many large answers (a long /v1/aantallen range, a big overzicht) never hold more than the byte bound."""
    from registry.api.readmodels import AnswerCache, answer_bytes

    rows = [
        {"maand": f"{2000 + i // 12}-{i % 12 + 1:02d}", "aangemeld": i, "beeindigd": {"afgerond": i}}
        for i in range(120)
    ]
    cost = answer_bytes(rows)
    assert cost > 5_000  # a 120-month answer is several KB
    cache = AnswerCache(max_bytes=100 * cost)
    for i in range(1_000):
        cache.put(("aantallen", i), "v1", rows)
        assert cache.bytes <= cache.max_bytes
    assert len(cache) == 100 and cache.bytes == 100 * cost
    assert cache.get(("aantallen", 999), "v1") == rows and cache.get(("aantallen", 0), "v1") is None
    cache.put(("aantallen", 999), "v1", rows)  # replacing an entry does not count it twice
    assert cache.bytes == 100 * cost
    huge = [{"x": "y" * 1000}] * (cache.max_entry_bytes // 1000 + 1)
    cache.put(("huge",), "v1", huge)  # bigger than an eighth of the cache: not kept, nothing evicted
    assert cache.get(("huge",), "v1") is None and len(cache) == 100


def test_api_package_needs_no_projections_and_no_dev_tools() -> None:
    """The API (and the serve command's module) load without the projections, httpx or the test helpers:
    the read models come in through the ReadQueries port, wired by registry.cli.api at serve time."""
    import subprocess
    import sys

    probe = (
        "import sys, pkgutil, importlib, registry.api, registry.api.routes\n"
        "for pkg in (registry.api, registry.api.routes):\n"
        "    for m in pkgutil.iter_modules(pkg.__path__):\n"
        "        importlib.import_module(pkg.__name__ + '.' + m.name)\n"
        "import registry.cli.api\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('projections', 'consumers', 'producers', 'httpx', 'tests'))\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == ""
