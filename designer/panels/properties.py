"""The properties panel: editors generated from the selected node's parameter declarations.

Edits go through ``Document.set_params``/``rename`` (one undo step each); a value the
engine refuses stays in the editor, framed red, with the reason as its tooltip and under
the form. Undo/redo and edits made elsewhere refresh the editors' values.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from designer import i18n, style
from designer.document import Document
from designer.i18n import fmt, translate
from designer.panels.node_help import param_tooltip
from designer.widgets.param_editors import ParamEditor, make_editor
from designer.widgets.tune_editor import TuneEditor, tunable
from engine.catalog.base import Param
from engine.data.profile import feature_line, table_columns
from engine.graph import MAX_LR_SCALE, GraphError


class PropertiesPanel(QWidget):
    fixRequested = Signal(object)  # engine.analysis.fixes.Fix
    helpRequested = Signal(str)  # a node type: show its help (the "?" button)

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.node_id: str | None = None
        self.editors: dict[str, ParamEditor] = {}
        self.tune_editors: dict[str, TuneEditor] = {}
        self._rows: dict[str, tuple[QFormLayout, QLabel, ParamEditor]] = {}
        self.name_edit: QLineEdit | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer.addWidget(self.scroll)
        self.message = QLabel()
        self.message.setObjectName("properties_message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #e0524a; padding: 4px;")
        self.message.hide()
        outer.addWidget(self.message)
        self._ids: list[str] = []
        document.graphChanged.connect(self.refresh_values)
        document.graphReplaced.connect(lambda: self.show_nodes([]))
        document.reportReady.connect(self._report)
        document.refused.connect(self._refused)
        self.show_nodes([])

    def set_document(self, document: Document) -> None:
        """Edit another document's nodes (a block's inside, designer.blocks_ui, and back)."""
        old = self.document
        if document is old:
            return
        for signal, slot in self._follow(old):
            signal.disconnect(slot)
        self.document = document
        for signal, slot in self._follow(document):
            signal.connect(slot)
        self.show_nodes([])

    def _follow(self, d: Document) -> list[tuple[Any, Any]]:
        return [
            (d.graphChanged, self.refresh_values),
            (d.reportReady, self._report),
            (d.refused, self._refused),
        ]

    # -- building ---------------------------------------------------------------------------
    def show_nodes(self, ids: list[str]) -> None:
        """Show the editors of one node; a summary for none or several."""
        self._ids = [i for i in ids if i in self.document.graph.nodes]
        self.node_id = self._ids[0] if len(self._ids) == 1 else None
        self.editors = {}
        self.tune_editors: dict[str, TuneEditor] = {}
        self._rows = {}
        self.name_edit = None
        self.project_name_edit: QLineEdit | None = None
        self.lr_editor: ParamEditor | None = None
        self.frozen_box: QCheckBox | None = None
        self.message.hide()
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(8, 8, 8, 8)
        if self.node_id is None:
            self._summary(lay)
        else:
            self._node_form(lay, self.node_id)
        lay.addStretch(1)
        self.scroll.setWidget(body)

    def _summary(self, lay: QVBoxLayout) -> None:
        g = self.document.graph
        if self._ids:
            lbl = QLabel(
                fmt(translate("PropertiesPanel", "<b>%1 nodes selected</b>"), str(len(self._ids)))
            )
            lay.addWidget(lbl)
            return
        title = QLabel(translate("PropertiesPanel", "<b>Project</b>"))
        lay.addWidget(title)
        form = QFormLayout()
        name = self.project_name_edit = QLineEdit(g.name)
        name.setObjectName("project_name")
        name.editingFinished.connect(lambda: self.document.set_name(name.text().strip()))
        form.addRow(translate("PropertiesPanel", "name"), name)
        lay.addLayout(form)
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        self.summary_label.setStyleSheet("color: #9aa0aa;")
        lay.addWidget(self.summary_label)
        self._update_summary()
        hint = QLabel(
            translate(
                "PropertiesPanel",
                "Select a node to edit its parameters. Drag entries from the palette, or press "
                "<b>Tab</b> on the canvas to add a node.",
            )
        )
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #80868f;")
        lay.addWidget(hint)

    def _update_summary(self) -> None:
        lbl = getattr(self, "summary_label", None)
        if lbl is None or self._ids or self.node_id is not None:
            return
        g = self.document.graph
        rep = self.document.report
        bits = [
            fmt(
                translate("PropertiesPanel", "%1 nodes, %2 connections"),
                len(g.nodes),
                len(g.edges),
            )
        ]
        if rep is not None:
            bits.append(fmt(translate("PropertiesPanel", "%1 parameters"), f"{rep.total_params:,}"))
            if rep.total_macs:
                bits.append(
                    fmt(
                        translate("PropertiesPanel", "%1 MACs per sample"),
                        style.format_count(rep.total_macs),
                    )
                )
        try:
            lbl.setText("<br>".join(bits))
        except RuntimeError:  # the label was replaced
            pass

    def _node_form(self, lay: QVBoxLayout, nid: str) -> None:
        node = self.document.graph.nodes[nid]
        spec = node.spec
        rgb = style.category_color(spec.category)
        head = QLabel(
            f"<span style='color:rgb({rgb[0] + 60},{rgb[1] + 60},{rgb[2] + 60})'>"
            f"<b>{spec.type}</b></span> <span style='color:#888'>· {i18n.category(spec.category)}</span>"
        )
        help_button = QToolButton()
        help_button.setText("?")
        help_button.setObjectName("node_help_button")
        help_button.setToolTip(translate("PropertiesPanel", "What this node does (F1)"))
        help_button.clicked.connect(lambda _=False, t=spec.type: self.helpRequested.emit(t))
        top = QHBoxLayout()
        top.addWidget(head, 1)
        top.addWidget(help_button)
        lay.addLayout(top)
        doc = QLabel(i18n.doc(spec.doc))
        doc.setWordWrap(True)
        doc.setStyleSheet("color: #9aa0aa;")
        lay.addWidget(doc)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.name_edit = QLineEdit(node.name)
        self.name_edit.setObjectName("node_name")
        self.name_edit.editingFinished.connect(self._rename)
        form.addRow(translate("PropertiesPanel", "name"), self.name_edit)
        for p in spec.params:
            ed = make_editor(p, node.params.get(p.name), self._setter(nid, p.name))
            assert isinstance(ed, ParamEditor)
            self.editors[p.name] = ed
            label = QLabel(p.name)
            tip = param_tooltip(p)  # plain text from the catalog, on the label and the field
            label.setToolTip(tip)
            ed._base_tip = tip  # type: ignore[attr-defined]
            ed.set_error(ed.error())
            if p.type == "path":
                ed.file_patterns = tuple(spec.extra.get("file_patterns", ()))  # type: ignore[attr-defined]
            form.addRow(label, ed)
            self._rows[p.name] = (form, label, ed)
            if tunable(p):  # "tune": a range or choices for the Tuning dock's study
                te = TuneEditor(self.document, f"{nid}.{p.name}", p, node.params.get(p.name))
                self.tune_editors[p.name] = te
                form.addRow("", te)
        if spec.kind == "model":
            self._training_rows(form, nid)
        if spec.infer:
            inferred = QLabel(translate("PropertiesPanel", "inferred: ") + ", ".join(spec.infer))
            inferred.setStyleSheet("color: #80868f;")
            inferred.setToolTip(
                translate("PropertiesPanel", "filled from the incoming shape; not a parameter")
            )
            form.addRow("", inferred)
        lay.addLayout(form)
        self._show_enabled(node.params)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.info)
        self.fix_box = QVBoxLayout()
        lay.addLayout(self.fix_box)
        if self.document.report is not None:
            self._report(self.document.report)

    def _training_rows(self, form: QFormLayout, nid: str) -> None:
        """Transfer learning, per layer: frozen, and its learning-rate multiplier."""
        node = self.document.graph.nodes[nid]
        box = self.frozen_box = QCheckBox()
        box.setObjectName("node_frozen")
        box.setChecked(node.frozen)
        box.setToolTip(
            translate("PropertiesPanel", "frozen: training keeps this layer's weights as loaded")
        )
        box.toggled.connect(lambda on: self.document.freeze([nid], bool(on)))
        form.addRow(translate("PropertiesPanel", "frozen"), box)
        param = Param("lr_scale", "float", 1.0, min=1e-12, max=MAX_LR_SCALE)
        ed = self.lr_editor = make_editor(
            param, node.lr_scale, lambda v: self.document.set_lr_scale(nid, v)
        )
        ed.setObjectName("node_lr_scale")
        label = QLabel("lr_scale")
        label.setToolTip(
            translate("PropertiesPanel", "multiplies the optimizer's learning rate for this layer")
        )
        form.addRow(label, ed)

    def _show_enabled(self, params: Any) -> None:
        """Hide the parameters the node's choices make irrelevant (``Param.enabled_if``,
        declared once in the catalog), e.g. step_size while lr_schedule is "none"."""
        for name, (form, label, ed) in self._rows.items():
            p = ed.param
            if p.enabled_if is None:
                continue
            on = p.enabled(params)
            form.setRowVisible(label, on)
            te = self.tune_editors.get(name)
            if te is not None:
                form.setRowVisible(te, on)

    def _setter(self, nid: str, name: str) -> Any:
        def on_change(value: Any) -> None:
            self.message.hide()
            self.document.set_params(nid, **{name: value})  # GraphError → editor shows it

        return on_change

    def _rename(self) -> None:
        if self.node_id is None or self.name_edit is None:
            return
        try:
            self.document.rename(self.node_id, self.name_edit.text())
            self.name_edit.setStyleSheet("")
        except GraphError as e:
            self.name_edit.setStyleSheet("border: 1px solid #e0524a;")
            self.name_edit.setToolTip(str(e))

    # -- following the document -------------------------------------------------------------
    def _refresh_project_name(self) -> None:
        """The name field follows the project's name (a first save names it after its file)."""
        edit = self.project_name_edit
        if edit is not None and not edit.hasFocus() and edit.text() != self.document.graph.name:
            edit.setText(self.document.graph.name)

    def refresh_values(self) -> None:
        g = self.document.graph
        if self.node_id is not None and self.node_id not in g.nodes:
            self.show_nodes([i for i in self._ids if i in g.nodes])
            return
        if self.node_id is None:
            self._update_summary()
            self._refresh_project_name()
            return
        node = g.nodes[self.node_id]
        for name, ed in self.editors.items():
            v = node.params.get(name)
            if (ed.error() is None and ed.value() != v) or (
                ed.error() is not None and ed.value() != v
            ):
                ed.set_value(v)
        if self.name_edit is not None and not self.name_edit.hasFocus():
            self.name_edit.setText(node.name)
        if node.spec.kind == "model" and getattr(self, "lr_editor", None) is not None:
            try:
                if self.frozen_box.isChecked() != node.frozen:
                    self.frozen_box.setChecked(node.frozen)
                if self.lr_editor.error() is None and self.lr_editor.value() != node.lr_scale:
                    self.lr_editor.set_value(node.lr_scale)
            except RuntimeError:  # the form was replaced
                pass
        for te in self.tune_editors.values():
            te.refresh()
        self._show_enabled(node.params)

    def _report(self, rep: Any) -> None:
        if self.node_id is None:
            self._update_summary()
            return
        nid = self.node_id
        try:
            info = self.info
        except AttributeError:
            return
        lines = []
        if nid in rep.shapes:
            lines.append(
                fmt(
                    translate("PropertiesPanel", "output %1"),
                    f"<b>{style.format_shape(rep.shapes[nid])}</b>",
                )
            )
            if rep.params.get(nid):
                lines.append(
                    fmt(translate("PropertiesPanel", "%1 parameters"), f"{rep.params[nid]:,}")
                )
            if rep.macs.get(nid):
                lines.append(
                    fmt(translate("PropertiesPanel", "%1 MACs per sample"), f"{rep.macs[nid]:,}")
                )
        elif nid in rep.data:
            lines.extend(data_lines(rep.data[nid]))
        self._offer_columns(nid)
        for d in rep.for_node(nid):
            color = "#e0524a" if d.severity == "error" else "#e6b43c"
            lines.append(f"<span style='color:{color}'>{d.message}</span>")
        try:
            info.setText("<br>".join(lines))
        except RuntimeError:
            return
        while self.fix_box.count():
            w = self.fix_box.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        for d in rep.for_node(nid):
            if d.fix is not None:
                b = QPushButton(fmt(translate("PropertiesPanel", "Fix: %1"), d.fix.label))
                b.setObjectName("fix_button")
                b.clicked.connect(lambda _=False, f=d.fix: self.fixRequested.emit(f))
                self.fix_box.addWidget(b)

    def _offer_columns(self, nid: str) -> None:
        """The file's columns as choices for the parameters that name one (the target)."""
        node = self.document.graph.nodes.get(nid)
        wanted = node.spec.extra.get("column_params", ()) if node is not None else ()
        if not wanted:
            return
        names = table_columns(self.document.graph, nid)
        for name in wanted:
            ed = self.editors.get(name)
            if ed is not None and hasattr(ed, "set_suggestions"):
                try:
                    ed.set_suggestions(names)
                except RuntimeError:  # the form was replaced
                    return

    def _refused(self, message: str) -> None:
        if self.isVisible() and self.node_id is not None:
            self.message.setText(message)
            self.message.show()


def data_lines(info: Any) -> list[str]:
    """What a dataset/preprocessing node delivers: samples, splits, features, classes."""
    out = []
    n = getattr(info, "n_samples", None)
    if n:
        out.append(fmt(translate("PropertiesPanel", "%1 samples"), f"<b>{n:,}</b>"))
    splits = getattr(info, "splits", None)
    if splits:
        shown = ", ".join(f"{translate('PropertiesPanel', k)} {v:,}" for k, v in splits.items())
        out.append(fmt(translate("PropertiesPanel", "split %1"), shown))
    fs = getattr(info, "feature_shape", None)
    if fs is not None:
        out.append(fmt(translate("PropertiesPanel", "features %1"), f"<b>{feature_line(info)}</b>"))
    task = getattr(info, "task", None)
    k = getattr(info, "n_classes", None)
    if task:
        shown_task = translate("PropertiesPanel", task)
        out.append(
            fmt(translate("PropertiesPanel", "%1, %2 classes"), shown_task, k) if k else shown_task
        )
    names = getattr(info, "class_names", None)
    if names:
        shown = ", ".join(map(str, list(names)[:12])) + (" …" if len(names) > 12 else "")
        label = fmt(translate("PropertiesPanel", "classes: %1"), shown)
        out.append(f"<span style='color:#9aa0aa'>{label}</span>")
    for note in getattr(info, "notes", ()) or ():
        out.append(f"<span style='color:#9aa0aa'>{note}</span>")
    return out


# the words data_lines shows for the engine's task and split names
_DATA_WORDS = (
    QT_TRANSLATE_NOOP("PropertiesPanel", "classification"),
    QT_TRANSLATE_NOOP("PropertiesPanel", "regression"),
    QT_TRANSLATE_NOOP("PropertiesPanel", "train"),
    QT_TRANSLATE_NOOP("PropertiesPanel", "val"),
    QT_TRANSLATE_NOOP("PropertiesPanel", "test"),
)
