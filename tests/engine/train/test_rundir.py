"""Run folders: one naming rule and one latest-run lookup for the engine and the designer."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from engine.train.rundir import (
    folder_slug,
    latest_run,
    new_run_dir,
    renamed_run_dir,
    run_folder_name,
    run_prefixes,
    runs_dir,
    study_dir,
    study_slug,
)

WHEN = datetime(2026, 1, 2, 3, 4, 5)


def test_folder_names_follow_one_rule() -> None:
    assert folder_slug("my model (v2)") == "my_model_v2"
    assert folder_slug("???") == "run" and study_slug("???") == "study"
    assert run_folder_name("iris", WHEN) == "iris-20260102-030405"
    assert study_dir("proj", "my model") == Path("proj") / "runs" / "tune-my_model"
    assert runs_dir("/some/where/p.json") == Path("/some/where/p.json").resolve().parent / "runs"


def test_a_new_run_never_reuses_a_folder(tmp_path: Path) -> None:
    first = new_run_dir(tmp_path, "iris", WHEN)
    assert first == tmp_path / "iris-20260102-030405"
    first.mkdir()
    second = new_run_dir(tmp_path, "iris", WHEN)
    assert second == tmp_path / "iris-20260102-030405-2"


def test_a_renamed_project_keeps_the_time_stamp(tmp_path: Path) -> None:
    target = renamed_run_dir(tmp_path, "untitled-20260101-120000", "untitled", "my model")
    assert target == tmp_path / "my_model-20260101-120000"
    assert renamed_run_dir(tmp_path, "odd", "untitled", "x") == tmp_path / "x-odd"


def test_older_designer_prefixes_are_still_recognised() -> None:
    assert run_prefixes("a b!") == {"a_b", "a_b_"}


def test_the_latest_run_is_the_newest_with_a_checkpoint(tmp_path: Path) -> None:
    assert latest_run(tmp_path / "missing", "iris") is None
    old, new, empty = (tmp_path / f"iris-2026010{i}-000000" for i in (1, 2, 3))
    for d in (old, new, empty):
        d.mkdir()
    (old / "best.pt").write_bytes(b"x")
    (new / "last.pt").write_bytes(b"x")
    for i, d in enumerate((old, new, empty)):
        os.utime(d, (1_000_000 + i, 1_000_000 + i))
    (tmp_path / "other-20260109-000000").mkdir()
    assert latest_run(tmp_path, "iris") == new
