"""Loading, checking, saving and editing stay linear in the graph's size.

No wall-clock thresholds (they flake on a busy machine): the tests count the work done on
edges and nodes (every attribute read of an ``Edge`` or a ``Node``) for a chain of 2k and
one of 8k nodes. Linear work grows 4x; one O(E) scan per node (the old ``add`` and
``connect``) grows 16x.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from engine.analysis.check import check
from engine.graph import Edge, Graph, Node
from engine.project import loads_project, to_json

SMALL, BIG = 2_000, 8_000
LINEAR_BOUND = 6.0  # 4x is linear; n log n would be ~4.7x; quadratic 16x


def chain(n: int) -> Graph:
    g = Graph()
    prev = g.add("Input", shape=[8])
    for i in range(1, n):
        nid = g.add("Linear", out_features=4) if i % 2 else g.add("ReLU")
        g.connect(prev, nid)
        prev = nid
    return g


class Reads:
    n = 0


@contextmanager
def counting(monkeypatch: pytest.MonkeyPatch) -> Iterator[Reads]:
    """Count attribute reads of every Edge and Node while the block runs."""
    reads = Reads()

    def get(self: Any, name: str) -> Any:
        reads.n += 1
        return object.__getattribute__(self, name)

    with monkeypatch.context() as m:
        m.setattr(Edge, "__getattribute__", get)
        m.setattr(Node, "__getattribute__", get)
        yield reads


def _growth(monkeypatch: pytest.MonkeyPatch, op: Callable[[int], Callable[[], Any]]) -> float:
    counts = []
    for n in (SMALL, BIG):
        run = op(n)  # setup, not counted
        with counting(monkeypatch) as reads:
            run()
        counts.append(reads.n)
    assert counts[0] > 0
    return counts[1] / counts[0]


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    check(chain(10))  # imports, the catalog, the meta-device cache


def test_building_a_graph_is_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _growth(monkeypatch, lambda n: lambda: chain(n)) < LINEAR_BOUND


def test_loading_a_project_is_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    def op(n: int) -> Callable[[], Any]:
        text = to_json(chain(n))
        return lambda: loads_project(text)

    assert _growth(monkeypatch, op) < LINEAR_BOUND


def test_loading_edges_in_reverse_order_is_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cycle test on each connect would walk everything already connected downstream."""

    def op(n: int) -> Callable[[], Any]:
        d = chain(n).to_dict()
        d["edges"].reverse()
        return lambda: Graph.from_dict(d)

    assert _growth(monkeypatch, op) < LINEAR_BOUND


def test_checking_is_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    def op(n: int) -> Callable[[], Any]:
        g = chain(n)
        return lambda: check(g)

    assert _growth(monkeypatch, op) < LINEAR_BOUND


def test_checking_a_long_cycle_is_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole chain on one cycle: Tarjan's components, one error per node."""

    def op(n: int) -> Callable[[], Any]:
        g = chain(n)
        ids = list(g.nodes)
        add = g.add("Add")
        g.disconnect(ids[0], ids[1])
        g.connect(ids[0], add)
        g.connect(ids[-1], add)
        g.connect(add, ids[1], allow_cycle=True)
        return lambda: check(g)

    assert _growth(monkeypatch, op) < LINEAR_BOUND


def test_saving_is_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    def op(n: int) -> Callable[[], Any]:
        g = chain(n)
        return lambda: to_json(g)

    assert _growth(monkeypatch, op) < LINEAR_BOUND


def test_lookups_and_removals_are_not_scans(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the GUI does per node: by_name, in/out edges, connection_problem, remove."""

    def op(n: int) -> Callable[[], Any]:
        g = chain(n)
        ids = list(g.nodes)

        def run() -> None:
            for a, b in itertools.pairwise(ids):
                g.by_name(a)
                g.in_edges(b)
                g.out_edges(a)
                g.connection_problem(a, "output", b, "input")
            for nid in ids[::2]:
                g.remove(nid)
            for _ in range(100):
                g.add("ReLU")

        return run

    assert _growth(monkeypatch, op) < LINEAR_BOUND


def test_fresh_ids_do_not_count_up_from_two_each_time() -> None:
    g = Graph()
    calls = 0
    taken = g._taken

    def counted(name: str) -> bool:
        nonlocal calls
        calls += 1
        return taken(name)

    g._taken = counted  # type: ignore[method-assign]
    for _ in range(3000):
        g.add("ReLU")
    assert calls < 3 * 3000
