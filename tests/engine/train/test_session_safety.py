"""The session's safety: final states, one writer per run folder, full disks, out of memory."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
import time

import pytest
import torch

from engine.train import TrainingSession, events, load_checkpoint, runfiles
from engine.train import session as session_mod
from engine.train.oom import oom_advice, training_memory_bytes
from engine.train.runlock import LOCK_NAME, RunFolderBusy, RunLock
from engine.train.session import SessionState, TrainError
from tests.support.pipelines import BLOBS, mlp, pipeline

FINAL = {"finished", "stopped", "failed"}


def tiny(**kw):
    return pipeline(("Blobs", {"n_samples": 60, "centers": 3, "n_features": 4}), mlp(3, 8), **kw)


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".twtmp", ".tmp")))


# -- 1. state --------------------------------------------------------------------------------
def test_state_is_a_str_enum_and_final_states_stay_final(tmp_path):
    s = TrainingSession(tiny(epochs=1), out_dir=tmp_path)
    assert s.state is SessionState.IDLE and s.state == "idle" and f"{s.state}" == "idle"
    assert s.run() is not None and s.state == "finished" and s.state.final
    for poke in (s.stop, s.pause, s.resume, s.stop):
        poke()
        assert s.state == "finished"
    with pytest.raises(RuntimeError, match="cannot start again"):
        s.start()
    assert not s._set_state(SessionState.RUNNING) and s.state == "finished"


def test_stop_before_start_is_stopped_at_once(tmp_path):
    s = TrainingSession(tiny(), out_dir=tmp_path)
    s.stop()
    assert s.state == "stopped" and s.join(0)
    with pytest.raises(RuntimeError):
        s.run()


@pytest.mark.slow
def test_start_stop_races_end_final_after_join(tmp_path):
    """Stop racing the end of the run: the state is final after join() and never changes.

    Before the lock, ``stop()`` could write "stopping" over "finished" (about half the time).
    """
    seen = []
    for i in range(30):
        s = TrainingSession(tiny(epochs=1), out_dir=tmp_path / f"r{i}")
        ended = []
        s.subscribe(lambda ev, s=s, ended=ended: ended.append((type(ev).__name__, s.state)))
        s.start()
        if i % 3 == 1:
            time.sleep(0.001 * i)
        elif i % 3 == 2:
            while not ended and s._thread.is_alive():
                time.sleep(0.0005)
        s.stop()
        assert s.join(30)
        state = s.state
        assert state in FINAL, (i, state)
        s.stop()
        s.pause()
        s.resume()
        time.sleep(0.002)
        assert s.state == state
        # the last event comes once the state is final, and says the same
        name, at_event = ended[-1]
        assert at_event == state
        assert (name == "Failed") == (state == "failed")
        assert not (tmp_path / f"r{i}" / LOCK_NAME).exists()
        seen.append(state)
    assert "failed" not in seen


def test_pause_then_stop_from_another_thread(tmp_path):
    s = TrainingSession(tiny(epochs=200), out_dir=tmp_path)
    first = threading.Event()
    s.subscribe(lambda ev: isinstance(ev, events.BatchEnded) and first.set())
    s.start()
    assert first.wait(30)
    s.pause()
    assert s.state == "paused"
    threading.Thread(target=s.stop).start()
    assert s.join(30) and s.state == "stopped"


# -- 2. one writer per run folder -----------------------------------------------------------
def test_a_second_writer_is_refused_and_the_lock_released_at_the_end(tmp_path):
    run = tmp_path / "x"
    a = TrainingSession(tiny(epochs=500), out_dir=run)
    first = threading.Event()
    a.subscribe(lambda ev: isinstance(ev, events.BatchEnded) and first.set())
    a.start()
    try:
        assert first.wait(30)
        assert (run / LOCK_NAME).exists()
        b = TrainingSession(tiny(epochs=1), out_dir=run)
        got = []
        b.subscribe(got.append)
        assert b.run() is None and b.state == "failed"
        r = b.failure.reason
        assert f"{run} is in use by another training (pid {os.getpid()})" in r
        assert "choose another folder or stop it" in r
        assert isinstance(got[-1], events.Failed)
    finally:
        a.stop()
        assert a.join(30)
    assert a.state == "stopped" and not (run / LOCK_NAME).exists()
    load_checkpoint(run / "last.pt")  # a's, whole
    c = TrainingSession(tiny(epochs=1), out_dir=run)
    assert c.run() is not None and not (run / LOCK_NAME).exists()


def test_the_lock_is_released_when_training_fails(tmp_path, monkeypatch):
    from engine.runtime import head as runtime

    def boom(self, out, y):
        raise ValueError("broken loss")

    monkeypatch.setattr(runtime.Head, "loss", boom)
    s = TrainingSession(tiny(), out_dir=tmp_path)
    assert s.run() is None and s.state == "failed"
    assert not (tmp_path / LOCK_NAME).exists()


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_a_stale_lock_is_taken_over_and_stale_temporaries_swept(tmp_path):
    import json
    import socket

    (tmp_path / LOCK_NAME).write_text(
        json.dumps({"pid": _dead_pid(), "host": socket.gethostname(), "token": "old"})
    )
    for name in (".last.pt.abc123.twtmp", ".best.pt.tmp", ".metrics.json.x.twtmp"):
        (tmp_path / name).write_bytes(b"half a checkpoint")
    (tmp_path / "notes.twtmp").write_text("not ours")
    s = TrainingSession(tiny(epochs=1), out_dir=tmp_path)
    assert s.run() is not None, s.failure
    assert leftovers(tmp_path) == ["notes.twtmp"]
    assert not (tmp_path / LOCK_NAME).exists()


def test_run_lock_rules(tmp_path):
    import json

    a = RunLock(tmp_path)
    a.acquire()
    with pytest.raises(RunFolderBusy, match=f"pid {os.getpid()}") as e:
        RunLock(tmp_path).acquire()
    assert e.value.pid == os.getpid() and e.value.file == str(tmp_path)
    a.release()
    a.release()  # twice is fine
    assert not (tmp_path / LOCK_NAME).exists()
    # another machine's lock cannot be judged: respected
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": 1, "host": "elsewhere"}))
    with pytest.raises(RunFolderBusy, match="pid 1 on elsewhere"):
        RunLock(tmp_path).acquire()
    # a lock left by this very process (pid reused, or a session that died) is stale
    (tmp_path / LOCK_NAME).write_text(
        json.dumps({"pid": os.getpid(), "host": __import__("socket").gethostname()})
    )
    with RunLock(tmp_path) as b:
        assert b.held
    # an empty lock: a writer at work (young) is respected, an old one taken over
    (tmp_path / LOCK_NAME).write_text("")
    with pytest.raises(RunFolderBusy):
        RunLock(tmp_path).acquire()
    old = time.time() - 60
    os.utime(tmp_path / LOCK_NAME, (old, old))
    with RunLock(tmp_path):
        pass
    # release never removes a lock that is no longer ours
    c = RunLock(tmp_path)
    c.acquire()
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": 1, "host": "elsewhere"}))
    c.release()
    assert (tmp_path / LOCK_NAME).exists()


# -- 4. a full disk while checkpointing ------------------------------------------------------
def _fail_nth(real, n, match=lambda *a: True):
    calls = []

    def fake(*a, **kw):
        if match(*a):
            calls.append(a)
            if len(calls) == n:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real(*a, **kw)

    return fake


def _check_consistent(run):
    assert leftovers(run) == []
    assert not (run / LOCK_NAME).exists()
    best = load_checkpoint(run / "best.pt") if (run / "best.pt").exists() else None
    last = load_checkpoint(run / "last.pt") if (run / "last.pt").exists() else None
    if best is not None and last is not None:
        assert best.epoch == last.meta["best_epoch"]
    return best, last


@pytest.mark.parametrize("nth", [1, 2, 3, 4])
def test_disk_full_in_torch_save(tmp_path, monkeypatch, nth):
    monkeypatch.setattr(session_mod, "SAVE_INTERVAL_S", 0.0)
    monkeypatch.setattr(torch, "save", _fail_nth(torch.save, nth))
    s = TrainingSession(tiny(epochs=4), out_dir=tmp_path)
    got = []
    s.subscribe(got.append)
    assert s.run() is None and s.state == "failed"
    r = got[-1].reason
    assert isinstance(got[-1], events.Failed)
    assert "no space left on device while writing" in r and str(tmp_path) in r
    assert "inline_container" not in r
    best, last = _check_consistent(tmp_path)
    if nth <= 2:  # the first pair failed: nothing was published
        assert best is None and last is None


def test_disk_full_as_torch_reports_it(tmp_path, monkeypatch):
    real = torch.save

    def fake(obj, f, *a, **kw):
        real(obj, f, *a, **kw)  # a partial file is left behind
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 40")

    monkeypatch.setattr(torch, "save", fake)
    s = TrainingSession(tiny(epochs=1), out_dir=tmp_path)
    assert s.run() is None
    assert "no space left on device while writing" in s.failure.reason
    assert s.failure.reason.endswith(".pt")
    _check_consistent(tmp_path)


def test_disk_full_when_renaming_last_rolls_best_back(tmp_path, monkeypatch):
    """best.pt is renamed first; when last.pt then fails, best.pt gets its previous file."""
    monkeypatch.setattr(session_mod, "SAVE_INTERVAL_S", 0.0)
    real = os.replace
    monkeypatch.setattr(
        os, "replace", _fail_nth(real, 2, lambda src, dst: str(dst).endswith("last.pt"))
    )
    g = tiny(epochs=6, monitor="train_loss")  # the training loss improves every epoch
    s = TrainingSession(g, out_dir=tmp_path)
    saved = []
    s.subscribe(lambda ev: isinstance(ev, events.CheckpointSaved) and saved.append(ev))
    assert s.run() is None
    assert "no space left on device while writing" in s.failure.reason
    assert s.failure.reason.endswith("last.pt")
    best, last = _check_consistent(tmp_path)
    assert best.epoch == 1 and last.epoch == 1  # the pair from epoch 1, as published
    assert [(e.kind, e.epoch) for e in saved] == [("best", 1), ("last", 1)]


def test_disk_full_in_run_files(tmp_path, monkeypatch):
    from engine import fileio

    real = fileio.atomic_write

    def fake(path, data, **kw):
        if str(path).endswith("metrics.json"):
            raise fileio.WriteError(f"no space left on device while writing {path}")
        return real(path, data, **kw)

    monkeypatch.setattr(runfiles, "atomic_write", fake)  # the run files are written there
    s = TrainingSession(tiny(epochs=1), out_dir=tmp_path)
    assert s.run() is None and s.failure.kind == "runtime"
    assert s.failure.reason == f"no space left on device while writing {tmp_path / 'metrics.json'}"
    _check_consistent(tmp_path)


# -- 7. out of memory: the model or the batch ----------------------------------------------
def test_training_memory_counts_parameters_gradients_and_optimizer_state():
    m = torch.nn.Linear(10, 10)  # 110 float32 parameters = 440 bytes
    assert training_memory_bytes(m, "Adam") == 440 * 4
    assert training_memory_bytes(m, "SGD") == 440 * 3
    assert training_memory_bytes(m, "SomethingNew") == 440 * 4
    m.weight.requires_grad_(False)
    assert training_memory_bytes(m, "Adam") == 400 + 40 * 4


def test_oom_advice_model_or_batch():
    big = oom_advice("cuda:0", 1, 64, 30 * 10**9, 24 * 10**9)
    assert "model is too large" in big and "~30.0 GB" in big and "24.0 GB" in big
    assert "smaller batch will not help" in big
    small = oom_advice("cuda:0", 7, 64, 2 * 10**6, 24 * 10**9)
    assert "batch size 64" in small and "batch_size in the Batch node (e.g. 32)" in small
    assert "too large for" not in small and "~2.0 MB" in small
    assert "batch_size" in oom_advice("cpu", 0, None, None, None)


@pytest.mark.parametrize("raise_as", ["torch", "runtime"])
def test_out_of_memory_in_training_says_model_or_batch(tmp_path, monkeypatch, raise_as):
    from engine.runtime import head as runtime

    def boom(self, out, y):
        if raise_as == "torch":
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(runtime.Head, "loss", boom)
    g = tiny(data=[("Split", {}), ("Batch", {"batch_size": 16})])
    s = TrainingSession(g, out_dir=tmp_path / "batch")
    assert s.run() is None
    r = s.failure.reason
    assert "batch size 16" in r and "(e.g. 8)" in r and "too large" not in r

    monkeypatch.setattr(session_mod, "device_memory_bytes", lambda dev: 1000)
    s = TrainingSession(g, out_dir=tmp_path / "model")
    assert s.run() is None
    r = s.failure.reason
    assert "the model is too large for cpu" in r and "alone need ~" in r
    assert "batch will not help" in r


def test_train_raises_the_failure(tmp_path):
    from engine.train import train

    TrainingSession(tiny(), out_dir=tmp_path)
    lock = RunLock(tmp_path)
    lock.acquire()
    try:
        with pytest.raises(TrainError, match="in use by another training"):
            train(pipeline(BLOBS, mlp(3)), out_dir=tmp_path)
    finally:
        lock.release()
