"""Damaged, foreign and tampered checkpoints: one CheckpointError (or TrainError) naming the
file, never a KeyError or torch's advice to load unsafely; resume checks what it resumes."""

from __future__ import annotations

import collections
import json
import os
import shutil

import pytest
import torch

from engine import save_project
from engine.cli import main
from engine.train import load_checkpoint, predict, train
from engine.train.checkpoint import FORMAT, CheckpointError
from engine.train.session import TrainError
from tests.support.pipelines import mlp, pipeline

BLOBS = ("Blobs", {"n_samples": 90, "centers": 3, "n_features": 4, "random_state": 2})
UNSAFE = ("weights_only", "Weights only", "will likely succeed")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A trained run (2 epochs) and its project file."""
    root = tmp_path_factory.mktemp("ckpt")
    g = pipeline(BLOBS, mlp(3, 8), epochs=2)
    proj = root / "proj.json"
    save_project(g, proj)
    train(g, out_dir=root / "run")
    return root


def raw(path):
    return torch.load(path, weights_only=True)


def with_meta(src, dst, fn=None, **top):
    d = raw(src)
    meta = json.loads(d["meta"])
    if fn is not None:
        meta = fn(meta)
    d["meta"] = json.dumps(meta)
    d.update(top)
    torch.save(d, dst)
    return dst


def drop(*keys):
    def fn(meta):
        for k in keys:
            meta.pop(k)
        return meta

    return fn


def put(**kv):
    return lambda meta: {**meta, **kv}


def _bad_files(run, tmp):
    best = run / "run" / "best.pt"
    data = best.read_bytes()
    st = run / "run" / "model.safetensors"
    files = {
        "empty.pt": b"",
        "random.pt": os.urandom(512),
        "truncated.pt": data[: len(data) // 2],
        "empty.safetensors": b"",
        "random.safetensors": os.urandom(512),
    }
    out = {}
    for name, content in files.items():
        (tmp / name).write_bytes(content)
        out[name] = tmp / name
    torch.save({"format": FORMAT, "version": 1, "model": {}}, tmp / "nometa.pt")
    torch.save({"weights": torch.zeros(2)}, tmp / "foreign.pt")
    torch.save({"x": collections.OrderedDict(a=ValueError("x"))}, tmp / "object.pt")
    out["nometa.pt"] = tmp / "nometa.pt"
    out["foreign.pt"] = tmp / "foreign.pt"
    out["object.pt"] = tmp / "object.pt"
    d = raw(best)
    for name, change in {
        "meta_not_json.pt": {"meta": "{not json"},
        "meta_list.pt": {"meta": "[1, 2]"},
        "meta_bytes.pt": {"meta": 5},
        "version_text.pt": {"version": "one"},
        "model_not_tensors.pt": {"model": {"w": 1.5}},
        "model_list.pt": {"model": [torch.zeros(1)]},
        "optimizer_list.pt": {"optimizer": [1]},
    }.items():
        torch.save({**d, **change}, tmp / name)
        out[name] = tmp / name
    for name, fn in {
        "no_preprocessing.pt": drop("preprocessing"),
        "no_graph.pt": drop("graph"),
        "no_task.pt": drop("task"),
        "task_number.pt": put(task=5),
        "task_unknown.pt": put(task="poetry"),
        "class_names_text.pt": put(class_names="abc"),
        "class_names_numbers.pt": put(class_names=[1, 2, 3]),
        "steps_text.pt": put(preprocessing={"steps": "x"}),
        "graph_list.pt": put(graph=[1]),
        "epoch_text.pt": put(epoch="two"),
    }.items():
        out[name] = with_meta(best, tmp / name, fn)
    from safetensors.torch import save_file

    sd = load_checkpoint(st).state_dict
    save_file(sd, str(tmp / "badmeta.safetensors"), metadata={"torchwire": "{oops"})
    save_file(sd, str(tmp / "nometa.safetensors"), metadata={"other": "1"})
    save_file(sd, str(tmp / "listmeta.safetensors"), metadata={"torchwire": "[]"})
    for n in ("badmeta", "nometa", "listmeta"):
        out[f"{n}.safetensors"] = tmp / f"{n}.safetensors"
    return out


def test_every_damaged_checkpoint_is_one_checkpoint_error(run, tmp_path):
    for name, path in _bad_files(run, tmp_path).items():
        with pytest.raises(CheckpointError) as e:
            load_checkpoint(path)
        msg = str(e.value)
        assert f"{path} is not a valid Torchwire checkpoint (" in msg, (name, msg)
        assert not any(u in msg for u in UNSAFE), (name, msg)
        assert "\n" not in msg and e.value.file == str(path), name


def test_the_reasons_are_short_and_safe(run, tmp_path):
    files = _bad_files(run, tmp_path)
    reasons = {
        "empty.pt": "the file is empty",
        "object.pt": "objects other than tensors",
        "meta_not_json.pt": "its metadata is not JSON",
        "meta_list.pt": "not a JSON object",
        "no_graph.pt": "no 'graph'",
        "model_not_tensors.pt": "not a dictionary of tensors",
        "badmeta.safetensors": "its metadata is not JSON",
        "nometa.safetensors": "no Torchwire metadata",
    }
    for name, reason in reasons.items():
        with pytest.raises(CheckpointError, match=reason):
            load_checkpoint(files[name])


def test_the_good_ones_still_load(run):
    for name in ("best.pt", "last.pt", "model.safetensors"):
        ck = load_checkpoint(run / "run" / name)
        assert ck.task == "classification" and ck.class_names == ["0", "1", "2"]


@pytest.mark.parametrize(
    "name",
    ["random.pt", "object.pt", "meta_not_json.pt", "no_preprocessing.pt", "badmeta.safetensors"],
)
def test_cli_names_the_file_in_one_line(run, tmp_path, capsys, name):
    path = _bad_files(run, tmp_path)[name]
    proj = str(run / "proj.json")
    data = tmp_path / "x.npz"
    import numpy as np

    np.savez(data, x=np.zeros((2, 4), dtype=np.float32))
    commands = [
        ["evaluate", proj, "--checkpoint", str(path)],
        ["predict", proj, "--checkpoint", str(path), "--input", str(data)],
        ["train", proj, "--resume", str(path), "--out", str(tmp_path / "r")],
    ]
    for cmd in commands:
        assert main(cmd) == 2, cmd
        cap = capsys.readouterr()
        lines = cap.err.strip().splitlines()
        assert len(lines) == 1 and str(path) in lines[0], (cmd, cap.err)
        assert "is not a valid Torchwire checkpoint" in lines[0]
        assert not any(u in cap.err for u in UNSAFE) and "Traceback" not in cap.err


# -- resume -----------------------------------------------------------------------------------
def _copy_run(run, tmp_path):
    dst = tmp_path / "run"
    shutil.copytree(run / "run", dst)
    return dst


def test_resume_from_best_or_final_says_use_last(run, tmp_path, capsys):
    d = _copy_run(run, tmp_path)
    g = pipeline(BLOBS, mlp(3, 8), epochs=3)
    for name in ("best.pt", "model.safetensors"):
        with pytest.raises(TrainError) as e:
            train(g, resume=d / name)
        msg = str(e.value)
        assert (
            msg
            == f"{d / name} holds no training position (it is a {name}, use the last.pt beside it)"
        )
        assert e.value.file == str(d / name)
    assert main(["train", str(run / "proj.json"), "--resume", str(d / "best.pt")]) == 2
    assert "holds no training position" in capsys.readouterr().err


def test_resume_with_a_checkpoint_missing_its_position(run, tmp_path):
    d = _copy_run(run, tmp_path)
    bad = with_meta(d / "last.pt", tmp_path / "last.pt", drop("step"))
    g = pipeline(BLOBS, mlp(3, 8), epochs=3)
    with pytest.raises(TrainError, match=r"last\.pt holds no training position \(no step\)"):
        train(g, resume=bad, out_dir=tmp_path / "o", epochs=3)
    bad = with_meta(d / "last.pt", tmp_path / "last.pt", put(step="7"))
    with pytest.raises(TrainError, match="its 'step' is not a whole number"):
        train(g, resume=bad, out_dir=tmp_path / "o", epochs=3)
    bad = with_meta(d / "last.pt", tmp_path / "last.pt", put(schedule={"nonsense": []}))
    with pytest.raises(TrainError, match="training position cannot be restored"):
        train(g, resume=bad, out_dir=tmp_path / "o", epochs=3)
    bad = with_meta(d / "last.pt", tmp_path / "last.pt", rng_torch=torch.zeros(3))
    with pytest.raises(TrainError, match="not a valid Torchwire checkpoint"):
        train(g, resume=bad, out_dir=tmp_path / "o", epochs=3)


def test_resume_with_another_projects_checkpoint(run, tmp_path, capsys):
    d = _copy_run(run, tmp_path)
    last = d / "last.pt"
    # other layers: refused before anything is prepared
    g = pipeline(
        BLOBS, [("Linear", {"out_features": 8}), ("Tanh", {}), ("Linear", {"out_features": 3})]
    )
    g.name = "other"
    with pytest.raises(TrainError) as e:
        train(g, resume=last, epochs=3)
    msg = str(e.value)
    assert msg.startswith(f"{last} is a checkpoint of project 'test', not of 'other'")
    assert "node " in msg and "resume with the project it was trained from" in msg
    # same layers, other sizes: refused once the model is built, naming the tensor
    g = pipeline(BLOBS, mlp(3, 16), epochs=3)
    g.name = "wider"
    with pytest.raises(
        TrainError,
        match=r"is a checkpoint of project 'test', not of 'wider' \(linear\.bias is 8 there, 16 here\)",
    ):
        train(g, resume=last, epochs=3)
    p = tmp_path / "wider.json"
    save_project(g, p)
    assert main(["train", str(p), "--resume", str(last), "--epochs", "3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(last) in err[0] and "not of 'wider'" in err[0]
    assert not (d / ".torchwire.lock").exists()


def test_resume_refuses_a_best_that_does_not_belong(run, tmp_path):
    d = _copy_run(run, tmp_path)
    with_meta(d / "best.pt", d / "best.pt", put(epoch=99))
    g = pipeline(BLOBS, mlp(3, 8), epochs=3)
    with pytest.raises(TrainError, match=r"best\.pt does not belong with .*last\.pt"):
        train(g, resume=d / "last.pt", epochs=3)


def test_resume_from_non_finite_weights_names_the_tensor(run, tmp_path):
    # weights that went NaN (a diverged run saved them) used to fail the first step with
    # advice about the learning rate; the resume refuses them naming the tensor
    d = _copy_run(run, tmp_path)
    data = raw(d / "last.pt")
    name = sorted(data["model"])[-1]
    data["model"][name] = data["model"][name].clone()
    data["model"][name].view(-1)[0] = float("nan")
    torch.save(data, d / "last.pt")
    g = pipeline(BLOBS, mlp(3, 8), epochs=3)
    with pytest.raises(TrainError) as e:
        train(g, resume=d / "last.pt", epochs=3)
    msg = str(e.value)
    assert f"tensor {name!r} holds NaN values (1 of" in msg and str(d / "last.pt") in msg
    assert "learning rate" not in msg and e.value.file == str(d / "last.pt")


def test_a_good_resume_still_works(run, tmp_path):
    d = _copy_run(run, tmp_path)
    res = train(pipeline(BLOBS, mlp(3, 8)), resume=d / "last.pt", epochs=3)
    assert [h["epoch"] for h in res.history] == [1, 2, 3]


# -- inference ---------------------------------------------------------------------------------
def test_predict_with_too_few_class_names_is_an_error_naming_the_file(run, tmp_path):
    import numpy as np

    bad = with_meta(run / "run" / "best.pt", tmp_path / "few.pt", put(class_names=["a"]))
    with pytest.raises(TrainError, match=r"few\.pt is not a valid Torchwire checkpoint"):
        # random inputs: some predictions fall beyond the one class named
        predict(str(run / "proj.json"), bad, np.random.default_rng(0).normal(size=(64, 4)) * 5)


def test_predict_with_a_damaged_preprocessing_record(run, tmp_path):
    import numpy as np

    def damage(meta):
        for s in meta["preprocessing"]["steps"]:
            s.pop("mean", None)
            s.pop("std", None)
        return meta

    bad = with_meta(run / "run" / "best.pt", tmp_path / "damaged.pt", damage)
    with pytest.raises(TrainError, match=r"damaged\.pt is not a valid Torchwire checkpoint"):
        predict(str(run / "proj.json"), bad, np.zeros((3, 4), dtype=np.float32))
