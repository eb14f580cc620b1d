"""Edit ▸ Settings…: the interface language (saved in the settings; applies on restart) and
the node folders whose Python files hold the user's own layers (loaded at once)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from designer import i18n


class SettingsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settings_dialog")
        self.setWindowTitle(self.tr("Settings"))
        lay = QVBoxLayout(self)
        box = QGroupBox(self.tr("Interface"))
        form = QFormLayout(box)
        self.language = QComboBox()
        self.language.setObjectName("settings_language")
        names = {
            "system": self.tr("System default"),
            "en": "English",
            "zh_CN": "简体中文",
        }
        for code in i18n.LANGUAGES:
            self.language.addItem(names[code], code)
        self.language.setCurrentIndex(i18n.LANGUAGES.index(i18n.chosen_language()))
        self.language.setToolTip(
            self.tr("System default: Chinese when the system's language is Chinese")
        )
        form.addRow(self.tr("Language:"), self.language)
        note = QLabel(self.tr("A new language takes effect when Torchwire is restarted."))
        note.setWordWrap(True)
        note.setStyleSheet("color: #9aa0aa;")
        form.addRow(note)
        lay.addWidget(box)
        lay.addWidget(self._node_folders_box())
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def _node_folders_box(self) -> QGroupBox:
        from designer.files import node_folders

        box = QGroupBox(self.tr("Node folders"))
        col = QVBoxLayout(box)
        note = QLabel(
            self.tr(
                "Folders of Python files whose nn.Module classes become node types "
                "(palette category Custom). Only the folders listed here are loaded: "
                "opening a project never runs code."
            )
        )
        note.setWordWrap(True)
        note.setStyleSheet("color: #9aa0aa;")
        col.addWidget(note)
        self.folders = QListWidget()
        self.folders.setObjectName("settings_node_folders")
        self.folders.addItems(node_folders())
        col.addWidget(self.folders)
        row = QHBoxLayout()
        add = QPushButton(self.tr("Add…"))
        add.setObjectName("settings_add_folder")
        add.clicked.connect(self._browse)
        remove = QPushButton(self.tr("Remove"))
        remove.setObjectName("settings_remove_folder")
        remove.clicked.connect(self.remove_selected)
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        col.addLayout(row)
        return box

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, self.tr("Node folder"))
        if path:
            self.add_folder(path)

    def add_folder(self, path: str) -> None:
        if path not in self.folder_list():
            self.folders.addItem(path)

    def remove_selected(self) -> None:
        for it in self.folders.selectedItems():
            self.folders.takeItem(self.folders.row(it))

    def folder_list(self) -> list[str]:
        return [self.folders.item(i).text() for i in range(self.folders.count())]

    def accept(self) -> None:
        from designer.files import node_folders, set_node_folders

        i18n.set_chosen_language(str(self.language.currentData()))
        parent: Any = self.parent()
        if parent is not None and hasattr(parent, "statusBar"):
            parent.statusBar().showMessage(
                self.tr("Language saved; restart Torchwire to apply it."), 6000
            )
        if self.folder_list() != node_folders():
            set_node_folders(self.folder_list())
            if parent is not None and hasattr(parent, "reload_plugins"):
                parent.reload_plugins()  # says which plugins it refused, if any
        super().accept()
