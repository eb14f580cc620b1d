"""The code view: the PyTorch source the compiler generates for the current graph, live."""

from __future__ import annotations

import re
from typing import ClassVar

from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor, QFont, QFontDatabase, QSyntaxHighlighter, QTextCharFormat
from PySide6.QtWidgets import QPlainTextEdit, QVBoxLayout, QWidget

from designer.document import Document
from engine.check import Report


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
    """Read-only; regenerated after each live check while the panel is visible."""

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
        lay.addWidget(self.edit)
        self._stale = True
        self._pending: Report | None = None
        document.reportReady.connect(self._on_report)
        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self.regenerate)

    def _on_report(self, rep: Report) -> None:
        self._pending = rep
        self._stale = True
        if self.isVisible():
            self._timer.start()

    def showEvent(self, event: object) -> None:  # type: ignore[override]
        super().showEvent(event)  # type: ignore[arg-type]
        if self._stale:
            self._timer.start()

    def regenerate(self) -> str:
        """Generate now (also used by tests); returns the text shown."""
        from engine.compile import generate_source
        from engine.graph import GraphError

        rep = self.document.report
        self._stale = False
        g = self.document.graph
        if rep is None:
            text = "# checking…"
        else:
            try:
                text, _info = generate_source(g, rep)
            except GraphError as e:
                text = "# The model does not compile yet:\n" + "\n".join(
                    f"#   {line}" for line in str(e).splitlines()
                )
            except Exception as e:  # a stale report against a newer graph, or an engine bug
                text = f"# (code not available: {type(e).__name__}: {e})"
        if text != self.edit.toPlainText():
            bar = self.edit.verticalScrollBar()
            keep = bar.value()
            self.edit.setPlainText(text)
            bar.setValue(keep)
        return text

    def text(self) -> str:
        return self.edit.toPlainText()
