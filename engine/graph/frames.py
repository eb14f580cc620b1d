"""Canvas annotations kept in the project: titled, coloured frames and collapsed nodes.

They are view-only (nothing is built, checked or trained from them) but they belong to
the project, so a script, the CLI and the designer see the same file. Values from a file
are checked strictly here: a frame is a title, a ``#rrggbb`` colour and a finite rectangle.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from engine.errors import TorchwireError

MAX_TITLE = 200
MAX_FRAMES = 1000
MAX_COORD = 1e9
DEFAULT_COLOR = "#3b5f8a"
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


class FrameError(TorchwireError, ValueError):
    """A frame (or the collapsed list) in a project that is not well formed."""


@dataclass(frozen=True)
class Frame:
    """A titled, coloured rectangle on the canvas (scene coordinates, top-left + size)."""

    title: str
    color: str = DEFAULT_COLOR
    rect: tuple[float, float, float, float] = (0.0, 0.0, 400.0, 300.0)

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "color": self.color, "rect": list(self.rect)}


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def frame_from_dict(d: Any, i: int = 1) -> Frame:
    """One frame from its file form; anything malformed raises FrameError naming it."""
    where = f"frame #{i}"
    if not isinstance(d, dict):
        raise FrameError(f"{where} must be an object")
    unknown = set(d) - {"title", "color", "rect"}
    if unknown:
        raise FrameError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    title = d.get("title", "")
    if not isinstance(title, str) or len(title) > MAX_TITLE:
        raise FrameError(f"{where}: 'title' must be text of at most {MAX_TITLE} characters")
    color = d.get("color", DEFAULT_COLOR)
    if not isinstance(color, str) or not _COLOR.fullmatch(color):
        raise FrameError(f"{where}: 'color' must be a colour like '#3b5f8a', got {color!r:.40}")
    rect = d.get("rect")
    if (
        not isinstance(rect, list)
        or len(rect) != 4
        or not all(_number(v) and abs(v) <= MAX_COORD for v in rect)
    ):
        raise FrameError(f"{where}: 'rect' must be four numbers [x, y, width, height]")
    if rect[2] <= 0 or rect[3] <= 0:
        raise FrameError(f"{where}: 'rect' needs a positive width and height")
    return Frame(title, color.lower(), tuple(float(v) for v in rect))  # type: ignore[arg-type]


def frames_from_list(value: Any) -> tuple[Frame, ...]:
    """The project's ``frames`` section (None: no frames)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise FrameError("'frames' must be a list")
    if len(value) > MAX_FRAMES:
        raise FrameError(f"'frames' holds more than {MAX_FRAMES} frames")
    return tuple(frame_from_dict(d, i) for i, d in enumerate(value, 1))


def collapsed_from_list(value: Any, node_ids: Any) -> frozenset[str]:
    """The project's ``collapsed`` section: ids of nodes shown as their title only."""
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FrameError("'collapsed' must be a list of node ids")
    for v in value:
        if v not in node_ids:
            raise FrameError(f"'collapsed' names node {v!r:.60}, which is not in the project")
    return frozenset(value)


__all__ = [
    "DEFAULT_COLOR",
    "Frame",
    "FrameError",
    "collapsed_from_list",
    "frame_from_dict",
    "frames_from_list",
]
