"""While the engine loads, the window already has its whole menu bar: each menu says what is
still loading (nothing hidden, nothing that does nothing), and the loaded editor fills those
same menus; the Run menu gets its items once the training tools are in."""

from __future__ import annotations

from typing import Any

from designer.app import MainWindow


def _menus(window: MainWindow) -> dict[str, Any]:
    return {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions()}


def test_the_start_up_window_shows_every_menu_loading(qtbot: Any) -> None:
    window = MainWindow(eager=False)
    qtbot.addWidget(window)
    menus = _menus(window)
    assert list(menus) == ["File", "Edit", "View", "Run", "Help"]
    for title, menu in menus.items():
        loading = [a for a in menu.actions() if a.objectName() == "loading"]
        assert loading and not loading[0].isEnabled(), title
        assert "Loading" in loading[0].text()
    enabled = [a.text() for a in menus["File"].actions() if a.isEnabled() and not a.isSeparator()]
    assert enabled == ["&Quit"]

    window.defer_run_panels = True
    window.load()
    menus = _menus(window)
    assert list(menus) == ["File", "Edit", "View", "Run", "Help"]  # the same menus, filled
    assert not any(a.objectName() == "loading" for t in ("File", "Edit", "View", "Help")
                   for a in menus[t].actions())  # fmt: skip
    qtbot.waitUntil(lambda: window.training_panel is not None, timeout=60000)
    run = _menus(window)["Run"]
    assert window.actions_by_name["train"] in run.actions()
    assert not any(a.objectName() == "loading" for a in run.actions())
    assert [t for t in _menus(window)].count("Run") == 1
    window.ask_save_changes = lambda: "discard"
    window.close()
