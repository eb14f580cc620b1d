"""Live plots: a constant series (a fixed learning rate) is shown against zero, so its ticks
say its value instead of splitting hairs around it."""

from __future__ import annotations

from typing import Any

from designer.widgets.plots import SeriesPlot


def test_a_constant_series_is_shown_from_zero(qtbot: Any) -> None:
    plot = SeriesPlot("Learning rate")
    qtbot.addWidget(plot)
    plot.add_series("lr", (200, 200, 200))
    for epoch in range(1, 6):
        plot.append("lr", epoch, 0.01)
    plot.redraw()
    lo, hi = plot.getPlotItem().getViewBox().viewRange()[1]
    assert lo <= 0.0 < 0.01 < hi
    assert hi - lo >= 0.01  # ticks a fraction of the value apart, not of a thousandth of it


def test_a_changing_series_keeps_a_tight_view(qtbot: Any) -> None:
    plot = SeriesPlot("loss")
    qtbot.addWidget(plot)
    plot.add_series("train", (200, 200, 200))
    for epoch, v in enumerate([1.0, 0.9, 0.8], 1):
        plot.append("train", epoch, v)
    plot.redraw()
    lo, hi = plot.getPlotItem().getViewBox().viewRange()[1]
    assert 0.7 < lo < 0.8 and 1.0 < hi < 1.1
