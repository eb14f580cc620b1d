"""Transfer learning: starting weights (init_from), frozen nodes, per-node lr_scale."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from engine import compile_model, load_project
from engine.runtime.loop import Callback
from engine.train import TrainError, TrainingSession, train
from engine.train.events import InitReport, from_json, to_json
from tests.support.paths import EXAMPLES
from tests.support.pipelines import BLOBS, pipeline


def net(**training):
    """Blobs → body (Linear) → bn → relu → head (Linear, 3 classes)."""
    g = pipeline(
        BLOBS,
        [
            ("Linear", {"id": "body", "out_features": 8}),
            ("BatchNorm1d", {"id": "bn"}),
            ("ReLU", {"id": "act"}),
            ("Linear", {"id": "head", "out_features": 3}),
        ],
        cpu_threads=1,
        checkpoint="last",
        **training,
    )
    return g


def fresh_state(g) -> dict[str, torch.Tensor]:
    torch.manual_seed(123)
    return {k: v.clone() for k, v in compile_model(g).state_dict().items()}


def test_frozen_weights_and_batchnorm_stay_bit_identical(tmp_path):
    g = net()
    g.freeze("body")
    g.freeze("bn")
    start = fresh_state(g)
    res = train(g, out_dir=tmp_path, init_weights=start)
    end = res.extra["model"].state_dict()
    for k in ("body.weight", "body.bias", "bn.weight", "bn.bias"):
        assert torch.equal(end[k], start[k]), k
    # eval mode while training: the running statistics are the loaded ones
    for k in ("bn.running_mean", "bn.running_var", "bn.num_batches_tracked"):
        assert torch.equal(end[k], start[k]), k
    assert not torch.equal(end["head.weight"], start["head.weight"])
    # the saved weights are the same ones
    saved = torch.load(tmp_path / "last.pt", weights_only=True)["model"]
    assert torch.equal(saved["body.weight"], start["body.weight"])


def test_unfrozen_batchnorm_does_update(tmp_path):
    g = net()
    start = fresh_state(g)
    end = train(g, out_dir=tmp_path, init_weights=start).extra["model"].state_dict()
    assert not torch.equal(end["bn.running_mean"], start["bn.running_mean"])
    assert not torch.equal(end["body.weight"], start["body.weight"])


class GroupLrs(Callback):
    def __init__(self) -> None:
        self.rows: list[list[tuple[float, float]]] = []

    def on_epoch_end(self, trainer, info) -> None:
        self.rows.append([(pg["lr"], pg["lr_scale"]) for pg in trainer.opt.param_groups])
        self.n_params = [len(pg["params"]) for pg in trainer.opt.param_groups]


def test_lr_scale_makes_param_groups_that_follow_the_schedule(tmp_path):
    g = net(epochs=3)
    g.set("opt", lr=0.02, lr_schedule="step", step_size=1, gamma=0.5)  # halves every epoch
    g.set_lr_scale("body", 0.1)
    g.freeze("bn")
    cb = GroupLrs()
    s = TrainingSession(g, out_dir=tmp_path, callbacks=[cb])
    assert s.run() is not None, s.failure
    # the last batch of epoch e ran at 0.02 * 0.5**(e-1), each group times its scale
    for e, row in enumerate(cb.rows, start=1):
        base = 0.02 * 0.5 ** (e - 1)
        by_scale = {scale: lr for lr, scale in row}
        assert by_scale == {0.1: pytest.approx(base * 0.1), 1.0: pytest.approx(base)}
    assert sorted(cb.n_params) == [2, 2]  # body's two tensors; head's two (bn is frozen)
    assert [r["lr"] for r in s.result.history] == pytest.approx([0.02, 0.01, 0.005])


def test_all_frozen_is_a_warning_and_training_refuses(tmp_path):
    from engine import check

    g = net()
    for nid in ("body", "bn", "head"):
        g.freeze(nid)
    g.freeze("act")  # a frozen node without weights is fine
    rep = check(g)
    assert rep.trainable_params == 0 and rep.total_params > 0
    assert [d.lint for d in rep.warnings if d.lint == "nothing-to-train"] == ["nothing-to-train"]
    with pytest.raises(TrainError, match="nothing to train"):
        train(g, out_dir=tmp_path)
    g.freeze("head", False)
    rep = check(g)
    assert "nothing-to-train" not in {d.lint for d in rep.warnings}
    assert rep.trainable_params == rep.params["head"] == 8 * 3 + 3
    assert rep.to_dict()["trainable_params"] == rep.trainable_params


# -- init_from ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def source_run(tmp_path_factory):
    """A trained run of the same network (its folder, and the weights it holds)."""
    d = tmp_path_factory.mktemp("source")
    res = train(net(epochs=1), out_dir=d)
    return d, {k: v.clone() for k, v in res.extra["model"].state_dict().items()}


def _init(g, path, tmp_path, **kw):
    events: list = []
    g.settings["training"]["init_from"] = str(path)
    res = train(g, out_dir=tmp_path, on_event=events.append, epochs=1, **kw)
    reports = [e for e in events if isinstance(e, InitReport)]
    assert len(reports) == 1 and res.extra["init"] == reports[0]
    return res, reports[0]


def test_init_from_a_run_folder_and_its_checkpoint(source_run, tmp_path):
    folder, weights = source_run
    for i, path in enumerate((folder, folder / "last.pt")):
        g = net()
        g.freeze("body")
        res, rep = _init(g, path, tmp_path / str(i))
        assert set(rep.loaded) == set(weights) and not rep.missing and not rep.unexpected
        end = res.extra["model"].state_dict()
        assert torch.equal(end["body.weight"], weights["body.weight"])
        recorded = json.loads((tmp_path / str(i) / "init.json").read_text())
        assert recorded["loaded"] == list(rep.loaded) and recorded["source"] == str(path)


def test_init_from_safetensors_with_a_prefix_and_a_new_head(source_run, tmp_path):
    _, weights = source_run
    theirs = {f"model.{k}": v for k, v in weights.items() if not k.startswith("head.")}
    theirs["model.head.weight"] = torch.zeros(5, 8)  # the old task had 5 classes
    theirs["model.old_aux.weight"] = torch.zeros(2, 2)
    f = tmp_path / "backbone.safetensors"
    save_file(theirs, str(f))
    res, rep = _init(net(), f, tmp_path / "run")
    assert rep.prefix == "model."
    assert set(rep.loaded) == {k for k in weights if not k.startswith("head.")}
    assert rep.missing == ("head.bias",)
    assert rep.wrong_shape == (("head.weight", (5, 8), (3, 8)),)
    assert rep.unexpected == ("old_aux.weight",)
    assert "freshly initialised 1: head.bias" in rep.summary()
    assert from_json(to_json(rep)) == rep  # rank 0 reports it through the event log
    end = res.extra["model"].state_dict()
    assert not torch.equal(end["bn.running_mean"], weights["bn.running_mean"])  # trained on


def test_init_from_a_plain_state_dict_pt(source_run, tmp_path):
    _, weights = source_run
    f = tmp_path / "sd.pt"
    torch.save({"state_dict": {f"module.{k}": v for k, v in weights.items()}}, f)
    g = net()
    g.freeze("body")
    g.freeze("bn")
    res, rep = _init(g, f, tmp_path / "run")
    assert rep.prefix == "module." and set(rep.loaded) == set(weights)
    end = res.extra["model"].state_dict()
    assert torch.equal(end["bn.running_var"], weights["bn.running_var"])


def test_init_from_resolves_relative_to_the_project_file(source_run, tmp_path):
    from engine import save_project

    folder, _ = source_run
    g = net()
    g.settings["training"]["init_from"] = str(Path("..") / folder.name)
    p = folder.parent / "proj" / "p.json"
    p.parent.mkdir()
    save_project(g, p)
    res = train(load_project(p), out_dir=tmp_path, epochs=1)
    assert res.extra["init"].source == str(folder.parent / "proj" / ".." / folder.name)


def test_init_from_nothing_matching_is_refused_naming_the_file(tmp_path):
    f = tmp_path / "other.safetensors"
    save_file({"encoder.layer.weight": torch.zeros(3, 3)}, str(f))
    g = net()
    g.settings["training"]["init_from"] = str(f)
    with pytest.raises(TrainError, match=r"other\.safetensors: none of its 1 tensors fit") as e:
        train(g, out_dir=tmp_path / "run")
    assert e.value.file == str(f) and e.value.kind == "data"
    assert not (tmp_path / "run" / "last.pt").exists()


def test_init_from_a_pickled_object_is_refused_not_unpickled(tmp_path):
    f = tmp_path / "whole_model.pt"
    torch.save(torch.nn.Linear(4, 8), f)  # needs weights_only=False: it is a pickled object
    g = net()
    g.settings["training"]["init_from"] = str(f)
    with pytest.raises(TrainError, match=r"whole_model\.pt: holds Python objects.*weights_only"):
        train(g, out_dir=tmp_path / "run")


def test_init_from_a_missing_file(tmp_path):
    g = net()
    g.settings["training"]["init_from"] = str(tmp_path / "nope.pt")
    with pytest.raises(TrainError, match=r"nope\.pt: no such weights file"):
        train(g, out_dir=tmp_path / "run")


def test_resume_ignores_init_from(source_run, tmp_path):
    """A resumed run continues from its own checkpoint: init_from is not read again."""
    folder, _ = source_run
    g = net(epochs=1)
    g.settings["training"]["init_from"] = str(folder)
    train(g, out_dir=tmp_path)
    g.settings["training"]["init_from"] = str(tmp_path / "gone.pt")
    res = train(g, out_dir=tmp_path, resume=tmp_path / "last.pt", epochs=2)
    assert res.extra["init"] is None and res.epochs_completed == 2


def test_cli_init_from_override(source_run, tmp_path, capsys):
    from engine.cli import main
    from engine.project import save_project

    folder, _ = source_run
    p = tmp_path / "p.json"
    save_project(net(epochs=1), p)
    code = main(
        ["train", str(p), "--out", str(tmp_path / "run"), "--init-from", str(folder), "--quiet"]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"init_from: loaded 9 tensors from {folder}" in out


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["transfer_feature_extraction", "transfer_fine_tuning", "transfer_end_to_end"]
)
def test_transfer_examples_train_one_epoch(name, tmp_path):
    g = load_project(EXAMPLES / f"{name}.json")
    res = train(g, out_dir=tmp_path, epochs=1, device="cpu")
    rep = res.extra["init"]
    assert rep.missing == ("head.weight", "head.bias")
    assert set(rep.loaded) == {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
    assert res.test_metrics["accuracy"] > 0.5
    assert (EXAMPLES / "weights" / "digits_backbone.safetensors").stat().st_size < 200_000
    if name == "transfer_feature_extraction":
        from engine.train.weights import read_weights

        bundled = read_weights(EXAMPLES / "weights" / "digits_backbone.safetensors")
        end = res.extra["model"].state_dict()
        assert torch.equal(end["fc1.weight"], bundled["fc1.weight"])
