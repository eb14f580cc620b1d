"""The training panel's settings form: one editor per setting the engine declares
(``TRAINING_SETTINGS``), each edit an undoable change of the project; and which devices
and how many processes this machine offers (detected off the GUI thread)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QFormLayout, QFrame, QLabel, QScrollArea, QWidget

from designer import i18n
from designer.bridge import readable_error
from designer.i18n import fmt, translate
from engine.graph.ops import SetSettings
from engine.runtime.device import DEVICE_CHOICES


def _training_settings_params() -> tuple[Any, ...]:
    """The training settings as declared once by the engine (``TRAINING_SETTINGS``)."""
    from engine.catalog.settings import TRAINING_SETTINGS

    return tuple(TRAINING_SETTINGS)


def _detect_devices() -> dict[str, str | None]:
    """For each device choice: None when usable here, else why not."""
    import torch

    out: dict[str, str | None] = {"auto": None, "cpu": None}
    out["cuda"] = (
        None
        if torch.cuda.is_available()
        else translate("TrainingPanel", "no CUDA device on this machine")
    )
    mps = getattr(torch.backends, "mps", None)
    ok = bool(mps is not None and mps.is_available())
    out["mps"] = None if ok else translate("TrainingPanel", "no Apple GPU (MPS) on this machine")
    return out


def _detect_processes() -> tuple[int, str | None]:
    """How many training processes the panel offers, and why not more (None: it can).

    Several processes pay off with one GPU each (DDP over NCCL); on the CPU they share the
    same cores, so the panel offers them only with two CUDA devices or more. The command
    line trains on several CPU processes too (``--nproc-per-node``).
    """
    import torch

    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if n >= 2:
        return n, None
    have = (
        translate("TrainingPanel", "one CUDA device")
        if n == 1
        else translate("TrainingPanel", "no CUDA device")
    )
    return 1, fmt(
        translate(
            "TrainingPanel",
            "Several processes need two or more CUDA devices; this machine has %1. "
            "On the CPU: torchwire train FILE --nproc-per-node N",
        ),
        have,
    )


def _editor_factory() -> Callable[..., QWidget]:
    from designer.widgets.param_editors import make_editor

    return make_editor


class SettingsForm:
    """Mixed into :class:`~designer.panels.training.TrainingPanel`: the settings column."""

    document: Any

    def _build_settings_area(self) -> QScrollArea:
        """The settings column (filled once the engine's declaration is loaded)."""
        # settings column
        self.settings_area = QScrollArea()
        self.settings_area.setWidgetResizable(True)
        self.settings_area.setFrameShape(QFrame.Shape.NoFrame)
        self.settings_area.setMinimumWidth(220)
        holder = QWidget()
        self.settings_form = QFormLayout(holder)
        self.settings_form.setContentsMargins(2, 2, 8, 2)
        self.settings_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._settings_note = QLabel(translate("TrainingPanel", "Loading the training settings…"))
        self._settings_note.setWordWrap(True)
        self.settings_form.addRow(self._settings_note)
        self.settings_area.setWidget(holder)
        self.settings_toggle.toggled.connect(self.settings_area.setVisible)
        return self.settings_area

    def _on_environment(self, result: Any) -> None:
        params, devices = result
        self._env_loaded = True
        devices = dict(devices)
        most, why = devices.pop("processes", (1, None))
        self._max_processes = int(most)
        self.processes_spin.setRange(1, max(1, self._max_processes))
        tip = why or fmt(
            translate(
                "TrainingPanel",
                "Train on up to %1 processes, one GPU each (DistributedDataParallel); "
                "the batch size stays the global batch",
            ),
            most,
        )
        self.processes_spin.setToolTip(tip)
        self.processes_label.setToolTip(tip)
        self._device_problems = devices
        model = self.device_combo.model()
        if isinstance(model, QStandardItemModel):
            for i, name in enumerate(DEVICE_CHOICES):
                item = model.item(i)
                problem = devices.get(name)
                item.setEnabled(problem is None)
                item.setToolTip(
                    problem or fmt(translate("TrainingPanel", "train on %1"), str(name))
                )
        self._settings_params = tuple(p for p in params if p.name != "device")
        self._build_settings_form()
        self._update_buttons()

    def _on_environment_error(self, message: str, details: str) -> None:
        self._env_loaded = True
        self._settings_note.setText(
            fmt(translate("TrainingPanel", "Training is unavailable: %1"), str(message))
        )
        self.log(f"could not load the training engine: {message}")
        self._update_buttons()

    def _build_settings_form(self) -> None:
        form = self.settings_form
        while form.rowCount():
            form.removeRow(0)
        self._editors = {}
        if not self._settings_params:
            self._settings_note = QLabel(
                translate("TrainingPanel", "The engine declares no training settings.")
            )
            form.addRow(self._settings_note)
            return
        make_editor = _editor_factory()
        values = self._current_settings()
        for p in self._settings_params:
            value = values.get(p.name, p.default)
            try:
                ed = make_editor(p, value, lambda v, name=p.name: self._set_setting(name, v))
            except Exception as e:  # a declaration the editors do not know yet
                ed = QLabel(f"{value!r} ({readable_error(e)})")
            label = QLabel(i18n.setting_label(p.name))
            label.setToolTip(f"{p.name}: {i18n.doc(p.doc)}")
            ed.setToolTip(i18n.doc(p.doc))
            form.addRow(label, ed)
            self._editors[p.name] = ed
        self._load_settings_values()

    def _current_settings(self) -> dict[str, Any]:
        graph = getattr(self.document, "graph", None)
        if graph is None:
            return {}
        return dict(graph.settings.get("training") or {})

    def _load_settings_values(self) -> None:
        values = self._current_settings()
        resolved = {p.name: values.get(p.name, p.default) for p in self._settings_params}
        for p in self._settings_params:
            ed = self._editors.get(p.name)
            if ed is not None and hasattr(ed, "set_value"):
                ed.set_value(values.get(p.name, p.default))
            if ed is not None and getattr(p, "enabled_if", None) is not None:
                # e.g. patience while early stopping is off (Param.enabled_if, item 11)
                self.settings_form.setRowVisible(ed, p.enabled(resolved))
        dev = values.get("device", "auto")
        if dev in DEVICE_CHOICES and self.device_combo.currentText() != dev:
            self.device_combo.blockSignals(True)
            self.device_combo.setCurrentText(dev)
            self.device_combo.blockSignals(False)

    def _set_setting(self, name: str, value: Any) -> None:
        """One training setting changed: an undoable edit of the document's graph."""
        current = self._current_settings()
        if current.get(name) == value and name in current:
            return
        new = copy.deepcopy(current)
        new[name] = value
        doc = self.document
        if hasattr(doc, "set_setting"):
            doc.set_setting("training", new)  # undoable; marks the document modified
            return
        doc.graph.apply(SetSettings("training", new))

    def _on_device_changed(self, device: str) -> None:
        if getattr(self.document, "graph", None) is None:
            return
        if self._current_settings().get("device", "auto") != device:
            self._set_setting("device", device)


__all__ = ["SettingsForm"]
