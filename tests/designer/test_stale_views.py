"""No view shows what belongs to something else: another project's log, an empty plot's
old axes, the name a project had before it was saved, a dock pulled out of its tab group by
a stray double-click, or a search's best match listed below a weaker one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QDockWidget

from designer.app import MainWindow
from designer.document import Document
from designer.panels.training import TrainingPanel
from designer.widgets.plots import SeriesPlot
from engine import load_project
from tests.support.paths import EXAMPLES


def test_another_project_starts_with_an_empty_log(qtbot: Any) -> None:
    doc = Document(load_project(EXAMPLES / "iris.json"))
    panel = TrainingPanel(doc)
    qtbot.addWidget(panel)
    panel.log("starting: iris, device cpu")
    doc.open(EXAMPLES / "moons.json")
    assert panel.log_view.toPlainText() == ""


def test_an_emptied_plot_forgets_its_axis_ranges(qtbot: Any) -> None:
    plot = SeriesPlot("loss")
    qtbot.addWidget(plot)
    plot.add_series("train", "#fff")
    plot.extend("train", [1.0, 300.0], [500.0, 900.0])
    plot.redraw()
    plot.clear_data()
    (_x0, x1), (_y0, y1) = plot.getPlotItem().getViewBox().viewRange()
    assert x1 < 10 and y1 < 10  # not the last run's 300 epochs and losses near 900


def test_properties_show_the_name_a_first_save_gives(window: MainWindow, tmp_path: Path) -> None:
    window.ask_save_path = lambda: str(tmp_path / "flowers.json")
    window.canvas.select([])
    window.properties.show_nodes([])
    assert window.save()
    name_edit = window.properties.findChild(type(window.palette.search), "project_name")
    assert name_edit.text() == "flowers"


def test_a_double_clicked_dock_title_keeps_the_dock_in_its_tabs(
    window: MainWindow, qtbot: Any
) -> None:
    dock: QDockWidget = window.dock_code
    assert window.tabifiedDockWidgets(dock)
    at = QPointF(20, 8)  # on the title bar
    for kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick):
        ev = QMouseEvent(
            kind,
            at,
            QPointF(dock.mapToGlobal(QPoint(20, 8))),
            Qt.MouseButton.LeftButton,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(dock, ev)
    assert not dock.isFloating()
    assert window.tabifiedDockWidgets(dock)


def test_the_palette_lists_the_best_match_first(window: MainWindow) -> None:
    window.palette.search.setText("Linear")
    shown = window.palette.visible_types()
    assert shown.index("Linear") < shown.index("Regression")
    assert shown[0] == "Linear"
