"""The compression's options that every front end shares: their defaults and their check.

Light on purpose (no torch): the designer reads the defaults when it builds its dialog.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.compress.errors import CompressError

# A variant whose test metric (accuracy or R², a fraction) falls by more than this is
# refused: five points is a loss nobody ships by accident. ``None`` keeps every variant.
DEFAULT_MAX_DROP = 0.05
MODES = ("int8-dynamic", "int8-static", "fp16")


def check_options(
    prune: float,
    steps: int,
    finetune_epochs: int,
    quantize_modes: Sequence[str],
    max_drop: float | None,
) -> None:
    """Refuse impossible options before anything is loaded."""
    for mode in quantize_modes:
        if mode not in MODES:
            raise CompressError(f"unknown quantization {mode!r}: choose {', '.join(MODES)}")
    if not 0.0 <= prune < 1.0:
        raise CompressError(f"--prune is a fraction in [0, 1), got {prune:g}")
    if steps < 1 or finetune_epochs < 0:
        raise CompressError("steps must be at least 1 and fine-tuning epochs at least 0")
    if max_drop is not None and not max_drop >= 0:
        raise CompressError(f"--max-drop must be 0 or more, got {max_drop}")
