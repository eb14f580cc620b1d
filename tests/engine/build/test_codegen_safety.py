"""No user text runs: arbitrary project and node names through compile_model and the Python
export never execute anything, never break the source, and every node keeps its own layer."""

from __future__ import annotations

import ast
import tempfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine import Graph, GraphError, check, compile_model, export_python

# One fixed path (xdist workers must collect the same payloads); it is never created.
SENTINEL = Path(tempfile.gettempdir()) / "torchwire-codegen-sentinel-never-written"
_S = repr(str(SENTINEL))
# Payloads that would run if a name reached the source outside a literal / identifier.
PAYLOADS = [
    f'"""\nopen({_S}, "w")\n"""',
    f"'''\nopen({_S}, 'w')\n'''",
    f"'\nopen({_S}, 'w')\n'",
    f'"\nopen({_S}, "w")\n"',
    f'\\"""\nopen({_S}, "w")\n#',
    f"x = 1; open({_S}, 'w')",
    f"{{open({_S}, 'w')}}",
    f"\u2028open({_S}, 'w')",
    f'") or open({_S}, "w") or ("',
]
TRICKY = [
    "ﬁ", "fi", "²", "½", "2", "\ud800", "\u2028", "a\\", "\\", "\\n", "class", "match", "_",
    "print", "input", "Maxout", "torch", "nn", "F", "self", "super", "forward", "training",
    "code", "torchwire", "Model", "load_weights", "predict", "main", "WEIGHTS", "linear",
    "Linear", "LINEAR", "名前", "é",
]  # fmt: skip
NAME = st.one_of(
    st.sampled_from(PAYLOADS),
    st.sampled_from(TRICKY),
    st.text(st.characters(exclude_categories=()), min_size=1, max_size=12),
)


@pytest.fixture(autouse=True, scope="module")
def _no_stale_sentinel() -> None:
    SENTINEL.unlink(missing_ok=True)


def build(names: list[str]) -> Graph:
    """Input → Linear → Linear, Input → Linear, both added, then an Output (and a Maxout):
    every user-named thing a forward line is made from."""
    graph, inp, a, b, c, mx, add, out = names
    g = Graph(name=graph)
    x = g.add("Input", shape=[4], name=inp)
    la = g.add("Linear", out_features=3, name=a)
    lb = g.add("Linear", out_features=5, name=b)
    lc = g.add("Linear", out_features=6, name=c)
    m = g.add("Maxout", out_features=5, pieces=2, name=mx)
    s = g.add("Add", name=add)
    o = g.add("Output", name=out)
    g.connect(x, la)
    g.connect(la, lb)
    g.connect(x, lc)
    g.connect(lc, m)
    g.connect(lb, s)
    g.connect(m, s)
    g.connect(s, o)
    return g


def graph_of(names: list[str]) -> Graph:
    try:
        return build(names)
    except GraphError:  # empty after strip, duplicates: the graph refuses them
        assume(False)
        raise


def assert_sound(g: Graph) -> torch.nn.Module:
    model = compile_model(g)
    code = model.code
    assert not SENTINEL.exists()
    code.encode("utf-8")  # writable as a .py file
    assert len(code.splitlines()) == code.count("\n")  # no hidden line breaks
    ast.parse(code)
    rep = check(g)
    assert sum(p.numel() for p in model.parameters()) == rep.total_params
    layers = [nid for nid, n in g.nodes.items() if n.spec.has_module]
    attrs = dict(model.named_children())
    assert len(attrs) == len(layers)  # each node its own layer
    info = model.torchwire
    assert len(set(info.node_of_attr.values())) == len(info.node_of_attr)
    assert {info.node_of_attr[a] for a in attrs} == set(layers)
    out = model(*info.example_inputs(2))
    assert out.shape == (2, 5)
    return model


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(st.lists(NAME, min_size=8, max_size=8))
def test_any_names_compile_safely(names: list[str]) -> None:
    assert_sound(graph_of(names))
    assert not SENTINEL.exists()


@pytest.mark.parametrize("payload", PAYLOADS, ids=[f"payload{i}" for i in range(len(PAYLOADS))])
def test_each_payload_everywhere_at_once(payload: str) -> None:
    """The same payload as graph name and (made unique) every node name."""
    names = [payload] + [f"{payload}{i}" for i in range(7)]
    model = assert_sound(build(names))
    # the code runs on its own too, outside compile_model
    ns: dict = {}
    exec(compile(model.code, "<standalone>", "exec"), ns)
    other = ns[model.torchwire.class_name]()
    other.load_state_dict(model.state_dict())
    assert not SENTINEL.exists()


@pytest.mark.parametrize(
    "graph_name", ["Maxout", "torch", "nn", "F", "self", "super", "Model", "Linear", "object"]
)
def test_graph_name_never_shadows_what_the_module_uses(graph_name: str) -> None:
    names = [graph_name, "Maxout", "torch", "nn", "self", "F", "super", "code"]
    model = assert_sound(build(names))
    ns: dict = {}
    exec(compile(model.code, "<standalone>", "exec"), ns)
    other = ns[model.torchwire.class_name]()
    assert isinstance(other.F_, ns["Maxout"])  # the Maxout node, named F
    assert ns["torch"] is torch and ns["nn"] is torch.nn
    assert model.torchwire.class_name not in {"Maxout", "torch", "nn", "F", "self", "super"}


def test_nfkc_equal_node_names_keep_their_own_layers() -> None:
    model = assert_sound(build(["g", "x", "ﬁ", "fi", "FI", "m", "add", "out"]))
    assert len(dict(model.named_children())) == 4


@pytest.mark.slow
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(st.lists(NAME, min_size=8, max_size=8))
def test_any_names_export_to_python_safely(names: list[str]) -> None:
    """The exported script (run by the export in a fresh interpreter) runs nothing either."""
    g = graph_of(names)
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "model.py"
        rep = export_python(g, out, batch_sizes=(2,))
        assert rep.ok, str(rep)
        ast.parse(out.read_text(encoding="utf-8"))
    assert not SENTINEL.exists()


@pytest.mark.slow
def test_payload_in_the_script_file_name(tmp_path: Path) -> None:
    """The file name is in the script's docstring: it cannot close it."""
    g = build([PAYLOADS[0], "x", "a", "b", "c", "m", "s", "o"])
    out = tmp_path / f"{PAYLOADS[0].replace('/', '_')}.py"
    rep = export_python(g, out, batch_sizes=(2,))
    assert rep.ok, str(rep)
    text = out.read_text(encoding="utf-8")
    doc = ast.get_docstring(ast.parse(text), clean=False)
    assert doc is not None and f"python {out.name} " in doc
    assert not SENTINEL.exists()
