"""The partner CLI publishes to the real broker; the ingress topic holds exactly those events."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from registry.infra import codec, topics
from tests.support import validator as h

ROWS = [
    {
        "type": "KandidaatAangemeld",
        "bsn": "111222333",
        "naam": "Fatima El Amrani",
        "geboortedatum": "1988-04-12",
        "occurred_at": "2020-01-15",
        "pilot": "rijnmond",
        "aanmelder_type": "gemeente",
        "doelgroep": "a",
        "werkend": False,
    },
    {
        "type": "KandidaatAangemeld",
        "bsn": "123456782",
        "occurred_at": "2020-01-16T10:30:00",
        "pilot": "rijnmond",
        "aanmelder_type": "gemeente",
        "doelgroep": "b",
        "gemeente": "GM0599",
        "werkend": True,
    },
    {
        "type": "TellingGemeld",
        "occurred_at": "2021-01-13",
        "bron_type": "gemeente",
        "pilot": "rijnmond",
        "peildatum": "2021-01-13",
        "aantal_deelnemers": 2,
        "deelnemers": [{"bsn": "111222333", "status": "aangemeld"}],
    },
]


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "registry.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


def _consume(bootstrap: str, topic: str) -> list[bytes]:
    """Every record on ``topic``: the CLI has exited, so all it published is there (no idle time-out to wait)."""
    return [r.value for r in h.read_uncommitted(bootstrap, topic)]


def test_cli_publishes_jsonl_without_bsn_or_name(kafka_bootstrap: str, tmp_path: Path, unique: str) -> None:
    partner = f"gemeente.t{unique}"
    env = dict(os.environ, PRAKTIJK_KAFKA_BOOTSTRAP=kafka_bootstrap, PRAKTIJK_KEYS_DIR=str(tmp_path / "keys"))
    assert _cli(env, "keys", "init").returncode == 0
    file = tmp_path / "aanmeldingen.jsonl"
    file.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")

    first = _cli(env, "publish", "--as", partner, str(file))
    assert first.returncode == 0, first.stderr
    assert "published 3 event(s)" in first.stdout
    # stderr is a pipe here: no progress bar (it is for a terminal only), no escape codes
    assert "rows checked" not in first.stderr and "rows sent" not in first.stderr and "\x1b[" not in first.stderr

    raw = _consume(kafka_bootstrap, topics.DEFAULT.ingress(partner))
    decoded = [codec.decode(v) for v in raw]
    assert sorted(t for t, _ in decoded) == ["KandidaatAangemeld", "KandidaatAangemeld", "TellingGemeld"]
    for value in raw:
        for secret in (b"111222333", b"123456782", b"Fatima", b"Amrani", b"1988-04-12"):
            assert secret not in value
    aangemeld = [r for t, r in decoded if t == "KandidaatAangemeld"]
    assert {r["partner"] for r in aangemeld} == {partner}
    assert all(len(r["deelnemer"]) == 64 for r in aangemeld)
    sealed = [r for r in aangemeld if r["persoonsgegevens"] is not None]
    assert len(sealed) == 1  # only the row with naam/geboortedatum
    telling = next(r for t, r in decoded if t == "TellingGemeld")
    assert telling["deelnemers"][0]["deelnemer"] == sealed[0]["deelnemer"]

    # the same file again derives the same event ids (the validator will treat them as no-ops)
    assert _cli(env, "publish", "--as", partner, str(file)).returncode == 0
    again = [codec.decode(v)[1]["event_id"] for v in _consume(kafka_bootstrap, topics.DEFAULT.ingress(partner))]
    assert len(again) == 6 and set(Counter(again).values()) == {2}


def test_cli_sends_nothing_from_a_file_with_errors(kafka_bootstrap: str, tmp_path: Path, unique: str) -> None:
    partner = f"gemeente.u{unique}"
    env = dict(
        os.environ, PRAKTIJK_KAFKA_BOOTSTRAP=kafka_bootstrap, PRAKTIJK_KEYS_DIR=str(tmp_path / "keys"), COLUMNS="200"
    )
    _cli(env, "keys", "init")
    file = tmp_path / "mixed.jsonl"
    file.write_text(json.dumps(ROWS[0]) + "\n" + json.dumps(ROWS[1] | {"bsn": "111222334"}) + "\n")
    refused = _cli(env, "publish", "--as", partner, str(file))
    assert refused.returncode == 1
    assert "elfproef" in refused.stderr and "nothing sent" in refused.stderr
    assert "111222334" not in refused.stderr + refused.stdout
    assert _consume(kafka_bootstrap, topics.DEFAULT.ingress(partner)) == []

    skipped = _cli(env, "publish", "--as", partner, "--skip-invalid", str(file))
    assert skipped.returncode == 1  # something was refused
    assert "published 1 event(s)" in skipped.stdout
    assert len(_consume(kafka_bootstrap, topics.DEFAULT.ingress(partner))) == 1


def _rows(n: int) -> list[dict[str, object]]:
    """``n`` valid aanmeldingen of different people, each with its own event id (to find them on the topic)."""
    return [
        {
            "type": "KandidaatAangemeld",
            "bsn": ("111222333", "123456782")[i % 2],
            "occurred_at": "2020-01-15",
            "pilot": "rijnmond",
            "aanmelder_type": "gemeente",
            "doelgroep": "a",
            "werkend": False,
            "event_id": f"00000000-0000-4000-8000-{i + 1:012d}",
        }
        for i in range(n)
    ]


def test_a_file_whose_third_row_is_1_1_mb_sends_nothing(kafka_bootstrap: str, tmp_path: Path, unique: str) -> None:
    partner = f"gemeente.v{unique}"
    env = dict(
        os.environ, PRAKTIJK_KAFKA_BOOTSTRAP=kafka_bootstrap, PRAKTIJK_KEYS_DIR=str(tmp_path / "keys"), COLUMNS="300"
    )
    _cli(env, "keys", "init")
    topics.create([kafka_bootstrap], 1, [partner])
    rows = _rows(4)
    rows[2]["naam"] = "x" * 1_100_000
    file = tmp_path / "groot.jsonl"
    file.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    refused = _cli(env, "publish", "--as", partner, str(file))
    assert refused.returncode == 1, refused.stderr
    assert "longer than the limit" in refused.stderr and "nothing sent" in refused.stderr
    assert "Traceback" not in refused.stderr + refused.stdout
    assert _consume(kafka_bootstrap, topics.DEFAULT.ingress(partner)) == []


def test_a_broker_refusal_mid_file_names_exactly_the_rows_sent(
    kafka_bootstrap: str, tmp_path: Path, unique: str
) -> None:
    partner = f"gemeente.w{unique}"
    env = dict(
        os.environ, PRAKTIJK_KAFKA_BOOTSTRAP=kafka_bootstrap, PRAKTIJK_KEYS_DIR=str(tmp_path / "keys"), COLUMNS="300"
    )
    _cli(env, "keys", "init")
    # a topic whose limit is lower than the client's (an operator lowered it): the client-side check passes
    topics.create([kafka_bootstrap], 1, [partner], max_ingress_bytes=4096)
    rows = _rows(5)
    rows[2]["naam"] = "x" * 6000  # sealed: ~6 KB, over the topic's 4 KiB
    file = tmp_path / "mid.jsonl"
    file.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = _cli(env, "publish", "--as", partner, str(file))
    assert result.returncode == 3, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    line = next(x for x in result.stderr.splitlines() if "NOT sent: lines" in x)
    on_topic = sorted(
        int(codec.decode(v)[1]["event_id"][-12:]) for v in _consume(kafka_bootstrap, topics.DEFAULT.ingress(partner))
    )
    assert 3 not in on_topic
    from registry.cli.publish import regels

    assert (
        f"sent {len(on_topic)} of 5 row(s): lines {regels(on_topic)}; NOT sent: lines "
        f"{regels([n for n in range(1, 6) if n not in on_topic])}" in line
    )
