"""Python export: the script runs on its own (subprocess, no Torchwire importable), its model
computes what the compiled graph computes, and its training code prepares the same data and
reproduces the engine's training."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from engine import ExportError, compile_model, export_python, load_project
from engine.train import load_checkpoint
from tests.support import graphs
from tests.support.paths import EXAMPLES

BLOCK_ENGINE = "import sys; sys.modules['engine'] = None; "


def run_script(script: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``python -I script args`` with Torchwire made unimportable."""
    code = (
        BLOCK_ENGINE + f"sys.argv = [{str(script)!r}, *{list(args)!r}]; "
        f"import runpy; runpy.run_path({str(script)!r}, run_name='__main__')"
    )
    proc = subprocess.run(
        [sys.executable, "-I", "-c", code], cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            out |= {a.name.split(".")[0] for a in n.names}
        elif isinstance(n, ast.ImportFrom) and n.module:
            out.add(n.module.split(".")[0])
    return out


@pytest.mark.parametrize(
    "build", [graphs.resnet_small, graphs.lstm_classifier, graphs.transformer_encoder]
)
def test_script_model_equals_the_compiled_graph(build, tmp_path: Path) -> None:
    g = build()
    model = compile_model(g).eval()
    out = tmp_path / "model.py"
    rep = export_python(model, out)
    assert rep.ok and rep.max_abs <= 1e-6, str(rep)
    # safetensors only inside the loader, for .safetensors checkpoints
    assert imports_of(out) <= {"argparse", "os", "numpy", "torch", "safetensors"}
    text = out.read_text()
    info = model.torchwire
    assert f"class {info.class_name}(nn.Module):" in text
    for attr in info.node_of_attr:  # layers named after the nodes
        if hasattr(model, attr):
            assert f"self.{attr} = " in text
    # run the script itself: weights from a file the test writes, inputs from .npy
    weights = tmp_path / "w.pt"
    torch.save({"model": model.state_dict()}, weights)
    xs = model.torchwire.example_inputs(4)
    if xs[0].dtype == torch.int64:
        xs = (torch.randint(0, 50, xs[0].shape),)
    np.save(tmp_path / "x.npy", xs[0].numpy())
    proc = run_script(
        out, "--weights", str(weights), "--input", "x.npy", "--output", "y.npy", cwd=tmp_path
    )
    assert "shape (4," in proc.stdout
    with torch.no_grad():
        want = model(*xs).numpy()
    assert np.abs(np.load(tmp_path / "y.npy") - want).max() <= 1e-5


def test_multi_input_multi_output_and_custom_layers(tmp_path: Path) -> None:
    g = graphs.two_towers()
    g.connect(g.by_name("act").id, g.add("Maxout", name="maxout", out_features=4))
    g.connect(g.by_name("maxout").id, g.add("Output", name="extra"))
    out = tmp_path / "m.py"
    rep = export_python(g, out)
    assert rep.ok and len(rep.outputs) == 3, str(rep)
    assert "class Maxout(nn.Module):" in out.read_text()  # our own layer, inlined


def test_checkpoint_weights_load_from_the_script(trained, tmp_path: Path) -> None:
    run = trained("iris")
    ckpt = load_checkpoint(run)
    g = load_project(EXAMPLES / "iris.json")
    out = tmp_path / "sub" / "iris.py"
    rep = export_python(g, out, checkpoint=run)
    assert rep.ok
    text = out.read_text()
    assert 'TASK = "classification"' in text and '"setosa"' in text
    assert "WEIGHTS = " in text and "best.pt" in text
    x = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    np.save(out.parent / "x.npy", x)
    proc = run_script(out, "--input", "x.npy", "--output", "y.npy", cwd=out.parent)
    assert "predicted:" in proc.stdout
    model = compile_model(g).eval()
    model.load_state_dict(ckpt.state_dict)
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    assert np.abs(np.load(out.parent / "y.npy") - want).max() <= 1e-6
    # safetensors too
    proc = run_script(
        out,
        "--weights",
        str(run / "model.safetensors"),
        "--input",
        "x.npy",
        cwd=out.parent,
    )
    assert "linear_2" in proc.stdout


_TRAIN_HARNESS = """
import sys, importlib.util, numpy as np, torch
sys.dont_write_bytecode = True
sys.modules["engine"] = None
spec = importlib.util.spec_from_file_location("exported", sys.argv[1])
mod = importlib.util.module_from_spec(spec); sys.modules["exported"] = mod
spec.loader.exec_module(mod)
data = mod.prepare_data()
np.savez(sys.argv[2], **{f"x_{k}": v for k, v in data["x"].items()},
         **{f"y_{k}": v for k, v in data["y"].items()})
model = mod.train(epochs=int(sys.argv[4]), log=lambda s: None)
torch.save(model.last_state, sys.argv[3])
"""


@pytest.mark.slow
@pytest.mark.parametrize("name", ["csv_tabular", "diabetes", "digits_cnn"])
def test_training_code_prepares_the_same_data_and_reproduces_training(
    name: str, trained, tmp_path: Path
) -> None:
    from engine.analysis.check import check
    from engine.data.pipeline import chain_of, prepare

    run = trained(name)  # 2 epochs with the project's settings
    g = load_project(EXAMPLES / f"{name}.json")
    out = tmp_path / f"{name}.py"
    rep = export_python(g, out, checkpoint=run, with_training=True)
    assert rep.ok and rep.info["with_training"]
    assert imports_of(out) <= {
        "__future__", "argparse", "os", "sys", "math", "dataclasses", "typing",
        "numpy", "pandas", "sklearn", "torch", "safetensors",
        "torchwire_runtime",  # the engine's runtime package, shipped beside the script
    }  # fmt: skip
    harness = tmp_path / "h.py"
    harness.write_text(_TRAIN_HARNESS)
    proc = subprocess.run(
        [sys.executable, "-I", str(harness), str(out), "data.npz", "state.pt", "2"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the same data, split and fitted preprocessing as the engine's
    plan = check(g).extra["train_plan"]
    prep = prepare(chain_of(g, plan.data))
    got = np.load(tmp_path / "data.npz")
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(got[f"x_{split}"], prep.x[split])
        np.testing.assert_array_equal(got[f"y_{split}"], prep.y[split])
    # the same training: the weights after 2 epochs match the engine's last checkpoint
    last = torch.load(run / "last.pt", weights_only=True)["model"]
    mine = torch.load(tmp_path / "state.pt", weights_only=True)
    assert mine.keys() == last.keys()
    for k in last:
        assert torch.allclose(mine[k], last[k], atol=1e-5), k


def test_training_code_needs_a_trainable_project(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="needs a project that can train"):
        export_python(graphs.resnet_small(), tmp_path / "r.py", with_training=True)
    assert list(tmp_path.iterdir()) == []


def test_bad_names_and_failing_scripts_leave_nothing(tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(ExportError, match=r"needs a \.py file name"):
        export_python(graphs.resnet_small(), tmp_path / "r.txt")
    import engine.export.python as py

    monkeypatch.setattr(py, "_RUNTIME", py._RUNTIME.replace("return model.eval()", "1 / 0"))
    with pytest.raises(ExportError, match=r"failed to run.*ZeroDivisionError"):
        export_python(graphs.resnet_small(), tmp_path / "r.py")
    assert list(tmp_path.iterdir()) == []


def test_exported_scripts_are_lint_and_format_clean(trained, tmp_path: Path) -> None:
    """What a PyTorch user opens should already pass the usual linter and formatter."""
    model_only = tmp_path / "lenet.py"
    export_python(load_project(EXAMPLES / "lenet.json"), model_only)
    with_training = tmp_path / "digits.py"
    run = trained("digits_cnn")
    export_python(
        load_project(EXAMPLES / "digits_cnn.json"), with_training, checkpoint=run,
        with_training=True,
    )  # fmt: skip
    for args in (
        ["check", "--select", "E,F,W,I", "--ignore", "E501"],
        ["format", "--check"],
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "ruff", *args, "--isolated", "--line-length", "100",
             str(model_only), str(with_training)],
            capture_output=True,
            text=True,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_model_node_type_in_one_script(tmp_path: Path) -> None:
    """All catalog cases side by side: the script's model matches output by output."""
    from tests.support.catalog_cases import model_specs

    g = graphs.whole_catalog(model_specs())
    model = compile_model(g)
    rep = export_python(model, tmp_path / "catalog.py")
    assert rep.ok, str(rep)
    assert len(rep.outputs) == len(model_specs()) and rep.max_abs <= 1e-6
