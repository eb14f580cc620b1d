"""Settings ▸ Node folders: custom layers load at once and join the palette and the canvas."""

from __future__ import annotations

import sys

import pytest

from designer.files import node_folders, set_node_folders
from engine import catalog
from engine.catalog import plugins

LAYER = '''
import torch
from torch import nn


class TwdGate(nn.Module):
    """Gates each feature by a learned sigmoid."""

    def __init__(self, in_features: int) -> None:
        super().__init__()
        self.gate = nn.Parameter(torch.zeros(in_features))

    def forward(self, x):
        return x * torch.sigmoid(self.gate)
'''


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    monkeypatch.setenv(plugins.NODE_PATH_ENV, "")
    path = list(sys.path)
    yield
    plugins.unload()
    sys.path[:] = path
    sys.modules.pop("twd_layers", None)


def test_node_folders_are_a_user_setting():
    assert node_folders() == []
    set_node_folders(["/a/b"])  # one folder stays a list (QSettings would make it text)
    assert node_folders() == ["/a/b"]


def test_adding_a_node_folder_in_settings_loads_its_layers_into_the_palette(window, tmp_path):
    folder = tmp_path / "nodes"
    folder.mkdir()
    (folder / "twd_layers.py").write_text(LAYER)
    assert "TwdGate" not in window.palette.visible_types()
    d = window.show_settings()
    d.add_folder(str(folder))
    d.add_folder(str(folder))  # once
    assert d.folder_list() == [str(folder)]
    d.accept()
    assert node_folders() == [str(folder)]
    assert catalog.get("TwdGate").category == "Custom"
    assert "TwdGate" in window.palette.visible_types()
    window.palette.filter("sigmoid")
    assert "TwdGate" in window.palette.visible_types()
    nid = window.document.add_node("TwdGate")  # the canvas knows the new type
    assert window.document.graph.nodes[nid].type == "TwdGate"
    d = window.show_settings()
    d.folders.item(0).setSelected(True)
    d.remove_selected()
    d.accept()
    assert node_folders() == []


def test_a_refused_plugin_is_said_in_the_status_bar(window, tmp_path):
    folder = tmp_path / "nodes"
    folder.mkdir()
    (folder / "twd_layers.py").write_text("raise ValueError('oops')\n")
    d = window.show_settings()
    d.add_folder(str(folder))
    d.accept()
    assert "twd_layers.py cannot be loaded: ValueError: oops" in window.statusBar().currentMessage()
