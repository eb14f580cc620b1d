"""``torchwire`` command line, Qt-free: check, compile, nodes (+ commands other packages add).

Exit codes: 0 success, 1 the project has problems, 2 the input cannot be read or used.
No command ever ends in a traceback: every ``TorchwireError`` (whichever command raised it)
is reported in one line that names its file; unexpected failures in one line too.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from engine import catalog
from engine.analysis import lints as lint_docs
from engine.analysis.check import apply_fixes, check
from engine.analysis.lints import all_lints
from engine.build.compile import generate_source
from engine.catalog import reference
from engine.cli import blocks, compress, export, imports, runs, serve, train, tune
from engine.cli.common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_UNREADABLE,
    CliError,
    describe,
    exit_code_for,
    load,
    load_plugins,
    one_line,
)
from engine.errors import TorchwireError
from engine.fileio import atomic_write
from engine.graph import GraphError
from engine.project import save_project

# The modules that add subcommands: each exposes ``register(subparsers)``.
COMMAND_MODULES = (train, export, compress, tune, serve, blocks, imports, runs)


def _check(args: argparse.Namespace) -> int:
    g = load(args.file)
    if args.apply_fixes:
        _apply_fixes(g, args)
    rep = check(g)
    if args.json:
        print(json.dumps({"file": args.file, **rep.to_dict()}, indent=2))
        return EXIT_OK if rep.ok else EXIT_PROBLEMS
    print(format_report(g, rep, args.file))
    return EXIT_OK if rep.ok else EXIT_PROBLEMS


def _apply_fixes(g: Any, args: argparse.Namespace) -> None:
    """``check --apply-fixes -o OUT``: apply the engine's fixes, save the result to OUT."""
    if not args.output:
        raise CliError("--apply-fixes needs -o OUT: the fixed project is written there")
    labels = apply_fixes(g)
    save_project(g, args.output)
    out = sys.stderr if args.json else sys.stdout
    for label in labels:
        print(f"fixed: {label}", file=out)
    print(f"{len(labels)} fix(es) applied, written to {args.output}", file=out)


def format_report(g: Any, rep: Any, title: str) -> str:
    """A per-node table of shapes and counts, then every problem listed under its node."""
    lines = [f"{title}: {len(g.nodes)} nodes, {len(g.edges)} edges"]
    rows = [("node", "type", "output", "params", "MACs")]
    for nid in rep.order:
        n = g.nodes[nid]
        shape = rep.shapes.get(nid)
        rows.append(
            (
                n.name,
                n.type,
                "×".join(map(str, shape)) if shape else "-",
                f"{rep.params[nid]:,}" if nid in rep.params else "",
                f"{rep.macs[nid]:,}" if nid in rep.macs else "",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        lines.append(
            "  "
            + "  ".join(
                c.ljust(w) if i < 3 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    lines.append(f"total parameters: {rep.total_params:,}   MACs per sample: {rep.total_macs:,}")
    if rep.frozen_params:
        lines.append(f"trainable: {rep.trainable_params:,}   frozen: {rep.frozen_params:,}")
    said: set[str] = set()  # a chain's notes reach every node after: each said once
    for nid, info in rep.data.items():  # what each data node found (counts, notes)
        for note in info.notes:
            if note not in said:
                said.add(note)
                lines.append(f"  {g.nodes[nid].name}: {note}")
    by_node: dict[Any, list[Any]] = {}
    for d in rep.diagnostics:
        by_node.setdefault(d.node, []).append(d)
    if by_node:
        lines.append("")
        lines.append(f"{len(rep.errors)} error(s), {len(rep.warnings)} warning(s):")
        for node, ds in by_node.items():
            label = g.nodes[node].name if node in g.nodes else "(graph)"
            lines.append(f"  {label}:")
            for d in ds:
                lint = f" [{d.lint}]" if d.lint else ""
                lines.append(f"    {d.severity}{lint}: {d.message}")
    else:
        lines.append("ok: no problems")
    silenced = getattr(rep, "silenced", [])
    if silenced:
        lines.append("")
        lines.append(f"{len(silenced)} silenced lint(s):")
        for d in silenced:
            label = g.nodes[d.node].name if d.node in g.nodes else "(graph)"
            lines.append(f"  {label}: [{d.lint}] silenced ({d.silenced}): {d.message}")
    return "\n".join(lines)


def _lints(args: argparse.Namespace) -> int:
    if args.markdown:
        sys.stdout.write(lint_docs.markdown())
        return EXIT_OK
    lints = all_lints()
    if args.json:
        rows = [
            {
                "id": ln.id,
                "severity": ln.severity,
                "title": ln.title,
                "message": ln.message,
                "doc": ln.doc,
                "fix": ln.fix or None,
            }
            for ln in lints
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return EXIT_OK
    width = max(len(ln.id) for ln in lints)
    for ln in lints:
        print(f"{ln.id.ljust(width)}  {ln.severity:<7}  {ln.title}")
    return EXIT_OK


def _compile(args: argparse.Namespace) -> int:
    g = load(args.file)
    rep = check(g)
    try:
        source, _ = generate_source(g, rep, args.class_name)
    except GraphError as e:
        print(describe(e, args.file), file=sys.stderr)
        return EXIT_PROBLEMS
    if args.output in (None, "-"):
        sys.stdout.write(source)
    else:
        atomic_write(args.output, source)  # WriteError (exit 2) names the file
        print(f"wrote {args.output} ({rep.total_params:,} parameters)")
    return EXIT_OK


def _nodes(args: argparse.Namespace) -> int:
    if args.markdown:
        sys.stdout.write(reference.markdown())
        return EXIT_OK
    specs = list(catalog.all_specs())
    if args.category:
        specs = [s for s in specs if s.category.lower().startswith(args.category.lower())]
    if args.json:
        print(json.dumps([s.to_dict() for s in specs], indent=2, default=str))
        return EXIT_OK
    cat = None
    for s in specs:
        if s.category != cat:
            cat = s.category
            print(f"\n== {cat}")
        ins = ", ".join(p.name + ("*" if p.multi else "?" if p.optional else "") for p in s.inputs)
        outs = ", ".join(p.name for p in s.outputs)
        print(f"{s.type}({ins or '-'}) -> {outs}  {s.doc}")
        for p in s.params:
            extra = ""
            if p.choices:
                extra = " one of " + "|".join(map(str, p.choices))
            elif p.min is not None or p.max is not None:
                extra = f" in [{'' if p.min is None else p.min}, {'' if p.max is None else p.max}]"
            when = f" ({p.applies_when()})" if p.enabled_if else ""
            print(f"    {p.name}: {p.type} = {p.default!r}{extra}  {p.doc}{when}")
        if s.infer:
            print(f"    (from the input: {', '.join(s.infer)})")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="torchwire", description="Design, check, compile, train and export PyTorch models."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("check", help="check a project: shapes, parameters, problems per node")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--apply-fixes", action="store_true", help="apply every fix offered, then check")
    p.add_argument("-o", "--output", help="with --apply-fixes: where to write the fixed project")
    p.set_defaults(func=_check)

    p = sub.add_parser("lints", help="list the lints check runs (--markdown: docs/lints.md)")
    p.add_argument("--markdown", action="store_true", help="print the documentation page")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_lints)

    p = sub.add_parser("compile", help="write the generated PyTorch module source")
    p.add_argument("file")
    p.add_argument("-o", "--output", help="output .py file (default: stdout)")
    p.add_argument("--class-name", help="name of the generated class")
    p.set_defaults(func=_compile)

    p = sub.add_parser("nodes", help="list the node catalog (--markdown: docs/nodes.md)")
    p.add_argument("--category", help="only this category (prefix)")
    p.add_argument("--markdown", action="store_true", help="print the reference page")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_nodes)

    for mod in COMMAND_MODULES:
        mod.register(sub)
    for command in {id(c): c for c in sub.choices.values()}.values():  # custom layers anywhere
        command.add_argument(
            "--nodes-dir",
            action="append",
            default=[],
            metavar="DIR",
            help="a folder of node files (custom layers); also TORCHWIRE_NODE_PATH",
        )
    return parser


def _tolerant_output() -> None:
    """Names from a project may hold text the terminal cannot encode (a lone surrogate):
    print it escaped rather than fail half-way through a report."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError, TypeError):
                pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit code (see the module docstring), never raises."""
    _tolerant_output()
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    file = getattr(args, "file", None)
    try:
        load_plugins(getattr(args, "nodes_dir", None) or [])
        return func(args)
    except CliError as e:
        print(f"error: {one_line(str(e))}", file=sys.stderr)
        return e.code
    except TorchwireError as e:  # any command's error for the user's file, graph or data
        print(f"error: {describe(e, file)}", file=sys.stderr)
        return exit_code_for(e)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # last resort: one clear line, never a traceback
        print(f"error: {describe(e, file)} ({type(e).__name__})", file=sys.stderr)
        return EXIT_UNREADABLE


if __name__ == "__main__":
    sys.exit(main())
