"""Graph → ``nn.Module`` whose ``forward`` is generated Python source.

Like torch.fx, code generation is its own step with unique, readable names: layer
attributes are named after the nodes and ``forward`` is straight-line code, so the result
runs as fast as a hand-written module. The source is kept on the module as ``.code``;
a traceback through ``forward`` points at a generated line that ``node_at`` maps back to
its node.
"""

from __future__ import annotations

import inspect
import linecache
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from engine import catalog, names
from engine.analysis.check import Report, check, input_slots
from engine.build.forward import Op, write_forward
from engine.errors import failure_text
from engine.graph import Graph, GraphError
from engine.graph.blocks import BlockDef, dependency_order, is_block
from engine.modules import CUSTOM_MODULES


@dataclass
class ModelInfo:
    """What a compiled module knows of the graph it came from."""

    class_name: str
    input_names: list[str]
    input_shapes: list[tuple[int, ...]]
    input_dtypes: list[torch.dtype]
    output_names: list[str]
    output_shapes: list[tuple[int, ...]]
    node_of_attr: dict[str, str] = field(default_factory=dict)
    node_of_line: dict[int, str] = field(default_factory=dict)
    # a line of the model class's ``__init__`` -> the node whose layer it constructs
    node_of_init_line: dict[int, str] = field(default_factory=dict)
    # a line of ``forward`` of the model class or of a block's class -> the name of the node
    # it computes (an inner node's own name in a block's class): exception_path reads it
    name_of_line: dict[int, str] = field(default_factory=dict)
    graph_name: str = "model"
    plugins: list[Any] = field(default_factory=list)  # engine.catalog.plugins.PluginInfo, imported

    def example_inputs(self, batch: int = 2, device: str | torch.device = "cpu") -> tuple[Any, ...]:
        """Random inputs of the right shapes and dtypes (token ids: zeros)."""
        xs = []
        for shape, dt in zip(self.input_shapes, self.input_dtypes, strict=True):
            if dt.is_floating_point:
                xs.append(torch.randn((batch, *shape), dtype=dt, device=device))
            else:
                xs.append(torch.zeros((batch, *shape), dtype=dt, device=device))
        return tuple(xs)


def identifier(name: str, taken: set[str]) -> str:
    """A unique Python identifier for ``name``: ``engine.names.identifier`` (kept here for
    callers of the old API; there is one sanitizer)."""
    return names.identifier(name, taken)


def class_name_for(name: str, taken: set[str] | None = None) -> str:
    """The model class name for a graph name: ``engine.names.class_name``."""
    return names.class_name(name, taken)


def generate_source(
    graph: Graph, report: Report | None = None, class_name: str | None = None
) -> tuple[str, ModelInfo]:
    """The module source for the graph's model part, and what it needs to be used.

    Block instances become attributes holding an instance of their block's generated
    class (one class per block type, before the model's), so weights nest as in a
    hand-written model: ``layer1_0.conv1.weight``.
    """
    report = report or check(graph)
    if not report.ok:
        raise GraphError(_error_text(graph, report), problems=report.errors)
    if not report.outputs:
        raise GraphError("the model has no output")
    order = _needed_order(graph, report)
    # The class name first: no node may take it. Both come from the one sanitizer, and an
    # explicit class_name goes through it too (``torchwire compile --class-name``).
    plugins = [p for p in (graph.nodes[n].spec.extra.get("plugin") for n in order) if p]
    plugins = list({p.type: p for p in plugins}.values())
    # Plugin classes are module-level names of the generated source: no class may take them.
    taken: set[str] = {p.class_name for p in plugins}
    if class_name is not None:
        cls = names.identifier(class_name, taken, fallback="Model", suffix="Model")
    else:
        cls = names.class_name(graph.name, taken)
    custom: list[str] = []
    blocks = _BlockClasses(graph, report, taken, custom)
    var = {nid: names.identifier(graph.nodes[nid].name, taken) for nid in order}

    init: list[tuple[str, str]] = []  # (line, the node it constructs)
    inputs = [nid for nid in order if graph.nodes[nid].type == "Input"]
    ops: list[Op] = []
    for nid in order:
        node = graph.nodes[nid]
        spec = node.spec
        if node.type == "Input":
            continue
        slots = input_slots(spec, graph.in_edges(nid))
        in_shapes = [None if e is None else report.port_shapes[(e.src, e.src_port)] for e in slots]
        m = None
        if is_block(spec):
            init.append((f"        self.{var[nid]} = {blocks.construct(report.inner[nid])}", nid))
            m = f"self.{var[nid]}"
        elif spec.has_module:
            init.append(
                (f"        self.{var[nid]} = {spec.ctor_source(node.params, in_shapes)}", nid)
            )
            m = f"self.{var[nid]}"
            _note_custom(spec, custom)
        ops.append(_op(nid, spec, node.params, m, slots, node.type == "Output"))

    fwd = write_forward(
        {(i, "output"): var[i] for i in inputs}, ops, [_first_out(graph, o) for o in report.outputs]
    )
    body = [(f"        {line}", nid) for line, nid in fwd.lines]
    outs = fwd.returns
    args = ", ".join(["self", *(var[i] for i in inputs)])
    # The graph name is user text: it enters the source only inside a literal whose value
    # is exactly the docstring (a name with '"""' cannot close it and run as code).
    header = [
        names.docstring(f"PyTorch model generated by Torchwire from {graph.name!r}."),
        "",
        "import torch",
        "from torch import nn",
        "",
    ]
    # A plugin's class is imported, never pasted: the module names come from the installed
    # plugin (engine.catalog.plugins checks they are dotted identifiers), not from the project.
    header[-1:-1] = [p.import_line() for p in plugins]
    for name in custom:
        header += ["", inspect.getsource(CUSTOM_MODULES[name]).rstrip(), ""]
    lines = [*header]
    name_of_line: dict[int, str] = {}
    for block_lines, named in zip(blocks.sources, blocks.line_names, strict=True):
        lines.append("")
        name_of_line.update({len(lines) + 1 + i: n for i, n in named.items()})
        lines += [*block_lines, ""]
    lines += ["", f"class {cls}(nn.Module):", "    def __init__(self):"]
    lines.append("        super().__init__()")
    node_of_init_line = _numbered(lines, init)
    lines += ["", f"    def forward({args}):"]
    node_of_line = _numbered(lines, body)
    name_of_line.update({n: graph.nodes[nid].name for n, nid in node_of_line.items()})
    lines.append(f"        return {_returned(outs)}")
    source = "\n".join(lines) + "\n"
    info = ModelInfo(
        class_name=cls,
        input_names=[var[i] for i in inputs],
        input_shapes=[tuple(report.shapes[i]) for i in inputs],
        input_dtypes=[report.dtypes[i] for i in inputs],
        output_names=[var[o] for o in report.outputs],
        output_shapes=[tuple(report.shapes[o]) for o in report.outputs],
        node_of_attr={var[nid]: nid for nid in order},
        node_of_line=node_of_line,
        node_of_init_line=node_of_init_line,
        name_of_line=name_of_line,
        graph_name=graph.name,
        plugins=plugins,
    )
    return source, info


def _numbered(lines: list[str], added: list[tuple[str, str]]) -> dict[int, str]:
    """Append each (line, node) to ``lines``: which node each new line number is of."""
    out: dict[int, str] = {}
    for text, nid in added:
        lines.append(text)
        out[len(lines)] = nid
    return out


def _needed_order(graph: Graph, report: Report) -> list[str]:
    needed = _ancestors(graph, report)
    return [nid for nid in report.order if nid in needed]


def _note_custom(spec: Any, custom: list[str]) -> None:
    mod_name = spec.module.__name__
    if mod_name in CUSTOM_MODULES and mod_name not in custom:
        custom.append(mod_name)


def _value_src(v: Any) -> str:
    return names.literal(tuple(v) if isinstance(v, list) else v)


@dataclass
class _Resolved:
    """How one block instance is constructed: its class and its constructor's arguments."""

    cls: str
    args: dict[str, Any]


class _BlockClasses:
    """The generated classes of a model's blocks, innermost first.

    Every instance (at any depth) is one *occurrence* of its block, identified by its inner
    Report (the check caches one per distinct parameters and input shapes). Occurrences
    whose ``forward`` is the same share a class; a constructor argument of an inner layer
    that differs between them becomes an argument of the class's ``__init__``: the block's
    exposed parameter when it sets it (or equals it in every occurrence), else an input
    size (``in_channels``), else an argument named after the layer (``conv1_in_channels``).
    Occurrences whose ``forward`` differs (an exposed parameter that changes a line of it)
    get a class each: ``BasicBlock``, ``BasicBlock_2``.
    """

    def __init__(self, graph: Graph, report: Report, taken: set[str], custom: list[str]) -> None:
        self.taken = taken
        self.custom = custom
        self.sources: list[list[str]] = []
        self.line_names: list[dict[int, str]] = []  # per source: its line index -> node name
        self.resolved: dict[int, _Resolved] = {}
        self._arg_names: dict[str, dict[str, str]] = {}  # class -> {argument: parameter}
        occ: dict[str, list[tuple[dict[str, Any], Report]]] = {}
        seen: set[int] = set()

        def walk(g: Graph, r: Report) -> None:
            for nid in _needed_order(g, r):
                n = g.nodes[nid]
                if not is_block(n.spec):
                    continue
                inner = r.inner[nid]
                if id(inner) not in seen:
                    seen.add(id(inner))
                    occ.setdefault(n.type, []).append((n.params, inner))
                    walk(inner.graph, inner)  # type: ignore[arg-type]

        walk(graph, report)
        for d in dependency_order(graph.blocks.values()):
            if d.name in occ:
                self._emit(d, occ[d.name])

    def construct(self, inner: Report) -> str:
        r = self.resolved[id(inner)]
        return f"{r.cls}({', '.join(f'{k}={_value_src(v)}' for k, v in r.args.items())})"

    # -- one block type ----------------------------------------------------------------
    def _emit(self, d: BlockDef, occs: list[tuple[dict[str, Any], Report]]) -> None:
        g0 = d.graph
        local: set[str] = set(self.taken)
        arg_of = {e.name: names.identifier(e.name, local) for e in d.exposed}
        order = _needed_order(occs[0][1].graph, occs[0][1])  # type: ignore[arg-type]
        var = {nid: names.identifier(g0.nodes[nid].name, local) for nid in order}
        # per occurrence: node id -> (ctor kwargs, forward lines)
        plans: list[dict[str, tuple[dict[str, Any], list[str]]]] = []
        for _params, r in occs:
            g = r.graph
            assert g is not None
            plan: dict[str, tuple[dict[str, Any], list[str]]] = {}
            for nid in order:
                node = g.nodes[nid]
                spec = node.spec
                if node.type == "Input":
                    continue
                slots = input_slots(spec, g.in_edges(nid))
                ins = [None if e is None else _ref_name(var, e) for e in slots]
                outs = _out_names(spec, node.params, var[nid])
                if is_block(spec):
                    res = self.resolved[id(r.inner[nid])]
                    kw: dict[str, Any] = {"": res.cls, **res.args}
                    lines = spec.call(f"self.{var[nid]}", ins, outs, node.params)
                elif spec.has_module:
                    shapes = [
                        None if e is None else r.port_shapes[(e.src, e.src_port)] for e in slots
                    ]
                    kw = spec.ctor_kwargs(node.params, shapes)
                    lines = spec.call(f"self.{var[nid]}", ins, outs, node.params)
                    _note_custom(spec, self.custom)
                else:
                    kw = {}
                    lines = spec.call(None, ins, outs, node.params)
                plan[nid] = (kw, lines)
            plans.append(plan)
        groups: dict[Any, list[int]] = {}
        for i, plan in enumerate(plans):
            key = tuple(
                (nid, tuple(lines), kw.get(""), tuple(kw)) for nid, (kw, lines) in plan.items()
            )
            groups.setdefault(key, []).append(i)
        for members in groups.values():
            self._emit_class(
                d,
                [occs[i] for i in members],
                [plans[i] for i in members],
                var,
                arg_of,
                local,
                order,
            )

    def _emit_class(
        self,
        d: BlockDef,
        occs: list[tuple[dict[str, Any], Report]],
        plans: list[dict[str, tuple[dict[str, Any], list[str]]]],
        var: dict[str, str],
        arg_of: dict[str, str],
        local: set[str],
        order: list[str],
    ) -> None:
        cls = names.class_name(d.name, self.taken)
        args = _ClassArgs(d, occs, var, arg_of, set(local) | {cls})
        init, ops = self._class_members(args, occs, plans, order)
        # every inner Output, in the instance's port order: a tuple when there are several
        fwd = write_forward(
            {(i, "output"): var[i] for i in args.inputs}, ops, [(o, "output") for o in d.outputs]
        )
        first = occs[0][1].graph
        assert first is not None
        body = [f"        {ln}" for ln, _nid in fwd.lines]
        body_names = [first.nodes[nid].name for _ln, nid in fwd.lines]
        exposed_args = [e.name for e in d.exposed if e.name in args.used_exposed]
        sig = [
            "self",
            *args.derived,
            *(f"{arg_of[e]}={_value_src(args.defaults[e])}" for e in exposed_args),
        ]
        out = _returned(fwd.returns)
        lines = [
            f"class {cls}(nn.Module):",
            f"    {names.docstring(f'Block {d.name!r} (version {d.version}), generated by Torchwire.')}",
            "",
            f"    def __init__({', '.join(sig)}):",
            "        super().__init__()",
            *init,
            "",
            f"    def forward({', '.join(['self', *(var[i] for i in args.inputs)])}):",
            *body,
            f"        return {out}",
        ]
        start = len(lines) - 1 - len(body)
        self.sources.append(lines)
        self.line_names.append({start + k: n for k, n in enumerate(body_names)})
        self._arg_names[cls] = {arg_of[e]: e for e in exposed_args}
        for i, (params, r) in enumerate(occs):
            resolved = {a: vals[i] for a, vals in args.derived.items()}
            for e in exposed_args:
                resolved[arg_of[e]] = params.get(e, args.defaults[e])
            self.resolved[id(r)] = _Resolved(cls, resolved)

    def _class_members(
        self,
        args: _ClassArgs,
        occs: list[tuple[dict[str, Any], Report]],
        plans: list[dict[str, tuple[dict[str, Any], list[str]]]],
        order: list[str],
    ) -> tuple[list[str], list[Op]]:
        """The ``__init__`` lines of one block class and the steps of its ``forward``; a
        constructor value that differs between the occurrences becomes an argument."""
        var = args.var
        init: list[str] = []
        ops: list[Op] = []
        first = occs[0][1].graph
        assert first is not None
        for nid in order:
            if nid not in plans[0]:
                continue
            kw0, _lines = plans[0][nid]
            node = first.nodes[nid]
            spec = node.spec
            if is_block(spec):
                pmap = self._arg_names[kw0[""]]  # nested class: its argument -> parameter
                parts = []
                for a in kw0:
                    if a == "":
                        continue
                    e = args.expr(nid, a, pmap.get(a), [plan[nid][0][a] for plan in plans])
                    parts.append(f"{a}={e if e is not None else _value_src(kw0[a])}")
                init.append(f"        self.{var[nid]} = {kw0['']}({', '.join(parts)})")
            elif spec.has_module:
                params_ctor = {p.name for p in spec.params if p.ctor}
                exprs = {}
                for k in kw0:
                    e = args.expr(
                        nid, k, k if k in params_ctor else None, [p[nid][0][k] for p in plans]
                    )
                    if e is not None:
                        exprs[k] = e
                r0 = occs[0][1]
                slots = input_slots(spec, first.in_edges(nid))
                shapes = [None if e is None else r0.port_shapes[(e.src, e.src_port)] for e in slots]
                init.append(
                    f"        self.{var[nid]} = {spec.ctor_source(node.params, shapes, exprs)}"
                )
            m = f"self.{var[nid]}" if is_block(spec) or spec.has_module else None
            slots = input_slots(spec, first.in_edges(nid))
            ops.append(_op(nid, spec, node.params, m, slots, node.type == "Output"))
        return init, ops


class _ClassArgs:
    """The ``__init__`` arguments of one generated block class, named as they are met.

    A value the same in every occurrence the class serves stays a literal; one that differs
    becomes the block's exposed parameter (when it sets it or equals it everywhere), else an
    input size (``in_channels``), else an argument named after the layer.
    """

    def __init__(
        self,
        d: BlockDef,
        occs: list[tuple[dict[str, Any], Report]],
        var: dict[str, str],
        arg_of: dict[str, str],
        local: set[str],
    ) -> None:
        self.var = var
        self.arg_of = arg_of
        self.local = local
        self.occs = occs
        self.exposed_of = {t: e.name for e in d.exposed for t in e.targets}
        self.defaults = {p.name: p.default for p in d.spec.params}
        self.derived: dict[str, list[Any]] = {}  # arg -> values per occurrence (required args)
        self.used_exposed: list[str] = []
        self.inputs = list(d.inputs)
        self.in_shapes = [[r.shapes[i] for _p, r in occs] for i in self.inputs]

    def exposed_values(self, name: str) -> list[Any]:
        return [params.get(name, self.defaults[name]) for params, _r in self.occs]

    def _use(self, e: str) -> str:
        if e not in self.used_exposed:
            self.used_exposed.append(e)
        return self.arg_of[e]

    def input_arg(self, values: list[Any]) -> str | None:
        """An argument named after the input size these values equal, if any."""
        inputs = self.inputs
        for k, nid in enumerate(inputs):
            shapes = self.in_shapes[k]
            rank = len(shapes[0])
            if any(len(s) != rank for s in shapes):
                continue
            for dim in range(rank):
                if [s[dim] for s in shapes] == values:
                    what = (
                        "channels"
                        if dim == 0 and rank >= 2
                        else "features"
                        if dim == rank - 1
                        else f"size{dim + 1}"
                    )
                    prefix = "in" if len(inputs) == 1 else self.var[nid]
                    for a, vals in self.derived.items():
                        if vals == values and a.endswith(what):
                            return a
                    a = names.identifier(f"{prefix}_{what}", self.local)
                    self.derived[a] = values
                    return a
        return None

    def expr(self, nid: str, key: str, pname: str | None, values: list[Any]) -> str | None:
        """The argument a constructor value of node ``nid`` reads, or None: a literal."""
        if pname is not None and (nid, pname) in self.exposed_of:
            return self._use(self.exposed_of[(nid, pname)])
        if all(_same(v, values[0]) for v in values):
            return None
        for e in self.arg_of:
            if [_canon(v) for v in self.exposed_values(e)] == [_canon(v) for v in values]:
                return self._use(e)
        a = self.input_arg(values)
        if a is not None:
            return a
        for a, vals in self.derived.items():
            if vals == values and a.startswith(f"{self.var[nid]}_"):
                return a
        a = names.identifier(f"{self.var[nid]}_{key}", self.local)
        self.derived[a] = values
        return a


def _returned(outs: list[str]) -> str:
    """A ``return`` expression: one name, or a tuple of them in output order."""
    return outs[0] if len(outs) == 1 else "(" + ", ".join(outs) + ")"


def _canon(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and _canon(a) == _canon(b)


def _op(
    nid: str, spec: Any, params: dict[str, Any], m: str | None, slots: list[Any], alias: bool
) -> Op:
    """One node as a step of ``forward``: its refs and how its lines are rendered."""

    def render(ins: Any, outs: Any) -> list[str]:
        return spec.call(m, ins, outs, params)

    return Op(
        node=nid,
        inputs=tuple(None if e is None else (e.src, e.src_port) for e in slots),
        outputs=tuple((nid, p.name) for p in spec.live_outputs(params)),
        render=render,
        multi=spec.multi_output,
        alias=alias,
    )


def _first_out(graph: Graph, nid: str) -> tuple[str, str]:
    """The ref a model output returns: its node's first output port (a block instance's
    port is named after the block's Output node)."""
    node = graph.nodes[nid]
    return (nid, node.spec.live_outputs(node.params)[0].name)


def _ref_name(var: dict[str, str], e: Any) -> str:
    """A stable name for one output port (used to compare block occurrences' lines)."""
    return var[e.src] if e.src_port == "output" else f"{var[e.src]}.{e.src_port}"


def _out_names(spec: Any, params: dict[str, Any], base: str) -> Any:
    if not spec.multi_output:
        return base
    return tuple(f"{base}.{p.name}" for p in spec.live_outputs(params))


def _ancestors(graph: Graph, report: Report) -> set[str]:
    model = set(report.model_nodes)
    seen: set[str] = set()
    stack = list(report.outputs)
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        stack.extend(e.src for e in graph.in_edges(n) if e.src in model)
    return seen


def _error_text(graph: Graph, report: Report) -> str:
    errs = report.errors
    lines = [f"the graph has {len(errs)} error{'s' if len(errs) != 1 else ''}:"]
    lines += [f"  - {d.message}" for d in errs]
    return "\n".join(lines)


_counter = 0


def compile_model(
    graph: Graph, report: Report | None = None, class_name: str | None = None
) -> nn.Module:
    """Compile the graph's model to a plain ``nn.Module``.

    Raises ``GraphError`` listing every error of the check. The module carries ``.code``
    (its source) and ``.torchwire`` (a ``ModelInfo``).
    """
    global _counter
    source, info = generate_source(graph, report, class_name)
    _counter += 1
    filename = f"<torchwire:{info.class_name}:{_counter}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    ns: dict[str, Any] = {"__name__": f"torchwire_generated_{_counter}"}
    for p in info.plugins:  # bound to the very class the check used (its import line rebinds it)
        ns[p.class_name] = _plugin_class(p)
    exec(compile(source, filename, "exec"), ns)
    try:
        model = ns[info.class_name]()
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # a plugin's constructor failed, or called sys.exit
        raise _build_error(graph, info, e) from None
    model.code = source
    model.torchwire = info
    return model


def _build_error(graph: Graph, info: ModelInfo, e: BaseException) -> BaseException:
    """A failure while the real module is built (the check built it on meta only), said
    as the node whose line raised it and the plugin whose code it was. An error of torch's
    own layers is left as it is, but ``sys.exit`` never ends the program."""
    plugin = plugin_in_traceback(e, info.plugins)
    if plugin is None and not isinstance(e, SystemExit):
        return e
    nid = None
    for lineno in _generated_lines(e):
        nid = nid or info.node_of_init_line.get(lineno)
    where = f"{graph.nodes[nid].name}: " if nid is not None else ""
    code = f"{plugin.module}.{plugin.class_name}" if plugin is not None else "the model"
    error = GraphError(f"{where}building {code} failed: {failure_text(e)}")
    error.node = nid  # the view points at it
    return error


def plugin_in_traceback(exc: BaseException, plugins: list[Any]) -> Any | None:
    """The plugin (a ``PluginInfo`` of ``plugins``) whose module's code is the outermost in
    the traceback of ``exc``: whose code failed (or exited) inside a layer; None if none."""
    by_module = {p.module: p for p in plugins}
    tb = exc.__traceback__
    while tb is not None:
        found = by_module.get(tb.tb_frame.f_globals.get("__name__"))
        if found is not None:
            return found
        tb = tb.tb_next
    return None


def _plugin_class(p: Any) -> type:
    return catalog.get(p.type).module  # type: ignore[return-value]


def node_at(model: nn.Module, lineno: int) -> str | None:
    """The node id whose generated line is ``lineno`` of ``model.code``."""
    info = getattr(model, "torchwire", None)
    return info.node_of_line.get(lineno) if info is not None else None


def node_for_exception(model: nn.Module, exc: BaseException) -> str | None:
    """The node whose generated line raised ``exc`` inside ``model.forward``, if any (for a
    line inside a block's class: the instance of the model that called it; the inner node
    is in ``exception_path``)."""
    found = None
    for lineno in _generated_lines(exc):
        found = node_at(model, lineno) or found
    return found


def exception_path(model: nn.Module, exc: BaseException) -> list[str]:
    """The names of the nodes whose generated lines raised ``exc``, outermost first: the
    model's node, then (inside a block's class) the inner node, at every depth:
    ``["layer1_0", "conv1"]``, said as "layer1_0 › conv1". Empty when no generated line
    of this model is in the traceback."""
    info = getattr(model, "torchwire", None)
    if info is None:
        return []
    path: list[str] = []
    for lineno in _generated_lines(exc):
        if lineno in info.node_of_line:  # the model class: the path starts again here
            path = [info.name_of_line.get(lineno, info.node_of_line[lineno])]
        elif path and lineno in info.name_of_line:
            path.append(info.name_of_line[lineno])
    return path


def _generated_lines(exc: BaseException) -> list[int]:
    """The traceback's line numbers in generated source, outermost frame first."""
    out: list[int] = []
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.startswith("<torchwire:"):
            out.append(tb.tb_lineno)
        tb = tb.tb_next
    return out
