"""The window's docks: a double-click on a dock's title does nothing.

Qt floats a dock whose title is double-clicked, and re-docking it does not put it back in
the tab group it came from; a stray double-click (meant to raise a tab) must not rearrange
the window. Dragging the title still floats the dock, on purpose.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QDockWidget


class Dock(QDockWidget):
    """A QDockWidget that ignores double-clicks on its own title bar."""

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.MouseButtonDblClick:
            event.accept()
            return True
        return super().event(event)


__all__ = ["Dock"]
