"""The Predict panel on a really trained model: typed rows, files, errors, the last run's model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from designer.document import Document
from designer.panels.predict import SOURCE_FILE, PredictPanel, parse_row
from designer.panels.training import TrainingPanel
from engine import load_project
from tests.support.paths import EXAMPLES


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    """Iris trained once for this module (a few seconds), through the engine's own API."""
    from engine.train import train

    out = tmp_path_factory.mktemp("iris-run")
    graph = load_project(EXAMPLES / "iris.json")
    result = train(graph, out_dir=out, epochs=15)
    return graph, Path(result.best_checkpoint or result.last_checkpoint)


def make_panel(qtbot, graph, training_panel=None) -> PredictPanel:
    doc = Document(graph)
    panel = PredictPanel(doc, training_panel)
    qtbot.addWidget(panel)
    panel.resize(1000, 380)
    panel.show()
    return panel


def use_file(panel: PredictPanel, checkpoint: Path) -> None:
    panel.source_combo.setCurrentText(SOURCE_FILE)
    panel.checkpoint_edit.setText(str(checkpoint))


def test_a_typed_row_gives_a_class_and_probabilities(qtbot, iris_run):
    graph, ckpt = iris_run
    panel = make_panel(qtbot, graph.copy())
    assert not panel.predict_button.isEnabled()  # no model yet
    use_file(panel, ckpt)
    panel.row_edit.setText("5.1, 3.5, 1.4, 0.2")  # a textbook setosa
    assert panel.predict_button.isEnabled()
    with qtbot.waitSignal(panel.predicted, timeout=30000) as done:
        qtbot.mouseClick(panel.predict_button, Qt.MouseButton.LeftButton)
    pred = done.args[0]
    assert pred.labels == ["setosa"]
    assert panel.answer_label.text().startswith("setosa")
    p = panel.bars.probabilities
    assert p is not None and p.shape == (3,) and p.sum() == pytest.approx(1.0, abs=1e-5)
    assert int(np.argmax(p)) == 0
    assert panel.last_error is None


def test_a_file_of_rows_fills_the_table(qtbot, iris_run, tmp_path):
    graph, ckpt = iris_run
    from sklearn.datasets import load_iris

    x, y = load_iris(return_X_y=True)
    path = tmp_path / "rows.npz"
    np.savez(path, x=x[::10].astype(np.float32))
    panel = make_panel(qtbot, graph.copy())
    use_file(panel, ckpt)
    panel.mode_file.setChecked(True)
    panel.file_edit.setText(str(path))
    with qtbot.waitSignal(panel.predicted, timeout=30000) as done:
        panel.run()
    pred = done.args[0]
    assert panel.table.rowCount() == len(x[::10]) == len(pred.labels)
    names = ["setosa", "versicolor", "virginica"]
    agree = np.mean([names[t] == lab for t, lab in zip(y[::10], pred.labels)])
    assert agree >= 0.8
    assert panel.table.item(0, 1).text() == pred.labels[0]
    panel.table.selectRow(5)  # selecting a row shows that sample's probabilities
    assert panel.bars.probabilities == pytest.approx(pred.probabilities[5])
    assert "15 samples" in panel.answer_label.text()


def test_bad_input_is_a_message_not_a_crash(qtbot, iris_run):
    graph, ckpt = iris_run
    panel = make_panel(qtbot, graph.copy())
    use_file(panel, ckpt)
    panel.row_edit.setText("5.1, 3.5")  # two values where four are needed
    with qtbot.waitSignal(panel.failed, timeout=30000) as failed:
        panel.run()
    assert failed.args[0]
    assert "Could not predict" in panel.status_label.text()
    assert panel.predict_button.isEnabled()
    panel.source_combo.setCurrentText(SOURCE_FILE)
    panel.checkpoint_edit.setText("/nonexistent/best.pt")
    panel.row_edit.setText("1, 2, 3, 4")
    panel.run()
    assert "no such checkpoint" in panel.last_error


def test_a_category_training_never_saw_is_a_warning_in_the_status(qtbot, trained_examples):
    from types import SimpleNamespace

    graph = load_project(EXAMPLES / "csv_tabular.json")
    run = trained_examples.run("csv_tabular")
    last = SimpleNamespace(best_checkpoint=run / "best.pt", last_graph=graph)
    panel = make_panel(qtbot, graph, last)  # the last run's model and project
    panel.row_edit.setText("30, 40.5, gold, north, 3")
    panel.run()
    qtbot.waitUntil(lambda: not panel.busy, timeout=30000)
    assert panel.last_error is None, panel.last_error
    assert panel.prediction.labels[0] in ("yes", "no")  # still predicted
    status = panel.status_label.text()
    assert "1 sample in" in status
    assert "Warning: column 'plan': category 'gold' not seen in training, in row 1" in status
    assert "#d08a1e" in panel.status_label.styleSheet()


def test_uses_the_model_of_the_training_panels_last_run(qtbot, tmp_path):
    graph = load_project(EXAMPLES / "iris.json")
    graph.settings.setdefault("training", {})["epochs"] = 2
    doc = Document(graph)
    tp = TrainingPanel(doc)
    tp.runs_root = tmp_path
    tp.show_failure_popup = False
    qtbot.addWidget(tp)
    panel = PredictPanel(doc, tp)
    qtbot.addWidget(panel)
    assert panel.checkpoint() is None
    qtbot.waitUntil(lambda: tp._env_loaded and tp.start_button.isEnabled(), timeout=30000)
    with qtbot.waitSignal(tp.runFinished, timeout=60000):
        tp.start()
    assert panel.checkpoint() == tp.best_checkpoint
    doc.set_params("linear", out_features=8)  # the document moves on; the run's graph is used
    panel.row_edit.setText("6.7, 3.0, 5.2, 2.3")
    with qtbot.waitSignal(panel.predicted, timeout=30000) as done:
        panel.run()
    assert done.args[0].labels[0] in ("setosa", "versicolor", "virginica")
    assert "Expected: 4 values" in panel.hint_label.text()


@pytest.mark.parametrize(
    "text, row",
    [
        ("5.1, 3.5, 1.4, 0.2", [5.1, 3.5, 1.4, 0.2]),
        ("1 2\t3", [1.0, 2.0, 3.0]),
        ('3.0; "red, dark"; 7', [3.0, "red, dark", 7.0]),
    ],
)
def test_parse_row(text, row):
    assert parse_row(text) == row


def test_parse_row_keeps_missing_values_and_refuses_nothing():
    r = parse_row("1, , 3")
    assert r[0] == 1.0 and np.isnan(r[1]) and r[2] == 3.0
    with pytest.raises(ValueError):
        parse_row("   ")
