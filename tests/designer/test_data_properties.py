"""Properties of table data nodes: an honest column count, the file's columns offered for the
target, a file chooser that lists tables first, and a Clean node's counts and hint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog

from designer.document import Document
from designer.panels.properties import PropertiesPanel
from tests.support.data import CSV, data_graph, write_csv


def _panel(qtbot: Any, doc: Document) -> PropertiesPanel:
    props = PropertiesPanel(doc)
    qtbot.addWidget(props)
    return props


def test_csv_node_counts_text_columns_and_offers_the_columns_as_target(
    qtbot: Any, tmp_path: Path
) -> None:
    doc = Document(data_graph("CSVDataset", [], path=write_csv(tmp_path, CSV), target=""))
    props = _panel(qtbot, doc)
    props.show_nodes(["ds"])
    doc.wait_checked(60)
    props._report(doc.report)
    target = props.editors["target"]
    menu = target.choices_button.menu()
    assert menu is not None
    assert [a.text() for a in menu.actions()] == ["age", "income", "plan", "score", "label"]
    menu.actions()[-1].trigger()
    assert doc.graph.nodes["ds"].params["target"] == "label"
    doc.wait_checked(60)
    props._report(doc.report)
    text = props.info.text()
    assert "4 columns: 3 numeric, 1 text (plan)" in text and "features <b>3</b>" not in text


def test_the_csv_chooser_lists_tables_first(qtbot: Any, tmp_path: Path, monkeypatch: Any) -> None:
    doc = Document(data_graph("CSVDataset", [], path="", target=""))
    props = _panel(qtbot, doc)
    props.show_nodes(["ds"])
    seen: dict[str, str] = {}

    def fake(parent: Any, caption: str, where: str, filters: str = "", *a: Any) -> Any:
        seen["filters"] = filters
        return "", ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", fake)
    props.editors["path"]._browse()
    first = seen["filters"].split(";;")[0]
    assert "*.csv" in first and "*.tsv" in first


def test_clean_shows_missing_cells_and_outliers_with_a_hint(qtbot: Any, tmp_path: Path) -> None:
    text = "a,b,label\n" + "".join(f"{i % 5},{i % 3},x\n" for i in range(40)) + "900,,y\n"
    doc = Document(
        data_graph("CSVDataset", [("Clean", {})], path=write_csv(tmp_path, text), target="label")
    )
    props = _panel(qtbot, doc)
    props.show_nodes(["last"])
    doc.wait_checked(60)
    props._report(doc.report)
    shown = props.info.text()
    assert "1 missing cells (b 1)" in shown
    assert "1 outliers" in shown and "set clip_std to 3" in shown
