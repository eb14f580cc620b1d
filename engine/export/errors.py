"""The export's own error, and how a failure deep inside an exporter is traced to a node."""

from __future__ import annotations

import re
from typing import Any

from torch import nn

from engine.errors import TorchwireError


class ExportError(TorchwireError):
    """An export that did not produce a file; the message is for the user and names the node.

    ``node`` is the node id where the failure could be placed, ``report`` the parity report
    when the exported model ran but gave different answers.
    """

    def __init__(
        self,
        message: str,
        *,
        node: str | None = None,
        report: Any = None,
        nodes: list[str] | None = None,
    ) -> None:
        super().__init__(message, node=node)
        self.nodes = nodes if nodes is not None else ([node] if node else [])
        self.report = report


_LINE = re.compile(r'File "<torchwire:[^"]*>", line (\d+)')
_SELF_ATTR = re.compile(
    r"L__self___(\w+?)(?:_weight|_bias|\b)|L\['self'\]\.(\w+)|\bself\.(\w+)|::(\w+) #"
)


def node_of_failure(model: nn.Module, exc: BaseException) -> str | None:
    """The node id a failure inside ``torch.onnx.export`` belongs to, if it can be told.

    Looks, deepest first, at (1) frames of the generated ``forward`` (line -> node),
    (2) FX nodes held by the exporter's frames when it failed (their stack trace and
    module path), (3) generated-line references and module paths in the messages.
    """
    info = getattr(model, "torchwire", None)
    if info is None:
        return None
    found: str | None = None
    for e in _chain(exc):
        tb = e.__traceback__
        frames = []
        while tb is not None:
            frames.append(tb)
            tb = tb.tb_next
        for t in reversed(frames):
            code = t.tb_frame.f_code
            if code.co_filename.startswith("<torchwire:"):
                nid = info.node_of_line.get(t.tb_lineno)
                if nid:
                    return nid
            fx_node = t.tb_frame.f_locals.get("node")
            if fx_node is not None and found is None:
                found = _node_of_fx(info, fx_node)
        if found:
            return found
    for e in _chain(exc):
        nid = _node_of_text(info, str(e))
        if nid:
            return nid
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and e not in out:
        out.append(e)
        e = e.__cause__ or e.__context__
    return out


def _node_of_fx(info: Any, fx_node: Any) -> str | None:
    meta = getattr(fx_node, "meta", None)
    if not isinstance(meta, dict):
        return None
    lines = [int(m) for m in _LINE.findall(meta.get("stack_trace") or "")]
    for ln in reversed(lines):
        if ln in info.node_of_line:
            return str(info.node_of_line[ln])
    stack = meta.get("nn_module_stack") or {}
    for value in reversed(list(stack.values())):
        path = value[0] if isinstance(value, tuple) else str(value)
        nid = _node_of_path(info, path)
        if nid:
            return nid
    return None


def _node_of_path(info: Any, path: str) -> str | None:
    path = path.replace("L['self'].", "").replace("L__self___", "")
    for part in re.split(r"[.\[\]'\"]+", path):
        if part in info.node_of_attr:
            return str(info.node_of_attr[part])
    return None


def _node_of_text(info: Any, text: str) -> str | None:
    for ln in reversed([int(m) for m in _LINE.findall(text)]):
        if ln in info.node_of_line:
            return str(info.node_of_line[ln])
    for m in _SELF_ATTR.finditer(text):
        name = next(g for g in m.groups() if g)
        if name in info.node_of_attr:
            return str(info.node_of_attr[name])
    return None
