"""Colours and the application palette: one place, so canvas, palette and panels agree."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle

# Node colour by catalog category (RGB). Unknown categories get NEUTRAL.
CATEGORY_COLORS: dict[str, tuple[int, int, int]] = {
    "Datasets": (46, 125, 90),
    "Preprocessing": (60, 110, 70),
    "Input/Output": (70, 78, 92),
    "Layers": (44, 92, 150),
    "Activations": (150, 96, 32),
    "Shape": (96, 80, 130),
    "Merges": (120, 60, 110),
    "Losses": (160, 60, 60),
    "Optimizers": (130, 110, 40),
    "Blocks": (36, 118, 128),  # block types (engine.graph.blocks)
}
NEUTRAL = (80, 80, 80)

# Port colour by what flows through it (engine Port.kind).
PORT_COLORS: dict[str, tuple[int, int, int]] = {
    "tensor": (150, 180, 220),
    "data": (110, 200, 140),
    "target": (230, 170, 80),
    "loss": (230, 100, 100),
    "model": (190, 140, 230),
    "any": (200, 200, 200),
}

ERROR = (224, 82, 74)
WARNING = (230, 180, 60)
OK_TEXT = (170, 178, 190)
WIRE_LABEL = (205, 215, 230)
BACKGROUND = (30, 32, 36)
GRID = (40, 43, 48)


def category_color(category: str) -> tuple[int, int, int]:
    return CATEGORY_COLORS.get(category, NEUTRAL)


def qcolor(rgb: tuple[int, ...], alpha: int = 255) -> QColor:
    return QColor(rgb[0], rgb[1], rgb[2], alpha)


CHECK_OUTLINE = (150, 156, 166)  # a check box's frame on the dark palette


class _DarkStyle(QProxyStyle):
    """Fusion, with check boxes framed in a light colour: Fusion draws their frame a shade
    darker than the window, which on this dark palette vanishes into the field behind it
    (the Make Block dialog's expose boxes, every list with check boxes)."""

    def drawPrimitive(
        self, element: Any, option: Any, painter: QPainter, widget: Any = None
    ) -> None:
        super().drawPrimitive(element, option, painter, widget)
        if element in (
            QStyle.PrimitiveElement.PE_IndicatorCheckBox,
            QStyle.PrimitiveElement.PE_IndicatorItemViewItemCheck,
        ):
            painter.save()
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            painter.setPen(qcolor(CHECK_OUTLINE))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(option.rect.adjusted(0, 0, -1, -1))
            painter.restore()


def apply_dark_palette(app: QApplication) -> None:
    """A dark Fusion palette matching the canvas, so docks and canvas read as one window."""
    style = _DarkStyle("Fusion")
    style.setParent(app)  # lives as long as the application, whoever holds the wrapper
    app.setStyle(style)
    p = QPalette()
    base, window, text = QColor(37, 39, 44), QColor(45, 48, 54), QColor(222, 226, 232)
    p.setColor(QPalette.ColorRole.Window, window)
    p.setColor(QPalette.ColorRole.WindowText, text)
    p.setColor(QPalette.ColorRole.Base, base)
    p.setColor(QPalette.ColorRole.AlternateBase, QColor(42, 44, 50))
    p.setColor(QPalette.ColorRole.ToolTipBase, QColor(52, 55, 62))
    p.setColor(QPalette.ColorRole.ToolTipText, text)
    p.setColor(QPalette.ColorRole.Text, text)
    p.setColor(QPalette.ColorRole.Button, window)
    p.setColor(QPalette.ColorRole.ButtonText, text)
    p.setColor(QPalette.ColorRole.BrightText, QColor(255, 90, 90))
    p.setColor(QPalette.ColorRole.Link, QColor(110, 160, 240))
    p.setColor(QPalette.ColorRole.Highlight, QColor(58, 110, 190))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor(130, 136, 146))
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.ButtonText,
    ):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 124, 130))
    app.setPalette(p)
    app.setStyleSheet(
        "QToolTip { color: #dee2e8; background: #34373e; border: 1px solid #555; }"
        "QDockWidget::title { padding: 4px; background: #2b2d32; }"
        "QStatusBar QLabel { padding: 0 6px; }"
    )


def format_count(n: int) -> str:
    """61706 → '61.7k' (node labels, status bar)."""
    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1000:.1f}k".replace(".0k", "k")
    if n < 1_000_000_000:
        return f"{n / 1e6:.2f}M"
    return f"{n / 1e9:.2f}G"


def format_shape(shape: tuple[int, ...] | list[int] | None) -> str:
    """(6, 28, 28) → '6×28×28'; a scalar per sample → 'scalar'."""
    if shape is None:
        return "?"
    if len(shape) == 0:
        return "scalar"
    return "×".join(str(v) for v in shape)
