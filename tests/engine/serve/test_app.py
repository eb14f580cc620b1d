"""Hostile requests to the application itself (in this process, no socket): every one gets
a 4xx that says what was wrong, never a 500; and the /docs page says how to lay out the
tensors the protocol takes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.serve.app import create_app
from engine.serve.model import ServedModel, readout
from tests.support.asgi import call

GOOD = {"name": "features", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}
DEEP = "[" * 100_000 + "]" * 100_000
HUGE = "9" * 4000


@pytest.fixture(scope="module")
def app(trained):
    return create_app(ServedModel(trained["iris"].onnx, "iris"), max_batch=64)


def _infer(inputs: str, **extra: str) -> str:
    return "{" + "".join(f'"{k}": {v}, ' for k, v in extra.items()) + f'"inputs": {inputs}}}'


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_infer(json.dumps([GOOD]), id="NaN"), "'id' must be a string"),
        (_infer(json.dumps([GOOD]), id="[Infinity]"), "'id' must be a string"),
        (_infer(json.dumps([GOOD]), id=HUGE), "'id' must be a string"),
        (_infer(DEEP), "nests deeper than"),
        (
            _infer(json.dumps([{**GOOD, "data": "@"}]).replace('"@"', "[" * 500 + "]" * 500)),
            "nests deeper than",
        ),
        (
            _infer(json.dumps([{**GOOD, "data": "@"}]).replace('"@"', f"[1e300, {HUGE}, 3, 4]")),
            "out of float32's range",
        ),
        (_infer(json.dumps([{**GOOD, "data": [1e300, 2, 3, 4]}])), "out of float32's range"),
    ],
)
def test_hostile_inference_requests_get_a_400(app, body, message):
    r = call(app, "POST", "/v2/models/iris/infer", body)
    assert r.status == 400, r.body
    assert message in r.json()["error"]
    assert len(r.json()["error"]) < 400


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (DEEP, "nests deeper than"),
        ('{"rows": ' + "[" * 500 + "]" * 500 + "}", "nests deeper than"),
        (f"[[{HUGE}, 2, 3, 4]]", "out of float32's range"),
        (
            f'[{{"sepal length (cm)": {HUGE}, "sepal width (cm)": 1, "petal length (cm)": 1, '
            '"petal width (cm)": 1}]',
            "out of float32's range",
        ),
        ("[[1e300, 2, 3, 4]]", "out of float32's range"),
        ("[[Infinity, 2, 3, 4]]", "is infinite"),
        (f'[[1, "{"7" * 5000}", 3, 4]]', "is out of float32's range"),
        (f'[[1, "{"x" * 5000}", 3, 4]]', "is not a number"),
    ],
)
def test_hostile_predict_requests_get_a_400(app, body, message):
    r = call(app, "POST", "/predict", body, {"content-type": "application/json"})
    assert r.status == 400, r.body
    assert message in r.json()["error"]
    assert len(r.json()["error"]) < 400


def test_more_rows_than_max_batch_are_refused_before_they_are_read(app):
    """A million CSV rows are refused at row 65 (--max-batch 64), not after parsing all."""
    header = "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)\n"
    rows = header + "1,2,3,4\n" * 64 + "1,2,3\n" + "x\n" * 1_000_000
    r = call(app, "POST", "/predict", rows, {"content-type": "text/csv"})
    assert r.status == 413, r.body
    assert "more than 64 rows" in r.json()["error"]
    rows = [[1, 2, 3, 4]] * 64 + [["not", "a", "row"]] * 1000
    r = call(app, "POST", "/predict", json.dumps(rows), {"content-type": "application/json"})
    assert r.status == 413 and "more than 64 rows" in r.json()["error"]


def test_non_finite_model_outputs_answer_null_not_500():
    out = np.array([[np.inf], [np.nan], [1.5]], np.float32)
    got = readout("regression", "", [], out)
    json.dumps(got, allow_nan=False)
    assert [r["prediction"] for r in got["predictions"]] == [None, None, 1.5]
    got = readout("classification", "logits", ["a", "b"], np.array([[np.nan, 1.0]], np.float32))
    json.dumps(got, allow_nan=False)


def test_the_docs_page_says_the_v2_input_layout(trained):
    """/v2 takes the model's tensor: which value is which (a category as its one-hot values,
    in the order of its categories) is on the /docs page, for the protocol's users."""
    doc = create_app(ServedModel(trained["csv_tabular"].onnx, "m")).app.openapi()
    text = doc["info"]["description"]
    assert "The `/v2` input layout." in text
    assert "per sample 10 raw values" in text
    assert "age; income; plan=basic, plan=plus, plan=pro (one-hot: 1 for the row's plan" in text
    infer = doc["paths"]["/v2/models/{model_name}/infer"]["post"]["requestBody"]
    assert "plan=basic, plan=plus, plan=pro" in infer["description"]
