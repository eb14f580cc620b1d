"""A plugin whose forward calls ``sys.exit`` during real training: the run fails naming the
plugin's node and the call; ``torchwire train`` exits 1 with one line, not with the code."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import save_project
from engine.catalog import plugins
from engine.train import TrainError, train
from tests.support.exiting_plugins import EXITS_WHEN_RUN, no_plugins, node_folder, trainable


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    with no_plugins(monkeypatch):
        yield node_folder(tmp_path, "twx_run_quit.py", EXITS_WHEN_RUN)


def test_a_plugin_forward_exiting_fails_the_run_naming_it(folder: Path, tmp_path: Path) -> None:
    plugins.load([folder], strict=True)
    with pytest.raises(TrainError) as e:
        train(trainable("twx_RunQuit"), out_dir=str(tmp_path / "run"))
    said = str(e.value)
    assert "quit" in said and "twx_run_quit.twx_RunQuit" in said and "sys.exit(3)" in said


def test_torchwire_train_says_the_exit_in_one_line_and_exits_1(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.cli import main

    plugins.load([folder], strict=True)
    save_project(trainable("twx_RunQuit"), tmp_path / "p.json")
    plugins.unload()
    sys.modules.pop("twx_run_quit")  # the command loads the folder itself
    argv = ["train", str(tmp_path / "p.json"), "--nodes-dir", str(folder)]
    code = main([*argv, "--quiet", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert code == 1, err
    assert "sys.exit(3)" in err and "twx_RunQuit" in err
    assert len([ln for ln in err.splitlines() if "sys.exit" in ln]) == 1
