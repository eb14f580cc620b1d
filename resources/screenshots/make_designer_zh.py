"""Render the Chinese designer offscreen into designer_zh.png (docs/guide/designer.md).

Needs a CJK font (e.g. ``apt-get install fonts-noto-cjk``); run from the repository root:
``python resources/screenshots/make_designer_zh.py [OUT.png]``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["TORCHWIRE_DATA_DIR"] = tempfile.mkdtemp(prefix="torchwire-shot-")  # no user state

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication


def spin(app: QApplication, seconds: float, until=lambda: True) -> None:  # type: ignore[no-untyped-def]
    t = time.monotonic()
    while time.monotonic() - t < seconds or not until():
        app.processEvents()
        if time.monotonic() - t > 60:
            break


def main(out: Path) -> None:
    app = QApplication([])
    app.setFont(QFont("Noto Sans CJK SC", 9))
    from designer import i18n, style

    style.apply_dark_palette(app)
    i18n.install(app, "zh_CN")
    from designer.app import MainWindow
    from designer.files import examples

    w = MainWindow()
    w.resize(1500, 920)
    w.show()
    w.open_path(next(p for p in examples() if p.stem == "iris"))
    linear = [nid for nid, n in w.document.graph.nodes.items() if n.type == "Linear"][:1]
    w.canvas.select(linear)
    w.dock_training.raise_()
    spin(app, 1)
    w.resizeDocks([w.dock_training], [330], Qt.Orientation.Vertical)
    spin(app, 0.5)
    w.canvas.fit()
    spin(app, 3, until=lambda: bool(w.status_ready.text()))  # the live check's report
    spin(app, 3)
    w.properties.show_nodes(linear)
    w.properties._report(w.document.report)
    spin(app, 0.5)
    w.grab().save(str(out))
    print(out)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("designer_zh.png")))
