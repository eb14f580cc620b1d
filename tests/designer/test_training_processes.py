"""The Training panel's "Processes" choice: offered with two CUDA devices or more, else shown
disabled with the reason; with 2 processes a run goes through torchrun and reports back."""

from __future__ import annotations

from pathlib import Path

import pytest

import designer.panels.training as training
from designer.document import Document
from designer.panels.training import TrainingPanel
from engine import load_project
from tests.support.paths import EXAMPLES


def _panel(qtbot, tmp_path: Path, monkeypatch, processes: tuple[int, str | None]):
    monkeypatch.setattr(training, "_detect_processes", lambda: processes)
    graph = load_project(EXAMPLES / "iris.json")
    graph.settings.setdefault("training", {})["epochs"] = 2
    panel = TrainingPanel(Document(graph))
    panel.runs_root = tmp_path / "runs"
    panel.show_failure_popup = False
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: panel._env_loaded and panel.start_button.isEnabled(), timeout=30000)
    return panel


def test_without_two_gpus_the_choice_is_disabled_with_the_reason(qtbot, tmp_path, monkeypatch):
    import torch

    detect = training._detect_processes
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    panel = _panel(qtbot, tmp_path, monkeypatch, detect())
    assert not panel.processes_spin.isEnabled()
    tip = panel.processes_spin.toolTip()
    assert "two or more CUDA devices" in tip and "no CUDA device" in tip
    assert "--nproc-per-node" in tip
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    assert detect() == (4, None)


@pytest.mark.slow
def test_two_processes_train_through_torchrun_and_report_back(qtbot, tmp_path, monkeypatch):
    panel = _panel(qtbot, tmp_path, monkeypatch, (2, None))
    assert panel.processes_spin.isEnabled()
    panel.processes_spin.setValue(2)
    panel.device_combo.setCurrentText("cpu")  # gloo stands in for NCCL here
    with qtbot.waitSignal(panel.runFinished, timeout=180000) as done:
        panel.start()
        qtbot.waitUntil(lambda: panel.is_running, timeout=5000)
        assert not panel.pause_button.isEnabled()  # several processes do not pause
    ev = done.args[0]
    assert not ev.stopped and len(ev.history) == 2
    assert panel.loss_plot.count("validation") == 2  # epoch events came back from rank 0
    assert panel.last_checkpoint is not None and panel.last_checkpoint.exists()
