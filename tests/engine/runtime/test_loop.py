"""The runtime's Trainer on its own: it learns, stops at any batch and resumes exactly,
its state survives a weights-only checkpoint, and callbacks see what they are promised."""

from __future__ import annotations

import io

import pytest
import torch

from engine.runtime import (
    Callback,
    Head,
    InMemoryBatches,
    LoopSettings,
    LossSpec,
    NonFiniteLoss,
    OptimizerSpec,
    RunState,
    StateError,
    Trainer,
)

CPU = torch.device("cpu")


def _trainer(callbacks=(), resume=None, opt_state=None, epochs=4, lr=0.05, **kw) -> Trainer:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(90, 4, generator=g)
    y = (x[:, 0] > 0).long()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.2), torch.nn.Linear(8, 2))
    if resume is not None:
        model.load_state_dict(resume[0])
    head = Head(LossSpec("CrossEntropyLoss", {}, "index", "logits"), "classification", 2, (2,), CPU)
    return Trainer(
        model,
        head,
        OptimizerSpec("Adam", {"lr": lr}, {"lr_schedule": "step", "step_size": 1, "gamma": 0.7}),
        InMemoryBatches(x[:70], y[:70], 8, shuffle=True),
        InMemoryBatches(x[70:], y[70:], 64),
        LoopSettings(epochs=epochs, **kw),
        device=CPU,
        seed=3,
        task="classification",
        n_classes=2,
        callbacks=callbacks,
        resume=resume[1] if resume is not None else None,
        optimizer_state=opt_state,
    )


class StopAt(Callback):
    def __init__(self, step: int) -> None:
        self.step = step
        self.saved: tuple | None = None

    def should_stop(self, trainer: Trainer) -> bool:
        return trainer.state.step >= self.step

    def on_interrupt(self, trainer: Trainer) -> None:
        meta, tensors = trainer.capture().to_checkpoint()
        buf = io.BytesIO()
        torch.save({"meta": meta, "t": tensors, "opt": trainer.opt.state_dict()}, buf)
        buf.seek(0)
        self.saved = (
            {k: v.clone() for k, v in trainer.model.state_dict().items()},
            torch.load(buf, weights_only=True),
        )


def test_learns_and_tracks_the_best_epoch() -> None:
    t = _trainer(epochs=6)
    s = t.fit()
    assert len(s.history) == 6 and s.epoch == 6 and s.finished
    assert s.history[-1]["val_accuracy"] > 0.8
    assert s.best_epoch == max(range(1, 7), key=lambda e: -s.history[e - 1]["val_loss"]), (
        "best epoch is the one with the lowest val_loss"
    )


@pytest.mark.parametrize("stop_step", [1, 9, 10, 23])
def test_stop_anywhere_then_resume_is_exact(stop_step: int) -> None:
    ref = _trainer()
    ref.fit()
    stopper = StopAt(stop_step)
    first = _trainer([stopper])
    s1 = first.fit()
    assert s1.stopped and stopper.saved is not None
    weights, saved = stopper.saved
    state = RunState.from_checkpoint(saved["meta"], saved["t"])
    again = _trainer(resume=(weights, state), opt_state=saved["opt"])
    s2 = again.fit()
    assert s2.finished and not s2.stopped
    for k, v in ref.model.state_dict().items():
        assert torch.equal(v, again.model.state_dict()[k]), k
    assert [r["val_loss"] for r in s2.history] == [r["val_loss"] for r in ref.state.history]


def test_early_stopping_is_a_callback_decision() -> None:
    t = _trainer(epochs=30, lr=0.0, early_stopping=True, patience=2)
    s = t.fit()
    assert s.early_stopped and s.finished and len(s.history) == 3


def test_non_finite_loss_stops_before_the_update() -> None:
    seen: list[int] = []

    class Interrupt(Callback):
        def on_interrupt(self, trainer: Trainer) -> None:
            seen.append(trainer.state.step)

    t = _trainer([Interrupt()], lr=1e30)
    with pytest.raises(NonFiniteLoss) as e:
        t.fit()
    assert "the loss became" in str(e.value) and e.value.step >= 1
    assert seen == [e.value.step - 1]


def test_a_position_without_its_fields_is_a_state_error() -> None:
    with pytest.raises(StateError, match="no training position"):
        RunState.from_checkpoint({"epoch": 3}, {})
    with pytest.raises(StateError, match="malformed"):
        RunState.from_checkpoint(
            {
                "epoch": "x",
                "step": 1,
                "history": [],
                "best_value": None,
                "best_epoch": 0,
                "bad_epochs": 0,
                "schedule": {},
            },
            {},
        )


def test_batch_callbacks_get_throttled_progress() -> None:
    got = []

    class Every(Callback):
        batch_interval_s = 0.0

        def on_batch_end(self, trainer, info) -> None:
            got.append(info)

    _trainer([Every()], epochs=1).fit()
    assert [b.batch for b in got] == list(range(1, 10))
    assert got[-1].step == 9 and all(b.loss == b.loss for b in got)


def test_an_objective_can_use_the_inputs() -> None:
    """Distillation-style: the training loss sees the batch's inputs, the loop unchanged."""
    calls = []

    def objective(out, y, x):
        calls.append(x.shape[0])
        assert x.shape[0] == y.shape[0]
        return t.head.loss(out, y) + 0.0 * x.sum()

    t = _trainer(epochs=1)
    t.objective = objective
    t.fit()
    assert len(calls) == 9 and sum(calls) == 70
