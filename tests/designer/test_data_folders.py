"""The app's standard folders: one ``Torchwire`` level, not Qt's organization/application pair."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QApplication

from designer.document import Document
from designer.files import identify
from designer.panels.training.results import default_runs_root


def test_the_default_runs_folder_names_the_app_once() -> None:
    app = QApplication.instance()
    old = (app.applicationName(), app.organizationName())
    try:
        app.setOrganizationName("Torchwire")  # what an earlier start-up left behind
        identify(app, "Torchwire")
        root = default_runs_root(Document())
    finally:
        app.setApplicationName(old[0])
        app.setOrganizationName(old[1])
    parts = Path(root).parts
    assert parts.count("Torchwire") == 1, root
    assert root.name == "runs"
