"""Render the minimap, node help and Runs dock screenshots (docs/guide) from the real app.

Run from the repository root: ``python resources/screenshots/make_canvas_features.py``.
It trains three short iris runs in a temporary folder for the Runs dock.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["TORCHWIRE_DATA_DIR"] = tempfile.mkdtemp(prefix="torchwire-shot-")  # no user state

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))


def spin(app: QApplication, seconds: float, until=lambda: True) -> None:  # type: ignore[no-untyped-def]
    t = time.monotonic()
    while time.monotonic() - t < seconds or not until():
        app.processEvents()
        if time.monotonic() - t > 60:
            break


def main() -> None:
    app = QApplication([])
    from designer import frames, style

    style.apply_dark_palette(app)
    from designer.app import MainWindow
    from designer.files import examples
    from engine.graph.frames import Frame

    w = MainWindow()
    w.ask_save_changes = lambda: "discard"
    w.resize(1500, 920)
    w.show()
    w.open_example(next(p for p in examples() if p.stem == "digits_cnn"))
    spin(app, 2, until=lambda: w.document.report is not None)
    w.canvas.fit()
    spin(app, 1)
    g = w.document.graph
    data = [n for n, node in g.nodes.items() if node.spec.kind == "data"]
    model = [n for n, node in g.nodes.items() if node.spec.kind in ("model", "io")]
    for ids, title, color in ((data, "Data", "#5a7d3a"), (model, "Model", "#3b5f8a")):
        f = frames.frame_around(w.canvas, ids, title)
        frames.add_frame(w.document, Frame(title, color, f.rect))
    conv = next(n for n, node in g.nodes.items() if node.type == "Conv2d")
    w.canvas.select([conv], center=True)
    w.canvas.zoom(None)  # 1:1, closer than fit: the minimap shows where the view is
    w.minimap.center_on(w.canvas._views[conv].view.sceneBoundingRect().center())
    spin(app, 1)
    w.grab().save(str(HERE / "designer_minimap.png"))

    w.canvas.zoom(1 / 1.3)
    w.show_node_help("Conv2d")
    spin(app, 1)
    w.grab().save(str(HERE / "designer_node_help.png"))

    tmp = Path(tempfile.mkdtemp(prefix="torchwire-runs-"))
    project = tmp / "iris.json"
    shutil.copy(next(p for p in examples() if p.stem == "iris"), project)
    from engine.project import load_project
    from engine.train.session import train

    ig = load_project(project)
    opt = next(n for n in ig.nodes.values() if n.spec.kind == "optimizer")
    for i, lr in enumerate((0.003, 0.01, 0.03), 1):
        ig.set(opt.id, lr=lr)
        train(ig, out_dir=str(tmp / "runs" / f"iris-run{i}"), epochs=30)
    w.open_path(project)
    w.dock_properties.raise_()
    spin(app, 3, until=lambda: len(w.runs_panel.runs) == 3)
    w.dock_runs.show()
    w.dock_runs.raise_()
    w.resizeDocks([w.dock_runs], [330], Qt.Orientation.Vertical)
    w.canvas.fit()
    w.runs_panel.table.selectAll()
    spin(app, 1.5)
    w.grab().save(str(HERE / "designer_runs.png"))
    w.close()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
