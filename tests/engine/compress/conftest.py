"""Trained digits models shared by the compression tests (a few epochs: seconds)."""

from __future__ import annotations

import logging

import pytest
import torch

from engine.train import train
from tests.support.paths import EXAMPLES

CNN = str(EXAMPLES / "digits_cnn.json")
MLP = str(EXAMPLES / "digits_mlp.json")

torch.set_num_threads(1)
logging.getLogger().setLevel(logging.ERROR)  # ONNX Runtime's quantizer advice


@pytest.fixture(scope="session")
def cnn_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cnn") / "run"
    train(CNN, out_dir=str(out), epochs=4, device="cpu")
    return str(out)


@pytest.fixture(scope="session")
def mlp_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("mlp") / "run"
    train(MLP, out_dir=str(out), epochs=4, device="cpu")
    return str(out)
