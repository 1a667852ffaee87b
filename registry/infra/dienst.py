"""How a long-running consumer (``praktijkregister validator``, ``praktijkregister project``) runs once its start-up
is done: the collector kept to young objects (``heap.keep_young``: no full-heap pauses) and the GIL handed over
within 1 ms (``gil.quick_handover``: its writer's and Kafka clients' threads beside the judging or decoding). A
short run (``--idle-exit``, ``--once``) keeps Python's defaults."""

from __future__ import annotations

from registry.infra import gil, heap


def als_dienst() -> None:
    heap.keep_young()
    gil.quick_handover()
