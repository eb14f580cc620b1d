"""The layered layout: wires run right, lanes do not overlap, long chains wrap."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import Graph, load_project
from engine.build.layout import SPACING, lay_out, layered_positions

EXAMPLES = sorted(Path("resources/examples").glob("*.json"))


def _chain(n: int) -> Graph:
    g = Graph(name="chain")
    prev = g.add("Input", shape=[8])
    for _ in range(n):
        nxt = g.add("Linear", out_features=8)
        g.connect(prev, nxt)
        prev = nxt
    return g


def _overlaps(pos: dict[str, tuple[float, float]]) -> list[tuple[str, str]]:
    seen: dict[tuple[float, float], str] = {}
    clashes = []
    for nid, p in pos.items():
        if p in seen:
            clashes.append((seen[p], nid))
        seen[p] = nid
    return clashes


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_lay_out_without_overlap_and_wires_run_right(path: Path) -> None:
    g = load_project(path)
    pos = layered_positions(g)
    assert set(pos) == set(g.nodes)
    assert not _overlaps(pos)
    # inside the model lane and the data lane, a wire never runs left unless it wraps a band
    for e in g.edges:
        (x0, y0), (x1, y1) = pos[e.src], pos[e.dst]
        if y1 == y0:
            assert x1 > x0, e


def test_data_lane_above_model_lane() -> None:
    g = load_project(Path("resources/examples/digits_cnn.json"))
    pos = layered_positions(g)
    data = [pos[n.id][1] for n in g if n.spec.kind == "data"]
    model = [pos[n.id][1] for n in g if n.spec.kind in ("model", "io")]
    assert max(data) < min(model)


def test_long_chain_wraps_into_bands_near_the_aspect() -> None:
    g = _chain(40)
    pos = layered_positions(g)
    xs = {p[0] for p in pos.values()}
    ys = {p[1] for p in pos.values()}
    assert len(ys) > 1, "a 41-node chain should wrap"
    width = (max(xs) - min(xs)) + SPACING[0]
    height = (max(ys) - min(ys)) + SPACING[1]
    assert 0.5 < width / height < 5
    assert not _overlaps(pos)


def test_branches_stack_in_one_column() -> None:
    g = Graph(name="fork")
    x = g.add("Input", shape=[8])
    a = g.add("Linear", out_features=8)
    b = g.add("Linear", out_features=8)
    s = g.add("Add")
    g.connect(x, a)
    g.connect(x, b)
    g.connect(a, s)
    g.connect(b, s)
    pos = layered_positions(g)
    assert pos[a][0] == pos[b][0] and pos[a][1] != pos[b][1]
    assert pos[s][0] > pos[a][0] > pos[x][0]


def test_selection_keeps_its_corner_and_lay_out_moves() -> None:
    g = _chain(3)
    for i, n in enumerate(list(g.nodes)):
        g.move(n, (500.0 + 7 * i, 300.0 - i))
    ids = list(g.nodes)[1:]
    pos = layered_positions(g, ids)
    assert min(p[0] for p in pos.values()) == 507.0
    lay_out(g)
    assert g.nodes[ids[0]].pos == layered_positions(g)[ids[0]]


def test_free_position_never_stacks_new_nodes() -> None:
    """Issue 16 item 5: eight nodes added at one spot land side by side, none on another."""
    from engine.build.layout import NODE_SIZE, free_position

    g = Graph()
    x = g.add("Input", shape=[4], pos=(0.0, 0.0))
    relu = g.add("ReLU", pos=(220.0, 0.0))
    placed = []
    for _ in range(8):
        pos = free_position(g, near=(220.0, 0.0))
        placed.append(pos)
        g.add("ReLU", pos=pos)
    w, h = NODE_SIZE
    all_pos = [n.pos for n in g.nodes.values()]
    for i, a in enumerate(all_pos):
        for b in all_pos[i + 1 :]:
            assert abs(a[0] - b[0]) >= w or abs(a[1] - b[1]) >= h, (a, b)
    # close to where they were asked for: within a few slots
    assert all(abs(p[0] - 220.0) <= 3 * 220 and abs(p[1]) <= 4 * 120 for p in placed)
    # after a node: one column to its right, on its row when free
    assert free_position(g, after=x)[0] > g.nodes[x].pos[0]
    lone = Graph()
    a = lone.add("Input", shape=[4], pos=(100.0, 50.0))
    assert free_position(lone, after=a) == (320.0, 50.0)
    assert relu in g.nodes
