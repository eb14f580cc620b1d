"""Frozen nodes and lr_scale on the graph, in project files (schema 3) and in the check."""

from __future__ import annotations

import json

import pytest

from engine import Graph, GraphError, ProjectError, check
from engine.graph import TrainingChanged
from engine.project import SCHEMA_VERSION, loads_project, project_to_dict, to_json


def small() -> Graph:
    g = Graph(name="t")
    g.add("Input", id="x", shape=[4])
    g.add("Linear", id="fc", out_features=3)
    g.add("ReLU", id="act")
    g.connect("x", "fc")
    g.connect("fc", "act")
    return g


def test_freeze_and_lr_scale_emit_events_and_validate():
    g = small()
    seen = []
    g.subscribe(seen.append)
    g.freeze("fc")
    g.set_lr_scale("act", 0.5)
    assert g.nodes["fc"].frozen and g.nodes["act"].lr_scale == 0.5
    assert seen == [TrainingChanged("fc"), TrainingChanged("act")]
    for bad in (0, -1.0, float("nan"), float("inf"), True, "0.1"):
        with pytest.raises(GraphError, match="lr_scale"):
            g.set_lr_scale("fc", bad)
    with pytest.raises(GraphError, match="only model layers"):
        g.freeze("x")  # the Input is not a layer
    with pytest.raises(GraphError, match="true or false"):
        g.freeze("fc", 1)  # type: ignore[arg-type]
    c = g.copy()
    assert c.nodes["fc"].frozen and c.nodes["act"].lr_scale == 0.5


def test_project_round_trip_saves_only_what_is_not_default():
    g = small()
    g.freeze("fc")
    g.set_lr_scale("act", 0.1)
    doc = project_to_dict(g)
    nodes = {n["id"]: n for n in doc["nodes"]}
    assert doc["version"] == SCHEMA_VERSION >= 3
    assert nodes["fc"]["frozen"] is True and "lr_scale" not in nodes["fc"]
    assert nodes["act"]["lr_scale"] == 0.1 and "frozen" not in nodes["act"]
    assert "frozen" not in nodes["x"] and "lr_scale" not in nodes["x"]
    back = loads_project(to_json(g))
    assert back.nodes["fc"].frozen and back.nodes["act"].lr_scale == 0.1
    assert not back.nodes["act"].frozen and back.nodes["fc"].lr_scale == 1.0
    assert to_json(back) == to_json(g)


def test_schema_2_projects_load_and_cannot_hold_the_new_fields():
    doc = json.loads(to_json(small()))
    doc["version"] = 2
    g = loads_project(json.dumps(doc))
    assert not any(n.frozen for n in g) and all(n.lr_scale == 1.0 for n in g)
    doc["nodes"][1]["frozen"] = True
    with pytest.raises(ProjectError, match="'frozen' needs schema version 3"):
        loads_project(json.dumps(doc))


@pytest.mark.parametrize(
    ("node", "field", "value", "match"),
    [
        (1, "frozen", "yes", "'frozen' must be true or false"),
        (1, "frozen", 1, "'frozen' must be true or false"),
        (1, "lr_scale", 0, "lr_scale must be above 0"),
        (1, "lr_scale", -2, "lr_scale must be above 0"),
        (1, "lr_scale", 1e300, "lr_scale must be above 0 and at most"),
        (1, "lr_scale", "0.1", "lr_scale must be a number"),
        (0, "frozen", True, "only model layers"),
    ],
)
def test_the_loader_refuses_bad_values(node, field, value, match):
    doc = json.loads(to_json(small()))
    doc["nodes"][node][field] = value
    with pytest.raises(ProjectError, match=match) as e:
        loads_project(json.dumps(doc))
    assert not e.value.internal


def test_trainable_params_and_the_nothing_to_train_warning():
    g = small()
    rep = check(g)
    assert rep.trainable_params == rep.total_params == 15 and rep.frozen_params == 0
    g.freeze("act")  # no weights: fine, changes nothing
    assert check(g).trainable_params == 15
    assert "nothing-to-train" not in {d.lint for d in check(g).warnings}
    g.freeze("fc")
    rep = check(g)
    assert rep.trainable_params == 0 and rep.frozen_params == 15
    assert rep.to_dict()["trainable_params"] == 0
    (w,) = [d for d in rep.warnings if d.lint == "nothing-to-train"]
    assert "every layer with weights is frozen (15 parameters)" in w.message
