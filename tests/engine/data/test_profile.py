"""What a table holds, said the same in the designer and the CLI: honest column counts (text
columns named), the file's columns for the target, and a Clean node's missing cells and
outliers with a hint when clipping is off."""

from __future__ import annotations

from pathlib import Path

from engine.analysis.check import check
from engine.cli.main import format_report
from engine.data.profile import clean_profile, count_table, feature_line, table_columns
from tests.support.data import CSV, data_graph, write_csv

OUTLIER_CSV = "a,b,label\n" + "".join(f"{i % 5},{i % 3},x\n" for i in range(40)) + "900,1,y\n"


def test_a_text_column_is_counted_and_named(tmp_path: Path) -> None:
    g = data_graph("CSVDataset", [], path=write_csv(tmp_path), target="label")
    rep = check(g)
    info = rep.data["ds"]
    assert info.feature_shape == (3,)  # what the model would get: the numeric columns
    line = feature_line(info)
    assert line.startswith("4 columns: 3 numeric, 1 text (plan)")
    assert "OneHot" in line


def test_a_numeric_table_is_its_shape(tmp_path: Path) -> None:
    g = data_graph("CSVDataset", [("OneHot", {})], path=write_csv(tmp_path), target="label")
    info = check(g).data["last"]
    assert feature_line(info) == "×".join(map(str, info.feature_shape))


def test_the_target_is_offered_from_the_files_header(tmp_path: Path) -> None:
    g = data_graph("CSVDataset", [], path=write_csv(tmp_path), target="")
    assert table_columns(g, "ds") == ["age", "income", "plan", "score", "label"]
    g.set("ds", header=False)
    assert table_columns(g, "ds") == ["0", "1", "2", "3", "4"]
    g.set("ds", path=str(tmp_path / "missing.csv"))
    assert table_columns(g, "ds") == []


def test_counts_of_missing_cells_and_outliers() -> None:
    import pandas as pd

    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 500.0], "b": [1.0] * 6 + [None]})
    c = count_table(df, 3.0)
    assert c.missing == {"b": 1} and c.outliers == {"a": 1}


def test_clean_says_what_it_finds_and_hints_at_clipping(tmp_path: Path) -> None:
    g = data_graph("CSVDataset", [("Clean", {})], path=write_csv(tmp_path, CSV), target="label")
    lines = clean_profile(g, "last")
    assert lines[0] == "2 missing cells (income 1, plan 1): filled (mean)"
    g2 = data_graph(
        "CSVDataset",
        [("Clean", {})],
        path=write_csv(tmp_path, OUTLIER_CSV, "o.csv"),
        target="label",
    )
    lines = clean_profile(g2, "last")
    assert lines[0] == "no missing cells"
    assert lines[1].startswith("1 outliers beyond median ± 3 robust SD (a 1): kept")
    assert "set clip_std to 3" in lines[1]
    g2.set("last", clip_std=3.0)
    assert clean_profile(g2, "last")[1].endswith(": clipped")


def test_the_check_shows_them_on_the_node_and_the_cli_prints_them(tmp_path: Path) -> None:
    g = data_graph(
        "CSVDataset",
        [("Clean", {})],
        path=write_csv(tmp_path, OUTLIER_CSV, "o.csv"),
        target="label",
    )
    rep = check(g)
    assert any("set clip_std to 3" in n for n in rep.data["last"].notes)
    text = format_report(g, rep, "p.json")
    assert "set clip_std to 3" in text
