"""Distillation: a student trained against a teacher, both loss terms in the history."""

from __future__ import annotations

import csv

import pytest
import torch

from engine.cli import main
from engine.project import load_project
from engine.train import TrainError, load_checkpoint, train
from engine.train.distill import Teacher
from tests.engine.compress.conftest import CNN, MLP


def student():
    g = load_project(CNN)
    g.set("conv2d", out_channels=4)
    g.set("conv2d_2", out_channels=8)
    g.set("linear", out_features=16)
    return g


def test_distillation_records_both_terms(cnn_run, tmp_path):
    before = {k: v.clone() for k, v in load_checkpoint(cnn_run).state_dict.items()}
    settings = {"distill_alpha": 0.3, "distill_temperature": 2.0, "seed": 1}
    res = train(student(), out_dir=str(tmp_path / "s"), epochs=3, device="cpu",
                teacher=Teacher(CNN, cnn_run), settings=settings)  # fmt: skip
    assert len(res.history) == 3
    for row in res.history:
        task, soft = row["train_task_loss"], row["train_distill_loss"]
        assert task > 0 and soft > 0
        # the loss the loop minimised is α·task + (1 − α)·T²·KL
        assert row["train_loss"] == pytest.approx(0.3 * task + 0.7 * soft, rel=1e-4)
    assert res.history[-1]["train_distill_loss"] < res.history[0]["train_distill_loss"]
    with open(tmp_path / "s" / "history.csv") as f:
        cols = next(csv.reader(f))
    assert "train_task_loss" in cols and "train_distill_loss" in cols
    # the teacher's checkpoint is untouched, and the run names it
    after = load_checkpoint(cnn_run).state_dict
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert load_checkpoint(tmp_path / "s").meta["teacher"].endswith("best.pt")


def test_alpha_one_is_plain_training(cnn_run, tmp_path):
    plain = train(student(), out_dir=str(tmp_path / "p"), epochs=2, device="cpu")
    only_task = train(student(), out_dir=str(tmp_path / "t"), epochs=2, device="cpu",
                      teacher=Teacher(CNN, cnn_run), settings={"distill_alpha": 1.0})  # fmt: skip
    for a, b in zip(plain.history, only_task.history, strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-6)
        assert b["train_task_loss"] == pytest.approx(b["train_loss"], rel=1e-5)


def test_a_teacher_on_other_preprocessing_is_refused(mlp_run, tmp_path):
    # digits_mlp standardizes per feature, digits_cnn per channel: other inputs
    with pytest.raises(TrainError, match="differently preprocessed"):
        train(student(), out_dir=str(tmp_path / "s"), epochs=1, teacher=Teacher(MLP, mlp_run))


def test_regression_distills_to_the_teachers_outputs(tmp_path):
    from tests.support.pipelines import REGRESSION, mlp, pipeline

    g = pipeline(REGRESSION, mlp(1, 32), loss=("MSELoss", {}))
    from engine import save_project

    save_project(g, tmp_path / "t.json")
    train(str(tmp_path / "t.json"), out_dir=str(tmp_path / "t"), epochs=20)
    res = train(pipeline(REGRESSION, mlp(1, 4), loss=("MSELoss", {})),
                out_dir=str(tmp_path / "s"), epochs=3,
                teacher=Teacher(str(tmp_path / "t.json"), tmp_path / "t"))  # fmt: skip
    row = res.history[-1]
    assert row["train_loss"] == pytest.approx(
        0.5 * row["train_task_loss"] + 0.5 * row["train_distill_loss"], rel=1e-4
    )


def test_train_cli_with_a_teacher(cnn_run, tmp_path, capsys):
    from engine import save_project

    save_project(student(), tmp_path / "student.json")
    out = tmp_path / "s"
    args = ["train", str(tmp_path / "student.json"), "--epochs", "1", "--device", "cpu",
            "--out", str(out), "--quiet", "--teacher", CNN, "--teacher-checkpoint", cnn_run]  # fmt: skip
    assert main(args) == 0
    assert "train_distill_loss" in (out / "history.csv").read_text()
    assert main([*args[:-2], "--teacher-checkpoint", str(tmp_path / "nope")]) == 2
    assert main(args[:-2]) == 1  # --teacher without its checkpoint
    assert "go together" in capsys.readouterr().err
