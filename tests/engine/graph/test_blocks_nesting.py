"""Blocks nested deeply: each definition is serialized once, and the nesting is capped."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from engine.graph import Graph, GraphError
from engine.graph.blocks import MAX_BLOCK_DEPTH
from engine.project import ProjectError, loads_project, to_json
from engine.project.library import load_library, save_library
from tests.support.block_models import nested_blocks

T = TypeVar("T")


class _Budget(Exception):
    """More ``Graph.to_dict`` calls than a linear-time save makes."""


@pytest.fixture
def to_dict_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts ``Graph.to_dict`` calls; past 1,000 it stops the test (an exponential save
    would otherwise run for hours before failing)."""
    calls = [0]
    original = Graph.to_dict

    def counted(self: Graph, *args: object, **kwargs: object) -> dict:
        calls[0] += 1
        if calls[0] > 1_000:
            raise _Budget(f"{calls[0]} calls of Graph.to_dict")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Graph, "to_dict", counted)
    yield calls


def _within_budget(fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)``, failing in one line when it overran the budget (the traceback of a
    deep recursion takes pytest minutes to print)."""
    try:
        return fn(*args)
    except (_Budget, ProjectError) as e:
        pytest.fail(str(e), pytrace=False)


@pytest.mark.parametrize("fan", [1, 2], ids=["chain", "diamonds"])
def test_saving_40_levels_of_blocks_serializes_each_definition_once(
    to_dict_calls: list[int], fan: int
) -> None:
    g = nested_blocks(40, fan)
    to_dict_calls[0] = 0
    text = _within_budget(to_json, g)
    # the model's graph once, and each definition once
    assert len(g.blocks) == 1 + 39 * fan  # the top block and every block of the levels below
    assert to_dict_calls[0] == 1 + len(g.blocks)
    assert len(json.loads(text)["blocks"]) == len(g.blocks)
    assert to_json(loads_project(text)) == text


def test_saving_a_library_serializes_each_definition_once(
    tmp_path: Path, to_dict_calls: list[int]
) -> None:
    top = nested_blocks(40, 2).blocks["L39_0"]
    to_dict_calls[0] = 0
    _within_budget(save_library, tmp_path / "lib.json", [top])
    assert to_dict_calls[0] <= 2 * 80
    assert len(load_library(tmp_path / "lib.json")) == 79  # L39_0 and the 78 it uses


def _deep_library(depth: int) -> dict:
    """A library of ``depth`` blocks, each using the one before (listed top first)."""

    def body(inner: str) -> dict:
        to_port, from_port = ("input", "output") if inner == "ReLU" else ("x", "o")
        return {
            "nodes": [
                {"id": "x", "type": "Input"},
                {"id": "n", "type": inner},
                {"id": "o", "type": "Output"},
            ],
            "edges": [
                {"from": "x", "from_port": "output", "to": "n", "to_port": to_port},
                {"from": "n", "from_port": from_port, "to": "o", "to_port": "input"},
            ],
        }

    blocks = [{"name": "B0", "version": 1, "expose": {}, "graph": body("ReLU")}]
    blocks += [
        {"name": f"B{i}", "version": 1, "expose": {}, "graph": body(f"B{i - 1}")}
        for i in range(1, depth)
    ]
    return {"format": "torchwire-blocks", "version": 1, "blocks": blocks[::-1]}


def test_a_library_nested_past_the_cap_is_refused_naming_the_file(tmp_path: Path) -> None:
    ok = tmp_path / "ok.twblocks.json"
    ok.write_text(json.dumps(_deep_library(MAX_BLOCK_DEPTH)))
    assert len(load_library(ok)) == MAX_BLOCK_DEPTH
    deep = tmp_path / "deep.twblocks.json"
    deep.write_text(json.dumps(_deep_library(1_000)))
    with pytest.raises(ProjectError, match=r"deep\.twblocks\.json: .*nested too deeply"):
        load_library(deep)
    blocks = _deep_library(1_000)["blocks"]
    project = {"format": "torchwire-project", "version": 4, "nodes": [], "edges": []}
    project["blocks"] = blocks
    with pytest.raises(ProjectError, match="nested too deeply") as e:
        loads_project(json.dumps(project), "p.json")
    assert not e.value.internal


def test_a_block_nested_past_the_cap_cannot_be_made() -> None:
    outer = nested_blocks(MAX_BLOCK_DEPTH)  # as deep as allowed
    outer.name = "Outer"
    outer.connect(outer.by_name("top").id, outer.add("Output", name="out"))
    with pytest.raises(GraphError, match="nested too deeply"):
        Graph().add_block(outer)
