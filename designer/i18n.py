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

from PySide6.QtCore import QCoreApplication, QLocale, QTranslator

I18N_DIR = Path(__file__).resolve().parent.parent / "resources" / "i18n"
LANGUAGES = ("system", "en", "zh_CN")  # the settings' choices
TRANSLATED = ("zh_CN",)  # the languages with a .ts/.qm and a catalog file
SETTING = "ui/language"

_state: dict[str, Any] = {"lang": "en", "translators": []}


def translate(context: str, text: str) -> str:
    """``QCoreApplication.translate`` (``pyside6-lupdate`` finds ``translate("Ctx", "...")``)."""
    return QCoreApplication.translate(context, text)


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
    catalog_translations.cache_clear()
    return lang


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


if __name__ == "__main__":  # python -m designer.i18n [--update] [--release]
    args = sys.argv[1:] or ["--update", "--release"]
    if "--update" in args:
        update()
    if "--release" in args:
        release()
