"""``/predict`` answers exactly as ``torchwire predict`` (engine.train.inference.predict) for
the same rows: JSON objects, lists, CSV; categories, missing values, regression."""

from __future__ import annotations

import csv
import http.client
import io
import json

import numpy as np
import pytest
import torch

from engine.runtime.head import Head, LossSpec
from engine.serve.model import readout
from engine.train.inference import predict


def _post(server, body, ctype="application/json"):
    host, port = server.host.split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        c.request("POST", "/predict", body=body, headers={"Content-Type": ctype})
        r = c.getresponse()
        return r.status, json.loads(r.read())
    finally:
        c.close()


def _same(served: dict, want, *, tol=1e-5) -> None:
    rows = want.to_rows()
    got = served["predictions"]
    assert len(got) == len(rows)
    for g, w in zip(got, rows, strict=True):
        assert set(g) == set(w)
        if isinstance(w["prediction"], str):
            assert g["prediction"] == w["prediction"]
        else:
            np.testing.assert_allclose(g["prediction"], w["prediction"], rtol=tol, atol=tol)
        for k in w:
            if k.startswith("p("):
                assert g[k] == pytest.approx(w[k], abs=tol)


def _csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


@pytest.fixture(scope="module")
def servers(trained, tmp_path_factory):
    from .conftest import Server

    started = {ex: Server(["--model", str(trained[ex].onnx)])
               for ex in ("iris", "csv_tabular", "diabetes")}  # fmt: skip
    yield started
    for s in started.values():
        s.stop()


def test_iris_objects_lists_and_csv_equal_predict(servers, trained):
    t = trained["iris"]
    rng = np.random.default_rng(3)
    x = rng.normal([5.8, 3.0, 3.7, 1.2], [0.8, 0.4, 1.7, 0.7], size=(40, 4)).round(2)
    cols = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
    want = predict(str(t.project), str(t.run), x.tolist())
    assert len(set(want.labels)) > 1  # the comparison covers more than one class
    objs = [dict(zip(cols, map(float, r))) for r in x]
    for body, ctype in (
        (json.dumps(objs), "application/json"),
        (json.dumps({"rows": x.tolist()}), "application/json"),
        (json.dumps(objs[0]), "application/json"),
        (_csv(objs), "text/csv"),
    ):
        code, out = _post(servers["iris"], body, ctype)
        assert code == 200, out
        assert out["class_names"] == ["setosa", "versicolor", "virginica"]
        n = len(out["predictions"])
        _same(out, want if n == 40 else predict(str(t.project), str(t.run), x[:1].tolist()))


def test_categories_and_missing_values_equal_predict(servers, trained, tmp_path):
    t = trained["csv_tabular"]
    rows = [
        {"age": 30, "income": 40.5, "plan": "pro", "region": "north", "visits": 3},
        {"age": None, "income": 70, "plan": "basic", "region": "west", "visits": 12},
        {"age": 61, "income": None, "plan": None, "region": "east", "visits": 1},
        {"age": 45, "income": 55, "plan": "unknown-plan", "region": "south", "visits": None},
        {"age": "52", "income": " 33.5", "plan": " plus", "region": "north", "visits": "7"},
    ]
    path = tmp_path / "new.csv"
    path.write_text(_csv(rows))
    want = predict(str(t.project), str(t.run), str(path))
    # the unseen category is predicted, and said in the same words as torchwire predict
    assert (
        len(want.warnings) == 1
        and "'unknown-plan' not seen in training, in row 4" in (want.warnings[0])
    )
    code, out = _post(servers["csv_tabular"], json.dumps(rows))
    assert code == 200, out
    _same(out, want)
    assert out["warnings"] == want.warnings
    code, out = _post(servers["csv_tabular"], path.read_text(), "text/csv")
    assert code == 200, out
    _same(out, want)
    assert out["warnings"] == want.warnings
    code, out = _post(servers["csv_tabular"], json.dumps(rows[:3]))
    assert code == 200 and "warnings" not in out
    # lists in the data's column order, as predict takes them
    lists = [[r[c] for c in ("age", "income", "plan", "region", "visits")] for r in rows]
    code, out = _post(servers["csv_tabular"], json.dumps(lists))
    assert code == 200, out
    _same(out, predict(str(t.project), str(t.run), lists))


def test_regression_equals_predict(servers, trained):
    t = trained["diabetes"]
    x = np.random.default_rng(4).normal(0, 0.05, size=(25, 10)).round(4)
    want = predict(str(t.project), str(t.run), x.tolist())
    code, out = _post(servers["diabetes"], json.dumps(x.tolist()))
    assert code == 200, out
    assert out["task"] == "regression"
    _same(out, want, tol=1e-3)
    assert np.std([r["prediction"] for r in out["predictions"]]) > 0


@pytest.mark.parametrize(
    ("example", "body", "ctype", "status", "message"),
    [
        ("iris", "[]", "application/json", 400, "the batch is empty"),
        ("iris", "[{", "application/json", 400, "malformed JSON"),
        ("iris", "", "application/json", 400, "the request body is empty"),
        ("iris", '"hello"', "application/json", 400, "the body must be a row"),
        ("iris", "[[1, 2, 3]]", "application/json", 400, "row 1 has 3 values, the model takes 4"),
        (
            "iris",
            '[{"sepal length (cm)": 1}]',
            "application/json",
            400,
            "feature 'sepal width (cm)' is missing",
        ),
        (
            "iris",
            '[[1, 2, 3, 4], {"petal size": 1}]',
            "application/json",
            400,
            "row 2: no feature 'petal size'",
        ),
        ("iris", '[[1, "abc", 3, 4]]', "application/json", 400, "'abc' is not a number"),
        (
            "iris",
            "[[1, NaN, 3, 4]]",
            "application/json",
            400,
            "feature 'sepal width (cm)' is missing and the model's preprocessing does not fill it",
        ),
        ("iris", "[[1, Infinity, 3, 4]]", "application/json", 400, "is infinite"),
        ("iris", "[[1, null, 3, 4]]", "application/json", 400, "is missing"),
        ("iris", "a,b\n1,2\n", "text/csv", 400, "no feature 'a'"),
        ("iris", "sepal length (cm)\n", "text/csv", 400, "the CSV has a header but no rows"),
        ("iris", "<rows/>", "application/xml", 415, "content type 'application/xml'"),
        (
            "iris",
            json.dumps([[1, 2, 3, 4]] * 4097),
            "application/json",
            413,
            "more than 4096 rows: this server takes at most 4096 at once (--max-batch 4096)",
        ),
        (
            "csv_tabular",
            '[{"age": 1, "income": 2, "plan": "pro", "region": "x", "visits": "many"}]',
            "application/json",
            400,
            "feature 'visits': 'many' is not a number",
        ),
    ],
)
def test_bad_rows_get_their_4xx(servers, example, body, ctype, status, message):
    code, out = _post(servers[example], body, ctype)
    assert code == status, out
    assert message in out["error"]
    code, out = _post(servers["iris"], "[[5.1, 3.5, 1.4, 0.2]]")  # still answering
    assert code == 200 and out["predictions"][0]["prediction"] in (
        "setosa",
        "versicolor",
        "virginica",
    )


def test_a_missing_number_is_filled_where_the_project_cleans(servers):
    """csv_tabular has a Clean node (median fill): a missing age is no error, an infinite one
    is (Clean fills, it does not clip here)."""
    row = {"age": None, "income": 40, "plan": "pro", "region": "north", "visits": 3}
    code, out = _post(servers["csv_tabular"], json.dumps([row]))
    assert code == 200, out
    code, out = _post(servers["csv_tabular"], json.dumps([{**row, "age": float("inf")}]))
    assert code == 400 and "feature 'age' is infinite" in out["error"]


@pytest.mark.parametrize(
    ("how", "width"), [("logits", 4), ("log_probs", 4), ("sigmoid", 4), ("logits", 1)]
)
def test_the_numpy_readout_is_the_heads(how, width):
    """The served readout against the engine's own Head (softmax/exp/sigmoid/one logit)."""
    out = torch.randn(50, width) * 3
    if how == "log_probs":
        out = torch.log_softmax(out, 1)
    names = [f"c{i}" for i in range(max(2, width))]
    head = Head(LossSpec("CrossEntropyLoss", readout=how), "classification", len(names),
                (width,), torch.device("cpu"))  # fmt: skip
    got = readout("classification", how, names, out.numpy())
    want_p = head.probabilities(out).numpy()
    want_i = head.predict(out).numpy()
    assert [r["prediction"] for r in got["predictions"]] == [names[i] for i in want_i]
    probs = np.array([[r[f"p({c})"] for c in names] for r in got["predictions"]])
    np.testing.assert_allclose(probs, want_p, rtol=1e-5, atol=1e-6)
