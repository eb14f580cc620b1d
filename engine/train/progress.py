"""Smoothed "time left" and throughput for a run's progress display.

Per-batch numbers swing wildly (a batch that hits a cache, a garbage collection, a timer's
resolution on tiny batches: 690 then 30,729 samples/s in one run), and a naive
elapsed × (1 - done) / done keeps counting while the run is paused. Neither may the estimate
average the speed of batches alone: between epochs the run evaluates, saves checkpoints and
reports, with no batch event, and with small batches that is as long as the batches
themselves; an average of per-batch rates leaves it out and promises half the time really
left. So the time left is measured: running seconds per unit of progress over the last
stretch of the run, a whole number of epochs long (every such stretch holds the same number
of evaluations), times the progress left.

This estimator is a pure function of what it is fed (times, fractions done, speeds), so it
is tested without a clock; paused time is left out.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

WINDOW = 0.05  # the stretch of the run the rate is measured over (at least, of the run)


@dataclass
class ProgressEstimator:
    """Feed ``update(t, done, speed)`` per batch; read ``time_left`` and ``samples_per_s``.

    ``epoch_fraction`` is one epoch's share of the run (1 / epochs; 0 when unknown): the
    measuring stretch is then a whole number of epochs. ``alpha`` is the weight of the
    newest batch in the throughput's exponential average, taken in log space so one
    outlier moves it by a bounded factor.
    """

    epoch_fraction: float = 0.0
    alpha: float = 0.1
    _points: deque[tuple[float, float]] = field(default_factory=deque)  # (running s, done)
    _paused_total: float = 0.0
    _paused_at: float | None = None
    _log_speed: float | None = None
    _left: float | None = None

    @property
    def window(self) -> float:
        """The progress the rate is measured over: ``WINDOW`` of the run, rounded up to whole
        epochs when their length is known."""
        ef = self.epoch_fraction
        if ef > 0 and math.isfinite(ef):
            return min(1.0, math.ceil(WINDOW / ef - 1e-9) * ef)
        return WINDOW

    def update(self, t: float, done: float, speed: float | None = None) -> None:
        """A batch ended at time ``t`` (seconds) with ``done`` (0…1) of the run behind it."""
        if self._paused_at is not None:  # an event while paused: the clock stays stopped
            self.resume(t)
        if speed is not None and speed > 0 and math.isfinite(speed):
            ls = math.log(speed)
            self._log_speed = (
                ls
                if self._log_speed is None
                else (1 - self.alpha) * self._log_speed + self.alpha * ls
            )
        if not math.isfinite(t) or not math.isfinite(done):
            return
        rt = t - self._paused_total
        pts = self._points
        if pts and done < pts[-1][1]:
            pts.clear()  # progress went back: another run
        if pts and (done <= pts[-1][1] or rt < pts[-1][0]):
            return
        pts.append((rt, done))
        while len(pts) > 2 and pts[1][1] <= done - self.window:
            pts.popleft()  # the newest point a whole window back stays as the anchor
        t0, d0 = pts[0]
        if done > d0 and rt > t0:
            self._left = max(0.0, (1.0 - done) * (rt - t0) / (done - d0))

    def pause(self, t: float) -> None:
        """The run paused at ``t``: nothing changes until it resumes."""
        if self._paused_at is None:
            self._paused_at = t

    def resume(self, t: float) -> None:
        """The run resumed at ``t``: the paused interval counts for nothing."""
        if self._paused_at is not None:
            self._paused_total += max(0.0, t - self._paused_at)
        self._paused_at = None

    @property
    def time_left(self) -> float | None:
        """Seconds left at the measured rate (None until two batches were seen)."""
        return self._left

    @property
    def samples_per_s(self) -> float | None:
        return math.exp(self._log_speed) if self._log_speed is not None else None
