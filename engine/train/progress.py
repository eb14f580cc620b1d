"""Smoothed "time left" and throughput for a run's progress display.

Per-batch numbers swing wildly (a batch that hits a cache, a garbage collection, a timer's
resolution on tiny batches: 690 then 30,729 samples/s in one run), and a naive
elapsed × (1 - done) / done keeps counting while the run is paused. This estimator is a
pure function of what it is fed (times, fractions done, speeds), so it is tested without
a clock: exponential averages over batches, paused time left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class ProgressEstimator:
    """Feed ``update(t, done, speed)`` per batch; read ``time_left`` and ``samples_per_s``.

    ``alpha`` is the weight of the newest batch in the exponential averages. The rate of
    progress is averaged over batch intervals (fraction done per second of running time);
    throughput is averaged in log space, so one outlier moves it by a bounded factor.
    """

    alpha: float = 0.1
    _t: float | None = None
    _done: float = 0.0
    _rate: float | None = None  # fraction of the run per running second
    _log_speed: float | None = None
    _paused_at: float | None = None
    _left: float | None = None

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
        if self._t is not None:
            dt, dd = t - self._t, done - self._done
            if dt > 0 and dd > 0:
                r = dd / dt
                self._rate = (
                    r if self._rate is None else (1 - self.alpha) * self._rate + self.alpha * r
                )
        self._t, self._done = t, done
        if self._rate:
            self._left = max(0.0, (1.0 - done) / self._rate)

    def pause(self, t: float) -> None:
        """The run paused at ``t``: nothing changes until it resumes."""
        if self._paused_at is None:
            self._paused_at = t

    def resume(self, t: float) -> None:
        """The run resumed at ``t``: the paused interval counts for nothing."""
        if self._paused_at is not None and self._t is not None:
            self._t += t - self._paused_at
        self._paused_at = None

    @property
    def time_left(self) -> float | None:
        """Seconds left at the averaged rate (None until two batches were seen)."""
        return self._left

    @property
    def samples_per_s(self) -> float | None:
        return math.exp(self._log_speed) if self._log_speed is not None else None
