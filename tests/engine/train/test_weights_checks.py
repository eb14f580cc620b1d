"""init_from refuses tensors that cannot be the weights they would replace, naming them."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from engine.train.weights import WeightsError, match_weights


def _model() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))


@pytest.mark.parametrize("dtype", [torch.bool, torch.int8, torch.int64, torch.uint8])
def test_a_non_float_tensor_for_float_weights_is_refused_by_name(dtype: torch.dtype) -> None:
    weights = {k: v.clone() for k, v in _model().state_dict().items()}
    weights["0.weight"] = torch.ones(2, 3, dtype=dtype)
    with pytest.raises(WeightsError, match=r"0\.weight") as e:
        match_weights(_model(), weights, "w.safetensors")
    assert str(dtype).removeprefix("torch.") in str(e.value)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 1e300])
def test_non_finite_weights_are_refused_by_name(bad: float) -> None:
    weights = {k: v.clone() for k, v in _model().state_dict().items()}
    w = torch.zeros(2, dtype=torch.float64)
    w[1] = bad  # 1e300 is finite in float64 and infinite once a float32 weight
    weights["0.bias"] = w
    with pytest.raises(WeightsError, match=r"0\.bias.*(NaN|infinite)"):
        match_weights(_model(), weights, "w.safetensors")


def test_integer_buffers_still_load() -> None:
    weights = {k: v.clone() for k, v in _model().state_dict().items()}
    loaded, report = match_weights(_model(), weights, "w.safetensors")
    assert "1.num_batches_tracked" in loaded and not report.wrong_shape
