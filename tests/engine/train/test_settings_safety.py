"""Training settings as a project file may hold them (any JSON): the check reports each bad
one by name and never raises; ``resolve_settings`` raises a SettingsError, never a TypeError."""

from __future__ import annotations

import pytest

from engine import check
from engine.catalog.settings import SettingsError, resolve_settings, settings_problems
from engine.errors import TorchwireError
from tests.support.pipelines import BLOBS, mlp, pipeline


def graph():
    return pipeline(BLOBS, mlp(3), epochs=1)


@pytest.mark.parametrize(
    ("training", "name", "words"),
    [
        ({"epochs": "ten"}, "epochs", "expected a whole number"),
        ({"lr": {"a": 1}}, "lr", "unknown setting 'lr'"),
        ({"grad_clip": {"a": 1}}, "grad_clip", "expected a number"),
        ({"device": ["cpu"]}, "device", "is not one of"),
        ({"seed": 2**32}, "seed", "at most 4294967295"),
        ({"seed": -1}, "seed", "at least 0"),
        ({"epochs": float("nan")}, "epochs", "whole number"),
        ({"bogus": 1}, "bogus", "unknown setting 'bogus'"),
        ("fast", None, "expected named settings"),
        ([["epochs", 3]], None, "expected named settings"),
        (7, None, "expected named settings"),
    ],
)
def test_bad_setting_is_an_error_naming_it(training, name, words):
    g = graph()
    g.settings["training"] = training
    rep = check(g)  # never raises
    msgs = [d.message for d in rep.errors if d.node is None]
    assert any(words in m and (name is None or name in m) for m in msgs), msgs
    assert not rep.extra["ready_to_train"]
    with pytest.raises(SettingsError, match=words) as e:
        resolve_settings(training)
    assert isinstance(e.value, TorchwireError) and isinstance(e.value, ValueError)
    assert e.value.param == name


def test_every_bad_setting_is_reported():
    problems = settings_problems({"epochs": "ten", "patience": 0, "amp": "yes", "x": 1})
    assert [p.param for p in problems] == ["epochs", "patience", "amp", "x"]


@pytest.mark.parametrize("settings", [[], ["training"], "training", None, 3])
def test_settings_that_are_not_an_object_are_reported(settings):
    g = graph()
    g.settings = settings
    rep = check(g)
    assert any("project settings" in d.message for d in rep.errors)
    assert not rep.extra["ready_to_train"]


def test_good_settings_and_overrides_still_resolve():
    s = resolve_settings({"epochs": 3, "seed": 2**32 - 1}, device="cpu", epochs=None)
    assert s["epochs"] == 3 and s["seed"] == 2**32 - 1 and s["device"] == "cpu"
    with pytest.raises(SettingsError) as e:
        resolve_settings({}, epochs=0)
    assert e.value.param == "epochs"
