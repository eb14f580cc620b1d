"""The designer's languages: Qt translators for the interface, a JSON file for the catalog.

The interface's strings are wrapped with ``self.tr`` / ``translate(context, text)`` and
extracted by ``pyside6-lupdate`` into ``resources/i18n/torchwire_<lang>.ts``; the compiled
``.qm`` files are loaded here at start (``python -m designer.i18n --release`` rebuilds
them). The engine stays Qt-free and English: the catalog's node, parameter and category
docs are translated in ``resources/i18n/catalog_<lang>.json``, which records the English
text each translation was made from (``tests/designer/test_i18n.py`` finds stale ones).

The language is ``settings()["ui/language"]``: ``"system"`` (Chinese when the system
locale is Chinese, else English), ``"en"`` or ``"zh_CN"``; a change takes effect on restart.
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QLocale, QTranslator

I18N_DIR = Path(__file__).resolve().parent.parent / "resources" / "i18n"
LANGUAGES = ("system", "en", "zh_CN")  # the settings' choices
TRANSLATED = ("zh_CN",)  # the languages with a .ts/.qm and a catalog file
SETTING = "ui/language"

_state: dict[str, Any] = {"lang": "en", "translators": []}


def translate(context: str, text: str, disambiguation: str | None = None) -> str:
    """``QCoreApplication.translate``; ``pyside6-lupdate`` finds these calls by name."""
    return QCoreApplication.translate(context, text, disambiguation)


def fmt(template: str, *args: object) -> str:
    """Fill ``%1``, ``%2``… (Qt's placeholders, which a translation may reorder)."""
    for i in range(len(args), 0, -1):
        template = template.replace(f"%{i}", str(args[i - 1]))
    return template


def chosen_language() -> str:
    """The setting: ``"system"``, ``"en"`` or ``"zh_CN"``."""
    from designer.files import settings

    v = settings().value(SETTING, "system")
    return str(v) if str(v) in LANGUAGES else "system"


def set_chosen_language(lang: str) -> None:
    from designer.files import settings

    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    s = settings()
    s.setValue(SETTING, lang)
    s.sync()


def resolve(lang: str) -> str:
    """``"system"`` becomes ``"zh_CN"`` on a Chinese system locale, else ``"en"``."""
    if lang == "system":
        return "zh_CN" if QLocale.system().language() == QLocale.Language.Chinese else "en"
    return lang


def current_language() -> str:
    """The language installed now (``"en"`` until ``install`` loads another)."""
    return str(_state["lang"])


def install(app: QCoreApplication, lang: str | None = None) -> str:
    """Load the translators for ``lang`` (default: the setting) into ``app``; returns the
    language in effect. English removes any installed translator."""
    lang = resolve(lang if lang is not None else chosen_language())
    for t in _state["translators"]:
        app.removeTranslator(t)
    _state["translators"] = []
    _state["lang"] = "en"
    if lang not in TRANSLATED:
        return "en"
    t = QTranslator(app)
    if not t.load(str(I18N_DIR / f"torchwire_{lang}.qm")):
        return "en"
    app.installTranslator(t)
    _state["translators"].append(t)
    qt = QTranslator(app)  # Qt's own (standard buttons, dialogs) where PySide6 ships them
    from PySide6.QtCore import QLibraryInfo

    path = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    if qt.load(f"qtbase_{lang}", path):
        app.installTranslator(qt)
        _state["translators"].append(qt)
    _state["lang"] = lang
    return lang


# -- Qt's own strings that PySide6's qtbase translation lacks ---------------------------------
# Qt 6 changed these texts (mnemonics added; "Folder" given a disambiguation), and the
# qtbase_<lang>.qm that PySide6 ships was made from the older ones, so Qt's file dialog kept
# them in English. They are translated in torchwire_<lang>.ts under Qt's own contexts: Qt asks
# each installed translator in turn, so ours answers where qtbase has nothing.
def qt_missing() -> tuple[str, ...]:
    """These strings in the current language. The calls are what puts them in the .ts file
    (lupdate reads a disambiguation only from a ``translate`` call)."""
    return (
        translate("QFileDialog", "&Look in:"),
        translate("QFileDialog", "Files of &type:"),
        translate("QAbstractFileIconProvider", "Drive"),
        translate("QAbstractFileIconProvider", "Folder", "All other platforms"),
        translate("QAbstractFileIconProvider", "Unknown"),
    )


# -- labels of the training settings ------------------------------------------------------
# The settings' names are the project file's keys (and the CLI's); the form shows these
# labels, and each setting's name in its tooltip. ``tests/designer/test_i18n.py`` checks that
# every setting has one.
SETTING_LABELS = {
    "epochs": QT_TRANSLATE_NOOP("TrainingSettings", "epochs"),
    "device": QT_TRANSLATE_NOOP("TrainingSettings", "device"),
    "seed": QT_TRANSLATE_NOOP("TrainingSettings", "seed"),
    "amp": QT_TRANSLATE_NOOP("TrainingSettings", "mixed precision"),
    "grad_clip": QT_TRANSLATE_NOOP("TrainingSettings", "gradient clipping"),
    "monitor": QT_TRANSLATE_NOOP("TrainingSettings", "monitor"),
    "early_stopping": QT_TRANSLATE_NOOP("TrainingSettings", "early stopping"),
    "patience": QT_TRANSLATE_NOOP("TrainingSettings", "patience"),
    "min_delta": QT_TRANSLATE_NOOP("TrainingSettings", "minimum improvement"),
    "cpu_threads": QT_TRANSLATE_NOOP("TrainingSettings", "CPU threads"),
    "checkpoint": QT_TRANSLATE_NOOP("TrainingSettings", "checkpoint"),
    "sync_batchnorm": QT_TRANSLATE_NOOP("TrainingSettings", "synchronized batch norm"),
    "distill_alpha": QT_TRANSLATE_NOOP("TrainingSettings", "distillation weight"),
    "distill_temperature": QT_TRANSLATE_NOOP("TrainingSettings", "distillation temperature"),
    "init_from": QT_TRANSLATE_NOOP("TrainingSettings", "initial weights"),
    "max_model_memory_gb": QT_TRANSLATE_NOOP("TrainingSettings", "model memory limit (GB)"),
}


def setting_label(name: str) -> str:
    """A training setting's label in the current language (its name when it has none)."""
    return translate("TrainingSettings", SETTING_LABELS.get(name, name.replace("_", " ")))


# -- fonts ----------------------------------------------------------------------------------
def has_cjk_font() -> bool:
    """Whether an installed font can draw Chinese (without one, 中文 shows as boxes)."""
    from PySide6.QtGui import QFontDatabase

    return bool(QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese))


def font_warning() -> str | None:
    """The one status message for Chinese without a CJK font, in English (which any font
    draws), else None."""
    if current_language() == "zh_CN" and not has_cjk_font():
        return (
            "No Chinese font is installed: Chinese text shows as boxes. Install one "
            "(e.g. sudo apt install fonts-noto-cjk) and restart."
        )
    return None


# -- the catalog's docs ------------------------------------------------------------------
@cache
def catalog_translations(lang: str) -> dict[str, Any]:
    """``{"categories": {en: zh}, "nodes": {type: {"en", "zh", "params": {name: {en, zh}}}},
    "settings": {name: {en, zh}}}``; empty when the file is missing."""
    f = I18N_DIR / f"catalog_{lang}.json"
    if not f.is_file():
        return {}
    return json.loads(f.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _pick(entry: Any, en: str) -> str:
    # a translation made from other English (the catalog changed since) is not used
    if isinstance(entry, dict) and entry.get("en") == en and entry.get("zh"):
        return str(entry["zh"])
    return en


@cache
def _doc_index(lang: str) -> dict[str, str]:
    tr = catalog_translations(lang)
    out: dict[str, str] = {}
    for n in (tr.get("nodes") or {}).values():
        for e in [n, *(n.get("params") or {}).values()]:
            if e.get("zh"):
                out.setdefault(e["en"], e["zh"])
    for e in (tr.get("settings") or {}).values():
        if e.get("zh"):
            out.setdefault(e["en"], e["zh"])
    return out


def doc(text: str) -> str:
    """Any catalog doc (node, parameter, training setting) in the current language: the
    translation made from exactly this English, else the English."""
    if not text or current_language() == "en":
        return text
    return _doc_index(current_language()).get(text, text)


def node_doc(spec: Any) -> str:
    """The node's doc in the current language (English when not translated)."""
    tr = catalog_translations(current_language())
    return _pick(tr.get("nodes", {}).get(spec.type), spec.doc) if tr else spec.doc


def param_doc(spec_type: str | None, p: Any) -> str:
    """A parameter's doc; ``spec_type`` None for the training settings."""
    tr = catalog_translations(current_language())
    if not tr or not p.doc:
        return str(p.doc)
    if spec_type is None:
        return _pick(tr.get("settings", {}).get(p.name), p.doc)
    node = tr.get("nodes", {}).get(spec_type) or {}
    return _pick((node.get("params") or {}).get(p.name), p.doc)


def category(name: str) -> str:
    tr = catalog_translations(current_language())
    return str((tr.get("categories") or {}).get(name) or name) if tr else name


# -- rebuilding -------------------------------------------------------------------------------
def sources() -> list[Path]:
    root = Path(__file__).resolve().parent
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def _tool(name: str) -> str:
    exe = Path(sys.executable).with_name(name)
    return str(exe) if exe.exists() else name


def update() -> None:
    """``pyside6-lupdate`` over designer/ into the .ts files (keeps existing translations)."""
    for lang in TRANSLATED:
        subprocess.run(
            [
                _tool("pyside6-lupdate"),
                *map(str, sources()),
                "-no-obsolete",
                "-locations",
                "none",
                "-ts",
                str(I18N_DIR / f"torchwire_{lang}.ts"),
            ],
            check=True,
        )


def release() -> None:
    """``pyside6-lrelease``: the .ts files into the .qm files the app loads."""
    for lang in TRANSLATED:
        ts = I18N_DIR / f"torchwire_{lang}.ts"
        subprocess.run(
            [_tool("pyside6-lrelease"), str(ts), "-qm", str(ts.with_suffix(".qm"))], check=True
        )


def catalog_entries() -> dict[str, Any]:
    """The catalog's English texts in the translation file's shape (no ``zh`` yet)."""
    from engine import catalog
    from engine.catalog.settings import TRAINING_SETTINGS

    specs = list(catalog.all_specs())
    return {
        "categories": sorted({s.category for s in specs}),
        "nodes": {
            s.type: {"en": s.doc, "params": {p.name: {"en": p.doc} for p in s.params if p.doc}}
            for s in specs
        },
        "settings": {p.name: {"en": p.doc} for p in TRAINING_SETTINGS if p.doc},
    }


def update_catalog(lang: str = "zh_CN") -> list[str]:
    """Rewrite ``catalog_<lang>.json`` from the catalog: translations kept where their
    English is unchanged, new or changed texts left with an empty ``zh`` (returned, to fill
    in), entries for nodes or parameters that are gone dropped."""
    f = I18N_DIR / f"catalog_{lang}.json"
    old = json.loads(f.read_text(encoding="utf-8")) if f.is_file() else {}
    todo: list[str] = []

    def keep(entry: dict[str, Any], before: Any, where: str) -> dict[str, Any]:
        zh = (
            before.get("zh", "")
            if isinstance(before, dict) and before.get("en") == entry["en"]
            else ""
        )
        if not zh:
            todo.append(where)
        return {"en": entry["en"], "zh": zh}

    new = catalog_entries()
    cats = old.get("categories", {})
    out: dict[str, Any] = {"categories": {c: cats.get(c, "") for c in new["categories"]}}
    todo += [f"category {c}" for c, zh in out["categories"].items() if not zh]
    out["nodes"] = {}
    for t, e in new["nodes"].items():
        o = old.get("nodes", {}).get(t, {})
        node = keep(e, o, t)
        node["params"] = {
            n: keep(pe, (o.get("params") or {}).get(n), f"{t}.{n}") for n, pe in e["params"].items()
        }
        out["nodes"][t] = node
    out["settings"] = {
        n: keep(e, old.get("settings", {}).get(n), f"settings.{n}")
        for n, e in new["settings"].items()
    }
    f.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return todo


if __name__ == "__main__":  # python -m designer.i18n [--update] [--release] [--catalog]
    args = sys.argv[1:] or ["--update", "--release", "--catalog"]
    if "--update" in args:
        update()
    if "--catalog" in args:
        for where in update_catalog():
            print(f"catalog_zh_CN.json: translate {where}")
    if "--release" in args:
        release()
