"""Which device a run uses: ``auto`` takes CUDA, else Apple MPS, else the CPU.

``DEVICE_CHOICES`` is the one list of device names the settings, the command line and the
designer offer; torch loads only when a device is picked, so reading the list stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import RunError

if TYPE_CHECKING:
    import torch

DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")


def pick_device(name: str, local_rank: int | None = None) -> torch.device:
    """The device for ``name``; an unavailable choice raises ``RunError`` (a RuntimeError) saying why.

    Under ``torchrun`` each process takes the GPU of its local rank, so N processes on one
    machine use N GPUs.
    """
    import torch

    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        name = "cuda" if cuda else "mps" if mps else "cpu"
    if name == "cuda":
        if not cuda:
            raise RunError("device cuda was chosen, but CUDA is not available on this machine")
        if local_rank is not None:
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        return torch.device("cuda")
    if name == "mps" and not mps:
        raise RunError("device mps was chosen, but Apple MPS is not available here")
    return torch.device(name)
