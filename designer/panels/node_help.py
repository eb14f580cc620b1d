"""Node help (F1, or "?" in Properties): what a node does, when to use it, its torch twin.

Everything shown comes from ``engine.catalog.docs.node_doc`` (the catalog's declaration),
so the help says what the node really builds. Parameter tooltips in the Properties panel
come from :func:`param_tooltip`, plain text from the same declarations.
"""

from __future__ import annotations

from html import escape
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QTextBrowser, QVBoxLayout, QWidget

from designer import i18n
from designer.i18n import translate
from designer.widgets.dock import Dock
from engine import catalog
from engine.catalog.base import Param
from engine.catalog.docs import NodeDoc, node_doc


def _num(v: float) -> str:
    return f"{v:g}"


def param_tooltip(p: Param) -> str:
    """A parameter's tooltip: its doc, range, choices and default, as plain text."""
    lines = [f"{p.name}: {i18n.doc(p.doc)}" if p.doc else p.name]
    rng = []
    if p.min is not None:
        rng.append(f"≥ {_num(p.min)}")
    if p.max is not None:
        rng.append(f"≤ {_num(p.max)}")
    if rng:
        lines.append(translate("NodeHelp", "range") + " " + ", ".join(rng))
    if p.choices:
        lines.append(translate("NodeHelp", "one of") + " " + ", ".join(map(str, p.choices)))
    if p.optional:
        lines.append(translate("NodeHelp", "may be left empty"))
    lines.append(translate("NodeHelp", "default") + f" {p.default!r}")
    return "\n".join(lines)


def help_html(doc: NodeDoc) -> str:
    """The help page of one node type (every catalog text escaped)."""
    e = escape
    when_t = translate("NodeHelp", "When to use it")
    torch_t = translate("NodeHelp", "In PyTorch")
    link_t = translate("NodeHelp", "torch documentation")
    none_t = translate("NodeHelp", "no single torch equivalent (Torchwire builds it)")
    params_t = translate("NodeHelp", "Parameters")
    parts = [
        f"<h2 style='margin:0'>{e(doc.type)}</h2>",
        f"<p style='color:#9aa0aa'>{e(i18n.category(doc.category))}</p>",
        f"<p>{e(i18n.doc(doc.summary))}</p>",
    ]
    if doc.when:
        parts.append(f"<p><b>{e(when_t)}:</b> {e(doc.when)}</p>")
    if doc.torch_ref:
        parts.append(
            f"<p><b>{e(torch_t)}:</b> <code>{e(doc.torch_ref)}</code>"
            f" — <a href='{e(doc.url)}'>{e(link_t)}</a></p>"
        )
    else:
        parts.append(f"<p><b>{e(torch_t)}:</b> {e(none_t)}</p>")
    if doc.params:
        rows = "".join(
            f"<tr><td><code>{e(n)}</code></td><td style='color:#9aa0aa'>{e(d)}</td>"
            f"<td>{e(i18n.doc(t))}</td></tr>"
            for n, d, t in doc.params
        )
        parts.append(f"<p><b>{e(params_t)}</b></p><table cellspacing=4>{rows}</table>")
    for title, ports in (
        (translate("NodeHelp", "Inputs"), doc.inputs),
        (translate("NodeHelp", "Outputs"), doc.outputs),
    ):
        if ports:
            items = "".join(
                f"<li><code>{e(n)}</code>{(' — ' + e(i18n.doc(t))) if t else ''}</li>"
                for n, t in ports
            )
            parts.append(f"<p><b>{e(title)}</b></p><ul>{items}</ul>")
    return "".join(parts)


class NodeHelpPanel(QWidget):
    """Shows the help of one node type; links open in the browser."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("node_help")
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.browser)
        self.type_name: str | None = None
        self.doc: NodeDoc | None = None
        self.show_type(None)

    def show_type(self, type_name: str | None) -> None:
        self.type_name = type_name
        if type_name is None or not catalog.has(type_name):
            self.doc = None
            self.browser.setHtml(
                "<p style='color:#9aa0aa'>"
                + escape(translate("NodeHelp", "Select a node and press F1 to read about it."))
                + "</p>"
            )
            return
        self.doc = node_doc(catalog.get(type_name))
        self.browser.setHtml(help_html(self.doc))


def install(window: Any) -> NodeHelpPanel:
    """Add the Node help dock, its F1 action and the Properties "?" link to ``window``."""
    panel = NodeHelpPanel()
    dock = Dock(translate("MainWindow", "Node help"), window)
    dock.setObjectName("dock_node_help")
    dock.setWidget(panel)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.tabifyDockWidget(window.dock_properties, dock)
    window.dock_properties.raise_()
    window.dock_node_help = dock
    window.node_help = panel

    def show_for(type_name: str | None = None) -> None:
        if type_name is None:
            ids = window.canvas.selected_ids()
            g = window.document.graph
            type_name = g.nodes[ids[0]].type if len(ids) == 1 and ids[0] in g.nodes else None
        panel.show_type(type_name)
        dock.show()
        dock.raise_()

    a = QAction(translate("MainWindow", "Node &Help"), window)
    a.setObjectName("action_node_help")
    a.setShortcut(QKeySequence(Qt.Key.Key_F1))
    a.triggered.connect(lambda _=False: show_for())
    window.addAction(a)
    window.actions_by_name["node_help"] = a
    window.help_menu.insertAction(window.help_menu.actions()[0], a)
    window.view_menu.addAction(dock.toggleViewAction())
    window.show_node_help = show_for
    window.document.graphReplaced.connect(lambda: panel.show_type(None))
    if hasattr(window.properties, "helpRequested"):
        window.properties.helpRequested.connect(show_for)
    # follow the selection while the help is on screen
    window.canvas.selectionChanged.connect(
        lambda ids: (
            panel.show_type(window.document.graph.nodes[ids[0]].type)
            if len(ids) == 1 and ids[0] in window.document.graph.nodes and dock.isVisible()
            else None
        )
    )
    return panel


__all__ = ["NodeHelpPanel", "help_html", "install", "param_tooltip"]
