"""torchvision's constructors import as graphs (only where torchvision is installed)."""

from __future__ import annotations

import pytest
import torch

from engine import compile_model
from engine.imports import import_module

# Collected only where torchvision is installed (tests/engine/imports/conftest.py).


@pytest.mark.slow
def test_resnet18_spec_matches_the_module() -> None:
    import torchvision

    torch.manual_seed(0)
    ref = torchvision.models.resnet18().eval()
    graph, sd = import_module(ref, input_shape=(3, 64, 64))
    assert graph.by_name("layer1_0_conv1").type == "Conv2d"
    model = compile_model(graph)
    model.load_state_dict(sd, strict=True)
    model.eval()
    for batch in (1, 5):
        x = torch.randn(batch, 3, 64, 64)
        with torch.no_grad():
            assert (model(x) - ref(x)).abs().max().item() <= 1e-4
