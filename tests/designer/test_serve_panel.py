"""File ▸ Export ▸ Server bundle… and Run ▸ Serve on a real run: the bundle written, a live
server on a free loopback port answering the dialog's curl line, stopped from the dialog."""

from __future__ import annotations

import json
import shlex
import socket
import urllib.request
from pathlib import Path

import pytest
from PySide6.QtGui import QGuiApplication

from designer.panels.serve import NO_RUN, BundleDialog, ServeDialog
from engine import load_project
from tests.support.paths import EXAMPLES


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    from engine.train import train

    out = tmp_path_factory.mktemp("iris-run")
    graph = load_project(EXAMPLES / "iris.json")
    result = train(graph, out_dir=out, epochs=2)
    return graph, Path(result.best_checkpoint or result.last_checkpoint)


def test_without_a_run_the_dialogs_say_train_first(qtbot):
    for cls in (BundleDialog, ServeDialog):
        dlg = cls(None, None, None)
        qtbot.addWidget(dlg)
        dlg.show()
        assert dlg.status_label.text() == NO_RUN
        button = dlg.bundle_button if cls is BundleDialog else dlg.start_button
        assert not button.isEnabled()


def test_bundle_dialog_writes_the_bundle(qtbot, iris_run, tmp_path):
    graph, ckpt = iris_run
    dlg = BundleDialog(None, graph, ckpt, tmp_path)
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.out_edit.text() == str(tmp_path / "iris-server")
    with qtbot.waitSignal(dlg.bundled, timeout=120000) as done:
        dlg.write()
        assert dlg.running and not dlg.bundle_button.isEnabled()
    b = done.args[0]
    assert b.path == tmp_path / "iris-server" and dlg.error is None
    for f in ("Dockerfile", "model.onnx", "requirements.txt", "model_repository/iris/config.pbtxt"):
        assert (b.path / f).is_file(), f
    assert "wrote" in dlg.status_label.text() and dlg.bundle_button.isEnabled()
    dlg.grab().save(str(tmp_path / "bundle.png"))
    # again into the same folder: refused in the dialog, nothing touched
    dlg.write()
    assert "exists and is not an empty folder" in dlg.status_label.text()


def test_serve_dialog_starts_answers_the_curl_line_and_stops(qtbot, iris_run, tmp_path):
    graph, ckpt = iris_run
    dlg = ServeDialog(None, graph, ckpt, port=0)
    qtbot.addWidget(dlg)
    dlg.resize(760, 420)
    dlg.show()
    with qtbot.waitSignal(dlg.started, timeout=120000) as up:
        dlg.start()
    url = up.args[0]
    assert url.startswith("http://127.0.0.1:") and dlg.url_edit.text() == url
    assert dlg.model_label.text() == "iris"
    assert dlg.v2_edit.text() == f"POST {url}/v2/models/iris/infer"
    assert dlg.start_button.text() == "Stop" and not dlg.port_spin.isEnabled()
    with urllib.request.urlopen(url + "/v2/health/ready", timeout=10) as r:
        assert r.status == 200
    curl = dlg.curl_edit.text()
    assert curl.startswith(f"curl -s -X POST {url}/predict")
    dlg.copy_curl()
    assert QGuiApplication.clipboard().text() == curl
    # the curl line is a working shell command: run its request (without curl) and check
    args = shlex.split(curl)
    body = args[args.index("-d") + 1]
    req = urllib.request.Request(url + "/predict", data=body.encode(),
                                 headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(req, timeout=10) as r:
        out = json.loads(r.read())
    assert out["predictions"][0]["prediction"] in ("setosa", "versicolor", "virginica")
    dlg.grab().save(str(tmp_path / "serve.png"))
    with qtbot.waitSignal(dlg.stopped, timeout=30000):
        dlg.toggle()
    assert dlg.url_edit.text() == "" and dlg.start_button.text() == "Start"
    host, port = url.removeprefix("http://").split(":")
    with pytest.raises(OSError):
        socket.create_connection((host, int(port)), timeout=2).close()


def test_the_menus_have_the_actions(window):
    assert "export_bundle" in window.actions_by_name
    window._add_run_panels()
    assert "serve" in window.actions_by_name
    window.actions_by_name["serve"].trigger()
    dlg = window._serve_dialog
    assert dlg.isVisible() and dlg.status_label.text() == NO_RUN
    dlg.close()
