"""The stall figures of the cluster fault (``./ops/faults --brokers 3``): pure, no servers."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from hypothesis import given
from hypothesis import strategies as st

from tests.support.faults.stilstand import Versheid, gaps_per_window, longest_gap, summary


def test_the_longest_gap_counts_the_window_edges() -> None:
    assert longest_gap([2.0, 3.0, 9.0], 0.0, 10.0) == 6.0  # 3 -> 9
    assert longest_gap([1.0, 2.0], 0.0, 10.0) == 8.0  # the last moment to the window's end
    assert longest_gap([7.0, 8.0], 0.0, 10.0) == 7.0  # the window's start to the first moment
    assert longest_gap([], 5.0, 8.0) == 3.0  # nothing at all: the whole window
    assert longest_gap([0.5, 20.0], 1.0, 10.0) == 9.0  # moments outside the window do not count


def test_each_kill_gets_the_stall_up_to_the_next_kill() -> None:
    moments = [0.5, 1.0, 13.0, 14.0, 21.0, 22.0, 29.0]
    assert gaps_per_window(moments, [1.0, 20.0], 30.0) == [12.0, 7.0]


@given(st.lists(st.floats(0, 100), max_size=50), st.floats(0, 50), st.floats(0, 50))
def test_a_gap_is_never_longer_than_its_window_nor_shorter_than_an_even_spread(
    moments: list[float], start: float, length: float
) -> None:
    end = start + length
    gap = longest_gap(moments, start, end)
    inside = [m for m in moments if start <= m <= end]
    assert gap <= length + 1e-9  # end - start may round past length
    assert gap >= length / (len(inside) + 1) - 1e-9


def test_freshness_samples_one_in_every_and_reports_what_never_showed() -> None:
    v = Versheid("http://127.0.0.1:1", "k", every=3)
    for i in range(7):
        v.sample(f"t{i}", float(i))
    assert sorted(v.pending) == ["t2", "t5"]
    v.latencies += [0.4, 0.2, 30.0]
    line = summary([1.0, 2.5], [45.0], v)
    assert "publish acknowledgements 1.0, 2.5 s" in line
    assert "accepted events (canonical log, read_committed) 45.0 s" in line
    assert "3 samples: p50 0.40 s, max 30.0 s" in line
    assert "2 sample(s) never visible" in line


@contextlib.contextmanager
def _api(visible: set[str], asked: list[str]) -> Iterator[str]:
    """A small local HTTP server (no registry): 200 for the trajecten in ``visible``, else 404; notes each path."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            asked.append(self.path.rsplit("/", 1)[-1])
            self.send_response(200 if self.path.rsplit("/", 1)[-1] in visible else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_prober_times_a_sample_until_it_answers_200_and_counts_the_rest_never() -> None:
    """One traject becomes visible after 0.2 s, one never."""
    visible: set[str] = set()
    with _api(visible, []) as base:
        v = Versheid(base, "key", every=1, probers=2)
        v.start()
        t0 = time.monotonic()
        v.sample("a", t0)
        v.sample("b", t0)
        time.sleep(0.2)
        visible.add("a")
        v.stop(grace=0.5)
    assert len(v.latencies) == 1 and 0.2 <= v.latencies[0] < 1.0
    assert set(v.zichtbaar) == {"a"} and v.zichtbaar["a"] - t0 == v.latencies[0]
    assert v.never() == 1 and v.offered == 2
    # every GET is timed, the 404s too: more than the one 200, each shorter than the whole wait
    assert len(v.get_seconds) > 1 and all(0 <= g < 1.0 for g in v.get_seconds)


def test_a_gated_prober_asks_only_about_samples_it_is_told_are_ready() -> None:
    """The freshness bench's gate: no GET for a sample before ``klaar`` says its row is there, then one."""
    ready: set[str] = set()
    asked: list[str] = []
    with _api({"a", "b"}, asked) as base:
        v = Versheid(base, "key", every=1, probers=2, klaar=ready.__contains__)
        v.start()
        t0 = time.monotonic()
        v.sample("a", t0)
        v.sample("b", t0)
        time.sleep(0.2)
        assert asked == []  # both would answer 200, but neither is ready
        ready.add("a")
        v.stop(grace=0.5)
    assert asked == ["a"] and set(v.zichtbaar) == {"a"} and v.latencies[0] >= 0.2
    assert v.never() == 1
