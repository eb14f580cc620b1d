"""Recent files, autosave and crash recovery, and the bundled examples.

Autosave writes the modified document every ``AUTOSAVE_S`` seconds to a side file in the
user's data folder (never over the project itself), together with the original path and
the writer's process id. A clean exit deletes it; at the next start, side files whose
writer is no longer running are offered for recovery.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QObject, QSettings, QStandardPaths, QTimer

if TYPE_CHECKING:  # the engine (and torch) load off the GUI thread, after the window
    from designer.document import Document

AUTOSAVE_S = 30
MAX_RECENT = 10
EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "resources" / "examples"


def identify(app: QCoreApplication, name: str = "Torchwire") -> None:
    """Name the application for Qt's standard folders. Only the application name: with an
    organization of the same name Qt nests the folders twice
    (``~/.local/share/Torchwire/Torchwire``)."""
    app.setApplicationName(name)
    app.setOrganizationName("")


def data_dir() -> Path:
    """Where autosaves live; ``TORCHWIRE_DATA_DIR`` overrides it (tests)."""
    env = os.environ.get("TORCHWIRE_DATA_DIR")
    if env:
        return Path(env)
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".torchwire")


def settings() -> QSettings:
    env = os.environ.get("TORCHWIRE_DATA_DIR")
    if env:
        return QSettings(str(Path(env) / "settings.ini"), QSettings.Format.IniFormat)
    return QSettings("Torchwire", "Torchwire")


# -- custom layers ---------------------------------------------------------------------------
NODE_FOLDERS = "plugins/node_folders"  # a JSON list: QSettings returns a 1-item list as text


def node_folders() -> list[str]:
    """The user's node folders (Settings ▸ Node folders): only these are ever imported."""
    try:
        value = json.loads(str(settings().value(NODE_FOLDERS, "[]")))
    except ValueError:
        return []
    return [str(f) for f in value if isinstance(f, str)] if isinstance(value, list) else []


def set_node_folders(folders: list[str]) -> None:
    settings().setValue(NODE_FOLDERS, json.dumps(list(dict.fromkeys(folders))))


def load_plugins() -> Any:
    """The custom node types of installed packages and the node folders (``engine.catalog.plugins``)."""
    from engine.catalog import plugins

    return plugins.load(node_folders())


def examples() -> list[Path]:
    """The bundled example projects, by name."""
    if not EXAMPLES_DIR.is_dir():
        return []
    return sorted(EXAMPLES_DIR.glob("*.json"))


def is_example(path: str | Path) -> bool:
    """Whether ``path`` is one of the bundled examples: those open as untitled copies and
    never enter Open Recent, so a Save can never overwrite the bundled file."""
    try:
        return Path(path).resolve().parent == EXAMPLES_DIR.resolve()
    except OSError:
        return False


# -- recent files ---------------------------------------------------------------------------
def recent_files() -> list[Path]:
    raw = settings().value("recent", []) or []
    if isinstance(raw, str):
        raw = [raw]
    return [Path(p) for p in raw if Path(p).is_file() and not is_example(p)]


def add_recent(path: Path) -> list[Path]:
    path = Path(path).resolve()
    if is_example(path):
        return recent_files()
    items = [p for p in recent_files() if p.resolve() != path]
    items.insert(0, path)
    items = items[:MAX_RECENT]
    s = settings()
    s.setValue("recent", [str(p) for p in items])
    s.sync()
    return items


def clear_recent() -> None:
    s = settings()
    s.setValue("recent", [])
    s.sync()


# -- autosave and recovery -------------------------------------------------------------------
@dataclass
class Recovery:
    side_file: Path
    original: Path | None
    saved_at: float
    text: str

    @property
    def label(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved_at))
        if self.original is not None:
            return f"{self.original.name} (autosaved {when})"
        return f"{self._project_name()} (never saved; autosaved {when})"

    def _project_name(self) -> str:
        """The unsaved project's own name (an example's copy is "digits_cnn", not "untitled")."""
        try:
            name = json.loads(self.text).get("name")
        except (ValueError, AttributeError):
            name = None
        return name if isinstance(name, str) and name.strip() else "untitled"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _to_json(graph: Any, path: Any) -> str:
    from engine.project import to_json

    return to_json(graph, path)


def _loads_project(text: str, path: Any) -> Any:
    from engine.project import loads_project

    return loads_project(text, path)


def _atomic_write(path: Any, data: str) -> Any:
    from engine.fileio import atomic_write

    return atomic_write(path, data)


def _engine_error() -> type[Exception]:
    from engine.errors import TorchwireError

    return TorchwireError


class Autosaver(QObject):
    """Writes the document's unsaved state to a side file; removes it when saved or closed."""

    def __init__(self, document: Document, interval_s: float = AUTOSAVE_S) -> None:
        super().__init__(document)
        self.document = document
        self.dir = data_dir() / "autosave"
        self.path = self.dir / f"autosave-{os.getpid()}-{id(self):x}.json"
        self._timer = QTimer(self, interval=int(interval_s * 1000))
        self._timer.timeout.connect(self.save_now)
        self._timer.start()
        self.last_error: str = ""  # why the last autosave failed ("" when it worked)
        from engine.fileio import clean_stale

        clean_stale(self.dir)  # temporaries of a writer killed mid-write
        document.modifiedChanged.connect(self._modified_changed)

    def _modified_changed(self, modified: bool) -> None:
        if not modified:
            self.discard()

    def save_now(self) -> Path | None:
        """Write the side file if there are unsaved changes; returns its path.

        Runs from a timer, so it never raises: a failure (disk full, a graph no file can
        hold) keeps the previous side file, is remembered in ``last_error`` and returns None.
        """
        if not self.document.modified:
            return None
        try:
            doc = {
                "pid": os.getpid(),
                "original": str(self.document.path) if self.document.path else None,
                "saved_at": time.time(),
                "project": _to_json(self.document.graph, self.path),
            }
            _atomic_write(self.path, json.dumps(doc))  # ASCII: the project text is escaped
        except (_engine_error(), OSError) as e:
            self.last_error = str(e)
            return None
        self.last_error = ""
        return self.path

    def discard(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass

    def stop(self) -> None:
        self._timer.stop()
        self.discard()


def find_recoveries() -> list[Recovery]:
    """Side files left by a Torchwire that did not exit cleanly, newest first."""
    d = data_dir() / "autosave"
    out = []
    if not d.is_dir():
        return out
    for f in d.glob("autosave-*.json"):
        try:
            doc = json.loads(f.read_text(encoding="utf-8"))
            pid = int(doc.get("pid", 0))
            if _pid_alive(pid):
                continue
            text = str(doc["project"])
            _loads_project(text, f)  # only offer what can be opened
            orig = doc.get("original")
            out.append(
                Recovery(f, Path(orig) if orig else None, float(doc.get("saved_at", 0)), text)
            )
        except Exception:
            continue
    return sorted(out, key=lambda r: -r.saved_at)


def recover(document: Document, rec: Recovery) -> None:
    """Open a recovered state: marked modified, pointing at its original file (if any)."""
    graph = _loads_project(rec.text, rec.side_file)
    document.replace_graph(graph, rec.original, modified=True)
    try:
        rec.side_file.unlink()
    except FileNotFoundError:
        pass
