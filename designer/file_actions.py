"""The main window's file operations: New, Open, Open Recent, Examples, Import, Save, Save
As, and recovering unsaved work after a crash. A problem is shown to the user (a message
naming the file), never raised, and a failed open or save leaves the document as it was.
Mixed into :class:`designer.app.MainWindow`; its ``ask_*`` hooks (replaced by tests) default
to the dialogs here."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QApplication, QFileDialog, QInputDialog, QMessageBox

from designer.app_menus import APP_NAME
from designer.i18n import translate


def _naming(e: BaseException, path: str | Path) -> str:
    """The error's message, starting with the file it is about when it does not already."""
    text = str(e) or type(e).__name__
    return text if str(path) in text else f"{path}: {text}"


class FileActions:
    """Open, save and recover the window's document."""

    document: Any
    training_panel: Any

    def maybe_save(self) -> bool:
        """Before losing changes: Save / Discard / Cancel. True when it is fine to go on."""
        if self.document is None or not self.document.modified:
            return True
        answer = self.ask_save_changes()
        if answer == "save":
            return self.save()
        return answer == "discard"

    def _run_description(self) -> str:
        tp = self.training_panel
        epochs = getattr(tp, "_epochs", 0)
        where = translate("MainWindow", " (%1 epochs)").replace("%1", str(epochs)) if epochs else ""
        return translate(
            "MainWindow",
            "A training run is going on%1. Closing stops it; its last checkpoint is kept.",
        ).replace("%1", where)

    def _ask_stop_training(self, what: str) -> bool:
        b = QMessageBox.question(
            self,
            APP_NAME,
            what + "\n\n" + translate("MainWindow", "Stop the run and close?"),
            QMessageBox.StandardButton.Close | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return b == QMessageBox.StandardButton.Close

    def _ask_save_changes(self) -> str:
        b = QMessageBox.question(
            self,
            APP_NAME,
            translate("MainWindow", "Save changes to %1?").replace("%1", self.document.title),
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        return {
            QMessageBox.StandardButton.Save: "save",
            QMessageBox.StandardButton.Discard: "discard",
        }.get(b, "cancel")

    def _ask_open_path(self) -> str | None:
        start = str(self.document.path.parent) if self.document.path else str(Path.cwd())
        path, _ = QFileDialog.getOpenFileName(
            self, translate("MainWindow", "Open project"), start, self._filter()
        )
        return path or None

    def _ask_save_path(self) -> str | None:
        d = self.document
        start = str(d.path) if d.path else str(Path.cwd() / f"{d.graph.name or 'model'}.json")
        path, _ = QFileDialog.getSaveFileName(
            self, translate("MainWindow", "Save project as"), start, self._filter()
        )
        if path and not Path(path).suffix:
            path += ".json"
        return path or None

    def _filter(self) -> str:
        return translate("MainWindow", "Torchwire projects (*.json);;All files (*)")

    def _import_model(self) -> None:
        """File ▸ Import Model…: an ONNX file or PyTorch module as a project (see the dialog)."""
        from designer.widgets.import_dialog import import_model_dialog

        self.import_dialog = import_model_dialog(self)

    def new_file(self) -> None:
        if self.maybe_save():
            self.document.new()

    def open_file(self) -> None:
        if not self.maybe_save():
            return
        path = self.ask_open_path()
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path, ask: bool = False, copy: bool = False) -> bool:
        """Open a project; a problem is shown in a message box, never raised.

        ``copy``: open it as an untitled copy (a run's snapshot, a bundled example): Save
        asks where, and the file never enters Open Recent.

        A file that cannot be opened leaves the current document exactly as it was (its
        graph, path and unsaved edits): nothing is replaced by an empty document.
        """
        from designer.files import add_recent, is_example
        from engine.errors import TorchwireError

        if ask and not self.maybe_save():
            return False
        t = time.perf_counter()
        try:
            self.document.open(path)
        except TorchwireError as e:
            self.show_error(translate("MainWindow", "Cannot open project"), _naming(e, path))
            return False
        except Exception as e:  # an engine bug: still one message, the document kept
            self.show_error(
                translate("MainWindow", "Cannot open project"), f"{path}: {type(e).__name__}: {e}"
            )
            return False
        if copy or is_example(path):  # however it was reached: an untitled copy (#16 item 1)
            self.document.path = None
            self.document.pathChanged.emit(None)
        else:
            try:
                add_recent(Path(path))
            except OSError:
                pass
        self.statusBar().showMessage(
            translate("MainWindow", "Opened %1 (%2 nodes, %3 ms)")
            .replace("%1", Path(path).name)
            .replace("%2", str(len(self.document.graph)))
            .replace("%3", f"{(time.perf_counter() - t) * 1000:.0f}"),
            5000,
        )
        return True

    def open_example(self, path: Path) -> bool:
        """Examples open as untitled copies, so saving never overwrites the bundled file."""
        if not self.maybe_save():
            return False
        return self.open_path(path)  # open_path makes any example an untitled copy

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self) -> bool:
        path = self.ask_save_path()
        if not path:
            return False
        return self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        """Save; on failure a message names the file and why, and the document stays as it
        was (modified, with every edit), so nothing is lost."""
        from designer.files import add_recent
        from engine.errors import TorchwireError

        first_save = self.document.path is None
        old_name = self.document.graph.name
        renamed = first_save and old_name in ("", "untitled")
        if renamed:
            self.document.set_name(Path(path).stem)  # the project is called what it is saved as
        error = None
        try:
            saved = self.document.save(path)
        except TorchwireError as e:
            error = _naming(e, path)
        except OSError as e:
            error = f"{path}: {e.strerror or e}"
        except Exception as e:  # an engine bug must not lose the user's edits silently
            error = f"{path}: {type(e).__name__}: {e}"
        if error is not None:
            if renamed:
                self.document.undo_stack.undo()  # not saved: still the name it had
            self.show_error(translate("MainWindow", "Cannot save project"), error)
            return False
        try:
            add_recent(saved)
        except OSError:
            pass
        if first_save and self.training_panel is not None:
            self.training_panel.runs_follow_project(old_name)  # item 12
        self.statusBar().showMessage(
            translate("MainWindow", "Saved %1").replace("%1", str(saved)), 4000
        )
        return True

    def show_error(self, title: str, message: str) -> None:
        self.statusBar().showMessage(f"✖ {message}", 8000)
        if QApplication.platformName() != "offscreen":
            QMessageBox.warning(self, title, message)
        self.last_error = message

    last_error: str = ""

    def offer_recovery(self) -> bool:
        """After a crash: offer the newest autosave left behind. True when one was recovered."""
        from designer.files import find_recoveries, recover

        recs = find_recoveries()
        if not recs:
            return False
        rec = self.ask_recover(recs)
        if rec is None:
            return False
        from engine.errors import TorchwireError

        try:
            recover(self.document, rec)
        except (TorchwireError, OSError) as e:  # changed since it was offered: say so
            self.show_error(
                translate("MainWindow", "Cannot recover unsaved work"), _naming(e, rec.side_file)
            )
            return False
        self.statusBar().showMessage(
            translate("MainWindow", "Recovered %1").replace("%1", rec.label), 6000
        )
        return True

    def _ask_recover(self, recs: list[Any]) -> Any:
        labels = [r.label for r in recs]
        item, ok = QInputDialog.getItem(
            self,
            translate("MainWindow", "Recover unsaved work"),
            translate("MainWindow", "Torchwire did not close cleanly. Recover this unsaved work?"),
            labels,
            0,
            False,
        )
        if not ok:
            for r in recs:  # declined: do not ask again
                try:
                    r.side_file.unlink()
                except OSError:
                    pass
            return None
        return recs[labels.index(item)]

    def _fill_recent(self) -> None:
        from designer.files import clear_recent, recent_files

        m = self.recent_menu
        m.clear()
        items = recent_files()
        for p in items:
            m.addAction(str(p), lambda p=p: self.open_path(p, ask=True))
        if not items:
            m.addAction(translate("MainWindow", "(none)")).setEnabled(False)
        else:
            m.addSeparator()
            m.addAction(translate("MainWindow", "Clear Recent"), clear_recent)

    def _fill_examples(self) -> None:
        from designer.files import examples

        m = self.examples_menu
        m.clear()
        for p in examples():
            a = m.addAction(p.stem.replace("_", " "), lambda p=p: self.open_example(p))
            a.setObjectName(f"example_{p.stem}")
            a.setData(str(p))
        if not m.actions():
            m.addAction(translate("MainWindow", "(no examples found)")).setEnabled(False)


__all__ = ["FileActions"]
