"""The smoothed progress estimator (issue 16 item 15), fed by hand: no clock, no training."""

from __future__ import annotations

import pytest

from engine.train.progress import ProgressEstimator


def test_time_left_is_frozen_while_paused_and_resumes_from_running_time() -> None:
    est2 = ProgressEstimator()
    for i in range(1, 6):  # 10 % of the run per second
        est2.update(float(i), i * 0.1)
    left = est2.time_left
    assert left == pytest.approx(5.0)
    est2.pause(5.0)
    assert est2.time_left == left  # a paused run's estimate does not grow
    est2.resume(65.0)  # a minute paused
    est2.update(66.0, 0.6)
    assert est2.time_left == pytest.approx(4.0)  # the pause counted for nothing


def test_one_slow_batch_does_not_swing_the_estimate() -> None:
    est = ProgressEstimator(alpha=0.1)
    t = 0.0
    for i in range(1, 21):
        t += 1.0
        est.update(t, i * 0.01)
    steady = est.time_left
    assert steady == pytest.approx(80.0)
    t += 10.0  # one batch ten times slower
    est.update(t, 0.21)
    assert est.time_left is not None and est.time_left < steady * 1.2


def test_throughput_is_averaged_so_outliers_move_it_by_a_bounded_factor() -> None:
    est = ProgressEstimator(alpha=0.1)
    for _ in range(30):
        est.update(0.0, 0.0, speed=1000.0)
    est.update(0.0, 0.0, speed=30729.0)
    assert est.samples_per_s is not None and 1000 <= est.samples_per_s < 1500
    est.update(0.0, 0.0, speed=None)  # a batch without a speed changes nothing
    est.update(0.0, 0.0, speed=float("nan"))
    assert 1000 <= est.samples_per_s < 1500
