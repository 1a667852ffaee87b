"""tests/support/import_contracts.py: the ``acyclic`` contract finds every import cycle, however long, and only
among the modules of its containers."""

from __future__ import annotations

import grimp

from tests.support.import_contracts import AcyclicContract, strongly_connected


def _graph(*imports: tuple[str, str]) -> grimp.ImportGraph:
    graph = grimp.ImportGraph()
    for importer, imported in imports:
        graph.add_import(importer=importer, imported=imported)
    return graph


def _check(graph: grimp.ImportGraph, *containers: str) -> list[list[str]]:
    contract = AcyclicContract("no cycles", {}, {"containers": list(containers)})
    check = contract.check(graph, verbose=False)
    assert check.kept == (not check.metadata["cycles"])
    cycles: list[list[str]] = check.metadata["cycles"]
    return cycles


def test_a_long_cycle_is_found_with_its_path() -> None:
    graph = _graph(("app.a", "app.b"), ("app.b", "app.c"), ("app.c", "app.d"), ("app.d", "app.a"), ("app.d", "app.e"))
    assert _check(graph, "app") == [["app.a", "app.b", "app.c", "app.d"]]


def test_one_way_imports_keep_the_contract() -> None:
    graph = _graph(("app.routes", "app.diensten"), ("app.web", "app.diensten"), ("app.diensten", "app.ports"))
    assert _check(graph, "app") == []


def test_only_the_containers_are_checked() -> None:
    graph = _graph(("app.a", "lib.x"), ("lib.x", "lib.y"), ("lib.y", "lib.x"))
    assert _check(graph, "app") == []
    assert _check(graph, "app", "lib") == [["lib.x", "lib.y"]]


def test_components_of_a_deep_chain_without_recursion() -> None:
    chain = [f"m{i}" for i in range(5000)]
    edges = {m: [n] for m, n in zip(chain, chain[1:], strict=False)} | {chain[-1]: [chain[0]]}
    assert strongly_connected(chain, edges) == [sorted(chain)]
