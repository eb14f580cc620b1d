"""Deployment from the designer: File ▸ Export ▸ Server bundle… and Run ▸ Serve.

Both work on the last training run (its graph and best checkpoint). The export (raw
features in, preprocessing baked, parity-checked) and the bundle are written on a worker
thread; the local server runs on one too (uvicorn on 127.0.0.1, started and stopped from
the dialog), and everything reaches the GUI through ``designer.bridge.run_task``. Nothing
here knows how serving works: that is ``engine.serve``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from designer.bridge import EXPORTER, run_task
from designer.i18n import fmt, translate

# what the bundle and serve jobs import (on the GUI thread first: see bridge.preload)
_SERVE_IMPORTS = (*EXPORTER, "fastapi", "uvicorn", "engine.serve")

NO_RUN = QT_TRANSLATE_NOOP(
    "ServeDialog",
    "Train the model first (Run ▸ Train): a server serves the last run's best checkpoint.",
)


def _mono() -> QFont:
    f = QFont("monospace")
    f.setStyleHint(QFont.StyleHint.Monospace)
    return f


def _safe(name: str) -> str:
    from engine.serve.model import model_name

    return model_name(name or "model")


# -- jobs (worker thread) -----------------------------------------------------------------
def _bundle_job(graph: Any, checkpoint: str, out: str, name: str, triton: bool,
                progress: Any = None) -> Any:  # fmt: skip
    from engine.serve.bundle import write_bundle
    from engine.serve.prepare import export_for_serving

    tmp = tempfile.mkdtemp(prefix="torchwire-bundle-")
    try:
        path = export_for_serving(graph, checkpoint, Path(tmp) / "model.onnx", progress=progress)
        if progress is not None:
            progress("writing the bundle")
        return write_bundle(path, out, name=name, triton=triton)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _prepare_job(graph: Any, checkpoint: str, folder: str, name: str, port: int,
                 progress: Any = None) -> Any:  # fmt: skip
    """Export, load the model, bind the port: a server ready to ``run`` (on another task),
    its socket, its ``Endpoints`` and the curl line for ``/predict``."""
    from engine.serve.app import create_app
    from engine.serve.bundle import curl_predict
    from engine.serve.model import ServedModel
    from engine.serve.prepare import export_for_serving
    from engine.serve.server import Endpoints, bind, build_server

    path = export_for_serving(graph, checkpoint, Path(folder) / "model.onnx", progress=progress)
    model = ServedModel(path, name)
    sock = bind("127.0.0.1", port)
    at = Endpoints(f"http://127.0.0.1:{sock.getsockname()[1]}", model.name)
    server = build_server(create_app(model), log_level="warning")
    return server, sock, at, curl_predict(model, at.url)


def _run_job(server: Any, sock: Any) -> None:
    try:
        server.run(sockets=[sock])  # until ``server.should_exit``; no signals off the main thread
    finally:
        sock.close()


class _RunDialog(QDialog):
    """Shared: the run the dialog works on, a status line, a log."""

    def __init__(self, parent: QWidget | None, graph: Any, checkpoint: str | Path | None):
        super().__init__(parent)
        self.graph = graph
        self.checkpoint = str(checkpoint) if checkpoint else None
        self.error: str | None = None
        self.running = False
        self.setMinimumWidth(620)
        self.root = QVBoxLayout(self)
        self.form = QFormLayout()
        self.root.addLayout(self.form)
        run = QLabel(self.checkpoint or "—")
        run.setObjectName("serveRun")
        run.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.form.addRow(translate("_RunDialog", "Model"), run)

    def _add_status(self) -> None:
        self.status_label = QLabel(translate("ServeDialog", NO_RUN) if not self.has_run else "")
        self.status_label.setObjectName("serveStatus")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.root.addWidget(self.status_label)
        self.log_view = QPlainTextEdit()
        self.log_view.setObjectName("serveLog")
        self.log_view.setReadOnly(True)
        self.log_view.setFont(_mono())
        self.log_view.setMinimumHeight(110)
        self.root.addWidget(self.log_view, 1)

    @property
    def has_run(self) -> bool:
        return self.graph is not None and self.checkpoint is not None

    def _say(self, text: str) -> None:
        self.log_view.appendPlainText(text)

    def _fail(self, message: str, _details: str = "") -> None:
        self.error = message
        self.running = False
        self.status_label.setText(fmt(translate("_RunDialog", "error: %1"), str(message)))
        self._say(f"error: {message}")
        self._update()

    def _update(self) -> None:
        """Subclasses enable their buttons."""


class BundleDialog(_RunDialog):
    """File ▸ Export ▸ Server bundle…: the model, a server, a Dockerfile (and Triton/KServe)."""

    bundled = Signal(object)  # engine.serve.bundle.Bundle

    def __init__(self, parent: QWidget | None, graph: Any, checkpoint: str | Path | None,
                 default_dir: str | Path | None = None) -> None:  # fmt: skip
        super().__init__(parent, graph, checkpoint)
        self.setWindowTitle(translate("BundleDialog", "Export a server bundle"))
        self.result: Any = None
        name = _safe(getattr(graph, "name", "") or "model")
        row = QHBoxLayout()
        self.out_edit = QLineEdit(str(Path(default_dir or Path.home()) / f"{name}-server"))
        self.out_edit.setObjectName("bundleOut")
        browse = QToolButton()
        browse.setText("…")
        browse.setToolTip(translate("BundleDialog", "Choose the new folder"))
        browse.clicked.connect(self._browse)
        row.addWidget(self.out_edit, 1)
        row.addWidget(browse)
        self.form.addRow(translate("BundleDialog", "New folder"), row)
        self.name_edit = QLineEdit(name)
        self.name_edit.setObjectName("bundleName")
        self.name_edit.setToolTip(
            translate("BundleDialog", "The model's name in the URLs (letters, digits, _ - .)")
        )
        self.form.addRow(translate("BundleDialog", "Model name"), self.name_edit)
        self.triton_check = QCheckBox(
            translate(
                "BundleDialog",
                "Also an NVIDIA Triton model repository and a KServe InferenceService",
            )
        )
        self.triton_check.setObjectName("bundleTriton")
        self.triton_check.setChecked(True)
        self.form.addRow("", self.triton_check)
        note = QLabel(
            translate(
                "BundleDialog",
                "The bundle holds model.onnx (preprocessing inside), a small server "
                "(onnxruntime, FastAPI, uvicorn; no torch), requirements.txt, a "
                "Dockerfile and a README with the docker and curl lines.",
            )
        )
        note.setWordWrap(True)
        note.setStyleSheet("color: #80868f;")
        self.root.addWidget(note)
        self._add_status()
        buttons = QDialogButtonBox()
        self.bundle_button = QPushButton(translate("BundleDialog", "Write bundle"))
        self.bundle_button.setObjectName("bundleRun")
        self.bundle_button.setDefault(True)
        self.bundle_button.clicked.connect(self.write)
        buttons.addButton(self.bundle_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close).clicked.connect(self.reject)
        self.root.addWidget(buttons)
        self._update()

    def _update(self) -> None:
        self.bundle_button.setEnabled(self.has_run and not self.running)

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self, translate("BundleDialog", "Bundle into"), self.out_edit.text()
        )
        if path:
            self.out_edit.setText(str(Path(path) / f"{_safe(self.name_edit.text())}-server"))

    def write(self) -> None:
        if self.running or not self.has_run:
            return
        out = Path(self.out_edit.text().strip()).expanduser()
        if not self.out_edit.text().strip():
            self._fail("choose a new folder for the bundle")
            return
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            self._fail(f"{out} exists and is not an empty folder; choose a new one")
            return
        self.error, self.result, self.running = None, None, True
        self.status_label.setText(
            translate("BundleDialog", "exporting (parity check) and writing the bundle…")
        )
        self._update()
        run_task(_bundle_job, self.graph, self.checkpoint, str(out),
                 _safe(self.name_edit.text()), self.triton_check.isChecked(),
                 on_done=self._done, on_error=self._fail, on_progress=self._say,
                 imports=_SERVE_IMPORTS)  # fmt: skip

    def _done(self, bundle: Any) -> None:
        from engine.serve.bundle import image_tag

        self.running = False
        self.result = bundle
        self.status_label.setText(fmt(translate("BundleDialog", "wrote %1"), str(bundle.path)))
        self._say(str(bundle))
        self._say(f"docker build -t {image_tag(bundle.name)} {bundle.path}")
        self._update()
        self.bundled.emit(bundle)


class ServeDialog(_RunDialog):
    """Run ▸ Serve: a local server for the last run, its URL and a copyable curl line.

    The server runs while this dialog is open (closing it stops the server)."""

    started = Signal(str)  # the URL
    stopped = Signal()

    def __init__(self, parent: QWidget | None, graph: Any, checkpoint: str | Path | None,
                 port: int = 8000) -> None:  # fmt: skip
        super().__init__(parent, graph, checkpoint)
        self.setWindowTitle(translate("ServeDialog", "Serve the model"))
        self.server: Any = None
        self.url: str | None = None
        self.folder = tempfile.mkdtemp(prefix="torchwire-serve-")
        self.port_spin = QSpinBox()
        self.port_spin.setObjectName("servePort")
        self.port_spin.setRange(0, 65535)
        self.port_spin.setValue(port)
        self.port_spin.setSpecialValueText(translate("ServeDialog", "any free port"))
        self.port_spin.setToolTip(
            translate("ServeDialog", "The port on 127.0.0.1 (this computer only)")
        )
        self.form.addRow(translate("ServeDialog", "Port"), self.port_spin)
        self.url_edit = QLineEdit()
        self.url_edit.setObjectName("serveUrl")
        self.url_edit.setReadOnly(True)
        self.url_edit.setPlaceholderText(translate("ServeDialog", "not serving"))
        self.form.addRow(translate("ServeDialog", "URL"), self.url_edit)
        self.model_label = QLabel()
        self.model_label.setObjectName("serveModel")
        self.model_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.form.addRow(translate("ServeDialog", "Model name"), self.model_label)
        self.v2_edit = QLineEdit()
        self.v2_edit.setObjectName("serveV2")
        self.v2_edit.setReadOnly(True)
        self.v2_edit.setFont(_mono())
        self.v2_edit.setPlaceholderText(translate("ServeDialog", "not serving"))
        self.v2_edit.setToolTip(translate("ServeDialog", "Inference over the Open Inference "
                                          "Protocol (KServe v2, Triton): the tensor layout "
                                          "is on the API page (/docs)"))  # fmt: skip
        self.form.addRow(translate("ServeDialog", "Open Inference Protocol"), self.v2_edit)
        crow = QHBoxLayout()
        self.curl_edit = QLineEdit()
        self.curl_edit.setObjectName("serveCurl")
        self.curl_edit.setReadOnly(True)
        self.curl_edit.setFont(_mono())
        self.curl_edit.setCursorPosition(0)
        self.copy_button = QPushButton(translate("ServeDialog", "Copy"))
        self.copy_button.setObjectName("serveCopy")
        self.copy_button.setToolTip(translate("ServeDialog", "Copy the curl line to the clipboard"))
        self.copy_button.clicked.connect(self.copy_curl)
        crow.addWidget(self.curl_edit, 1)
        crow.addWidget(self.copy_button)
        self.form.addRow(translate("ServeDialog", "Try it"), crow)
        note = QLabel(
            translate(
                "ServeDialog",
                "The server listens on 127.0.0.1 (this computer only) and runs while "
                "this window is open. For other machines: File ▸ Export ▸ Server "
                "bundle…, or torchwire serve --host.",
            )
        )
        note.setWordWrap(True)
        note.setStyleSheet("color: #80868f;")
        self.root.addWidget(note)
        self._add_status()
        buttons = QDialogButtonBox()
        self.start_button = QPushButton(translate("ServeDialog", "Start"))
        self.start_button.setObjectName("serveStart")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.toggle)
        buttons.addButton(self.start_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close).clicked.connect(self.reject)
        self.root.addWidget(buttons)
        self._update()

    @property
    def serving(self) -> bool:
        return self.url is not None

    def _update(self) -> None:
        self.start_button.setText(
            translate("ServeDialog", "Stop") if self.serving else translate("ServeDialog", "Start")
        )
        self.start_button.setEnabled(self.has_run and not self.running)
        self.port_spin.setEnabled(not self.serving and not self.running)
        self.copy_button.setEnabled(bool(self.curl_edit.text()))

    def toggle(self) -> None:
        if self.serving:
            self.stop()
        else:
            self.start()

    def start(self) -> None:
        if self.running or self.serving or not self.has_run:
            return
        self.error, self.running = None, True
        self.status_label.setText(
            translate("ServeDialog", "exporting the model (parity check) and starting the server…")
        )
        self._update()
        name = _safe(getattr(self.graph, "name", "") or "model")
        run_task(_prepare_job, self.graph, self.checkpoint, self.folder, name,
                 self.port_spin.value(), on_done=self._ready, on_error=self._fail,
                 on_progress=self._say, imports=_SERVE_IMPORTS)  # fmt: skip

    def _ready(self, prepared: Any) -> None:
        server, sock, at, curl = prepared
        url = at.url
        self.server, self.url, self.running = server, url, False
        run_task(_run_job, server, sock, on_done=self._ended, on_error=self._fail)
        self.url_edit.setText(url)
        self.model_label.setText(at.name)
        self.v2_edit.setText(f"POST {at.infer}")
        self.v2_edit.setCursorPosition(0)
        self.curl_edit.setText(curl)
        self.curl_edit.setCursorPosition(0)
        self.status_label.setText(
            fmt(translate("ServeDialog", "serving at %1 — API page %2/docs"), str(url), str(url))
        )
        self._say(f"serving at {url}")
        self._update()
        self.started.emit(url)

    def stop(self) -> None:
        """Ask the server to finish the requests in flight and stop."""
        if self.server is not None:
            self.server.should_exit = True
            self.running = True
            self.status_label.setText(translate("ServeDialog", "stopping…"))
            self._update()

    def _ended(self, _result: Any = None) -> None:
        self.server, self.url, self.running = None, None, False
        self.url_edit.clear()
        self.model_label.clear()
        self.v2_edit.clear()
        self.status_label.setText(translate("ServeDialog", "stopped"))
        self._say("stopped")
        self._update()
        self.stopped.emit()

    def _fail(self, message: str, details: str = "") -> None:
        self.server, self.url = None, None
        super()._fail(message, details)

    def copy_curl(self) -> None:
        QGuiApplication.clipboard().setText(self.curl_edit.text())
        self._say("copied the curl line")

    def done(self, result: int) -> None:  # closing the dialog stops the server
        self.stop()
        super().done(result)


def _run_of(window: Any) -> tuple[Any, Any]:
    tp = getattr(window, "training_panel", None)
    if tp is None:
        return None, None
    return getattr(tp, "last_graph", None), getattr(tp, "last_checkpoint", None)


def bundle_dialog(window: Any) -> BundleDialog:
    graph, ckpt = _run_of(window)
    doc_path = getattr(getattr(window, "document", None), "path", None)
    dlg = BundleDialog(window, graph, ckpt, Path(doc_path).parent if doc_path else None)
    dlg.show()
    return dlg


def serve_dialog(window: Any) -> ServeDialog:
    """One Serve dialog per window: shown again if it is open (its server keeps running)."""
    dlg = getattr(window, "_serve_dialog", None)
    if dlg is not None and dlg.isVisible():
        dlg.raise_()
        return dlg
    graph, ckpt = _run_of(window)
    dlg = ServeDialog(window, graph, ckpt)
    window._serve_dialog = dlg
    dlg.show()
    return dlg
