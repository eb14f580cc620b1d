"""The canvas features MainWindow installs with two hook lines: the minimap, frames and
collapsed nodes, node help (F1), the Runs dock, and the start-up probe.

``TORCHWIRE_STARTUP_PROBE=1`` prints ``TORCHWIRE_WINDOW_SHOWN``, ``TORCHWIRE_EDITOR_LOADED``,
``TORCHWIRE_FIRST_CHECK`` and ``TORCHWIRE_RUN_READY`` ``<unix time>`` to stdout as the window
(with its menus) is up, the editor is built, the first check result has been drawn on the
canvas, and the Run menu and Training dock are there; ``=exit`` quits after the last one.
``bench/ui.py`` and ``bench/cold_start.py`` time launch → those lines.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

PROBE_ENV = "TORCHWIRE_STARTUP_PROBE"


def install(window: Any) -> None:
    """Everything that needs only the canvas and the Properties dock."""
    from designer import frames, minimap
    from designer.i18n import translate
    from designer.panels import node_help

    minimap.install(window)
    node_help.install(window)
    layer = window.frame_layer = frames.FrameLayer(window.canvas)
    window._act(
        "add_frame",
        translate("MainWindow", "Add &Frame"),
        layer.add_around_selection,
        "Ctrl+G",
        canvas_only=True,
        tip=translate("MainWindow", "A titled, coloured frame around the selected nodes"),
    )
    window._act(
        "collapse",
        translate("MainWindow", "&Collapse/Expand Node"),
        layer.toggle_collapse_selection,
        "Ctrl+E",
        canvas_only=True,
    )
    for n in ("add_frame", "collapse"):
        window.view_menu.addAction(window.actions_by_name[n])
    _install_probe(window)


def install_run_docks(window: Any) -> None:
    """The Runs dock (after the Training dock exists, before the saved layout is restored)."""
    try:
        from designer.panels import runs
    except ModuleNotFoundError as e:  # no pyqtgraph: no run panels at all
        if not (e.name or "").startswith("designer"):
            raise
        return
    runs.install(window)


RUN_PANEL_MODULES = (
    "designer.panels.training",
    "designer.panels.predict",
    "designer.panels.export",
    "designer.panels.tuning",
    "designer.panels.runs",
)


def _import_run_panels() -> None:
    for name in RUN_PANEL_MODULES:
        try:
            __import__(name)
        except ModuleNotFoundError as e:
            if not (e.name or "").startswith("designer"):
                raise


def _first_real_report(window: Any, fn: Any) -> None:
    """Call ``fn()`` once, at the first check report of the file being opened."""
    doc = window.document

    def seen(rep: Any) -> None:
        if window._initial_path is not None and not len(doc.graph):
            return  # the empty document's check, before FILE is opened
        doc.reportReady.disconnect(seen)
        fn()

    doc.reportReady.connect(seen)


def after_first_check(window: Any, build: Any, timeout_ms: int = 15000) -> None:
    """Build the run panels once the first check is on the canvas: their modules
    (pyqtgraph, the training panel…) are imported on a worker meanwhile, so they neither
    delay the first check nor freeze the window."""
    from designer.bridge import run_task

    state = {"started": False}

    def go() -> None:
        if state["started"]:
            return
        state["started"] = True
        window._run_panels_task = run_task(
            _import_run_panels, on_done=lambda _r: build(), on_error=lambda *_a: build()
        )

    _first_real_report(window, lambda: QTimer.singleShot(0, go))
    QTimer.singleShot(timeout_ms, go)


def warm_start(path: Any = None) -> None:
    """On a worker, while the window and editor are built: import what the first check
    needs (torch) and run the first check of ``path`` once, filling the engine's caches
    (its data, every node's shape), so the document's own first check finds them. With
    the shapes on disk (``engine.analysis.shape_cache``) that check runs nothing on ``meta``, so
    ``torch._dynamo`` (which torch's meta kernels import on first use) is not loaded."""
    import threading

    def job() -> None:
        try:
            import torch  # torch._dynamo comes with the first meta run that needs it

            from engine.analysis.check import check

            if path is not None:
                from engine.project import load_project

                check(load_project(path))
            else:  # the shapes of the usual first nodes
                x = torch.empty(1, 1, 8, 8, device="meta")
                torch.nn.Conv2d(1, 2, 3, device="meta")(x)
                torch.nn.Linear(8, 2, device="meta")(x)
        except Exception:  # a bad file is reported by the real open; warming is best effort
            pass

    threading.Thread(target=job, name="torchwire-warm", daemon=True).start()


def probe(line: str) -> None:
    """Print ``line <unix time>`` when the start-up probe is on."""
    if os.environ.get(PROBE_ENV, ""):
        print(f"{line} {time.time():.6f}", file=sys.stdout, flush=True)


def probe_run_ready(window: Any) -> None:
    """The Run menu and the Training dock are there: the last start-up line."""
    probe("TORCHWIRE_RUN_READY")
    if os.environ.get(PROBE_ENV, "") == "exit" and getattr(window, "_probe_checked", False):
        QApplication.instance().quit()  # type: ignore[union-attr]


def _install_probe(window: Any) -> None:
    mode = os.environ.get(PROBE_ENV, "")
    if not mode:
        return

    def first() -> None:
        def drawn() -> None:  # after the canvas has applied it, on the next turn
            window.canvas.viewer.viewport().repaint()
            probe("TORCHWIRE_FIRST_CHECK")
            window._probe_checked = True
            if mode == "exit" and window.training_panel is not None:
                QApplication.instance().quit()  # type: ignore[union-attr]

        QTimer.singleShot(0, drawn)

    _first_real_report(window, first)
    probe("TORCHWIRE_EDITOR_LOADED")


__all__ = [
    "PROBE_ENV",
    "after_first_check",
    "install",
    "install_run_docks",
    "probe",
    "probe_run_ready",
    "warm_start",
]
