"""``torchwire`` command line, Qt-free: check, compile, nodes (+ commands other packages add).

Exit codes: 0 success, 1 the project has problems, 2 the input cannot be read or used.
No command ever ends in a traceback; unexpected failures are reported in one line.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_PROBLEMS, EXIT_UNREADABLE = 0, 1, 2

# Packages that add subcommands: each exposes ``register(subparsers)``.
COMMAND_MODULES = ("engine.train.cli", "engine.export.cli")


class CliError(Exception):
    """A failure to report in one line, with its exit code."""

    def __init__(self, message: str, code: int = EXIT_UNREADABLE) -> None:
        super().__init__(message)
        self.code = code


def load(path: str) -> Any:
    from engine.project import ProjectError, load_project

    try:
        return load_project(path)
    except ProjectError as e:
        raise CliError(str(e), EXIT_UNREADABLE) from None


def _check(args: argparse.Namespace) -> int:
    from engine.check import check

    g = load(args.file)
    rep = check(g)
    if args.json:
        print(json.dumps({"file": args.file, **rep.to_dict()}, indent=2))
        return EXIT_OK if rep.ok else EXIT_PROBLEMS
    print(format_report(g, rep, args.file))
    return EXIT_OK if rep.ok else EXIT_PROBLEMS


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
                lines.append(f"    {d.severity}: {d.message}")
    else:
        lines.append("ok: no problems")
    return "\n".join(lines)


def _compile(args: argparse.Namespace) -> int:
    from engine.check import check
    from engine.compile import generate_source
    from engine.graph import GraphError

    g = load(args.file)
    rep = check(g)
    try:
        source, _ = generate_source(g, rep, args.class_name)
    except GraphError as e:
        print(f"{args.file}: {e}", file=sys.stderr)
        return EXIT_PROBLEMS
    if args.output in (None, "-"):
        sys.stdout.write(source)
    else:
        Path(args.output).write_text(source, encoding="utf-8")
        print(f"wrote {args.output} ({rep.total_params:,} parameters)")
    return EXIT_OK


def _nodes(args: argparse.Namespace) -> int:
    from engine import catalog

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
        ins = ", ".join(p.name + ("*" if p.multi else "") for p in s.inputs) or "-"
        print(f"{s.type}({ins})  {s.doc}")
        for p in s.params:
            extra = ""
            if p.choices:
                extra = " one of " + "|".join(map(str, p.choices))
            elif p.min is not None or p.max is not None:
                extra = f" in [{'' if p.min is None else p.min}, {'' if p.max is None else p.max}]"
            print(f"    {p.name}: {p.type} = {p.default!r}{extra}  {p.doc}")
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
    p.set_defaults(func=_check)

    p = sub.add_parser("compile", help="write the generated PyTorch module source")
    p.add_argument("file")
    p.add_argument("-o", "--output", help="output .py file (default: stdout)")
    p.add_argument("--class-name", help="name of the generated class")
    p.set_defaults(func=_compile)

    p = sub.add_parser("nodes", help="list the node catalog with parameters and docs")
    p.add_argument("--category", help="only this category (prefix)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_nodes)

    for mod_name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(mod_name)
        except ModuleNotFoundError as e:
            if e.name and mod_name.startswith(e.name):
                continue
            raise
        mod.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except CliError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # last resort: one clear line, never a traceback
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_UNREADABLE


if __name__ == "__main__":
    sys.exit(main())
