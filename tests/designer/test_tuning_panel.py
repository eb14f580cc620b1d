"""The Tuning dock and the "tune" marking in Properties, on the real engine (Optuna)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from designer.document import Document
from designer.panels.properties import PropertiesPanel
from designer.panels.tuning import TuningPanel
from designer.widgets.tune_editor import set_dimension
from engine import load_project
from engine.tune import Dimension
from tests.support.paths import EXAMPLES


def _doc() -> Document:
    g = load_project(EXAMPLES / "iris.json")
    g.settings["training"]["epochs"] = 3
    return Document(g)


def test_properties_marks_a_parameter_tune_within_its_declared_limits(qtbot) -> None:
    doc = _doc()
    props = PropertiesPanel(doc)
    qtbot.addWidget(props)
    props.show_nodes(["adam"])
    te = props.tune_editors["lr"]
    assert "lr_schedule" in props.tune_editors and "betas" not in props.tune_editors
    assert te.low is not None and te.low.minimum() == 0.0  # the declaration's min
    te.check.setChecked(True)
    space = doc.graph.settings["tuning"]["space"]
    # Adam's usual learning rates, the range the learning-rate lint names
    assert space == [{"target": "adam.lr", "low": 1e-5, "high": 0.01, "log": True}]
    doc.undo_stack.undo()
    assert not doc.graph.settings.get("tuning")  # one undo step
    props.refresh_values()
    assert not te.check.isChecked()
    # choices the declaration refuses are shown with the reason and not written
    ch = props.tune_editors["lr_schedule"]
    ch.check.setChecked(True)
    assert doc.graph.settings["tuning"]["space"][0]["choices"][0] == "none"
    ch.choices.setText("none, sometimes")
    ch._write()
    assert not ch.error.isHidden() and "'sometimes' is not one of" in ch.error.text()
    assert "sometimes" not in doc.graph.settings["tuning"]["space"][0]["choices"]


def test_dock_runs_a_grid_live_and_opens_best(qtbot, tmp_path: Path) -> None:
    doc = _doc()
    set_dimension(doc, "linear.out_features", Dimension("linear.out_features", choices=(4, 16)))
    set_dimension(doc, "adam.lr", Dimension("adam.lr", choices=(0.01, 0.05)))
    panel = TuningPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(1100, 420)
    panel.show()
    assert panel.space_table.rowCount() == 2
    panel.sampler.setCurrentText("grid")
    panel.pruner.setCurrentText("none")
    assert doc.graph.settings["tuning"]["sampler"] == "grid"  # options saved in the project
    panel.out_edit.setText(str(tmp_path / "study"))
    progress: list[int] = []
    panel.table.model().rowsInserted.connect(lambda *_: progress.append(panel.table.rowCount()))
    with qtbot.waitSignal(panel.finished, timeout=120000) as done:
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
        assert panel.running and panel.stop_button.isEnabled()
        assert not panel.start_button.isEnabled()
    res = done.args[0]
    assert res is not None and len(res.trials) == 4
    assert progress == [1, 2, 3, 4]  # rows arrived one trial at a time
    combos = {(r["params"]["linear.out_features"], r["params"]["adam.lr"]) for r in panel.rows}
    assert combos == set(itertools.product((4, 16), (0.01, 0.05)))
    panel.table.sortItems(2, Qt.SortOrder.AscendingOrder)  # by the objective
    vals = [float(panel.table.item(i, 2).text()) for i in range(4)]
    assert vals == sorted(vals)
    xs, ys = panel.best_so_far()
    assert len(xs) == 4 and all(b <= a for a, b in itertools.pairwise(ys))
    assert ys[-1] == min(r["value"] for r in panel.rows)
    assert len(panel.parallel_lines) == 4
    assert "best val_loss" in panel.status.text()
    with qtbot.waitSignal(panel.openBest, timeout=2000) as opened:
        qtbot.mouseClick(panel.best_button, Qt.MouseButton.LeftButton)
    best = load_project(opened.args[0])
    assert best.nodes["adam"].params["lr"] == res.best_params["adam.lr"]


def test_dock_stop_ends_the_study_and_a_bad_space_says_why(qtbot, tmp_path: Path) -> None:
    doc = _doc()
    doc.graph.settings["training"]["epochs"] = 400
    set_dimension(doc, "adam.lr", Dimension("adam.lr", 1e-3, 0.1, log=True))
    panel = TuningPanel(doc)
    qtbot.addWidget(panel)
    panel.out_edit.setText(str(tmp_path / "s1"))
    panel.trials.setValue(50)
    with qtbot.waitSignal(panel.finished, timeout=120000) as done:
        panel.start()
        qtbot.waitUntil(lambda: len(panel.rows) >= 1, timeout=60000)
        panel.stop()
    assert done.args[0].stopped and len(done.args[0].trials) < 50
    assert panel.start_button.isEnabled()
    set_dimension(doc, "linear.out_features", Dimension("linear.out_features", 0, 8))
    panel.out_edit.setText(str(tmp_path / "s2"))
    with qtbot.waitSignal(panel.finished, timeout=30000) as done:
        panel.start()
    assert done.args[0] is None
    assert "linear.out_features" in panel.status.text() and "at least 1" in panel.status.text()


def test_main_window_has_the_tuning_dock_and_open_best_loads_the_project(
    window, qtbot, tmp_path: Path
) -> None:
    qtbot.waitUntil(lambda: getattr(window, "tuning_panel", None) is not None, timeout=60000)
    assert window.dock_tuning.toggleViewAction() in window.view_menu.actions()
    g = load_project(EXAMPLES / "iris.json")
    g.nodes["adam"].params["lr"] = 0.0421
    best = tmp_path / "best.json"
    from engine import save_project

    save_project(g, best)
    window.tuning_panel.openBest.emit(str(best))
    assert window.document.path is None  # an untitled copy: Save never writes the study's file
    assert window.document.graph.nodes["adam"].params["lr"] == 0.0421


def _grid_doc(epochs: int = 3) -> Document:
    doc = _doc()
    doc.graph.settings["training"]["epochs"] = epochs
    set_dimension(doc, "adam.lr", Dimension("adam.lr", choices=(0.01, 0.02, 0.03)))
    return doc


def _run(qtbot, panel: TuningPanel) -> Any:
    with qtbot.waitSignal(panel.finished, timeout=120000) as done:
        panel.start()
    return done.args[0]


def test_a_reopened_study_shows_its_trials_and_how_many_more_will_run(
    qtbot, tmp_path: Path
) -> None:
    doc = _grid_doc()
    panel = TuningPanel(doc)
    qtbot.addWidget(panel)
    panel.out_edit.setText(str(tmp_path / "study"))
    panel.trials.setValue(2)
    assert _run(qtbot, panel) is not None
    # a restart: a new panel over the same folder shows the two trials before any Start
    again = TuningPanel(_grid_doc())
    qtbot.addWidget(again)
    again.out_edit.setText(str(tmp_path / "study"))
    again.trials.setValue(1)
    again.read_existing()
    qtbot.waitUntil(lambda: again.table.rowCount() == 2, timeout=60000)
    heads = [again.table.horizontalHeaderItem(i).text() for i in range(again.table.columnCount())]
    assert heads[:3] == ["#", "state", "val_loss"] and "adam.lr" in heads
    assert "holds 2 finished trials" in again.plan_label.text()
    assert "none more will run" in again.plan_label.text()
    again.trials.setValue(3)
    assert "1 more will run to reach 3 in total" in again.plan_label.text()
    res = _run(qtbot, again)
    assert len(res.trials) == 3 and again.table.rowCount() == 3


def test_the_trials_table_has_named_columns_before_any_study(qtbot) -> None:
    panel = TuningPanel(_grid_doc())
    qtbot.addWidget(panel)
    heads = [panel.table.horizontalHeaderItem(i).text() for i in range(panel.table.columnCount())]
    assert heads == ["#", "state", "value", "seconds"]  # not Qt's placeholder 1 2 3 4


def test_parameters_nobody_tunes_have_no_tune_box(qtbot, tmp_path: Path) -> None:
    g = load_project(EXAMPLES / "iris.json")
    csv = g.add("CSVDataset")
    clean = g.add("Clean")
    doc = Document(g)
    props = PropertiesPanel(doc)
    qtbot.addWidget(props)
    props.show_nodes([csv])
    assert "header" not in props.tune_editors and "task" not in props.tune_editors
    props.show_nodes([clean])
    assert "drop_duplicates" not in props.tune_editors
    panel = TuningPanel(doc)
    qtbot.addWidget(panel)
    items = [panel.setting_combo.itemText(i) for i in range(panel.setting_combo.count())]
    assert "training.device" not in items and "training.monitor" not in items


def test_the_range_editor_fits_the_default_dock_width(qtbot) -> None:
    doc = _doc()
    props = PropertiesPanel(doc)
    qtbot.addWidget(props)
    props.show_nodes(["adam"])
    te = props.tune_editors["lr"]
    te.check.setChecked(True)
    assert te.fields.minimumSizeHint().width() <= 200  # beside its label in a 320 px dock


def test_closing_the_window_stops_a_running_study_cleanly(window, qtbot, tmp_path: Path) -> None:
    import optuna

    from engine.tune.study import make_storage, storage_url

    qtbot.waitUntil(lambda: getattr(window, "tuning_panel", None) is not None, timeout=60000)
    g = load_project(EXAMPLES / "iris.json")
    g.settings["training"]["epochs"] = 100000
    window.document.replace_graph(g)
    panel = window.tuning_panel
    set_dimension(window.document, "adam.lr", Dimension("adam.lr", choices=(0.01, 0.02)))
    out = tmp_path / "study"
    panel.out_edit.setText(str(out))
    asked: list[str] = []
    window.ask_stop_training = lambda what: asked.append(what) or True
    panel.start()
    qtbot.waitUntil(lambda: panel.study is not None and panel.study._session is not None,
                    timeout=60000)  # fmt: skip
    assert window.close()
    assert asked and "iris" in asked[0] and "tuning study" in asked[0]
    assert panel._idle.is_set()  # the worker thread ended before the window went
    trials = optuna.load_study(
        study_name="iris", storage=make_storage(storage_url(out))
    ).get_trials()
    assert [t.state for t in trials] == [optuna.trial.TrialState.FAIL]
    assert "stopped" in trials[0].user_attrs["error"]


def test_a_panel_made_after_the_project_opened_reads_its_study(qtbot, tmp_path: Path) -> None:
    doc = _grid_doc()
    doc.path = tmp_path / "iris.json"  # the study's default folder is beside the project
    first = TuningPanel(doc)
    qtbot.addWidget(first)
    first.trials.setValue(1)
    _run(qtbot, first)
    assert (tmp_path / "runs" / "tune-iris" / "study.db").is_file()
    late = TuningPanel(doc)  # as the main window makes its docks after opening a file
    qtbot.addWidget(late)
    qtbot.waitUntil(lambda: late.table.rowCount() == 1, timeout=60000)
    assert "holds 1 finished trial;" in late.plan_label.text()
