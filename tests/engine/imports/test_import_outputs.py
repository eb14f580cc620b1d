"""Where an import writes: never over the model it reads, never over a file unless asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cli import main
from engine.fileio import WriteError
from engine.imports import import_model, save_import
from tests.support.onnx_models import tiny_onnx


def test_cli_import_onto_the_model_itself_is_refused_even_with_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tiny_onnx(tmp_path / "ok.onnx")
    before = model.read_bytes()
    for extra in ([], ["--force"]):
        assert main(["import", str(model), "-o", str(model), *extra]) == 2
        err = capsys.readouterr().err
        assert "ok.onnx" in err and "the model being imported" in err
        assert model.read_bytes() == before
    # the weights beside a project named like the model would land on it too
    weights_named = tiny_onnx(tmp_path / "w.safetensors")
    assert main(["import", str(weights_named), "-o", str(tmp_path / "w.json"), "--force"]) == 2
    assert "the model being imported" in capsys.readouterr().err


def test_cli_import_replaces_an_existing_project_or_weights_only_with_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tiny_onnx(tmp_path / "m.onnx")
    project, weights = tmp_path / "p.json", tmp_path / "p.safetensors"
    for existing in (project, weights):
        existing.write_text("mine")
        assert main(["import", str(model), "-o", str(project)]) == 2
        err = capsys.readouterr().err
        assert f"{existing.name} already exists" in err and "--force" in err
        assert existing.read_text() == "mine"
        other = weights if existing == project else project
        assert not other.exists()  # nothing half-written beside it
        existing.unlink()
    project.write_text("mine")
    weights.write_text("mine too")
    assert main(["import", str(model), "-o", str(project), "--force"]) == 0
    assert project.read_text().startswith("{") and weights.read_bytes() != b"mine too"


def test_cli_refuses_a_project_that_would_be_its_own_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tiny_onnx(tmp_path / "m.onnx")
    assert main(["import", str(model), "-o", str(tmp_path / "p.safetensors")]) == 2
    assert "the same file" in capsys.readouterr().err
    assert not (tmp_path / "p.safetensors").exists()


def test_save_import_replaces_nothing_unless_told(tmp_path: Path) -> None:
    model = tiny_onnx(tmp_path / "m.onnx")
    result = import_model(model)
    project = tmp_path / "p.json"
    project.write_text("mine")
    with pytest.raises(WriteError, match=r"p\.json already exists") as e:
        save_import(result, project)
    assert e.value.file == str(project)
    with pytest.raises(WriteError, match="already exists"):
        result.save(str(project))
    assert project.read_text() == "mine" and not (tmp_path / "p.safetensors").exists()
    save_import(result, project, overwrite=True)
    assert (tmp_path / "p.safetensors").is_file()
    with pytest.raises(WriteError, match="the model being imported"):
        save_import(result, model, overwrite=True)


def test_a_callable_that_exits_is_an_import_error_naming_the_spec(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.json"
    assert main(["import", "builtins:exit", "-o", str(out), "--input-shape", "3"]) == 1
    err = capsys.readouterr().err
    assert "builtins:exit" in err and "sys.exit" in err
    assert not out.exists()


def test_an_input_shape_too_big_for_an_example_is_refused_before_allocating(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torch
    from torch import nn

    from engine.imports import ModelImportError, import_module

    def no_allocation(*args: object, **kwargs: object) -> None:
        raise AssertionError("allocated the example input")

    monkeypatch.setattr(torch, "randn", no_allocation)
    with pytest.raises(ModelImportError, match=r"GiB.*--input-shape"):
        import_module(nn.Linear(4, 2), input_shape=(200_000, 200_000))
