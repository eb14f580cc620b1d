"""The code view: the PyTorch source the compiler generates for the current graph, live."""

from __future__ import annotations

import re
from typing import ClassVar

from PySide6.QtGui import QColor, QFont, QFontDatabase, QSyntaxHighlighter, QTextCharFormat
from PySide6.QtWidgets import QPlainTextEdit, QVBoxLayout, QWidget

from designer.document import Document, model_source


def _fmt(color: str, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    f = QTextCharFormat()
    f.setForeground(QColor(color))
    if bold:
        f.setFontWeight(QFont.Weight.Bold)
    f.setFontItalic(italic)
    return f


class PythonHighlighter(QSyntaxHighlighter):
    RULES: ClassVar[list[tuple[re.Pattern[str], QTextCharFormat]]] = [
        (
            re.compile(
                r"\b(class|def|return|import|from|as|if|else|for|in|None|True|False|self)\b"
            ),
            _fmt("#c792ea", bold=True),
        ),
        (re.compile(r"\b(nn|torch|F)\b"), _fmt("#82aaff")),
        (re.compile(r"\b\d+(\.\d+)?([eE][-+]?\d+)?\b"), _fmt("#f78c6c")),
        (re.compile(r"(\"\"\".*?\"\"\"|'[^']*'|\"[^\"]*\")"), _fmt("#c3e88d")),
        (re.compile(r"#.*$"), _fmt("#697098", italic=True)),
    ]

    def highlightBlock(self, text: str) -> None:
        for rx, f in self.RULES:
            for m in rx.finditer(text):
                self.setFormat(m.start(), m.end() - m.start(), f)


class CodePanel(QWidget):
    """Read-only. While shown, the document generates the source with each live check, on
    its worker thread (generating is O(graph) work that must not run on the GUI thread)."""

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.edit = QPlainTextEdit()
        self.edit.setObjectName("code_view")
        self.edit.setReadOnly(True)
        self.edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(max(8.0, font.pointSizeF() - 0.5))
        self.edit.setFont(font)
        self.highlighter = PythonHighlighter(self.edit.document())
        self.edit.setPlainText("# checking…")
        lay.addWidget(self.edit)
        document.sourceReady.connect(self.show_source)
        document.graphReplaced.connect(lambda: self.show_source("# checking…"))

    def set_active(self, active: bool) -> None:
        """Called when the Code dock is shown or hidden (tabs included)."""
        self.document.want_source = active
        if active:
            self.document.request_source()

    def show_source(self, text: str) -> None:
        if text != self.edit.toPlainText():
            bar = self.edit.verticalScrollBar()
            keep = bar.value()
            self.edit.setPlainText(text)
            bar.setValue(keep)

    def regenerate(self) -> str:
        """Generate now, on this thread (tests, and the first show); returns the text."""
        rep = self.document.report or self.document.check_now()
        text = model_source(self.document.graph, rep)
        self.show_source(text)
        return text

    def text(self) -> str:
        return self.edit.toPlainText()
