"""What a newcomer met in the first minutes (issue 16): examples, banners, actions, reasons."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from designer.app import DEFAULT_SIZE, MainWindow
from designer.files import EXAMPLES_DIR, add_recent, recent_files

IRIS = EXAMPLES_DIR / "iris.json"


def _open_iris(w: MainWindow) -> Any:
    assert w.open_path(IRIS)
    rep = w.document.wait_checked(60)
    assert rep is not None and rep.ok
    return rep


def test_examples_never_enter_recent_and_never_keep_their_path(window: MainWindow) -> None:
    """Item 1: File ▸ Examples, Open Recent or File ▸ Open on the bundled file: always an
    untitled copy, so Ctrl+S asks where instead of overwriting resources/examples."""
    w = window
    before = IRIS.read_bytes()
    w._add_run_panels()
    actions = {a.data(): a for a in w.examples_menu.actions() if a.data()}
    actions[str(IRIS)].trigger()
    assert w.document.path is None
    assert IRIS.resolve() not in [p.resolve() for p in recent_files()]
    add_recent(IRIS)  # a stale entry from an older version
    assert IRIS.resolve() not in [p.resolve() for p in recent_files()]
    assert w.open_path(IRIS) and w.document.path is None  # however it is reached
    asked: list[bool] = []
    w.ask_save_path = lambda: asked.append(True) or None  # type: ignore[method-assign]
    w.save()
    assert asked == [True] and IRIS.read_bytes() == before


def test_a_failure_banner_and_prediction_belong_to_their_project(window: MainWindow) -> None:
    """Items 2, 13: opening another project clears the last one's banner and results; a
    Predict error clears the old result beside it."""
    w = window
    w._add_run_panels()
    tp, pp = w.training_panel, w.predict_panel
    assert tp is not None and pp is not None
    _open_iris(w)
    tp._show_failure("split_2: something broke", popup=False)
    tp._set_state("failed")
    assert not tp.banner.isHidden()
    assert w.open_path(EXAMPLES_DIR / "moons.json")
    assert tp.banner.isHidden() and tp.last_error is None and tp.state == "idle"
    pp.prediction = object()
    pp._results.setCurrentIndex(1)
    pp._show_error("row 1: not a number")
    assert pp.prediction is None and pp._results.currentIndex() == 0
    assert "not a number" in pp.status_label.text()


def test_run_menu_follows_the_buttons(window: MainWindow) -> None:
    """Item 3: Run ▸ Train/Pause/Resume/Stop are enabled exactly when the buttons are."""
    w = window
    w._add_run_panels()
    tp = w.training_panel
    assert tp is not None
    _open_iris(w)
    w.document.wait_checked(60)
    tp._on_report(w.document.report)
    a = w.actions_by_name
    assert a["train"].isEnabled() == tp.start_button.isEnabled()
    assert not a["pause"].isEnabled() and not a["resume"].isEnabled()
    assert not a["stop"].isEnabled()
    loss = w.document.graph.by_name("cross_entropy_loss").id
    w.document.remove_nodes([loss])
    rep = w.document.wait_checked(60)
    tp._on_report(rep)
    assert not tp.start_button.isEnabled() and not a["train"].isEnabled()
    tp._start(None)  # the shortcut path: says why, never "Training failed"
    assert tp.banner.isHidden() and tp.state == "idle"


def test_training_dock_lists_the_reasons_as_links_to_their_nodes(window: MainWindow) -> None:
    """Item 8 (and the typed verdict): every reason is shown; one on a node selects it."""
    w = window
    w._add_run_panels()
    tp = w.training_panel
    assert tp is not None
    _open_iris(w)
    g = w.document.graph
    loss = g.by_name("cross_entropy_loss").id
    w.document.disconnect([e for e in g.edges if e.dst == loss and e.dst_port == "input"])
    rep = w.document.wait_checked(60)
    assert rep is not None and rep.training is not None and not rep.training.ready
    assert any(r.node == loss for r in rep.training.reasons)
    tp._on_report(rep)
    label = tp.reasons_label
    assert not label.isHidden()
    assert "Cannot train yet" in label.text() and f"node:{loss}" in label.text()
    for r in rep.training.reasons:
        assert r.message.split("(")[0].strip()[:20] in label.text().replace("&#x27;", "'")
    w.canvas.select([])
    label.linkActivated.emit(f"node:{loss}")
    assert w.canvas.selected_ids() == [loss]


def test_untyped_readiness_mirror_matches(tmp_path: Path) -> None:
    from engine import check, load_project

    rep = check(load_project(IRIS))
    assert rep.training is not None and rep.training.ready
    assert rep.extra["ready_to_train"] is True and rep.extra["train_plan"] is rep.training.plan


def test_digits_cnn_opens_fitted_and_readable_at_the_default_size(qtbot: Any) -> None:
    """Item 4: at the default window size the whole example is on the visible canvas (the
    viewport between the docks, after they are laid out) at a readable scale: at least the
    canvas's own MIN_READABLE_SCALE, where node titles stay legible."""
    from designer.canvas import MIN_READABLE_SCALE

    w = MainWindow()
    qtbot.addWidget(w)
    w.ask_save_changes = lambda: "discard"  # type: ignore[method-assign]
    w.resize(*DEFAULT_SIZE)  # on a screen that holds it (offscreen's is 800×800)
    w.show()
    qtbot.waitUntil(lambda: w.is_loaded, timeout=30000)
    w._add_run_panels()
    assert w.open_path(EXAMPLES_DIR / "digits_cnn.json")
    w.document.wait_checked(60)
    c, v = w.canvas, w.canvas.viewer

    def all_inside() -> bool:
        vp = v.viewport().rect()
        return all(
            vp.contains(v.mapFromScene(vn.view.sceneBoundingRect()).boundingRect())
            for vn in c._views.values()
        )

    qtbot.waitUntil(all_inside, timeout=5000)
    assert len(c._views) == 20
    assert v.transform().m11() >= MIN_READABLE_SCALE
    w.close()


def test_schedule_parameters_show_only_for_their_schedule(window: MainWindow) -> None:
    """Item 11: the property editor reads Param.enabled_if from the catalog."""
    w = window
    before = set(w.document.graph.nodes)
    w.palette.tree.itemActivated.emit(w.palette._items["Adam"], 0)
    (adam,) = set(w.document.graph.nodes) - before
    w.canvas.select([adam])
    w.canvas._emit_selection_now()
    eds = w.properties.editors
    assert eds["lr"].isVisibleTo(w.properties) and not eds["step_size"].isVisibleTo(w.properties)
    w.document.set_params(adam, lr_schedule="step")
    assert eds["step_size"].isVisibleTo(w.properties) and eds["gamma"].isVisibleTo(w.properties)
    assert not eds["eta_min"].isVisibleTo(w.properties)


def test_palette_adds_land_in_free_space_and_the_view_follows(
    window: MainWindow, qtbot: Any
) -> None:
    """Item 5: eight palette double-clicks never stack nodes; each new one is on screen."""
    from engine.build.layout import NODE_SIZE

    w = window
    _open_iris(w)
    c, v = w.canvas, w.canvas.viewer
    for _ in range(8):
        c.select([])
        before = set(w.document.graph.nodes)
        w.palette.tree.itemActivated.emit(w.palette._items["ReLU"], 0)
        (new,) = set(w.document.graph.nodes) - before
        qtbot.waitUntil(
            lambda new=new: (
                v.viewport()
                .rect()
                .intersects(v.mapFromScene(c._views[new].view.sceneBoundingRect()).boundingRect())
            ),
            timeout=3000,
        )
    pos = [n.pos for n in w.document.graph.nodes.values()]
    bw, bh = NODE_SIZE
    for i, a in enumerate(pos):
        for b in pos[i + 1 :]:
            assert abs(a[0] - b[0]) >= bw or abs(a[1] - b[1]) >= bh, (a, b)


def test_live_plot_x_axis_grows_with_the_data(qtbot: Any) -> None:
    """Item 16: a 3000-epoch run does not squeeze its first epochs into the left edge."""
    from designer.widgets.plots import TRAIN, SeriesPlot

    plot = SeriesPlot("loss")
    qtbot.addWidget(plot)
    plot.add_series("train", TRAIN)
    plot.set_x_range(0.0, 3000.0)
    plot.extend("train", [1.0, 2.0, 3.0], [1.0, 0.8, 0.7])
    plot.redraw()
    right = plot.getPlotItem().getViewBox().viewRange()[0][1]
    assert 3.0 <= right < 200.0  # the data fills a good part of the plot
    plot.extend("train", [float(x) for x in range(4, 1001)], [0.5] * 997)
    plot.redraw()
    right2 = plot.getPlotItem().getViewBox().viewRange()[0][1]
    assert 1000.0 <= right2 <= 3000.0 * 1.03
    plot.extend("train", [2999.0, 3000.0], [0.4, 0.4])
    plot.redraw()
    assert plot.getPlotItem().getViewBox().viewRange()[0][1] <= 3000.0 * 1.03


def test_closing_during_a_run_says_it_will_be_stopped(window: MainWindow) -> None:
    """Item 19: the close prompt names the run going on; Cancel keeps the window open."""
    w = window
    w._add_run_panels()
    tp = w.training_panel
    assert tp is not None
    asked: list[str] = []
    w.ask_stop_training = lambda what: asked.append(what) or False  # type: ignore[method-assign]
    tp.state = "running"
    tp._epochs = 20
    w.close()
    assert w.isVisible() and asked and "training run is going on" in asked[0]
    assert "stops it" in asked[0] and "20 epochs" in asked[0]
    tp.state = "idle"
    asked.clear()
    w.close()
    assert asked == [] and not w.isVisible()


def test_messages_in_plain_words(window: MainWindow, tmp_path: Path) -> None:
    """Item 20: the recovery entry of an example's copy, a JSON of something else, and
    the shortcut list (Undo, not "Undo Move")."""
    import json

    import pytest

    from designer.files import Recovery
    from engine.project import ProjectError, load_project

    rec = Recovery(tmp_path / "x.autosave", None, 0.0, json.dumps({"name": "digits_cnn"}))
    assert rec.label.startswith("digits_cnn (never saved;")
    other = tmp_path / "package.json"
    other.write_text('{"name": "x", "version": "1.0"}')
    with pytest.raises(ProjectError) as err:
        load_project(other)
    assert "None" not in str(err.value) and '"format"' in str(err.value)
    w = window
    _open_iris(w)
    w.document.move_nodes({next(iter(w.document.graph.nodes)): (5.0, 5.0)})
    assert "Move" in w.actions_by_name["undo"].text()
    names = [t for t, _ in w.shortcut_rows()]
    assert "Undo" in names and not any("Move" in t for t in names)


def test_runs_follow_the_project_when_it_is_first_saved(window: MainWindow, tmp_path: Path) -> None:
    """Item 12: a run made while untitled moves beside the project on its first save, the
    project takes the file's name, and a reopen finds the model again for Predict."""
    w = window
    w._add_run_panels()
    tp, pp = w.training_panel, w.predict_panel
    assert tp is not None and pp is not None
    w.new_file()
    assert w.document.graph.name == "untitled"
    run = tmp_path / "appdata" / "runs" / "untitled-20260101-120000"
    run.mkdir(parents=True)
    (run / "best.pt").write_bytes(b"weights")
    (run / "last.pt").write_bytes(b"weights")
    tp.last_run_dir = run
    tp.best_checkpoint, tp.latest_checkpoint = run / "best.pt", run / "last.pt"
    tp.last_checkpoint = tp.best_checkpoint
    target = tmp_path / "proj" / "my_model.json"
    target.parent.mkdir()
    w.ask_save_path = lambda: str(target)  # type: ignore[method-assign]
    assert w.save()
    assert w.document.graph.name == "my_model"
    moved = tmp_path / "proj" / "runs" / "my_model-20260101-120000"
    assert tp.last_run_dir == moved and not run.exists()
    assert tp.best_checkpoint == moved / "best.pt" and (moved / "best.pt").exists()
    assert pp.checkpoint() == moved / "best.pt"
    w.new_file()
    assert tp.best_checkpoint is None and pp.checkpoint() is None
    assert w.open_path(target)
    assert tp.best_checkpoint == moved / "best.pt" and pp.checkpoint() == moved / "best.pt"


def test_an_empty_new_window_says_what_to_do_at_once(window: MainWindow) -> None:
    """Item 22 (the part of it here): no "being checked…" on an empty canvas."""
    w = window
    w._add_run_panels()
    tp = w.training_panel
    assert tp is not None
    w.new_file()
    tp._on_report(None)  # before any check has finished
    assert "being checked" not in tp.status_label.text()
    assert "Nothing to train yet" in tp.status_label.text()


def test_dragging_from_a_port_to_empty_space_adds_a_wired_node(window: MainWindow) -> None:
    """Item 18: release a new wire over nothing: the node search opens there, and the chosen
    node is wired to that port (from an output: its input; from an input: its output)."""
    w = window
    _open_iris(w)
    c, g = w.canvas, w.document.graph
    relu = g.by_name("relu").id
    view_id = c._views[relu].id
    from PySide6.QtCore import QPointF

    c.viewer.port_dropped.emit(view_id, "output", True, QPointF(900.0, 900.0))
    assert c.search.isVisible()
    before = set(g.nodes)
    c._search_chosen("Dropout")
    (new,) = set(g.nodes) - before
    assert any(e.src == relu and e.dst == new for e in g.edges)
    assert g.nodes[new].pos[0] == 900.0
    c.search.hide()
    lin = g.by_name("linear").id
    c.viewer.port_dropped.emit(c._views[lin].id, "input", False, QPointF(-400.0, 900.0))
    before = set(g.nodes)
    c._search_chosen("Flatten")
    (new2,) = set(g.nodes) - before
    assert any(e.src == new2 and e.dst == lin and e.dst_port == "input" for e in g.edges)
    w.document.undo_stack.undo()  # one step: the node and its wire
    assert new2 not in g.nodes


def test_the_viewer_reports_a_wire_released_over_nothing(window: MainWindow, qtbot: Any) -> None:
    """The NodeGraphQt hook behind item 18: a fresh live wire ending on no port."""
    from PySide6.QtCore import QPointF

    w = window
    _open_iris(w)
    c, v = w.canvas, w.canvas.viewer
    relu_view = c._views[w.document.graph.by_name("relu").id].view
    port = next(p for p in relu_view.outputs)
    # the state NodeGraphQt's press on a port leaves (a fresh wire, nothing detached)
    v._start_port, v._detached_port = port, None
    v._LIVE_PIPE.setVisible(True)

    class _Release:
        def scenePos(self) -> QPointF:
            return QPointF(5000.0, 5000.0)

    with qtbot.waitSignal(v.port_dropped, timeout=1000) as sig:
        v.apply_live_connection(_Release())
    assert sig.args[:3] == [relu_view.id, "output", True]
    assert not v._LIVE_PIPE.isVisible()


def test_a_wire_back_to_the_next_row_runs_under_the_captions(window: MainWindow) -> None:
    """Item 17: Batch → Input (Input left of and below Batch) neither crosses the Batch
    node and its caption nor curls across the Input node."""
    from PySide6.QtCore import QRectF

    w = window
    assert w.open_path(EXAMPLES_DIR / "digits_cnn.json")
    c, g = w.canvas, w.document.graph
    batch, feats = g.by_name("batch").id, g.by_name("features").id
    pipe = next(
        p
        for p in c.viewer.all_pipes()
        if {p.input_port.node.id, p.output_port.node.id} == {c._views[batch].id, c._views[feats].id}
    )
    src = c._views[batch].view.sceneBoundingRect()
    dst = c._views[feats].view.sceneBoundingRect()
    keep_out = [
        QRectF(src.left(), src.top(), src.width() - 12, src.height() + 28),
        dst.adjusted(12, 0, 0, 0),
    ]
    path = pipe.path()
    for i in range(1, 100):
        pt = pipe.mapToScene(path.pointAtPercent(i / 100))
        assert not any(r.contains(pt) for r in keep_out), (i, pt)


def test_run_docks_are_never_restored_too_short(window: MainWindow) -> None:
    """Item 14: a saved layout with a 100 px bottom dock still shows the buttons and plots."""
    from designer.app import MIN_RUN_DOCK_HEIGHT

    w = window
    w._add_run_panels()
    w.dock_training.show()
    w.dock_training.raise_()
    w.resizeDocks([w.dock_training], [100], Qt.Orientation.Vertical)
    w.restoreState(w.saveState())
    assert w.dock_training.height() >= MIN_RUN_DOCK_HEIGHT
    assert w.dock_predict.minimumHeight() >= MIN_RUN_DOCK_HEIGHT


def test_the_first_screen_shows_the_training_dock_not_an_empty_problems_list(
    window: MainWindow, qtbot: Any
) -> None:
    """Item 14: with nothing wrong, the bottom dock opens on Training (its Train button);
    with errors, on Problems."""
    w = window
    _open_iris(w)
    w._saved_layout = None  # a first start: no layout of the user's to restore
    w._add_run_panels()
    qtbot.waitUntil(lambda: not w.dock_training.visibleRegion().isEmpty(), timeout=5000)
    assert w.dock_problems.visibleRegion().isEmpty()
    g = w.document.graph
    loss = g.by_name("cross_entropy_loss").id
    w.document.disconnect([e for e in g.edges if e.dst == loss and e.dst_port == "input"])
    rep = w.document.wait_checked(60)
    assert rep is not None and rep.errors
    w._raise_first_dock()
    qtbot.waitUntil(lambda: not w.dock_problems.visibleRegion().isEmpty(), timeout=5000)
