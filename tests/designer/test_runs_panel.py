"""The Runs dock on two real runs: listing, curves overlaid, opening a run's project."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from designer.app import MainWindow
from engine.project import load_project
from engine.train.session import train
from tests.support.paths import EXAMPLES


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """iris.json beside two 1-epoch runs that differ in the optimizer's learning rate."""
    d = tmp_path_factory.mktemp("runs_dock")
    p = d / "iris.json"
    shutil.copy(EXAMPLES / "iris.json", p)
    g = load_project(p)
    opt = next(n for n in g.nodes.values() if n.spec.kind == "optimizer")
    for i, lr in ((1, 0.01), (2, 0.05)):
        g.set(opt.id, lr=lr)
        train(g, out_dir=str(d / "runs" / f"iris-{i}"), epochs=1)
    return p


@pytest.mark.slow
def test_runs_dock_lists_runs_and_overlays_their_curves(
    window: MainWindow, project: Path, qtbot: Any
) -> None:
    w = window
    panel = w.runs_panel
    with qtbot.waitSignal(panel.loaded, timeout=30000) as blocker:
        assert w.open_path(project)
    runs = blocker.args[0]
    assert [r.name for r in runs] == ["iris-1", "iris-2"]
    assert panel.table.rowCount() == 2
    assert "lr=0.05" in panel.table.item(1, 5).text()
    assert panel.table.item(0, 2).text() == "finished"
    panel.table.selectAll()
    plot = panel.plot
    assert plot.series() == ["iris-1", "iris-2"]
    for name in plot.series():
        xs, ys = plot.values(name)
        assert list(xs) == [1.0] and len(ys) == 1 and ys[0] > 0
    panel.metric.setCurrentText("val_accuracy")
    assert panel.plot.series() == ["iris-1", "iris-2"]
    assert 0 <= panel.plot.values("iris-2")[1][0] <= 1


@pytest.mark.slow
def test_open_this_runs_project_opens_an_untitled_copy(
    window: MainWindow, project: Path, qtbot: Any
) -> None:
    w = window
    panel = w.runs_panel
    with qtbot.waitSignal(panel.loaded, timeout=30000):
        assert w.open_path(project)
    panel.table.selectRow(0)
    assert panel.open_button.isEnabled()
    panel.open_button.click()
    g = w.document.graph
    assert w.document.path is None  # saving asks where: the run's snapshot stays as it was
    opt = next(n for n in g.nodes.values() if n.spec.kind == "optimizer")
    assert opt.params["lr"] == 0.01
    assert g.settings["training"]["epochs"] == 1
    assert Path(g.source_path) == project.resolve()  # data paths resolve from the project's folder
