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


def test_one_slow_batch_counts_once_and_is_then_forgotten() -> None:
    est = ProgressEstimator(alpha=0.1)
    t = 0.0
    for i in range(1, 21):
        t += 1.0
        est.update(t, i * 0.01)
    steady = est.time_left
    assert steady == pytest.approx(80.0)
    t += 10.0  # one batch ten times slower: its time was really spent
    est.update(t, 0.21)
    assert est.time_left is not None and est.time_left > steady
    for i in range(22, 42):
        t += 1.0
        est.update(t, i * 0.01)
    assert est.time_left == pytest.approx(59.0)  # back to the steady pace


def test_throughput_is_averaged_so_outliers_move_it_by_a_bounded_factor() -> None:
    est = ProgressEstimator(alpha=0.1)
    for _ in range(30):
        est.update(0.0, 0.0, speed=1000.0)
    est.update(0.0, 0.0, speed=30729.0)
    assert est.samples_per_s is not None and 1000 <= est.samples_per_s < 1500
    est.update(0.0, 0.0, speed=None)  # a batch without a speed changes nothing
    est.update(0.0, 0.0, speed=float("nan"))
    assert 1000 <= est.samples_per_s < 1500


def _simulate(est: ProgressEstimator, epochs: int, batches: int, batch_s: float, eval_s: float):
    """Feed a run of ``epochs`` × ``batches`` whose every epoch ends with an evaluation of
    ``eval_s``; yields (fraction done, estimate, true seconds left) after each batch."""
    total_s = epochs * (batches * batch_s + eval_s)
    t = 0.0
    for e in range(epochs):
        for b in range(1, batches + 1):
            t += batch_s
            done = (e * batches + b) / (epochs * batches)
            est.update(t, done)
            yield done, est.time_left, total_s - t
        t += eval_s  # validation, checkpoints, the epoch's overheads: no batch event


def test_time_left_counts_the_evaluation_and_overheads_between_epochs() -> None:
    """300 epochs of 30 small batches, each epoch's evaluation as long as its batches: the
    estimate is the time really left, wherever in an epoch it is read."""
    est = ProgressEstimator(epoch_fraction=1 / 300)
    checked = 0
    for done, left, truth in _simulate(est, 300, 30, 0.001, 0.03):
        if 0.1 <= done <= 0.95:
            assert left == pytest.approx(truth, rel=0.15), f"at {done:.3f} done"
            checked += 1
    assert checked > 1000


def test_time_left_without_knowing_the_epochs_still_counts_their_overheads() -> None:
    est = ProgressEstimator()
    for done, left, truth in _simulate(est, 50, 20, 0.002, 0.04):
        if 0.2 <= done <= 0.9:
            assert left == pytest.approx(truth, rel=0.25), f"at {done:.3f} done"
