"""The Tuning dock: the project's search space, a study run in the background, its trials.

The space is ``settings["tuning"]`` (parameters are marked "tune" in Properties; training
settings are added here). Start runs ``engine.tune.study.Study`` on a copy of the graph
through ``designer.bridge.run_task``: each finished trial comes back as a progress
message (a JSON row), so the table (sortable), the best-so-far plot and the
parallel-coordinates view grow live while the UI stays responsive. Stop ends the running
trial at its next batch. A study already in the folder (a reopened project, a restart) shows
its trials at once, and the line under "trials" says how many more a Start runs: trials is
the study's total (``engine.catalog.tuning.Plan``). "Open best" opens the study's
``best.json`` as an untitled copy.
"""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from designer.bridge import run_task
from designer.i18n import fmt, translate
from designer.widgets.tune_editor import set_dimension, set_option, tuning_of
from engine.catalog.settings import TRAINING_SETTINGS
from engine.catalog.tuning import (
    PRUNERS,
    SAMPLERS,
    Dimension,
    Plan,
    TuneError,
    default_dimension,
)
from engine.train.rundir import study_dir, study_slug

# a trial's state as the study names it (Optuna's, lower case), in the table's language
STATE_LABELS = (
    QT_TRANSLATE_NOOP("TuningPanel", "running"),
    QT_TRANSLATE_NOOP("TuningPanel", "complete"),
    QT_TRANSLATE_NOOP("TuningPanel", "pruned"),
    QT_TRANSLATE_NOOP("TuningPanel", "fail"),
    QT_TRANSLATE_NOOP("TuningPanel", "waiting"),
)
BEST = "#4caf7a"
TRIAL = "#5b9bd5"
PRUNED = "#8a8f98"


class _NumberItem(QTableWidgetItem):
    """A cell that sorts by its number (empty cells last)."""

    def __init__(self, value: float | None, text: str) -> None:
        super().__init__(text)
        self.number = value

    def __lt__(self, other: QTableWidgetItem) -> bool:  # type: ignore[override]
        a = self.number
        b = getattr(other, "number", None)
        if a is None or b is None:
            return b is None and a is not None
        return a < b


class TuningPanel(QWidget):
    """Space, options, start/stop, live trials table and plots, "Open best"."""

    openBest = Signal(str)  # the path of best.json
    finished = Signal(object)  # the TuneResult, or None when the study failed

    def __init__(self, document: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.task: Any = None
        self.study: Any = None
        self._stop_asked = False
        self.rows: list[dict[str, Any]] = []
        self.summary: dict[str, Any] = {}
        self.result: Any = None
        self.best_path: str | None = None
        self.existing: Any = None  # the StudyState read from the folder, if any
        self._reading: Any = None
        self._names: list[str] = []
        self._held = (0, 0)  # the study's finished and running trials, as last seen
        self._idle = threading.Event()  # set while no study runs on a worker thread
        self._idle.set()
        self._build()
        document.graphChanged.connect(self.refresh_space)
        document.graphReplaced.connect(self.refresh_space)
        document.graphReplaced.connect(self.read_existing)
        self.refresh_space()
        self.read_existing()  # the panel may be made after the project was opened

    # -- building ----------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        split = QSplitter(Qt.Orientation.Horizontal)
        outer.addWidget(split)
        split.addWidget(self._build_left())
        split.addWidget(self._build_right())
        split.setSizes([330, 700])

    def _build_left(self) -> QWidget:
        """The left side: the search space, the study's options, Start/Stop and the status."""
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(4, 4, 4, 4)
        self._build_space(ll)
        ll.addLayout(self._build_options())
        self.sampler.currentTextChanged.connect(lambda v: set_option(self.document, "sampler", v))
        self.pruner.currentTextChanged.connect(lambda v: set_option(self.document, "pruner", v))
        self.trials.editingFinished.connect(
            lambda: set_option(self.document, "trials", self.trials.value())
        )
        self.trials.valueChanged.connect(lambda _v: self._show_plan())
        self.out_edit.editingFinished.connect(self.read_existing)
        self.timeout.editingFinished.connect(
            lambda: set_option(self.document, "timeout", self.timeout.value() or None)
        )
        ll.addLayout(self._build_buttons())
        self.status = QLabel("")
        self.status.setObjectName("tuning_status")
        self.status.setWordWrap(True)
        ll.addWidget(self.status)
        return left

    def _build_space(self, ll: QVBoxLayout) -> None:
        """The search space: its table, and the training settings that can join it."""
        ll.addWidget(
            QLabel(
                translate(
                    "TuningPanel",
                    "<b>Search space</b> <span style='color:#888'>(mark parameters "
                    "\u201ctune\u201d in Properties)</span>",
                )
            )
        )
        self.space_table = QTableWidget(0, 2)
        self.space_table.setObjectName("tuning_space")
        self.space_table.setHorizontalHeaderLabels(
            [translate("TuningPanel", "target"), translate("TuningPanel", "values")]
        )
        self.space_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.space_table.verticalHeader().hide()
        self.space_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.space_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        ll.addWidget(self.space_table)
        row = QHBoxLayout()
        self.setting_combo = QComboBox()
        self.setting_combo.setObjectName("tuning_setting")
        self._settings = {p.name: p for p in TRAINING_SETTINGS if p.tunable}
        self.setting_combo.addItems([f"training.{n}" for n in self._settings])
        add = QPushButton(translate("TuningPanel", "Add setting"))
        add.clicked.connect(self.add_setting)
        self.remove_button = QPushButton(translate("TuningPanel", "Remove"))
        self.remove_button.clicked.connect(self.remove_selected)
        row.addWidget(self.setting_combo, 1)
        row.addWidget(add)
        row.addWidget(self.remove_button)
        ll.addLayout(row)

    def _build_options(self) -> QFormLayout:
        """Sampler, pruner, trials, timeout, epochs and the study's folder."""
        form = QFormLayout()
        self.sampler = QComboBox()
        self.sampler.setObjectName("tuning_sampler")
        self.sampler.addItems(list(SAMPLERS))
        self.pruner = QComboBox()
        self.pruner.setObjectName("tuning_pruner")
        self.pruner.addItems(list(PRUNERS))
        self.trials = QSpinBox()
        self.trials.setObjectName("tuning_trials")
        self.trials.setRange(1, 100000)
        self.timeout = QDoubleSpinBox()
        self.timeout.setRange(0, 1e7)
        self.timeout.setSpecialValueText(translate("TuningPanel", "none"))
        self.timeout.setSuffix(" s")
        self.epochs = QSpinBox()
        self.epochs.setObjectName("tuning_epochs")
        self.epochs.setRange(0, 1_000_000)
        self.epochs.setSpecialValueText(translate("TuningPanel", "project's"))
        self.out_edit = QLineEdit()
        self.out_edit.setObjectName("tuning_out")
        self.out_edit.setPlaceholderText(translate("TuningPanel", "runs/tune-<project>"))
        form.addRow(translate("TuningPanel", "sampler"), self.sampler)
        form.addRow(translate("TuningPanel", "pruner"), self.pruner)
        self.trials.setToolTip(
            translate(
                "TuningPanel",
                "the study's total of finished trials: a study continued in the same folder "
                "runs only the rest",
            )
        )
        form.addRow(translate("TuningPanel", "trials (total)"), self.trials)
        self.plan_label = QLabel("")
        self.plan_label.setObjectName("tuning_plan")
        self.plan_label.setWordWrap(True)
        self.plan_label.setStyleSheet("color: #9aa0a6;")
        form.addRow("", self.plan_label)
        form.addRow(translate("TuningPanel", "timeout"), self.timeout)
        form.addRow(translate("TuningPanel", "epochs"), self.epochs)
        form.addRow(translate("TuningPanel", "folder"), self.out_edit)
        return form

    def _build_buttons(self) -> QHBoxLayout:
        """Start, Stop and Open best."""
        buttons = QHBoxLayout()
        self.start_button = QPushButton(translate("TuningPanel", "Start"))
        self.start_button.setObjectName("tuning_start")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton(translate("TuningPanel", "Stop"))
        self.stop_button.setObjectName("tuning_stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.best_button = QPushButton(translate("TuningPanel", "Open best"))
        self.best_button.setObjectName("tuning_open_best")
        self.best_button.setEnabled(False)
        self.best_button.clicked.connect(self._open_best)
        for b in (self.start_button, self.stop_button, self.best_button):
            buttons.addWidget(b)
        return buttons

    def _build_right(self) -> QSplitter:
        """The right side: the trials table above the two plots."""
        right = QSplitter(Qt.Orientation.Vertical)
        self.table = QTableWidget(0, 0)
        self.table.setObjectName("tuning_trials_table")
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self._columns()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        right.addWidget(self.table)
        right.addWidget(self._build_plots())
        right.setSizes([190, 250])
        self.best_plot.getPlotItem().getAxis("left").enableAutoSIPrefix(False)
        return right

    def _build_plots(self) -> QSplitter:
        """Best value so far, and each trial's parameters against the objective."""
        plots = QSplitter(Qt.Orientation.Horizontal)
        self.best_plot = pg.PlotWidget()
        self.best_plot.setObjectName("tuning_best_plot")
        self.best_plot.setMinimumSize(220, 160)
        self.best_plot.setTitle(translate("TuningPanel", "best so far"), size="10pt")
        self.best_plot.setLabel("bottom", translate("TuningPanel", "trial"))
        self.best_plot.showGrid(x=True, y=True, alpha=0.15)
        self.trial_points = self.best_plot.plot([], [], pen=None, symbol="o", symbolSize=6,
                                                symbolBrush=TRIAL, name="trial")  # fmt: skip
        self.best_curve = self.best_plot.plot([], [], pen=pg.mkPen(BEST, width=2), stepMode=None)
        self.parallel = pg.PlotWidget()
        self.parallel.setObjectName("tuning_parallel")
        self.parallel.setMinimumSize(260, 160)
        self.parallel.setTitle(
            translate("TuningPanel", "parameters against the objective"), size="10pt"
        )
        self.parallel.getPlotItem().hideAxis("left")
        self.parallel_lines: list[Any] = []
        plots.addWidget(self.best_plot)
        plots.addWidget(self.parallel)
        return plots

    # -- the space -------------------------------------------------------------------------------
    def refresh_space(self) -> None:
        t = tuning_of(self.document)
        self.space_table.setRowCount(len(t["space"]))
        for i, d in enumerate(t["space"]):
            self.space_table.setItem(i, 0, QTableWidgetItem(self._label(d["target"])))
            self.space_table.setItem(i, 1, QTableWidgetItem(_describe(Dimension.from_dict(d))))
            self.space_table.item(i, 0).setData(Qt.ItemDataRole.UserRole, d["target"])
        for w, v in ((self.sampler, t["sampler"]), (self.pruner, t["pruner"])):
            w.blockSignals(True)
            w.setCurrentText(v)
            w.blockSignals(False)
        self.trials.setValue(int(t["trials"]))
        self.timeout.setValue(float(t["timeout"] or 0))
        self.start_button.setEnabled(self.task is None and bool(t["space"]))

    def _label(self, target: str) -> str:
        nid, _, p = target.rpartition(".")
        n = self.document.graph.nodes.get(nid)
        return f"{n.name}.{p}" if n is not None else target

    def targets(self) -> list[str]:
        return [d["target"] for d in tuning_of(self.document)["space"]]

    def add_setting(self) -> None:
        target = self.setting_combo.currentText()
        name = target.split(".", 1)[1]
        p = self._settings[name]
        from engine.catalog.settings import resolve_settings

        try:
            value = resolve_settings(self.document.graph.settings.get("training"))[name]
        except ValueError:
            value = p.default
        set_dimension(self.document, target, default_dimension(target, p, value))

    def remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.space_table.selectedItems()})
        for r in rows:
            item = self.space_table.item(r, 0)
            if item is not None:
                set_dimension(self.document, item.data(Qt.ItemDataRole.UserRole), None)

    # -- running ---------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.task is not None

    def out_dir(self) -> Path:
        text = self.out_edit.text().strip()
        if text:
            return Path(text)
        path = getattr(self.document, "path", None)
        return study_dir(Path(path).parent if path else Path.cwd(), self.document.graph.name)

    def read_existing(self) -> None:
        """Read the study already in the folder (if any), off the GUI thread, and show its
        trials and what a Start would add."""
        if self.task is not None:
            return
        out = self.out_dir()
        if not (out / "study.db").is_file():
            self._show_existing(None)
            return
        self._reading = run_task(
            _read_study, str(out), study_slug(self.document.graph.name), self.trials.value(),
            on_done=self._show_existing, on_error=lambda *_: self._show_existing(None),
            imports=("optuna", "sqlalchemy", "engine.tune"),
        )  # fmt: skip

    def _show_existing(self, state: Any) -> None:
        self._reading = None
        if self.task is not None:
            return
        self.existing = state
        rows = list(state.rows) if state is not None else []
        self.summary = (
            {"monitor": state.monitor, "direction": state.direction, "trials": state.plan.total}
            if state is not None
            else {}
        )
        self._names = list(state.names) if state is not None else []
        self._held = (state.plan.finished, state.plan.running) if state is not None else (0, 0)
        self._fill(rows)
        self._show_plan()

    def plan(self) -> Plan:
        """What a Start would do with the study in the folder and the trials asked."""
        finished, running = self._held
        return Plan(finished, running, self.trials.value())

    def _show_plan(self) -> None:
        if self.task is not None:
            return
        p = self.plan()
        self.plan_label.setText(plan_text(p))

    def _fill(self, rows: list[dict[str, Any]]) -> None:
        """The table and plots from ``rows`` (the trials so far)."""
        self.rows = list(rows)
        self.table.setRowCount(0)
        self._columns()
        for r in self.rows:
            self._add_row(r)
        self._redraw()

    def start(self) -> None:
        if self.task is not None:
            return
        from designer.document import snapshot_graph

        graph = snapshot_graph(self.document.graph)
        self.result, self.best_path = None, None
        self._stop_asked = False
        self.best_button.setEnabled(False)
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        out = self.out_dir()
        self.status.setStyleSheet("")
        self.status.setText(fmt(translate("TuningPanel", "starting a study in %1 …"), str(out)))
        opts = {
            "trials": self.trials.value(),
            "sampler": self.sampler.currentText(),
            "pruner": self.pruner.currentText(),
            "timeout": self.timeout.value() or None,
            "epochs": self.epochs.value() or None,
            "out": str(out),
        }
        self._idle.clear()
        self.task = run_task(
            self._work, graph, opts,
            on_done=self._done, on_error=self._failed, on_progress=self._progress,
            imports=("optuna", "sqlalchemy", "engine.tune"),
        )  # fmt: skip

    def _work(self, graph: Any, opts: dict[str, Any], progress: Any) -> Any:
        """On the worker thread: the study, each finished trial posted as a JSON row."""
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)

        def on_trial(row: dict[str, Any], summary: dict[str, Any]) -> None:
            progress(json.dumps({"row": row, "summary": summary}, default=str))

        try:
            return self._study(graph, opts, on_trial, progress)
        finally:
            self._idle.set()

    def _study(self, graph: Any, opts: dict[str, Any], on_trial: Any, progress: Any) -> Any:
        from engine.tune.study import Study

        st = Study(graph, on_trial=on_trial, **opts)
        self.study = st
        if self._stop_asked:
            st.stop()
        plan = st.plan()
        from engine.tune.study import counted, trial_row

        assert st.study is not None
        rows = [trial_row(t) for t in counted(st.study.get_trials(deepcopy=False))]
        progress(json.dumps({"started": {"trials": st.trials, "monitor": st.monitor,
                                         "direction": st.direction, "rows": rows,
                                         "plan": [plan.finished, plan.running, plan.total],
                                         "names": [r.name for r in st.dims]}},
                            default=str))  # fmt: skip
        return st.run()

    def running_description(self) -> str:
        """The running study in words, for the close prompt."""
        st = self.study
        name = st.study_name if st is not None else study_slug(self.document.graph.name)
        done = self.summary.get("done", 0)
        return fmt(
            translate(
                "TuningPanel",
                "The tuning study “%1” is running in %2 (%3 trials finished). "
                "Closing stops it; the running trial is marked failed and the finished "
                "ones are kept.",
            ),
            name,
            str(self.out_dir()),
            str(done),
        )

    def shutdown(self, timeout_s: float = 60.0) -> bool:
        """Stop the study and wait for its worker thread to end (its running trial marked
        failed, the study's files written), so that quitting never kills a thread in the
        middle of training. False when it did not end within ``timeout_s``."""
        if self.task is None:
            return True
        self.stop()
        return self._idle.wait(timeout_s)

    def stop(self) -> None:
        self._stop_asked = True
        st = self.study
        if st is not None:
            st.stop()
        self.status.setText(
            translate("TuningPanel", "stopping after the running trial's next batch …")
        )

    def _progress(self, text: str) -> None:
        msg = json.loads(text)
        if "started" in msg:
            s = msg["started"]
            self.summary = {"trials": s["trials"], "monitor": s["monitor"],
                            "direction": s["direction"], "done": 0}  # fmt: skip
            names = list(s["names"])
            for r in s["rows"]:
                names += [n for n in r["params"] if n not in names]
            self._names = names
            self._fill(s["rows"])
            plan = Plan(*s["plan"])
            self.plan_label.setText(plan_text(plan))
            self.status.setText(
                fmt(
                    translate("TuningPanel", "%1 more trials, %2 %3 …"),
                    str(plan.more),
                    str(s["direction"]),
                    str(s["monitor"]),
                )
            )
            return
        self.rows.append(msg["row"])
        self.summary = msg["summary"]
        self._add_row(msg["row"])
        self._redraw()
        s = self.summary
        best = (
            ""
            if s["best_value"] is None
            else f", best {s['best_value']:.4g} (trial {s['best_trial']})"
        )
        self.status.setText(
            fmt(
                translate("TuningPanel", "trial %1 of %2%3"),
                str(s["done"]),
                str(s["trials"]),
                str(best),
            )
        )

    def _columns(self) -> None:
        """Named columns from the start (never Qt's placeholder numbers); a parameter's
        column is as wide as its name."""
        names = self._names
        mon = self.summary.get("monitor") or translate("TuningPanel", "value")
        heads = [
            "#",
            translate("TuningPanel", "state"),
            mon,
            translate("TuningPanel", "seconds"),
            *[self._label(n) for n in names],
        ]
        self.table.setColumnCount(len(heads))
        self.table.setHorizontalHeaderLabels(heads)
        for i, n in enumerate(names, start=4):
            item = self.table.horizontalHeaderItem(i)
            if item is not None:
                item.setToolTip(n)

    def _add_row(self, r: dict[str, Any]) -> None:
        sorting = self.table.isSortingEnabled()
        self.table.setSortingEnabled(False)
        i = self.table.rowCount()
        self.table.insertRow(i)
        v, d = r.get("value"), r.get("duration_s")
        cells = [
            _NumberItem(r["number"], str(r["number"])),
            QTableWidgetItem(translate("TuningPanel", str(r["state"]))),
            _NumberItem(v, "" if v is None else f"{v:.5g}"),
            _NumberItem(d, "" if d is None else f"{d:.2f}"),
        ]
        for n in self._names:
            x = r["params"].get(n)
            num = float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None
            cells.append(
                _NumberItem(num, _fmt(x)) if num is not None else QTableWidgetItem(_fmt(x))
            )
        for j, c in enumerate(cells):
            if r.get("error"):
                c.setToolTip(r["error"])
            self.table.setItem(i, j, c)
        self.table.setSortingEnabled(sorting)

    def _done(self, res: Any) -> None:
        self.task, self.study = None, None
        self.result = res
        self.stop_button.setEnabled(False)
        self.refresh_space()
        word = (
            translate("TuningPanel", "stopped") if res.stopped else translate("TuningPanel", "done")
        )
        if res.best_trial is None:
            self.status.setText(fmt(translate("TuningPanel", "%1: no trial completed"), str(word)))
        else:
            self.best_path = res.best_path
            self.best_button.setEnabled(True)
            imp = ", ".join(f"{self._label(k)} {v:.2f}" for k, v in res.importances.items())
            self.status.setText(
                fmt(
                    translate("TuningPanel", "%1: best %2 %3 (trial %4); %5 trials in %6"),
                    str(word),
                    str(res.monitor),
                    f"{res.best_value:.5g}",
                    str(res.best_trial),
                    str(len(res.trials)),
                    str(res.out_dir),
                )
                + (fmt(translate("TuningPanel", "<br>importances: %1"), str(imp)) if imp else "")
            )
        done = [r for r in res.trials if r["state"] != "running"]
        self._held = (len(done), len(res.trials) - len(done))
        self._show_plan()
        self.finished.emit(res)

    def _failed(self, message: str, _details: str) -> None:
        self.task, self.study = None, None
        self.stop_button.setEnabled(False)
        self.refresh_space()
        self._show_plan()
        self.status.setStyleSheet("color: #e0524a;")
        self.status.setText(message)
        self.finished.emit(None)

    def _open_best(self) -> None:
        if self.best_path:
            self.openBest.emit(self.best_path)

    # -- plots -----------------------------------------------------------------------------------
    def completed(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["state"] == "complete" and r["value"] is not None]

    def best_so_far(self) -> tuple[list[float], list[float]]:
        maximize = self.summary.get("direction") == "maximize"
        xs, ys, best = [], [], None
        for r in sorted(self.completed(), key=lambda r: r["number"]):
            v = float(r["value"])
            best = v if best is None else (max(best, v) if maximize else min(best, v))
            xs.append(float(r["number"]))
            ys.append(best)
        return xs, ys

    def _redraw(self) -> None:
        done = self.completed()
        self.trial_points.setData(
            [float(r["number"]) for r in done], [float(r["value"]) for r in done]
        )
        xs, ys = self.best_so_far()
        self.best_curve.setData(xs, ys)
        self.best_plot.setLabel("left", self.summary.get("monitor", ""))
        self._draw_parallel(done)

    def _draw_parallel(self, done: list[dict[str, Any]]) -> None:
        """One line per completed trial across an axis per parameter and the objective,
        each axis scaled to its range (log ranges in log), coloured by the objective."""
        for item in self.parallel_lines:
            self.parallel.removeItem(item)
        self.parallel_lines = []
        names = list(self._names)
        if not done or not names:
            return
        axes = [*names, "value"]
        cols = {n: [r["params"].get(n) for r in done] for n in names}
        cols["value"] = [r["value"] for r in done]
        scaled = {a: _scale(cols[a]) for a in axes}
        vals = [float(v) for v in cols["value"]]
        maximize = self.summary.get("direction") == "maximize"
        # coloured by rank (one outlier must not wash out the rest): yellow is the best
        order = sorted(range(len(vals)), key=lambda i: vals[i], reverse=not maximize)
        rank = {i: k / max(1, len(vals) - 1) for k, i in enumerate(order)}
        cmap = pg.colormap.get("viridis")
        for i in sorted(range(len(vals)), key=lambda i: rank[i]):  # the best drawn last
            color = cmap.map(rank[i] if len(vals) > 1 else 1.0, mode="qcolor")
            line = pg.PlotDataItem(list(range(len(axes))), [scaled[a][i] for a in axes],
                                   pen=pg.mkPen(color, width=2), symbol="o", symbolSize=4,
                                   symbolBrush=color)  # fmt: skip
            self.parallel.addItem(line)
            self.parallel_lines.append(line)
        self.parallel.setXRange(-0.35, len(axes) - 0.65, padding=0)
        self.parallel.setYRange(-0.05, 1.05, padding=0)
        self.parallel.setTitle(
            fmt(
                translate("TuningPanel", "parameters against %1 (yellow: best)"),
                str(self.summary.get("monitor", "the objective")),
            ),
            size="10pt",
        )
        ax = self.parallel.getPlotItem().getAxis("bottom")
        ax.setTicks([[(i, self._label(a) if a != "value" else self.summary.get("monitor", "value"))
                      for i, a in enumerate(axes)]])  # fmt: skip


def _read_study(out: str, name: str, total: int) -> Any:
    """On a worker thread: the study in ``out`` (``engine.tune.study.read_study``)."""
    from engine.tune.study import read_study

    return read_study(out, name, total)


def _scale(values: list[Any]) -> list[float]:
    """Values on [0, 1]: numbers by their range (log when all positive and spread over a
    decade or more), other values by their order of first appearance."""
    nums = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(nums) == len(values):
        xs = [float(v) for v in nums]
        if min(xs) > 0 and max(xs) / min(xs) >= 10:
            xs = [math.log10(x) for x in xs]
        lo, hi = min(xs), max(xs)
        return [0.5 if hi == lo else (x - lo) / (hi - lo) for x in xs]
    order: list[Any] = []
    for v in values:
        if v not in order:
            order.append(v)
    n = max(1, len(order) - 1)
    return [order.index(v) / n if len(order) > 1 else 0.5 for v in values]


def _describe(d: Dimension) -> str:
    if d.choices is not None:
        return ", ".join(_fmt(c) for c in d.choices)
    s = f"{_fmt(d.low)} … {_fmt(d.high)}"
    if d.log:
        s += " (log)"
    if d.step is not None:
        s += f" step {_fmt(d.step)}"
    return s


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


__all__ = ["TuneError", "TuningPanel"]


def plan_text(p: Plan) -> str:
    """``Plan.describe()`` in the interface's language: the same sentence, built here from
    the plan's numbers so that a translation can order them (the engine's text is English)."""
    if not p.finished and not p.running:
        return fmt(
            translate("TuningPanel", "%1 trials will run (trials is the study's total)"), p.total
        )
    one = p.finished == 1
    held = fmt(
        translate("TuningPanel", "the study holds %1 finished trial")
        if one
        else translate("TuningPanel", "the study holds %1 finished trials"),
        p.finished,
    )
    if p.running:
        held += fmt(translate("TuningPanel", " (%1 running)"), p.running)
    if p.more:
        return fmt(
            translate("TuningPanel", "%1; %2 more will run to reach %3 in total"),
            held,
            p.more,
            p.total,
        )
    return fmt(
        translate(
            "TuningPanel", "%1; trials %2 is a total, so none more will run (ask for more than %3)"
        ),
        held,
        p.total,
        p.finished + p.running,
    )
