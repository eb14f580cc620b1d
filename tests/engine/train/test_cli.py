"""``torchwire train | evaluate | predict`` through ``engine.cli.main``: output and exit codes."""

from __future__ import annotations

import csv
import io
import json

from engine import save_project
from engine.cli import main
from tests.support.data import CSV, write_csv
from tests.support.pipelines import mlp, pipeline


def project(tmp_path, **kw):
    path = write_csv(tmp_path)
    g = pipeline(
        ("CSVDataset", {"path": path, "target": "label"}),
        mlp(2),
        data=[
            ("Clean", {}),
            ("OneHot", {}),
            ("Split", {"val": 0.2, "test": 0.2}),
            ("Standardize", {}),
            ("Batch", {"batch_size": 4}),
        ],
        **kw,
    )
    p = tmp_path / "proj.json"
    save_project(g, p)
    return str(p)


def test_train_evaluate_predict(tmp_path, capsys):
    p = project(tmp_path)
    run = tmp_path / "run"
    assert main(["train", p, "--epochs", "3", "--device", "cpu", "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert "training on cpu: 3 epochs" in out and "3/3" in out and "test" in out
    assert "train loss" in out.splitlines()[1]  # the per-epoch table's header
    assert (run / "metrics.json").exists() and (run / "best.pt").exists()
    history = list(csv.DictReader((run / "history.csv").open()))
    assert len(history) == 3

    assert main(["evaluate", p, "--checkpoint", str(run / "best.pt"), "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    saved = json.loads((run / "metrics.json").read_text())
    assert m["accuracy"] == saved["accuracy"] and len(m["confusion_matrix"]) == 2

    new = tmp_path / "new.csv"
    new.write_text("\n".join(CSV.splitlines()[:4]) + "\n", encoding="utf-8")
    assert main(["predict", p, "--checkpoint", str(run), "--input", str(new)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 3 and rows[0]["prediction"] in ("yes", "no")
    assert abs(float(rows[0]["p(no)"]) + float(rows[0]["p(yes)"]) - 1) < 1e-5
    out_csv = tmp_path / "pred.csv"
    assert (
        main(
            [
                "predict",
                p,
                "--checkpoint",
                str(run / "model.safetensors"),
                "--input",
                str(new),
                "-o",
                str(out_csv),
            ]
        )
        == 0
    )
    assert len(out_csv.read_text().splitlines()) == 4


def test_predict_warns_of_a_category_training_never_saw(tmp_path, capsys):
    p = project(tmp_path)
    run = tmp_path / "run"
    assert main(["train", p, "--epochs", "1", "--device", "cpu", "--out", str(run)]) == 0
    new = tmp_path / "new.csv"
    new.write_text("age,income,plan,score\n30,50.5,basic,1.0\n41,60.0,gold,2.5\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["predict", p, "--checkpoint", str(run), "--input", str(new)]) == 0
    out, err = capsys.readouterr()
    assert len(list(csv.DictReader(io.StringIO(out)))) == 2  # stdout stays the CSV
    assert err.strip() == (
        "warning: column 'plan': category 'gold' not seen in training, in row 2 "
        "(trained on basic, plus, pro); the model read it as none of those"
    )


def test_exit_codes(tmp_path, capsys):
    assert main(["train", str(tmp_path / "missing.json")]) == 2
    p = project(tmp_path, epochs=1)
    # a project that cannot train: 1
    from engine import load_project

    g = load_project(p)
    g.set("linear_2", out_features=5)
    bad = tmp_path / "bad.json"
    save_project(g, bad)
    assert main(["train", str(bad), "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "2 classes" in err and "Traceback" not in err
    # unreadable data: 2, naming the file, column and row
    (tmp_path / "table.csv").write_text("age,income,plan,score,label\n1,x,a,2,yes\n3,4,b,5,no\n")
    assert main(["train", p, "--out", str(tmp_path / "r2")]) == 2
    err = capsys.readouterr().err
    assert "table.csv" in err and "'income'" in err and "row 1" in err
    assert main(["evaluate", p, "--checkpoint", str(tmp_path / "none.pt")]) == 2
    assert main(["predict", p, "--checkpoint", str(tmp_path / "none.pt"), "--input", p]) == 2
