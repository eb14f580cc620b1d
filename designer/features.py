"""The canvas features MainWindow installs with two hook lines: the minimap, frames and
collapsed nodes, node help (F1), the Runs dock, and the start-up probe.

``TORCHWIRE_STARTUP_PROBE=1`` prints ``TORCHWIRE_FIRST_CHECK <unix time>`` to stdout once
the first check result has been drawn on the canvas (shapes and problems); ``=exit`` also
quits then. ``bench/ui.py`` times launch → that line.
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


def _install_probe(window: Any) -> None:
    mode = os.environ.get(PROBE_ENV, "")
    if not mode:
        return
    doc = window.document

    def first(rep: Any) -> None:
        if window._initial_path is not None and not len(doc.graph):
            return  # the empty document's check, before FILE is opened
        doc.reportReady.disconnect(first)

        def drawn() -> None:  # after the canvas has applied it, on the next turn
            window.canvas.viewer.viewport().repaint()
            print(f"TORCHWIRE_FIRST_CHECK {time.time():.6f}", flush=True)
            if mode == "exit":
                QApplication.instance().quit()  # type: ignore[union-attr]

        QTimer.singleShot(0, drawn)

    doc.reportReady.connect(first)
    print(f"TORCHWIRE_EDITOR_LOADED {time.time():.6f}", file=sys.stdout, flush=True)


__all__ = ["PROBE_ENV", "install", "install_run_docks"]
