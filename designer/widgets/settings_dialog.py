"""Edit ▸ Settings…: the interface language (saved in the settings; applies on restart)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
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
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def accept(self) -> None:
        i18n.set_chosen_language(str(self.language.currentData()))
        parent: Any = self.parent()
        if parent is not None and hasattr(parent, "statusBar"):
            parent.statusBar().showMessage(
                self.tr("Language saved; restart Torchwire to apply it."), 6000
            )
        super().accept()
