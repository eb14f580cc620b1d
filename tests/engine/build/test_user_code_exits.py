"""A plugin whose constructor calls ``sys.exit`` while the real module is built: compiling
fails naming the plugin and its node, and the program goes on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import Graph, check, compile_model
from engine.catalog import plugins
from engine.errors import TorchwireError
from tests.support.exiting_plugins import EXITS_WHEN_BUILT, no_plugins, node_folder


@pytest.fixture
def loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    with no_plugins(monkeypatch):
        folder = node_folder(tmp_path, "twx_build_quit.py", EXITS_WHEN_BUILT)
        plugins.load([folder], strict=True)
        yield folder


def test_a_plugin_constructor_exiting_off_meta_fails_compile_naming_it(loaded: Path) -> None:
    g = Graph(name="net")
    x = g.add("Input", shape=[4])
    q = g.add("twx_BuildQuit", name="gate")
    g.connect(x, q)
    g.connect(q, g.add("Output"))
    assert check(g).ok  # on meta the constructor does not exit
    with pytest.raises(TorchwireError) as e:
        compile_model(g)
    said = str(e.value)
    assert "twx_build_quit.twx_BuildQuit" in said and "sys.exit(4)" in said
    assert "gate" in said and e.value.node == q
