"""Plots for training and prediction, on pyqtgraph (fast enough for live updates).

Curves keep their points in growable NumPy buffers and hand pyqtgraph views of them, so
appending one point costs O(1) amortised plus one redraw; long runs are drawn with
automatic peak downsampling, clipped to the visible range.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from designer.i18n import fmt, translate

# The training panel's series names, for pyside6-lupdate (shown translated in legends).
_SERIES_NAMES = (
    QT_TRANSLATE_NOOP("SeriesPlot", "train (batch)"),
    QT_TRANSLATE_NOOP("SeriesPlot", "train"),
    QT_TRANSLATE_NOOP("SeriesPlot", "validation"),
)

# Colour-blind-safe (Okabe-Ito) series colours: train, validation, and extras.
TRAIN = "#0072B2"
VAL = "#D55E00"
EXTRA = "#009E73"
FAINT = (127, 178, 216, 120)  # the raw per-batch loss: texture behind the epoch curves
FAINT_SOLID = "#7FB2D8"


def _palette_colors() -> tuple[QColor, QColor]:
    app = QApplication.instance()
    pal = app.palette() if isinstance(app, QApplication) else QPalette()
    return pal.color(QPalette.ColorRole.Base), pal.color(QPalette.ColorRole.Text)


class _Buffer:
    __slots__ = ("n", "x", "y")

    def __init__(self) -> None:
        self.x = np.empty(64)
        self.y = np.empty(64)
        self.n = 0

    def extend(self, xs: Sequence[float], ys: Sequence[float]) -> None:
        k = len(xs)
        need = self.n + k
        if need > len(self.x):
            cap = max(need, 2 * len(self.x))
            self.x = np.resize(self.x, cap)
            self.y = np.resize(self.y, cap)
        self.x[self.n : need] = xs
        self.y[self.n : need] = ys
        self.n = need


class _RedrawQueue:
    """Redraws one plot per event-loop turn, at most every ``gap_ms``.

    Qt paints every dirty widget of a window in one go; plots that all changed at once
    (an epoch's end) would make one long paint. Spreading them keeps each paint short.
    """

    def __init__(self, gap_ms: int = 40) -> None:
        self._queue: list[Any] = []
        self._gap_ms = gap_ms
        self._timer: QTimer | None = None

    def request(self, plot: Any) -> None:
        if plot not in self._queue:
            self._queue.append(plot)
        if self._timer is None:
            self._timer = QTimer()
            self._timer.setInterval(self._gap_ms)
            self._timer.timeout.connect(self._tick)
        if not self._timer.isActive():
            self._timer.start()
            self._tick()

    def queued(self, plot: Any) -> bool:
        return plot in self._queue

    def discard(self, plot: Any) -> None:
        if plot in self._queue:
            self._queue.remove(plot)

    def _tick(self) -> None:
        while self._queue:
            plot = self._queue.pop(0)
            try:
                plot.redraw()
            except RuntimeError:  # its C++ object is gone
                continue
            return
        if self._timer is not None:
            self._timer.stop()


_REDRAWS = _RedrawQueue()


class SeriesPlot(pg.PlotWidget):
    """A plot of named series that grow point by point (losses, metrics, learning rate).

    Cheap to feed at any rate: points go into buffers at once (``count``/``values`` see
    them), the curves are redrawn at most every ``redraw_ms``. Axes are what cost most to
    repaint (tick text), so the view range moves in steps: x is fixed once the run's
    length is known (``set_x_range``), and y only changes when the data leaves the view or
    fills less than half of it. A user who zooms or pans keeps their view.
    """

    def __init__(
        self,
        title: str,
        x_label: str = "epoch",
        y_label: str = "",
        parent: QWidget | None = None,
        *,
        legend_at: str = "top",
        redraw_ms: int = 150,
    ) -> None:
        base, text = _palette_colors()
        super().__init__(parent, background=base)
        item = self.getPlotItem()
        item.setTitle(title, color=text.name(), size="10pt")
        for side, label in (("bottom", x_label), ("left", y_label)):
            ax = item.getAxis(side)
            ax.setTextPen(text)
            ax.enableAutoSIPrefix(False)
            if label:
                item.setLabel(side, label, color=text.name())
        item.showGrid(x=True, y=True, alpha=0.15)
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        self._legend = item.addLegend(
            offset=(-8, 8) if legend_at == "top" else (-8, -8), labelTextColor=text.name()
        )
        self._legend.setBrush(pg.mkBrush(base.red(), base.green(), base.blue(), 200))
        self._curves: dict[str, pg.PlotDataItem] = {}
        self._data: dict[str, _Buffer] = {}
        self._dirty: set[str] = set()
        self._x_fixed = False
        self._x_limits: tuple[float, float] | None = None
        self._x_right = 0.0
        self._user_view = False
        self._y_view: tuple[float, float] | None = None
        vb = item.getViewBox()
        vb.disableAutoRange()
        vb.sigRangeChangedManually.connect(self._on_user_range)
        self._redraw_s = redraw_ms / 1000.0
        self._last_redraw = 0.0
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.timeout.connect(lambda: _REDRAWS.request(self))
        self.redraws = 0
        self.setMinimumSize(180, 140)
        self.title = title

    def add_series(
        self,
        name: str,
        color: str | tuple[int, ...],
        *,
        width: float = 2.0,
        symbol: str | None = None,
        dashed: bool = False,
        legend: bool = True,
    ) -> None:
        pen = pg.mkPen(color, width=width)
        if dashed:
            pen.setStyle(Qt.PenStyle.DashLine)
        # the legend shows the series' name translated (the name itself stays the key)
        kw: dict[str, Any] = {"pen": pen, "name": translate("SeriesPlot", name) if legend else None}
        if symbol:
            kw.update(symbol=symbol, symbolSize=6, symbolBrush=color, symbolPen=color)
        curve = self.getPlotItem().plot([], [], **kw)
        self._curves[name] = curve
        self._data[name] = _Buffer()

    def append(self, name: str, x: float, y: float) -> None:
        self.extend(name, [x], [y])

    def extend(self, name: str, xs: Sequence[float], ys: Sequence[float]) -> None:
        if not len(xs):
            return
        self._data[name].extend(xs, ys)
        self._dirty.add(name)
        if not self._redraw.isActive() and not _REDRAWS.queued(self):
            wait = self._last_redraw + self._redraw_s - time.monotonic()
            self._redraw.start(max(0, int(wait * 1000)))

    def redraw(self) -> None:
        """Hand the new points to pyqtgraph (the timer calls this; tests may call it)."""
        self._redraw.stop()
        _REDRAWS.discard(self)
        self._last_redraw = time.monotonic()
        if not self._dirty:
            return
        for name in self._dirty:
            buf = self._data[name]
            x, y = buf.x[: buf.n], buf.y[: buf.n]
            finite = np.isfinite(y)
            if not finite.all():
                x, y = x[finite], y[finite]
            self._curves[name].setData(x, y)
        self._dirty.clear()
        self.redraws += 1
        if not self._user_view:
            self._follow_data()

    def _follow_data(self) -> None:
        xs_lo, xs_hi, ys_lo, ys_hi = [], [], [], []
        for buf in self._data.values():
            if buf.n == 0:
                continue
            x, y = buf.x[: buf.n], buf.y[: buf.n]
            y = y[np.isfinite(y)]
            if not len(y):
                continue
            xs_lo.append(x.min())
            xs_hi.append(x.max())
            ys_lo.append(y.min())
            ys_hi.append(y.max())
        if not ys_lo:
            return
        vb = self.getPlotItem().getViewBox()
        if self._x_limits is not None:
            # grow with the data in doubling steps up to the run's length (item 16): the
            # curve fills the plot from the first epoch, and the axis repaints log(n) times
            lo, end = self._x_limits
            right = self._x_right
            x = float(max(xs_hi))
            if x > right:
                while right < x:
                    right = lo + 2 * (right - lo)
                self._x_right = min(end, right)
                vb.setXRange(lo, self._x_right, padding=0.02)
        elif not self._x_fixed:
            lo, hi = float(min(xs_lo)), float(max(xs_hi))
            vb.setXRange(lo, hi if hi > lo else lo + 1, padding=0.03)
        lo, hi = float(min(ys_lo)), float(max(ys_hi))
        if hi == lo:  # a constant (a fixed learning rate): against zero, ticks mean something
            lo, hi = sorted((0.0, hi)) if hi else (-1.0, 1.0)
        span = hi - lo
        view = self._y_view
        if view is None or lo < view[0] or hi > view[1] or span < 0.5 * (view[1] - view[0]):
            self._y_view = (lo - 0.08 * span, hi + 0.08 * span)
            vb.setYRange(*self._y_view, padding=0)

    def set_x_range(self, lo: float, hi: float) -> None:
        """The run's x extent (its epochs): the axis starts at a few epochs and doubles as
        the data reaches its right end, never past ``hi``, so a 3000-epoch run does not
        squeeze its first curve into the left edge."""
        self._x_fixed = True
        self._x_limits = (lo, hi)
        self._x_right = min(hi, lo + max(2.0, (hi - lo) / 64))
        self.getPlotItem().getViewBox().setXRange(lo, self._x_right, padding=0.02)

    def _on_user_range(self, *_: Any) -> None:
        self._user_view = True

    def count(self, name: str) -> int:
        """How many points series ``name`` has received."""
        return self._data[name].n if name in self._data else 0

    def values(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        buf = self._data[name]
        return buf.x[: buf.n].copy(), buf.y[: buf.n].copy()

    def series(self) -> list[str]:
        return list(self._curves)

    def clear_data(self) -> None:
        self._redraw.stop()
        _REDRAWS.discard(self)
        self._dirty.clear()
        for name, curve in self._curves.items():
            self._data[name] = _Buffer()
            curve.setData([], [])
        self._x_fixed = False
        self._x_limits = None
        self._user_view = False
        self._y_view = None
        # an empty plot shows no trace of the data it had (the next run sets its own range)
        self.getPlotItem().getViewBox().setRange(xRange=(0, 1), yRange=(0, 1), padding=0)

    def set_title(self, title: str) -> None:
        _, text = _palette_colors()
        self.title = title
        self.getPlotItem().setTitle(title, color=text.name(), size="10pt")


def _short(names: Sequence[str], limit: int = 10) -> list[str]:
    return [n if len(n) <= limit else n[: limit - 1] + "…" for n in names]


class ConfusionMatrixView(pg.PlotWidget):
    """A confusion matrix as a heat map with the counts written in the cells.

    Colour is the row-normalised share (recall per class), so a small class's errors show
    as clearly as a large one's; rows are true classes, columns predictions.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        base, text = _palette_colors()
        super().__init__(parent, background=base)
        self._text_color = text
        item = self.getPlotItem()
        item.setTitle(
            translate("ConfusionMatrixView", "Confusion matrix (test)"),
            color=text.name(),
            size="10pt",
        )
        item.setLabel("bottom", translate("ConfusionMatrixView", "predicted"), color=text.name())
        item.setLabel("left", translate("ConfusionMatrixView", "true"), color=text.name())
        for side in ("bottom", "left"):
            item.getAxis(side).setTextPen(text)
        item.setMenuEnabled(False)
        item.hideButtons()
        vb = item.getViewBox()
        vb.invertY(True)
        vb.setAspectLocked(True)
        vb.setMouseEnabled(False, False)
        self._image = pg.ImageItem()
        self._image.setColorMap(pg.ColorMap(pos=[0.0, 1.0], color=[(247, 251, 255), (8, 48, 107)]))
        item.addItem(self._image)
        self._labels: list[pg.TextItem] = []
        self.matrix: np.ndarray | None = None
        self.class_names: list[str] = []
        self.setMinimumSize(200, 200)

    def set_matrix(self, matrix: Any, class_names: Sequence[str] | None = None) -> None:
        m = np.asarray(matrix, dtype=float)
        if m.ndim != 2 or m.shape[0] != m.shape[1] or m.size == 0:
            self.clear_matrix()
            return
        k = m.shape[0]
        names = [str(c) for c in class_names] if class_names and len(class_names) == k else []
        if not names:
            names = [str(i) for i in range(k)]
        self.matrix, self.class_names = m, names
        rows = m.sum(axis=1, keepdims=True)
        share = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
        self._image.setImage(share.T, levels=(0.0, 1.0))  # ImageItem is column-major
        self._image.setRect(0, 0, k, k)
        for t in self._labels:
            self.getPlotItem().removeItem(t)
        self._labels = []
        if k <= 25:
            font = QFont()
            font.setPointSizeF(max(6.0, 11.0 - 0.25 * k))
            for i in range(k):
                for j in range(k):
                    color = "#ffffff" if share[i, j] > 0.55 else "#1a1a1a"
                    t = pg.TextItem(f"{int(m[i, j])}", color=color, anchor=(0.5, 0.5))
                    t.setFont(font)
                    t.setPos(j + 0.5, i + 0.5)
                    self.getPlotItem().addItem(t)
                    self._labels.append(t)
        ticks = [(i + 0.5, n) for i, n in enumerate(_short(names))]
        step = max(1, k // 20)
        ticks = ticks[::step]
        self.getPlotItem().getAxis("bottom").setTicks([ticks])
        self.getPlotItem().getAxis("left").setTicks([ticks])
        self.getPlotItem().getViewBox().setRange(xRange=(0, k), yRange=(0, k), padding=0.02)
        acc = np.trace(m) / m.sum() if m.sum() else 0.0
        self.getPlotItem().setTitle(
            fmt(
                translate("ConfusionMatrixView", "Confusion matrix (test) · accuracy %1"),
                f"{acc:.3f}",
            ),
            color=self._text_color.name(),
            size="10pt",
        )

    def clear_matrix(self) -> None:
        self.matrix = None
        self._image.clear()
        for t in self._labels:
            self.getPlotItem().removeItem(t)
        self._labels = []


class ScatterView(pg.PlotWidget):
    """Predicted against true values for a regression, with the y = x line."""

    def __init__(self, parent: QWidget | None = None) -> None:
        base, text = _palette_colors()
        super().__init__(parent, background=base)
        self._text_color = text
        item = self.getPlotItem()
        item.setTitle(
            translate("ScatterView", "Predicted vs true (test)"), color=text.name(), size="10pt"
        )
        item.setLabel("bottom", translate("ScatterView", "true"), color=text.name())
        item.setLabel("left", translate("ScatterView", "predicted"), color=text.name())
        for side in ("bottom", "left"):
            item.getAxis(side).setTextPen(text)
        item.showGrid(x=True, y=True, alpha=0.15)
        self._diag = item.plot([], [], pen=pg.mkPen("#888888", width=1, style=Qt.PenStyle.DashLine))
        self._points = pg.ScatterPlotItem(
            size=6, pen=pg.mkPen(None), brush=pg.mkBrush(86, 180, 233, 190)
        )
        item.addItem(self._points)
        self.n_points = 0
        self.setMinimumSize(200, 200)

    def set_points(self, y_true: Any, y_pred: Any) -> None:
        t = np.asarray(y_true, dtype=float).reshape(-1)
        p = np.asarray(y_pred, dtype=float).reshape(-1)
        n = min(len(t), len(p))
        t, p = t[:n], p[:n]
        self._points.setData(t, p)
        self.n_points = n
        if n:
            lo = float(min(t.min(), p.min()))
            hi = float(max(t.max(), p.max()))
            self._diag.setData([lo, hi], [lo, hi])
            ss = float(((t - t.mean()) ** 2).sum())
            r2 = 1.0 - float(((t - p) ** 2).sum()) / ss if ss > 0 else float("nan")
            self.getPlotItem().setTitle(
                fmt(
                    translate("ScatterView", "Predicted vs true (test) · R² %1 · %2 samples"),
                    f"{r2:.3f}",
                    str(n),
                ),
                color=self._text_color.name(),
                size="10pt",
            )


class ProbabilityBars(pg.PlotWidget):
    """Class probabilities of one sample as horizontal bars, the predicted class highlighted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        base, text = _palette_colors()
        super().__init__(parent, background=base)
        self._text_color = text
        item = self.getPlotItem()
        item.setTitle(
            translate("ProbabilityBars", "Class probabilities"), color=text.name(), size="10pt"
        )
        item.setLabel("bottom", "probability", color=text.name())
        for side in ("bottom", "left"):
            item.getAxis(side).setTextPen(text)
        item.setMenuEnabled(False)
        item.hideButtons()
        item.getViewBox().setMouseEnabled(False, False)
        item.getViewBox().invertY(True)
        self._bars: pg.BarGraphItem | None = None
        self._texts: list[pg.TextItem] = []
        self.probabilities: np.ndarray | None = None
        self.setMinimumSize(200, 160)

    def set_probabilities(self, probs: Any, class_names: Sequence[str]) -> None:
        p = np.asarray(probs, dtype=float).reshape(-1)
        names = [str(c) for c in class_names] if len(class_names) == len(p) else []
        names = names or [str(i) for i in range(len(p))]
        self.probabilities = p
        item = self.getPlotItem()
        if self._bars is not None:
            item.removeItem(self._bars)
        for t in self._texts:
            item.removeItem(t)
        self._texts = []
        top = int(np.argmax(p)) if len(p) else -1
        brushes = [pg.mkBrush(TRAIN if i == top else FAINT_SOLID) for i in range(len(p))]
        self._bars = pg.BarGraphItem(
            x0=np.zeros(len(p)), y=np.arange(len(p)), width=p, height=0.7, brushes=brushes
        )
        item.addItem(self._bars)
        if len(p) <= 30:
            for i, v in enumerate(p):
                t = pg.TextItem(f"{v:.3f}", color=self._text_color.name(), anchor=(0, 0.5))
                t.setPos(min(v, 0.82) + 0.01, i)
                item.addItem(t)
                self._texts.append(t)
        step = max(1, len(p) // 25)
        item.getAxis("left").setTicks([[(i, n) for i, n in enumerate(_short(names, 14))][::step]])
        item.getViewBox().setRange(xRange=(0, 1.0), yRange=(-0.6, len(p) - 0.4), padding=0.02)
