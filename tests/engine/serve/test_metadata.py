"""A model whose Torchwire metadata is malformed fails at load, in ``serve`` and ``bundle``
alike, with one line naming the file and the field (no raw TypeError or RecursionError,
and no server that starts and then answers 500 to every /predict)."""

from __future__ import annotations

import json
import shutil

import pytest

from engine.cli.main import main
from engine.serve.errors import ServeError
from engine.serve.model import ServedModel
from engine.serve.prepare import add_metadata

GOOD_PRE = {
    "source": {"kind": "table", "columns": ["a", "b", "c", "d"]},
    "steps": [{"type": "Standardize"}],
}
BAD = [
    ("class_names", "5", "must be a list of names"),
    ("class_names", "[" * 100_000 + "]" * 100_000, "is not valid JSON"),
    ("class_names", '[["x"], "b", "c"]', "not a name"),
    ("class_names", '["a", "b"]', "names 2 classes, the model's output has 3"),
    ("task", "clustering", "is 'clustering', not one of classification, regression"),
    ("readout", "argmax", "not one of logits"),
    ("preprocessing", "[1, 2]", "must be an object, not list"),
    ("preprocessing", '{"feature_shape": "abc"}', "feature_shape must be a list of sizes"),
    ("preprocessing", '{"steps": [5]}', "step 1 must be an object with a type"),
    ("preprocessing", '{"steps": [{"type": "OneHot", "categories": 5}]}', "categories must"),
    ("preprocessing", '{"steps": [{"type": "Clean", "fill": 5}]}', "fill must map"),
    ("preprocessing", '{"source": {"kind": "table", "columns": 5}}', "source.columns must"),
    (
        "preprocessing",
        '{"feature_names": ["a", "b", "c"]}',
        "gives 3 features, the model's input takes 4",
    ),
    (
        "preprocessing",
        json.dumps({**GOOD_PRE, "steps": [{"type": "OneHot", "categories": {"b": ["x", "y"]}}]}),
        "the columns make 5 features",
    ),
]


@pytest.fixture(scope="module")
def iris_onnx(trained):
    return trained["iris"].onnx


@pytest.mark.parametrize(("key", "value", "message"), BAD)
def test_malformed_metadata_fails_at_load_naming_file_and_field(
    iris_onnx, tmp_path, key, value, message
):
    path = tmp_path / "bad.onnx"
    shutil.copyfile(iris_onnx, path)
    add_metadata(path, {key: value})
    with pytest.raises(ServeError) as e:
        ServedModel(path, "m")
    assert str(path) in str(e.value) and f"metadata {key!r}" in str(e.value)
    assert message in str(e.value)


@pytest.mark.parametrize("command", ["serve", "bundle"])
def test_serve_and_bundle_say_it_in_one_line(iris_onnx, tmp_path, capsys, command):
    path = tmp_path / "bad.onnx"
    shutil.copyfile(iris_onnx, path)
    add_metadata(path, {"class_names": "[" * 100_000 + "]" * 100_000})
    extra = ["--out", str(tmp_path / "b")] if command == "bundle" else ["--port", "0"]
    assert main([command, str(path), *extra]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err and len(err.splitlines()) == 1
    assert "'class_names'" in err and str(path) in err
