"""The training session: events, run folder, checkpoints, stop/pause/resume, failures."""

from __future__ import annotations

import csv
import dataclasses
import json
import threading

import pytest
import torch

from engine.train import TrainingSession, events, load_checkpoint, train
from engine.train.session import TrainError
from tests.support.data import write_csv
from tests.support.pipelines import BLOBS, mlp, pipeline


def collect(session):
    got = []
    session.subscribe(got.append)
    return got


def test_events_run_folder_and_checkpoints(tmp_path):
    g = pipeline(BLOBS, mlp(3), epochs=3)
    s = TrainingSession(g, out_dir=tmp_path / "run")
    got = collect(s)
    res = s.run()
    assert s.state == "finished" and res is not None
    kinds = [type(e).__name__ for e in got]
    assert kinds[0] == "Started" and kinds[-1] == "Finished"
    started = got[0]
    assert started.epochs == 3 and started.task == "classification"
    assert started.class_names == ("0", "1", "2") and started.device == "cpu"
    batches = [e for e in got if isinstance(e, events.BatchEnded)]
    assert len(batches) == 3 * started.batches_per_epoch
    assert [b.step for b in batches] == list(range(1, len(batches) + 1))
    assert all(b.loss > 0 and b.samples_per_s > 0 for b in batches)
    epochs = [e for e in got if isinstance(e, events.EpochEnded)]
    assert [e.epoch for e in epochs] == [1, 2, 3]
    assert {"loss", "accuracy", "f1", "precision", "recall"} <= set(epochs[0].train)
    assert {"loss", "accuracy", "f1"} <= set(epochs[0].val) and epochs[0].lr == 0.01
    saved = [e for e in got if isinstance(e, events.CheckpointSaved)]
    assert {e.kind for e in saved} == {"best", "last"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        started.epochs = 5
    fin = got[-1]
    assert fin.stopped is False and len(fin.history) == 3
    cm = fin.test_metrics["confusion_matrix"]
    assert len(cm) == 3 and sum(map(sum, cm)) == 36  # the whole test split
    run = tmp_path / "run"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["accuracy"] == pytest.approx(res.test_metrics["accuracy"])
    assert {"accuracy", "f1", "precision", "recall", "loss"} <= set(metrics)
    rows = list(csv.DictReader((run / "history.csv").open()))
    assert len(rows) == 3 and {"train_loss", "val_accuracy", "lr"} <= set(rows[0])
    # checkpoints hold only tensors and plain values: weights_only loading works
    raw = torch.load(run / "last.pt", weights_only=True)
    assert "model" in raw and "optimizer" in raw
    ck = load_checkpoint(run / "best.pt")
    assert ck.task == "classification" and ck.class_names == ["0", "1", "2"]
    assert ck.preprocessing["steps"][0]["type"] == "Standardize"
    assert ck.graph["format"] == "torchwire-project"
    st = load_checkpoint(run / "model.safetensors")
    assert set(st.state_dict) == set(ck.state_dict)


def test_regression_finish_has_scatter_samples(tmp_path):
    g = pipeline(
        ("Diabetes", {}),
        mlp(1),
        ("MSELoss", {}),
        data=[("Split", {}), ("Standardize", {"targets": True}), ("Batch", {})],
    )
    got = []
    res = train(g, out_dir=tmp_path, on_event=got.append)
    m = res.test_metrics
    assert {"mse", "mae", "r2", "rmse"} <= set(m)
    assert len(m["y_true"]) == len(m["y_pred"]) == 66  # 15 % of 442
    assert min(m["y_true"]) >= 25 and max(m["y_true"]) <= 346  # in the targets' own units
    assert "y_true" not in json.loads((tmp_path / "metrics.json").read_text())


def _stop_at(session, epoch, batch):
    def fn(ev):
        if isinstance(ev, events.BatchEnded) and (ev.epoch, ev.batch) == (epoch, batch):
            session.stop()

    session.subscribe(fn)


def test_stop_and_resume_equals_an_uninterrupted_run(tmp_path):
    model = [
        ("Linear", {"out_features": 32}),
        ("ReLU", {}),
        ("Dropout", {"p": 0.3}),
        ("Linear", {"out_features": 3}),
    ]
    kw = dict(epochs=3, seed=5)
    full = train(pipeline(BLOBS, model, **kw), out_dir=tmp_path / "full")

    s = TrainingSession(pipeline(BLOBS, model, **kw), out_dir=tmp_path / "part")
    _stop_at(s, 2, 2)
    part = s.run()
    assert s.state == "stopped" and part.stopped and len(part.history) == 1
    last = load_checkpoint(part.last_checkpoint)
    assert last.meta["resume_epoch"] == 2 and last.meta["resume_batch"] == 2

    resumed = train(pipeline(BLOBS, model, **kw), resume=part.last_checkpoint)
    assert resumed.run_dir == part.run_dir and not resumed.stopped
    a = load_checkpoint(full.last_checkpoint).state_dict
    b = load_checkpoint(resumed.last_checkpoint).state_dict
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert [h["train_loss"] for h in resumed.history] == pytest.approx(
        [h["train_loss"] for h in full.history], abs=1e-9
    )
    assert resumed.test_metrics["accuracy"] == full.test_metrics["accuracy"]
    assert resumed.test_metrics["loss"] == pytest.approx(full.test_metrics["loss"], abs=1e-6)

    # a finished run continues only when asked for more epochs
    with pytest.raises(TrainError, match="already finished 3 epochs"):
        train(pipeline(BLOBS, model, **kw), resume=full.last_checkpoint)
    more = train(pipeline(BLOBS, model, **kw), resume=full.last_checkpoint, epochs=4)
    assert [h["epoch"] for h in more.history] == [1, 2, 3, 4]


def test_background_pause_resume_stop(tmp_path):
    g = pipeline(BLOBS, mlp(3), epochs=50)
    s = TrainingSession(g, out_dir=tmp_path)
    first = threading.Event()
    s.subscribe(lambda ev: isinstance(ev, events.BatchEnded) and first.set())
    s.start()
    assert first.wait(30)
    s.pause()
    assert s.state == "paused"
    s.resume()
    assert s.state == "running"
    s.stop()
    assert s.join(30) and s.state == "stopped"
    assert s.result.stopped and (tmp_path / "last.pt").exists()
    assert len(s.result.history) < 50


def test_nan_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
    g = pipeline(
        ("Regression", {"n_samples": 200}),
        mlp(1),
        ("MSELoss", {}),
        ("SGD", {"lr": 1.0, "momentum": 0.0}),
        epochs=5,
    )
    s = TrainingSession(g, out_dir=tmp_path)
    got = collect(s)
    assert s.run() is None and s.state == "failed"
    fail = got[-1]
    assert isinstance(fail, events.Failed) and fail.step is not None and fail.step > 1
    assert f"at step {fail.step}" in fail.reason and "learning rate" in fail.reason
    steps = [e.step for e in got if isinstance(e, events.BatchEnded)]
    assert steps == list(range(1, fail.step))  # no event for the bad step
    assert str(tmp_path / "last.pt") in fail.reason
    last = load_checkpoint(tmp_path / "last.pt")
    assert all(torch.isfinite(v).all() for v in last.state_dict.values())
    assert last.meta["step"] == fail.step - 1
    with pytest.raises(TrainError, match="loss became"):
        train(g, out_dir=tmp_path / "again")


def test_out_of_memory_suggests_a_smaller_batch(tmp_path, monkeypatch):
    from engine.runtime import head as runtime

    def boom(self, out, y):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(runtime.Head, "loss", boom)
    g = pipeline(BLOBS, mlp(3), data=[("Split", {}), ("Batch", {"batch_size": 48})])
    s = TrainingSession(g, out_dir=tmp_path)
    assert s.run() is None
    r = s.failure.reason
    assert "out of memory" in r and "batch size 48" in r and "batch_size" in r and "24" in r


def test_bad_csv_fails_with_file_column_row(tmp_path):
    path = write_csv(tmp_path, "a,b,label\n1,2,0\n3,4,1\n5,zz,0\n7,8,1\n", "bad.csv")
    g = pipeline(("CSVDataset", {"path": path, "target": "label"}), mlp(2))
    s = TrainingSession(g, out_dir=tmp_path / "run")
    assert s.run() is None
    r = s.failure.reason
    assert path in r and "'b'" in r and "row 3" in r and s.failure.kind == "data"


def test_not_ready_project_fails_with_reasons(tmp_path):
    g = pipeline(("Iris", {}), mlp(5))
    with pytest.raises(TrainError, match="3 classes"):
        train(g, out_dir=tmp_path)


def test_early_stopping_and_subscriber_errors_do_not_break_training(tmp_path):
    g = pipeline(
        BLOBS,
        mlp(3),
        epochs=40,
        early_stopping=True,
        patience=2,
        monitor="val_loss",
        min_delta=10.0,
    )
    s = TrainingSession(g, out_dir=tmp_path)
    s.subscribe(lambda ev: 1 / 0)
    res = s.run()
    assert res is not None and len(res.history) == 3  # epoch 1 sets the best; 2 more without
