"""The Chinese interface: translations complete, loaded, and nothing visible left English.

The window is built with the zh_CN translator installed; every text in the menus, the
docks' titles and widgets, and the main dialogs (export, about, settings) must then be
Chinese, or a name that stays as it is (node and parameter names, torch terms, file
extensions, shortcuts, the allow-list below).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QCoreApplication, QLocale
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QDockWidget,
    QGroupBox,
    QLabel,
    QLineEdit,
    QMenu,
    QTabWidget,
    QWidget,
)

from designer import i18n

# Words that stay as they are in the Chinese interface: product and format names, torch
# and ML terms a Chinese engineer reads in English, and the language's own name.
ALLOWED = {
    "ONNX",
    "PyTorch",
    "Python",
    "CUDA",
    "CPU",
    "GPU",
    "MPS",
    "Apple",
    "Torchwire",
    "torch",
    "torchwire",
    "English",
    "epoch",
    "int8",
    "fp16",
    "fp32",
    "QDQ",
    "KServe",
    "NVIDIA",
    "Triton",
    "InferenceService",
    "FastAPI",
    "uvicorn",
    "onnxruntime",
    "Dockerfile",
    "README",
    "docker",
    "curl",
    "requirements",
    "txt",
    "URL",
    "API",
    "docs",
    "opset",
    "auto",
    "DistributedDataParallel",
    "FILE",
    "nproc",
    "per",
    "node",
    "host",
    "serve",
    "train",
    "pt",
    "last",
    "json",
    "csv",
    "npz",
    "tune",
    "runs",
    "project",
    "Ctrl",
    "Shift",
    "Tab",
    "Alt",
    "Del",
    "Backspace",
    "F2",
    "Esc",
    "Enter",
    "OK",
    "Cancel",
    "Ctrl+",
    "R²",
    "L1",
    "L2",
    "KB",
    "MB",
    "ms",
    "nan",
    "true",
    "false",
    "MACs",
    "MSE",
    "RMSE",
    "MAE",
}


def _names() -> set[str]:
    from engine import catalog
    from engine.catalog.settings import TRAINING_SETTINGS

    out: set[str] = set()
    for s in catalog.all_specs():
        out.add(s.type)
        out.update(p.name for p in s.params)
        out.update(s.infer)
        out.update(str(c) for p in s.params for c in (p.choices or ()))
    out.update(p.name for p in TRAINING_SETTINGS)
    out.add("lr_scale")  # a node's own attribute, named like the parameters
    return out


def untranslated(text: str, allowed: set[str]) -> bool:
    """True when ``text`` holds a Latin word that is not a name or an allowed term."""
    text = re.sub(r"<[^>]+>", " ", text or "")  # markup
    text = re.sub(r"\(&?[A-Za-z]\)|&(?=\w)", "", text)  # mnemonics: 文件(&F), &Python
    text = re.sub(r"\S+\.(json|onnx|py|csv|npz|pt|qm|ts)\b|\S*/\S*", " ", text)  # paths
    words = re.findall(r"[A-Za-z][A-Za-z0-9_²]*", text)
    # one- and two-letter tokens are symbols and units (y = xWᵀ + b, cm, A, B, C)
    return any(len(w) > 2 and w not in allowed and w.lower() not in allowed for w in words)


@pytest.fixture
def zh(qapp) -> Iterator[str]:  # type: ignore[no-untyped-def]
    lang = i18n.install(qapp, "zh_CN")
    yield lang
    i18n.install(qapp, "en")


def test_the_translations_are_complete_and_compiled() -> None:
    ts = ET.parse(i18n.I18N_DIR / "torchwire_zh_CN.ts").getroot()
    assert ts.get("language") == "zh_CN"
    open_ = [
        m.findtext("source")
        for m in ts.iter("message")
        if m.find("translation").get("type") in ("unfinished", "obsolete", "vanished")
        or not (m.findtext("translation") or "").strip()
    ]
    assert not open_, f"untranslated in torchwire_zh_CN.ts: {open_}"
    qm = i18n.I18N_DIR / "torchwire_zh_CN.qm"
    assert qm.is_file() and qm.stat().st_mtime_ns >= 0
    # placeholders survive translation
    for m in ts.iter("message"):
        src, tr = m.findtext("source") or "", m.findtext("translation") or ""
        need = set(re.findall(r"%\d", src)) - ({"%2"} if "sample%2" in src else set())
        assert need <= set(re.findall(r"%\d", tr)), (src, tr)


def test_every_string_in_the_code_is_in_the_ts_file() -> None:
    """A string wrapped after the last ``pyside6-lupdate`` run would show in English."""
    ts = ET.parse(i18n.I18N_DIR / "torchwire_zh_CN.ts").getroot()
    known = {
        (c.findtext("name"), m.findtext("source"))
        for c in ts.iter("context")
        for m in c.iter("message")
    }
    pat = re.compile(
        r'(?:translate|QT_TRANSLATE_NOOP)\(\s*"(\w+)",\s*((?:"(?:[^"\\]|\\.)*"\s*)+)[,)]'
    )
    missing = []
    for f in i18n.sources():
        for ctx, lits in pat.findall(f.read_text(encoding="utf-8")):
            text = "".join(eval(x) for x in re.findall(r'"(?:[^"\\]|\\.)*"', lits))
            if (ctx, text) not in known:
                missing.append(f"{f.name}: {ctx}: {text!r}")
    assert not missing, "run `python -m designer.i18n` (lupdate) and translate:\n" + "\n".join(
        missing
    )


def test_catalog_translations_cover_every_node_and_parameter_and_none_is_stale() -> None:
    data = json.loads((i18n.I18N_DIR / "catalog_zh_CN.json").read_text(encoding="utf-8"))
    want = i18n.catalog_entries()
    problems = []
    assert set(data["categories"]) == set(want["categories"])
    problems += [f"category {c}" for c, zh in data["categories"].items() if not zh]
    assert set(data["nodes"]) == set(want["nodes"]), "nodes added or removed"
    for t, e in want["nodes"].items():
        got = data["nodes"][t]
        if got.get("en") != e["en"] or not got.get("zh"):
            problems.append(t)
        if set(got["params"]) != set(e["params"]):
            problems.append(f"{t}: parameters {sorted(set(got['params']) ^ set(e['params']))}")
        for n, pe in e["params"].items():
            g = got["params"].get(n) or {}
            if g.get("en") != pe["en"] or not g.get("zh"):
                problems.append(f"{t}.{n}")
    assert set(data["settings"]) == set(want["settings"])
    for n, se in want["settings"].items():
        g = data["settings"][n]
        if g.get("en") != se["en"] or not g.get("zh"):
            problems.append(f"settings.{n}")
    assert not problems, (
        "catalog_zh_CN.json is stale; run `python -m designer.i18n --catalog` and translate: "
        + ", ".join(problems)
    )


def test_language_choice_system_locale_and_setting(qapp) -> None:  # type: ignore[no-untyped-def]
    assert i18n.chosen_language() == "system"
    QLocale.setDefault(QLocale(QLocale.Language.Chinese, QLocale.Country.China))
    try:
        if QLocale.system().language() == QLocale.Language.Chinese:  # pragma: no cover
            assert i18n.resolve("system") == "zh_CN"
    finally:
        QLocale.setDefault(QLocale(QLocale.Language.English))
    i18n.set_chosen_language("zh_CN")
    assert i18n.chosen_language() == "zh_CN"
    try:
        assert i18n.install(qapp) == "zh_CN"
        assert QCoreApplication.translate("MainWindow", "&File") == "文件(&F)"
    finally:
        i18n.install(qapp, "en")
    assert QCoreApplication.translate("MainWindow", "&File") == "&File"
    assert i18n.resolve("en") == "en"


def test_settings_dialog_saves_the_language(window, zh) -> None:  # type: ignore[no-untyped-def]
    d = window.show_settings()
    assert d.windowTitle() == "设置"
    d.language.setCurrentIndex(d.language.findData("en"))
    d.accept()
    assert i18n.chosen_language() == "en"
    assert "重新启动" in window.statusBar().currentMessage()


def test_catalog_docs_in_chinese(zh) -> None:  # type: ignore[no-untyped-def]
    from engine import catalog

    spec = next(s for s in catalog.all_specs() if s.type == "Conv2d")
    assert i18n.doc(spec.doc) == "在 (C, H, W) 输入上的二维卷积。"
    p = next(p for p in spec.params if p.name == "out_channels")
    assert i18n.doc(p.doc) == "卷积核（滤波器）个数"
    assert i18n.category("Layers") == "网络层"
    assert i18n.doc("not a catalog text") == "not a catalog text"


def _texts(w: QWidget) -> Iterator[tuple[str, str]]:
    """(where, text) for every visible text of a widget and its children."""
    for c in [w, *w.findChildren(QWidget)]:
        where = f"{type(c).__name__} {c.objectName() or ''}".strip()
        if isinstance(c, (QLabel, QAbstractButton)):
            yield where, c.text()
        if isinstance(c, QGroupBox):
            yield where, c.title()
        if isinstance(c, QLineEdit):
            yield where + " placeholder", c.placeholderText()
        if isinstance(c, QTabWidget):
            for i in range(c.count()):
                yield f"{where} tab {i}", c.tabText(i)
        if c.toolTip():
            yield where + " tooltip", c.toolTip()


def _menu_texts(menu: QMenu, path: str) -> Iterator[tuple[str, str]]:
    for a in menu.actions():
        if a.isSeparator():
            continue
        yield f"{path} ▸ {a.text()}", a.text()
        if a.toolTip() and a.toolTip() != a.text().replace("&", ""):
            yield f"{path} ▸ {a.text()} tooltip", a.toolTip()
        if a.menu() is not None:
            yield from _menu_texts(a.menu(), f"{path} ▸ {a.text()}")


def test_the_chinese_interface_has_no_english_left(zh, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from designer.app import MainWindow
    from designer.files import examples
    from designer.panels.export import OnnxExportDialog, PythonExportDialog
    from designer.widgets.settings_dialog import SettingsDialog

    win = MainWindow()
    qtbot.addWidget(win)
    win.ask_save_changes = lambda: "discard"
    assert win.open_path(next(p for p in examples() if p.stem == "iris"))
    win._fill_recent()
    # a node's form in Properties (labels, editors' tooltips, the shape and parameter lines)
    lin = next(nid for nid, n in win.document.graph.nodes.items() if n.type == "Linear")
    win.properties.show_nodes([lin])
    win.properties._report(win.document.check_now())
    # the examples' file names (Examples menu) and the project's own node names are data
    allowed = ALLOWED | _names() | {w for p in examples() for w in p.stem.split("_")}
    allowed |= {w for n in win.document.graph.nodes.values() for w in re.findall(r"\w+", n.name)}
    allowed |= set(re.findall(r"\w+", win.document.graph.name or ""))
    for info in win.document.check_now().data.values():  # the dataset's column names
        allowed |= {
            w
            for c in getattr(info, "feature_names", None) or ()
            for w in re.findall(r"\w+", str(c))
        }
    found: list[tuple[str, str]] = []
    for a in win.menuBar().actions():
        found.append(("menu bar", a.text()))
        if a.menu() is not None:
            found += _menu_texts(a.menu(), a.text())
    docks = win.findChildren(QDockWidget)
    assert len(docks) >= 7
    for d in docks:
        found.append((f"dock {d.objectName()}", d.windowTitle()))
        found += [(f"{d.objectName()}: {w}", t) for w, t in _texts(d.widget())]
    dialogs = [
        OnnxExportDialog(win, win.document),
        PythonExportDialog(win, win.document),
        SettingsDialog(win),
    ]
    win._about()
    dialogs.append(win.about_box)
    for dlg in dialogs:
        found.append((f"{type(dlg).__name__} title", dlg.windowTitle()))
        found += [(f"{type(dlg).__name__}: {w}", t) for w, t in _texts(dlg)]
    bad = sorted({f"{where}: {text!r}" for where, text in found if untranslated(text, allowed)})
    assert not bad, "English left in the Chinese interface:\n" + "\n".join(bad)
    # and the checks above did look at Chinese text
    assert win.dock_palette.windowTitle() == "节点库"
    win.close()
    QApplication.processEvents()


def test_every_training_setting_has_a_label() -> None:
    from engine.catalog.settings import TRAINING_SETTINGS

    assert set(i18n.SETTING_LABELS) == {p.name for p in TRAINING_SETTINGS}


def test_canvas_results_runs_and_tuning_speak_chinese(zh, qtbot) -> None:  # type: ignore[no-untyped-def]
    from designer.canvas.view import data_summary, data_wire_label
    from designer.panels.runs import STATUS_LABELS
    from designer.panels.training.results import METRIC_LABELS, metric_label
    from designer.panels.tuning import STATE_LABELS
    from designer.widgets.plots import ConfusionMatrixView, ScatterView
    from engine.runtime.prepare import DataInfo
    from engine.train.runs import RunStatus

    info = DataInfo(
        feature_shape=(3,),
        feature_dtype=None,  # type: ignore[arg-type]
        task="classification",
        class_names=("a", "b"),
        n_samples=10,
        feature_names=("x", "y", "z", "color"),
        text_columns=("color",),
    )
    seen = {
        "canvas tag": " · ".join(data_summary(info)),
        "wire": data_wire_label(info, "targets"),
        "regression tag": " · ".join(data_summary(DataInfo((3,), None, "regression", (), 5))),  # type: ignore[arg-type]
    }
    seen.update({f"metric {k}": metric_label(k) for k in METRIC_LABELS})
    seen.update({f"setting {k}": i18n.setting_label(k) for k in i18n.SETTING_LABELS})
    seen.update({f"run status {s}": QCoreApplication.translate("RunsPanel", s) for s in RunStatus})
    assert set(STATUS_LABELS) == {s.value for s in RunStatus}
    seen.update({f"trial {s}": QCoreApplication.translate("TuningPanel", s) for s in STATE_LABELS})
    for view in (ConfusionMatrixView(), ScatterView()):
        qtbot.addWidget(view)
        item = view.getPlotItem()
        for side in ("bottom", "left"):
            seen[f"{type(view).__name__} {side}"] = item.getAxis(side).labelText
    bad = {k: v for k, v in seen.items() if untranslated(v, ALLOWED)}
    assert not bad, bad


def test_chinese_without_a_cjk_font_is_said(zh, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(i18n, "has_cjk_font", lambda: False)
    assert "fonts-noto-cjk" in (i18n.font_warning() or "")
    monkeypatch.setattr(i18n, "has_cjk_font", lambda: True)
    assert i18n.font_warning() is None


def test_qts_own_file_dialog_speaks_chinese(zh, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Qt's widget file dialog (what the app gets without a native one) and its type column."""
    from PySide6.QtCore import QFileInfo
    from PySide6.QtWidgets import QFileDialog, QFileIconProvider

    dialog = QFileDialog(None, "", str(tmp_path))
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog)
    qtbot.addWidget(dialog)
    labels = {
        n: dialog.findChild(QLabel, n).text()
        for n in ("lookInLabel", "fileTypeLabel", "fileNameLabel")
    }
    bad = {n: t for n, t in labels.items() if untranslated(t, ALLOWED)}
    assert not bad, bad
    folder_type = QFileIconProvider().type(QFileInfo(str(tmp_path)))
    assert not untranslated(folder_type, ALLOWED), folder_type


def test_compress_columns_and_variant_descriptions_in_chinese(zh, qtbot) -> None:  # type: ignore[no-untyped-def]
    """The table's headers and each variant's description, worded from its recipe."""
    from designer.panels.compress import CompressDialog
    from engine.compress import CompressionReport, Recipe, Variant, VariantKind

    pruned = Recipe(VariantKind.PRUNED, 0.5, True, 1, "layer", 2, 3)
    report = CompressionReport(
        "/tmp/out", "classification", "accuracy",
        [Variant("original", "the trained model, fp32", "original.onnx", value=0.9),
         Variant("pruned-50", "pruned 50% (L1 channels)", "pruned-50.onnx", value=0.88,
                 drop=0.02, recipe=pruned),
         Variant("pruned-50-int8-static", "pruned 50% (L1 channels); int8 static",
                 "pruned-50-int8-static.onnx", value=0.87, drop=0.03,
                 recipe=Recipe(VariantKind.PRUNED, 0.5, False, 1, "global",
                               quantization="int8-static"))], {},
    )  # fmt: skip
    dlg = CompressDialog(None, None, None)
    qtbot.addWidget(dlg)
    dlg._on_done(report)
    t = dlg.table
    headers = {c: t.horizontalHeaderItem(c).text() for c in range(t.columnCount() - 1)}
    descriptions = {t.item(r, 0).text(): t.item(r, 9).text() for r in range(t.rowCount())}
    drops = {"drop " + t.item(r, 0).text(): t.item(r, 7).text() for r in range(1, t.rowCount())}
    bad = {
        k: v for k, v in {**headers, **descriptions, **drops}.items() if untranslated(v, ALLOWED)
    }
    assert not bad, bad
    assert "50%" in descriptions["pruned-50"] and "L1" in descriptions["pruned-50"]
    assert "int8" in descriptions["pruned-50-int8-static"]
