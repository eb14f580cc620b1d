"""The Training panel on the real engine: start, live plots, results, stop, pause, failures."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from designer.document import Document
from designer.panels.training import TrainingPanel, default_runs_root
from engine import load_project
from tests.support.paths import EXAMPLES


def make_panel(qtbot, tmp_path: Path, example: str = "iris.json", epochs: int = 2):
    graph = load_project(EXAMPLES / example)
    graph.settings.setdefault("training", {})["epochs"] = epochs
    doc = Document(graph)
    panel = TrainingPanel(doc)
    panel.runs_root = tmp_path / "runs"
    panel.show_failure_popup = False
    qtbot.addWidget(panel)
    panel.resize(1200, 420)
    panel.show()
    qtbot.waitUntil(lambda: panel._env_loaded and panel.start_button.isEnabled(), timeout=30000)
    return doc, panel


def test_two_epoch_run_fills_the_plots_and_shows_test_results(qtbot, tmp_path):
    _doc, panel = make_panel(qtbot, tmp_path, epochs=2)
    assert panel._editors["epochs"].value() == 2  # the form shows the project's settings
    before = sys.getswitchinterval()
    with qtbot.waitSignal(panel.runFinished, timeout=60000) as done:
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
        assert panel.is_running
        assert not panel.start_button.isEnabled()
        assert sys.getswitchinterval() <= 0.001  # the UI thread gets the GIL promptly
    assert sys.getswitchinterval() == before
    ev = done.args[0]
    assert not ev.stopped
    assert panel.state == "finished"
    # live plots received points: every batch's loss, and one point per epoch
    assert panel.loss_plot.count("train (batch)") >= 2
    assert panel.loss_plot.count("train") == 2
    assert panel.loss_plot.count("validation") == 2
    assert panel.metric_plot.count("validation") == 2
    assert panel.metric_plot.title.lower().startswith("accuracy")
    assert panel.lr_plot.count("lr") == 2
    xs, _ = panel.loss_plot.values("validation")
    assert list(xs) == [1.0, 2.0]
    # the final metrics and the confusion matrix appeared
    acc = panel.metric_value("accuracy")
    assert acc is not None and 0.0 <= acc <= 1.0
    assert acc == pytest.approx(ev.test_metrics["accuracy"])
    cm = panel.confusion_view.matrix
    assert cm is not None and cm.shape == (3, 3)
    assert panel.confusion_view.class_names == ["setosa", "versicolor", "virginica"]
    assert panel.result_stack.currentWidget() is panel.confusion_view
    assert "Finished" in panel.progress.format()
    assert "epoch 2/2" in panel.log_view.toPlainText()
    # the run folder and its checkpoint are known to the rest of the app
    assert panel.last_run_dir is not None and panel.last_run_dir.is_relative_to(tmp_path)
    assert panel.last_checkpoint is not None and panel.last_checkpoint.exists()
    assert panel.start_button.isEnabled()  # ready for another run
    assert panel.folder_button.isEnabled()


def test_regression_shows_predicted_against_true(qtbot, tmp_path):
    _, panel = make_panel(qtbot, tmp_path, example="diabetes.json", epochs=2)
    with qtbot.waitSignal(panel.runFinished, timeout=60000):
        panel.start()
    assert panel.result_stack.currentWidget() is panel.scatter_view
    assert panel.scatter_view.n_points > 10
    assert panel.metric_value("r2") is not None
    assert panel.metric_plot.title.startswith("R²")


def test_stop_mid_run(qtbot, tmp_path):
    _, panel = make_panel(qtbot, tmp_path, example="digits_mlp.json", epochs=500)
    panel.start()
    qtbot.waitUntil(lambda: panel.loss_plot.count("train (batch)") > 0, timeout=30000)
    assert panel.state == "running"
    with qtbot.waitSignal(panel.runFinished, timeout=30000) as done:
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
        assert panel.state == "stopping"
    assert done.args[0].stopped
    assert panel.state == "stopped"
    assert "Stopped" in panel.progress.format()
    assert panel.progress.value() < 1000
    assert panel.last_checkpoint is not None and panel.last_checkpoint.exists()
    assert panel.continue_button.isEnabled()


def test_continue_a_stopped_run_from_its_checkpoint(qtbot, tmp_path):
    doc, panel = make_panel(qtbot, tmp_path, example="iris.json", epochs=500)
    assert not panel.continue_button.isEnabled()
    panel.start()
    qtbot.waitUntil(lambda: panel.loss_plot.count("train") >= 1, timeout=30000)
    with qtbot.waitSignal(panel.runFinished, timeout=30000):
        panel.stop()
    run_dir = panel.last_run_dir
    done = panel.loss_plot.count("train")
    doc.set_setting("training", {**doc.graph.settings["training"], "epochs": done + 2})
    with qtbot.waitSignal(panel.runFinished, timeout=60000) as finished:
        qtbot.mouseClick(panel.continue_button, Qt.MouseButton.LeftButton)
    assert not finished.args[0].stopped
    assert panel.last_run_dir == run_dir  # the same run, continued
    xs, _ = panel.loss_plot.values("train")
    assert xs[-1] == done + 2  # the curves went on where they stopped
    assert panel.metric_value("accuracy") is not None


def test_shutdown_stops_a_paused_run_and_waits_for_it(qtbot, tmp_path):
    """What the app does on quit: the run ends cleanly, its last checkpoint written."""
    _, panel = make_panel(qtbot, tmp_path, example="digits_mlp.json", epochs=500)
    panel.start()
    qtbot.waitUntil(lambda: panel.state == "running" and panel.session is not None, timeout=30000)
    session = panel.session
    panel.pause()
    panel.shutdown(timeout=30)
    assert session.state == "stopped"
    assert (Path(session.run_dir) / "last.pt").exists()
    assert sys.getswitchinterval() > 0.001


def test_pause_and_resume(qtbot, tmp_path):
    _, panel = make_panel(qtbot, tmp_path, example="digits_mlp.json", epochs=3)
    panel.start()
    qtbot.waitUntil(lambda: panel.state == "running" and panel.session is not None, timeout=30000)
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    assert panel.state == "paused" and panel.pause_button.text() == "Resume"
    qtbot.waitUntil(lambda: panel.session.state == "paused", timeout=5000)
    qtbot.wait(1000)  # the batch in flight ends and its event arrives
    n = panel.bridge.batch_events
    qtbot.wait(400)
    assert panel.bridge.batch_events == n  # nothing trains while paused
    with qtbot.waitSignal(panel.runFinished, timeout=60000) as done:
        qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    assert not done.args[0].stopped
    assert panel.loss_plot.count("train") == 3


def test_a_failing_run_shows_its_reason_in_the_panel(qtbot, tmp_path):
    doc, panel = make_panel(qtbot, tmp_path, epochs=3)
    doc.set_params("adam", lr=1e30)  # the loss turns to inf/NaN at once
    doc.wait_checked()
    panel.show_failure_popup = True
    with qtbot.waitSignal(panel.runFailed, timeout=60000) as failed:
        panel.start()
    reason = failed.args[0]
    assert "nan" in reason.lower() or "inf" in reason.lower()
    assert panel.state == "failed"
    assert panel.banner.isVisible() and reason.split()[0] in panel.banner.text()
    assert "FAILED" in panel.log_view.toPlainText()
    boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox)]
    assert any(b.isVisible() and not b.isModal() and reason in b.text() for b in boxes)
    for b in boxes:
        b.close()
    assert panel.start_button.isEnabled()  # the user can fix it and try again
    doc.set_params("adam", lr=0.01)
    doc.wait_checked()
    with qtbot.waitSignal(panel.runFinished, timeout=60000) as done:
        panel.start()
    assert not done.args[0].stopped and not panel.banner.isVisible()


def test_a_session_that_cannot_start_fails_cleanly(qtbot, tmp_path):
    _, panel = make_panel(qtbot, tmp_path)

    def broken(graph, **kw):
        raise FileNotFoundError("iris.csv: no such file")

    panel.session_factory = broken
    with qtbot.waitSignal(panel.runFailed, timeout=10000) as failed:
        panel.start()
    assert failed.args[0] == "iris.csv: no such file"
    assert panel.state == "failed" and panel.banner.isVisible()


def test_start_is_disabled_with_the_reason_when_the_graph_cannot_train(qtbot, tmp_path):
    doc = Document(load_project(EXAMPLES / "lenet.json"))  # a model without data or loss
    panel = TrainingPanel(doc)
    qtbot.addWidget(panel)
    doc.wait_checked()
    qtbot.waitUntil(lambda: panel._env_loaded, timeout=30000)
    assert not panel.start_button.isEnabled()
    tip = panel.start_button.toolTip()
    assert "Cannot train" in tip and "dataset" in tip


def test_settings_form_edits_the_project_undoably(qtbot, tmp_path):
    doc, panel = make_panel(qtbot, tmp_path, epochs=2)
    ed = panel._editors["epochs"]
    ed.edit.setText("7")
    ed.edit.editingFinished.emit()
    assert doc.graph.settings["training"]["epochs"] == 7
    assert doc.modified
    doc.undo_stack.undo()
    assert doc.graph.settings["training"]["epochs"] == 2
    assert ed.value() == 2  # the form follows undo
    # device choices: only what this machine has is enabled
    import torch

    model = panel.device_combo.model()
    cuda = model.item(panel.device_combo.findText("cuda"))
    assert cuda.isEnabled() == torch.cuda.is_available()
    assert model.item(panel.device_combo.findText("cpu")).isEnabled()
    panel.device_combo.setCurrentText("cpu")
    assert doc.graph.settings["training"]["device"] == "cpu"


def test_runs_go_beside_a_saved_project_not_beside_the_examples(tmp_path):
    class Doc:
        path = tmp_path / "proj.json"

    assert default_runs_root(Doc()) == tmp_path / "runs"
    Doc.path = EXAMPLES / "iris.json"
    assert EXAMPLES not in default_runs_root(Doc()).parents
