"""Render a ResNet-style network drawn with blocks into blocks.png (docs/guide/blocks-and-custom-layers.md).

Run from the repository root: ``python resources/screenshots/make_blocks.py [OUT.png]``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["TORCHWIRE_DATA_DIR"] = tempfile.mkdtemp(prefix="torchwire-shot-")  # no user state
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtWidgets import QApplication


def spin(app: QApplication, seconds: float, until=lambda: True) -> None:  # type: ignore[no-untyped-def]
    t = time.monotonic()
    while time.monotonic() - t < seconds or not until():
        app.processEvents()
        if time.monotonic() - t > 60:
            break


def resnet_cifar():  # type: ignore[no-untyped-def]
    """A small ResNet for 32×32 images: stem, three stages of blocks, head."""
    from engine.graph import Graph
    from tests.engine.block_models import basic_block, chain

    g = Graph(name="resnet_cifar")
    for down in (False, True):
        g.add_block(*basic_block(down))
    x = g.add("Input", name="image", shape=[3, 32, 32])
    y = chain(
        g,
        x,
        ("Conv2d", "stem", dict(out_channels=32, kernel_size=3, padding=1, bias=False)),
        ("BatchNorm2d", "stem_bn", {}),
        ("ReLU", "stem_relu", {}),
        ("BasicBlock", "stage1", {"channels": 32}),
        ("DownBlock", "stage2_down", {"channels": 64}),
        ("BasicBlock", "stage2", {"channels": 64}),
        ("DownBlock", "stage3_down", {"channels": 128}),
        ("AdaptiveAvgPool2d", "pool", {"output_size": 1}),
        ("Flatten", "flatten", {}),
        ("Linear", "classifier", {"out_features": 10}),
    )
    del y
    row = [(i * 230.0, 0.0) for i in range(6)] + [(115.0 + i * 230.0, 230.0) for i in range(5)]
    for nid, pos in zip(list(g.nodes), row, strict=True):
        g.move(nid, pos)
    return g


def main(out: Path) -> None:
    app = QApplication([])
    from designer import style

    style.apply_dark_palette(app)
    from designer.app import MainWindow
    from engine.project import save_project

    path = Path(tempfile.mkdtemp()) / "resnet_cifar.json"
    save_project(resnet_cifar(), path)
    w = MainWindow()
    w.resize(w.sizeHint())
    w.show()
    w.open_path(path)
    spin(app, 1)
    w.canvas.fit()
    spin(app, 3, until=lambda: bool(w.status_ready.text()))  # the live check's report
    spin(app, 2)
    inst = w.document.graph.by_name("stage2_down").id
    w.canvas.select([inst])
    spin(app, 0.5)
    w.properties.show_nodes([inst])
    w.properties._report(w.document.report)
    top = w.palette._items["BasicBlock"].parent()
    w.palette.tree.scrollToItem(top, w.palette.tree.ScrollHint.PositionAtTop)
    spin(app, 0.5)
    w.grab().save(str(out))
    print(out)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("blocks.png"))
