"""Batches for training: in-memory tensors already on the device, or images streamed by a
DataLoader with workers. Augmentation runs on whole batches on the device.

Part of the runtime: an exported training script batches exactly as the engine does.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F


class _Batched:
    """How many batches an epoch has and in which order: the same for every source."""

    n: int
    batch_size: int
    shuffle: bool
    drop_last: bool

    def __len__(self) -> int:
        if self.drop_last and self.n >= self.batch_size:
            return self.n // self.batch_size
        return math.ceil(self.n / self.batch_size) if self.n else 0

    def order(self, generator: torch.Generator | None) -> torch.Tensor | None:
        """This epoch's permutation (on the CPU, from the seeded generator), or None."""
        if not self.shuffle:
            return None
        return torch.randperm(self.n, generator=generator)


class InMemoryBatches(_Batched):
    """Whole split on the device; one gather per epoch, then contiguous slices (views).

    No per-sample Python work: the order is a permutation drawn from ``generator``.
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
        shuffle: bool = False,
        drop_last: bool = False,
    ) -> None:
        self.x, self.y = x, y
        self.n = len(x)
        self.batch_size = max(1, min(batch_size, self.n)) if self.n else batch_size
        self.shuffle, self.drop_last = shuffle, drop_last

    def batches(
        self, perm: torch.Tensor | None, start: int = 0
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        x, y = self.x, self.y
        if perm is not None:
            p = perm.to(x.device, non_blocking=True)
            x, y = x.index_select(0, p), y.index_select(0, p)
        bs = self.batch_size
        for b in range(start, len(self)):
            yield x[b * bs : (b + 1) * bs], y[b * bs : (b + 1) * bs]


class ImageDataset(torch.utils.data.Dataset):
    """Image files decoded one by one (in DataLoader workers), for training and inference."""

    def __init__(self, files: np.ndarray, labels: np.ndarray, image: dict[str, Any]) -> None:
        self.files, self.labels = [str(f) for f in files], labels
        self.size = tuple(image["size"])
        self.gray = bool(image["grayscale"])

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        from .sources import load_image  # PIL only where images are read

        a = load_image(self.files[i], self.size, self.gray)
        return torch.from_numpy(a), int(self.labels[i])


class StreamingBatches(_Batched):
    """Images decoded by DataLoader workers; fitted steps applied on the device per batch."""

    def __init__(
        self,
        files: np.ndarray,
        labels: np.ndarray,
        image: dict[str, Any],
        batch_size: int,
        shuffle: bool,
        drop_last: bool,
        device: torch.device,
        fitted: list[Any],
    ) -> None:
        self.ds = ImageDataset(files, labels, image)
        self.n = len(self.ds)
        self.batch_size = batch_size
        self.shuffle, self.drop_last = shuffle, drop_last
        self.workers = int(image.get("num_workers", 2))
        self.device = device
        self.fitted = fitted

    def batches(
        self, perm: torch.Tensor | None, start: int = 0
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        idx = (perm if perm is not None else torch.arange(self.n)).tolist()
        bs = self.batch_size
        batch_idx = [idx[b * bs : (b + 1) * bs] for b in range(start, len(self))]
        loader = torch.utils.data.DataLoader(
            self.ds,
            batch_sampler=batch_idx,
            num_workers=self.workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=False,
        )
        for xb, yb in loader:
            xb = xb.to(self.device, non_blocking=True)
            for t in self.fitted:
                xb = t.apply_tensor(xb)
            yield xb, yb.to(self.device, non_blocking=True)


def augment_batch(x: torch.Tensor, p: dict[str, Any], generator: torch.Generator) -> torch.Tensor:
    """Random flips, shifted crops and small rotations of an image batch (N, C, H, W).

    Random numbers come from ``generator`` (CPU) so that a resumed run draws the same ones.
    """
    if x.dim() != 4:
        return x
    n, _c, h, w = x.shape
    dev = x.device
    if p.get("hflip"):
        m = (torch.rand(n, generator=generator) < 0.5).to(dev)
        x = torch.where(m[:, None, None, None], x.flip(3), x)
    if p.get("vflip"):
        m = (torch.rand(n, generator=generator) < 0.5).to(dev)
        x = torch.where(m[:, None, None, None], x.flip(2), x)
    pad = int(p.get("crop_padding") or 0)
    deg = float(p.get("rotation") or 0.0)
    if pad > 0 or deg > 0:
        # One affine resample does both: rotation about the centre and an integer shift.
        ang = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(deg)
        shift = torch.randint(-pad, pad + 1, (n, 2), generator=generator).float()
        cos, sin = torch.cos(ang), torch.sin(ang)
        theta = torch.zeros(n, 2, 3)
        theta[:, 0, 0], theta[:, 0, 1] = cos, -sin * h / w
        theta[:, 1, 0], theta[:, 1, 1] = sin * w / h, cos
        theta[:, 0, 2] = shift[:, 0] * 2 / w
        theta[:, 1, 2] = shift[:, 1] * 2 / h
        grid = F.affine_grid(theta.to(dev, x.dtype), list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return x


def split_batches(prep: Any, device: torch.device) -> dict[str, Any]:
    """Each non-empty split of prepared data as batches: tensors on the device once, or
    images streamed. Training batches shuffle and drop as the Batch node says; evaluation
    batches are larger and in order."""
    info, b = prep.info, prep.batch
    eval_bs = max(b["batch_size"], 512)
    out: dict[str, Any] = {}
    for split in ("train", "val", "test"):
        if len(prep.y[split]) == 0:
            continue
        train = split == "train"
        bs, shuffle, drop = (
            (b["batch_size"], b["shuffle"], b["drop_last"]) if train else (eval_bs, False, False)
        )
        if info.streaming:
            out[split] = StreamingBatches(
                prep.x[split], prep.y[split], prep.image or {}, bs, shuffle, drop, device,
                prep.fitted,
            )  # fmt: skip
            continue
        x = torch.from_numpy(np.ascontiguousarray(prep.x[split])).to(device)
        ydt = torch.int64 if info.task == "classification" else torch.float32
        y = torch.from_numpy(np.ascontiguousarray(prep.y[split])).to(device, ydt)
        out[split] = InMemoryBatches(x, y, bs, shuffle, drop)
    return out


def n_targets(info: Any) -> int:
    """Target values per sample (1 for class labels)."""
    n = 1
    for d in info.target_shape:
        n *= int(d)
    return n
