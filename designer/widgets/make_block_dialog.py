"""Make Block…: the block's name and which inner parameters it exposes.

Every parameter of the selected nodes is listed as ``node.param``, unchecked (a block
exposes nothing unless asked). Checked rows that share an exposed name become one block
parameter setting all of them (``channels`` → ``conv1.out_channels`` and
``conv2.out_channels``), as ``Graph.add_block(expose=...)`` takes it. The rules (a name
taken, kinds that differ) are the engine's: the dialog shows its refusal and stays open.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from designer.i18n import translate
from engine.graph import Graph

REF_ROLE = Qt.ItemDataRole.UserRole + 1


def default_exposed_name(node: str, param: str, counts: Counter[str]) -> str:
    """A row's exposed name before the user types one: the parameter's own name, or, where
    several selected nodes have that parameter, ``node_param`` — rows merge only when the
    user gives them one name, never by default."""
    return param if counts[param] <= 1 else _identifier(f"{node}_{param}")


def _identifier(text: str) -> str:
    out = re.sub(r"\W", "_", text)
    return out if out[:1].isalpha() or out[:1] == "_" else f"_{out}"


class MakeBlockDialog(QDialog):
    """``values()`` gives ``(name, expose)``; ``problem`` (a function of both) returns the
    engine's refusal or None, checked when OK is pressed."""

    def __init__(
        self,
        graph: Graph,
        node_ids: Iterable[str],
        name: str,
        problem: Callable[[str, dict[str, list[str]]], str | None] | None = None,
        parent: QWidget | None = None,
        title: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("make_block_dialog")
        self.setWindowTitle(title or translate("MakeBlockDialog", "Make Block"))
        self._problem = problem
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.name_edit = QLineEdit(name)
        self.name_edit.setObjectName("block_name")
        form.addRow(translate("MakeBlockDialog", "Block name:"), self.name_edit)
        lay.addLayout(form)
        lay.addWidget(
            QLabel(
                translate(
                    "MakeBlockDialog",
                    "Parameters to expose (rows with the same exposed name become one):",
                )
            )
        )
        self.tree = QTreeWidget()
        self.tree.setObjectName("block_params")
        self.tree.setHeaderLabels(
            [
                translate("MakeBlockDialog", "Inner parameter"),
                translate("MakeBlockDialog", "Exposed as"),
            ]
        )
        self.tree.setRootIsDecorated(False)
        nodes = [graph.nodes[nid] for nid in node_ids]
        shared = Counter(p.name for node in nodes for p in node.spec.params)
        for node in nodes:
            for p in node.spec.params:
                ref = f"{node.name}.{p.name}"
                it = QTreeWidgetItem([ref, default_exposed_name(node.name, p.name, shared)])
                it.setData(0, REF_ROLE, ref)
                it.setFlags(
                    it.flags() | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEditable
                )
                it.setCheckState(0, Qt.CheckState.Unchecked)
                it.setToolTip(0, f"{node.type}: {p.doc}" if p.doc else node.type)
                self.tree.addTopLevelItem(it)
        self.tree.resizeColumnToContents(0)
        lay.addWidget(self.tree)
        self.message = QLabel()
        self.message.setObjectName("block_problem")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #e0524a;")
        self.message.hide()
        lay.addWidget(self.message)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.resize(460, 420)

    def items(self) -> dict[str, QTreeWidgetItem]:
        """The rows by ``node.param`` (tests tick them)."""
        out = {}
        for i in range(self.tree.topLevelItemCount()):
            it = self.tree.topLevelItem(i)
            out[str(it.data(0, REF_ROLE))] = it
        return out

    def expose(self, ref: str, as_name: str | None = None) -> None:
        """Tick ``ref`` (``node.param``), exposed as ``as_name`` (default: the param's name)."""
        it = self.items()[ref]
        it.setCheckState(0, Qt.CheckState.Checked)
        if as_name is not None:
            it.setText(1, as_name)

    def values(self) -> tuple[str, dict[str, list[str]]]:
        expose: dict[str, list[str]] = {}
        for ref, it in self.items().items():
            if it.checkState(0) == Qt.CheckState.Checked:
                name = it.text(1).strip() or _identifier(ref.replace(".", "_"))
                expose.setdefault(name, []).append(ref)
        return self.name_edit.text().strip(), expose

    def accept(self) -> None:
        if self._problem is not None:
            problem = self._problem(*self.values())
            if problem is not None:
                self.message.setText(f"✖ {problem}")
                self.message.show()
                return
        super().accept()
