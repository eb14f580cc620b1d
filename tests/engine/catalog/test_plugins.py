"""Custom layers: user nn.Module classes as node types (entry points and node folders)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Annotated, Literal

import annotated_types as at
import pytest
import torch
from torch import nn

from engine import Graph, catalog, check, compile_model
from engine.catalog import plugins
from engine.catalog.plugins import Doc, PluginError, PluginInfo, Range, torchwire_input_size
from engine.project import ProjectError, load_project, loads_project, save_project, to_json
from tests.support.paths import ROOT

LAYERS = '''
import torch
from torch import nn
from typing import Annotated, Literal

from annotated_types import Ge, Le  # not engine.catalog.plugins.Range: an exported script runs without us


class ScaleShift(nn.Module):
    """Learned per-feature scale and shift.

    The rest of the docstring is not the doc line.
    """

    def __init__(
        self,
        in_features: int,
        init: Annotated[float, Ge(0), Le(10), "starting scale"] = 1.0,
        mode: Literal["affine", "scale"] = "affine",
    ) -> None:
        super().__init__()
        self.mode = mode
        self.scale = nn.Parameter(torch.full((in_features,), float(init)))
        self.shift = nn.Parameter(torch.zeros(in_features))

    def forward(self, x):
        y = x * self.scale
        return y + self.shift if self.mode == "affine" else y


class ChannelGate(nn.Module):
    """Gates each channel by a learned sigmoid."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.gate = nn.Parameter(torch.zeros(in_channels, 1, 1))

    def forward(self, x):
        return x * torch.sigmoid(self.gate)


class _Helper(nn.Module):
    pass


Linear = nn.Linear  # imported, not defined here: not a node type
'''


def make_package(
    site: Path, dist: str, module: str, entry: str, *, version: str = "1.2", text: str = LAYERS
) -> Path:
    """A package ``module`` with its ``*.dist-info`` on ``site``: what pip would leave."""
    pkg = site / module
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "layers.py").write_text(text)
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[torchwire.nodes]\n{entry}\n")
    return site


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    """Each test starts without plugin types, modules or node path, and leaves none."""
    monkeypatch.setenv(plugins.NODE_PATH_ENV, "")
    path, mods = list(sys.path), set(sys.modules)
    yield
    plugins.unload()
    sys.path[:] = path
    for m in set(sys.modules) - mods:
        if m.startswith(("twp_", "twf_", "tw_sentinel")):
            del sys.modules[m]


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """``twp_pkg`` installed as distribution ``twp-pkg`` 1.2, entry point naming a class."""
    site = make_package(
        tmp_path / "site", "twp-pkg", "twp_pkg", "ScaleShift = twp_pkg.layers:ScaleShift"
    )
    monkeypatch.syspath_prepend(str(site))
    return site


def model(*types_params):
    g = Graph(name="net")
    prev = g.add("Input", shape=[4])
    for t, p in types_params:
        n = g.add(t, **p)
        g.connect(prev, n)
        prev = n
    g.connect(prev, g.add("Output"))
    return g


# -- discovery -----------------------------------------------------------------------------------
def test_an_entry_point_naming_a_class_is_a_node_type_with_its_package(installed):
    assert not catalog.has("ScaleShift")  # nothing is discovered by importing the engine
    res = plugins.load()
    assert [p.type for p in res.types] == ["ScaleShift"] and not res.problems
    spec = catalog.get("ScaleShift")
    assert spec.category == "Custom" and spec.doc == "Learned per-feature scale and shift."
    init = spec.param("init")  # annotated_types bounds and a text in Annotated
    assert (init.type, init.default, init.min, init.max, init.doc) == (
        "float",
        1.0,
        0,
        10,
        "starting scale",
    )
    assert list(spec.infer) == ["in_features"] and spec.param("mode").choices == ("affine", "scale")
    assert plugins.info("ScaleShift") == PluginInfo(
        "ScaleShift", "twp_pkg.layers", "ScaleShift", "twp-pkg", "1.2"
    )
    assert "ChannelGate" not in {s.type for s in catalog.all_specs()}  # only the named class
    assert plugins.load().types[0].type == "ScaleShift"  # loading again is harmless


def test_an_entry_point_naming_a_module_makes_each_public_class_a_node_type(tmp_path, monkeypatch):
    site = make_package(tmp_path / "s", "twp-mod", "twp_mod", "all = twp_mod.layers")
    monkeypatch.syspath_prepend(str(site))
    res = plugins.load()
    assert sorted(p.type for p in res.types) == ["ChannelGate", "ScaleShift"]
    assert not catalog.has("_Helper")
    assert catalog.get("Linear").module is nn.Linear  # the built-in, untouched
    assert {s.type for s in list(catalog.all_specs())[-2:]} == {"ChannelGate", "ScaleShift"}


def test_a_name_taken_by_the_catalog_is_one_clear_error_naming_both(tmp_path, monkeypatch):
    text = "from torch import nn\n\nclass Linear(nn.Module):\n    def forward(self, x):\n        return x\n"
    site = make_package(tmp_path / "s", "twp-clash", "twp_clash", "L = twp_clash.layers:Linear",
                        text=text)  # fmt: skip
    monkeypatch.syspath_prepend(str(site))
    res = plugins.load()
    assert not res.types and len(res.problems) == 1
    msg = str(res.problems[0])
    assert "twp_clash.layers.Linear" in msg and "package twp-clash 1.2" in msg
    assert "built-in node type Linear (Layers)" in msg
    assert catalog.get("Linear").module is nn.Linear
    with pytest.raises(PluginError, match="already taken"):
        plugins.load(strict=True)


def test_two_plugins_of_one_name_clash_naming_both(installed, tmp_path):
    folder = tmp_path / "nodes"
    folder.mkdir()
    (folder / "twf_again.py").write_text(LAYERS)
    res = plugins.load([folder])
    assert {p.type for p in res.types} == {"ScaleShift", "ChannelGate"}
    (clash,) = res.problems
    assert "twf_again.ScaleShift" in str(clash) and "twp_pkg.layers.ScaleShift" in str(clash)


def test_a_broken_plugin_is_reported_and_the_others_still_load(installed, tmp_path):
    folder = tmp_path / "nodes"
    folder.mkdir()
    (folder / "twf_broken.py").write_text("raise RuntimeError('half-written')\n")
    (folder / "json.py").write_text(LAYERS)  # would shadow the standard library's json
    res = plugins.load([folder])
    assert [p.type for p in res.types] == ["ScaleShift"]
    msgs = sorted(str(e) for e in res.problems)
    assert any("twf_broken.py cannot be loaded: RuntimeError: half-written" in m for m in msgs)
    assert any("json.py" in m and "already taken" in m for m in msgs)
    assert sys.modules["json"].__file__ != str(folder / "json.py")


def test_node_folders_from_the_argument_and_the_environment(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "twf_a.py").write_text(LAYERS.split("class ChannelGate")[0])
    (b / "twf_b.py").write_text("from torch import nn\nimport torch\n\nclass ChannelGate"
                                + LAYERS.split("class ChannelGate")[1].split("class _Helper")[0])  # fmt: skip
    monkeypatch.setenv(plugins.NODE_PATH_ENV, str(a))
    res = plugins.load([b])
    assert sorted(p.type for p in res.types) == ["ChannelGate", "ScaleShift"], res.problems
    assert (
        plugins.info("ScaleShift").file == "twf_a.py" and plugins.info("ScaleShift").package is None
    )
    # worker processes (torchrun) see the same folders
    assert os.environ[plugins.NODE_PATH_ENV].split(os.pathsep) == [str(a), str(b)]
    res = plugins.load([tmp_path / "missing"])
    assert any("does not exist" in str(e) for e in res.problems)


# -- constructor signature → parameters ---------------------------------------------------------
class Everything(nn.Module):
    """Every kind of parameter."""

    def __init__(
        self,
        in_features: int,
        width: Annotated[int, Range(1, 4096), Doc("hidden units")] = 64,
        rate: Annotated[float, Range(0.0, 1.0)] = 0.5,
        gated: bool = True,
        label: str = "x",
        act: Literal["relu", "gelu"] = "gelu",
        sizes: tuple[int, ...] = (3, 5),
        kernel: int | tuple[int, int] = 3,
        pair: tuple[int, int] = (1, 2),
        limit: float | None = None,
        required: Annotated[int, Range(2, 9)] = 2,
        untyped=7,
        device=None,
        dtype=None,
        **extra,
    ) -> None:
        super().__init__()
        self.lin = nn.Linear(in_features, width)

    def forward(self, x):
        return self.lin(x)


class Bounded(nn.Module):
    def __init__(self, n: Annotated[int, at.Gt(0), at.Le(8)], k: Annotated[int, at.Ge(2)] = 3):
        super().__init__()


def test_parameters_come_from_the_signature_and_type_hints():
    spec = plugins.spec_for(Everything)
    p = {x.name: x for x in spec.params}
    assert list(p) == ["width", "rate", "gated", "label", "act", "sizes", "kernel", "pair",
                       "limit", "required", "untyped"]  # fmt: skip
    assert (p["width"].type, p["width"].default, p["width"].min, p["width"].max) == (
        "int",
        64,
        1,
        4096,
    )
    assert p["width"].doc == "hidden units"
    assert (p["rate"].type, p["rate"].max) == ("float", 1.0)
    assert p["gated"].type == "bool" and p["label"].type == "str"
    assert (p["act"].type, p["act"].choices, p["act"].default) == (
        "choice",
        ("relu", "gelu"),
        "gelu",
    )
    assert (p["sizes"].type, p["sizes"].default, p["sizes"].length) == ("ints", [3, 5], None)
    assert (p["kernel"].type, p["kernel"].length, p["kernel"].default) == ("ints", 2, 3)
    assert (p["pair"].type, p["pair"].default) == ("ints", [1, 2])
    assert p["limit"].optional and p["limit"].default is None and p["limit"].type == "float"
    assert p["untyped"].type == "int"  # typed by its default
    assert list(spec.infer) == ["in_features"]
    with pytest.raises(Exception, match="at most 4096"):
        spec.coerce_params({"width": 5000})
    with pytest.raises(Exception, match="is not one of"):
        spec.coerce_params({"act": "tanh"})

    b = {x.name: x for x in plugins.spec_for(Bounded).params}
    assert (b["n"].min, b["n"].max, b["n"].default) == (1, 8, 1)  # required: starts in range
    assert (b["k"].min, b["k"].max) == (2, None)


@pytest.mark.parametrize(
    ("init", "words"),
    [
        ("def __init__(self, scale): ...", "'scale' has no type hint and no default"),
        ("def __init__(self, names: list[str] = ()): ...", "'names' has the type list[str]"),
        ("def __init__(self, act: nn.Module = None): ...", "'act' has the type Module"),
        ("def __init__(self, k: Annotated[int, Range(1, 4)] = 9): ...", "default 9 is not a valid"),
        ("def __init__(self, name: str = 'a'): ...", "cannot be called 'name'"),
        ("def __init__(self, k: Annotated[int, Range(5, 1)] = 3): ...", "range is empty"),
    ],
)
def test_a_signature_no_node_can_hold_refuses_the_type_saying_why(init, words):
    ns = {"nn": nn, "Annotated": Annotated, "Range": Range}
    exec(f"class Odd(nn.Module):\n    {init}\n", ns)
    with pytest.raises(PluginError) as e:
        plugins.spec_for(ns["Odd"])
    assert "Odd: constructor argument" in str(e.value) and words in str(e.value)


def test_class_names_generated_code_needs_are_refused():
    Model = type("WEIGHTS", (nn.Module,), {})
    with pytest.raises(PluginError, match="WEIGHTS is a name generated code needs"):
        plugins.spec_for(Model)


# -- input size ---------------------------------------------------------------------------------
@torchwire_input_size("dim", dim=0)
class ByDecorator(nn.Module):
    def __init__(self, dim: int, k: int = 2) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(dim, 1, 1))

    def forward(self, x):
        return x * self.w


class ByAttribute(nn.Module):
    torchwire_input_size = "features"

    def __init__(self, features: int, out: int = 3) -> None:
        super().__init__()
        self.lin = nn.Linear(features, out)

    def forward(self, x):
        return self.lin(x)


class Mix(nn.Module):
    """Two inputs: forward's arguments are the ports."""

    def forward(self, x, skip):
        return x + skip


def test_the_input_size_is_inferred_as_torchs_own_layers():
    for cls in (ByDecorator, ByAttribute, Mix):
        assert plugins.register(cls).module == __name__
    g = Graph(name="sizes")
    img = g.add("Input", shape=[6, 5, 5])
    gate = g.add("ByDecorator")
    flat = g.add("Flatten")
    head = g.add("ByAttribute", out=7)
    g.connect(img, gate), g.connect(gate, flat), g.connect(flat, head)
    mix = g.add("Mix")
    g.connect(head, mix, dst_port="x"), g.connect(head, mix, dst_port="skip")
    g.connect(mix, g.add("Output"))
    rep = check(g)
    assert rep.ok, rep.errors
    assert rep.shapes[gate] == (6, 5, 5) and rep.params[gate] == 6  # dim = channels
    assert rep.shapes[head] == (7,) and rep.params[head] == 150 * 7 + 7  # features = last dim
    assert [p.name for p in catalog.get("Mix").inputs] == ["x", "skip"]
    m = compile_model(g)
    assert "ByDecorator(6)" in m.code and "ByAttribute(150, out=7)" in m.code
    assert m(torch.randn(2, 6, 5, 5)).shape == (2, 7)


# -- projects -----------------------------------------------------------------------------------
def test_a_project_records_its_plugins_and_a_missing_one_is_one_clear_error(installed, tmp_path):
    plugins.load()
    g = model(("ScaleShift", {"init": 2.0}), ("Linear", {"out_features": 3}))
    path = tmp_path / "p.json"
    save_project(g, path)
    doc = json.loads(path.read_text())
    assert doc["plugins"] == [
        {"type": "ScaleShift", "module": "twp_pkg.layers", "package": "twp-pkg", "version": "1.2"}
    ]
    assert load_project(path).nodes["scale_shift"].params["init"] == 2.0
    assert "plugins" not in json.loads(to_json(model(("Linear", {}))))  # none used: none written
    doc["nodes"].append({"id": "gate", "type": "ChannelGate"})
    doc["plugins"].append({"type": "ChannelGate", "module": "gates", "package": None})
    path.write_text(json.dumps(doc))
    plugins.unload()
    with pytest.raises(ProjectError) as e:
        load_project(path)
    assert e.value.problem == (
        "needs node types ScaleShift (package twp-pkg 1.2), ChannelGate (module gates, from a "
        "node folder) — install it or add its folder in Settings ▸ Node folders"
    )
    doc["plugins"] = [{"module": "x"}]
    with pytest.raises(ProjectError, match="plugins #1 must be an object with a 'type'"):
        loads_project(json.dumps(doc))


def test_opening_a_project_never_imports_code(tmp_path, monkeypatch):
    """A project naming a module (in "plugins" and as a node type) imports nothing."""
    marker = tmp_path / "imported"
    (tmp_path / "tw_sentinel_mod.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nfrom torch import nn\n\n"
        "class Sentinel(nn.Module):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    doc = json.loads(to_json(model(("Linear", {}))))
    doc["nodes"].append({"id": "s", "type": "tw_sentinel_mod:Sentinel"})
    doc["nodes"].append({"id": "t", "type": "Sentinel"})
    doc["plugins"] = [{"type": "Sentinel", "module": "tw_sentinel_mod", "package": "tw-sentinel"}]
    with pytest.raises(ProjectError, match="Sentinel") as e:
        loads_project(json.dumps(doc), "s.json")
    assert "package tw-sentinel" in str(e.value)
    assert "tw_sentinel_mod" not in sys.modules and not marker.exists()


# -- compile and export -------------------------------------------------------------------------
def test_compiled_source_imports_the_plugin_class_never_pastes_it(installed):
    plugins.load()
    g = model(("ScaleShift", {"init": 2.0}))
    g.name = "ScaleShift"  # the model class cannot take the plugin's name
    m = compile_model(g)
    assert "from twp_pkg.layers import ScaleShift" in m.code
    assert "class ScaleShift(" not in m.code and m.torchwire.class_name != "ScaleShift"
    assert type(m.scale_shift) is catalog.get("ScaleShift").module
    torch.testing.assert_close(m(torch.ones(2, 4)), torch.full((2, 4), 2.0))


@pytest.mark.slow
def test_python_and_onnx_export_of_a_plugin_model(installed, tmp_path):
    from engine.export import export_onnx, export_python

    plugins.load()
    g = model(("ScaleShift", {"init": 0.5}), ("Linear", {"out_features": 3}))
    rep = export_python(g, tmp_path / "net.py")  # parity in a fresh interpreter
    assert rep.ok and rep.max_abs < 1e-5
    text = (tmp_path / "net.py").read_text()
    assert (
        "# ScaleShift needs the package twp-pkg 1.2\nfrom twp_pkg.layers import ScaleShift" in text
    )
    assert "Needs only torch, numpy, twp-pkg." in text
    rep = export_onnx(g, tmp_path / "net.onnx")
    assert rep.ok and (tmp_path / "net.onnx").exists()


def test_the_cli_loads_node_folders_from_the_flag(tmp_path, capsys, monkeypatch):
    from engine.cli import main

    folder = tmp_path / "nodes"
    folder.mkdir()
    (folder / "twf_cli.py").write_text(LAYERS)
    plugins.load([folder])
    save_project(model(("ChannelGate", {})), tmp_path / "p.json")
    plugins.unload()
    monkeypatch.setenv(plugins.NODE_PATH_ENV, "")  # load() named the folder there
    assert main(["check", str(tmp_path / "p.json")]) == 2
    assert "needs node type ChannelGate (module twf_cli" in capsys.readouterr().err
    assert (
        main(["check", str(tmp_path / "p.json"), "--nodes-dir", str(folder)]) == 1
    )  # 3-D gate on 1-D
    assert "ChannelGate" in capsys.readouterr().out
    assert main(["nodes", "--category", "Custom", "--nodes-dir", str(folder)]) == 0
    assert (
        "ScaleShift(input) -> output  Learned per-feature scale and shift."
        in capsys.readouterr().out
    )


@pytest.mark.slow
def test_a_package_pip_installed_in_a_fresh_virtualenv_is_found_by_torchwire_check(tmp_path):
    """A real ``pip install`` of a package declaring ``[project.entry-points."torchwire.nodes"]``."""
    src = tmp_path / "src"
    (src / "twp_real").mkdir(parents=True)
    (src / "twp_real" / "__init__.py").write_text("")
    (src / "twp_real" / "layers.py").write_text(LAYERS)
    (src / "pyproject.toml").write_text(
        textwrap.dedent("""
        [build-system]
        requires = ["setuptools"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "twp-real"
        version = "0.3"

        [project.entry-points."torchwire.nodes"]
        ScaleShift = "twp_real.layers:ScaleShift"

        [tool.setuptools]
        packages = ["twp_real"]
    """)
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                    str(venv)], check=True, timeout=120)  # fmt: skip
    py = venv / "bin" / "python"
    # The venv sees this environment's packages (torch, pip, setuptools) and this checkout.
    site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    import site as site_mod

    (Path(site) / "outer.pth").write_text("\n".join([*site_mod.getsitepackages(), str(ROOT)]))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INDEX="1", TORCHWIRE_NODE_PATH="")
    r = subprocess.run(
        [py, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", str(src)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    # In this process the package is not installed: the project is written by hand.
    doc = json.loads(to_json(model(("Linear", {"out_features": 4}))))
    doc["nodes"].insert(1, {"id": "ss", "type": "ScaleShift", "params": {"init": 3.0}})
    doc["edges"] = [
        {"from": "input", "from_port": "output", "to": "ss", "to_port": "input"},
        {"from": "ss", "from_port": "output", "to": "linear", "to_port": "input"},
        {"from": "linear", "from_port": "output", "to": "output", "to_port": "input"},
    ]
    (tmp_path / "p.json").write_text(json.dumps(doc))
    r = subprocess.run([py, "-m", "engine", "check", str(tmp_path / "p.json")], env=env,
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr + r.stdout
    assert "ss" in r.stdout and "ScaleShift" in r.stdout and "ok: no problems" in r.stdout
    assert "total parameters: 28" in r.stdout  # 4 + 4 scale/shift, 4×4 + 4 Linear
    probe = subprocess.run([sys.executable, "-c", "import twp_real"], capture_output=True, env=env)
    assert probe.returncode != 0  # installed only in the new environment


# -- user code that exits -------------------------------------------------------------------
EXITING_CTOR = """
from torch import nn


class twf_Quitter(nn.Module):
    def __init__(self, width: int = 4) -> None:
        super().__init__()
        raise SystemExit(0)

    def forward(self, x):
        return x
"""


def test_a_node_file_calling_sys_exit_is_a_problem_naming_it(tmp_path, capsys):
    from engine.cli import main

    folder = tmp_path / "nodes"
    folder.mkdir()
    (folder / "twf_exits.py").write_text("import sys\nsys.exit(3)\n")
    res = plugins.load([folder])
    (problem,) = res.problems
    assert "twf_exits.py cannot be loaded" in str(problem) and "sys.exit(3)" in str(problem)
    plugins.unload()
    sys.modules.pop("twf_exits", None)
    assert main(["nodes", "--nodes-dir", str(folder)]) == 0  # the command still runs
    assert "twf_exits.py" in capsys.readouterr().err


def test_a_plugin_constructor_raising_system_exit_fails_check_and_compile_naming_it(
    tmp_path, capsys
):
    from engine.cli import main

    folder = tmp_path / "nodes"
    folder.mkdir()
    (folder / "twf_quit.py").write_text(EXITING_CTOR)
    plugins.load([folder], strict=True)
    g = model(("twf_Quitter", {}))
    rep = check(g)
    assert not rep.ok
    assert any(
        "twf_quit.twf_Quitter" in d.message and "sys.exit(0)" in d.message for d in rep.errors
    )
    save_project(g, tmp_path / "p.json")
    for command in ("check", "compile"):
        code = main([command, str(tmp_path / "p.json"), "--nodes-dir", str(folder)])
        said = "".join(capsys.readouterr())  # check reports on stdout, compile on stderr
        assert code == 1, said
        assert "twf_quit.twf_Quitter" in said and "sys.exit(0)" in said
