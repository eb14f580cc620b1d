"""Every node type of the catalog builds, checks to the real forward's shape, and saves."""

from __future__ import annotations

import pytest
import torch

from engine import catalog, check, compile_model, load_project, save_project
from engine.catalog.base import ParamError, signature_names
from tests.support.catalog_cases import model_specs, single_node_graph

MODEL_TYPES = model_specs()


def test_catalog_covers_the_issue_list() -> None:
    wanted = [
        "Input",
        "Output",
        "Linear",
        "Bilinear",
        "Conv1d",
        "Conv2d",
        "Conv3d",
        "ConvTranspose1d",
        "ConvTranspose2d",
        "MaxPool1d",
        "MaxPool2d",
        "AvgPool1d",
        "AvgPool2d",
        "AdaptiveAvgPool1d",
        "AdaptiveAvgPool2d",
        "AdaptiveMaxPool2d",
        "BatchNorm1d",
        "BatchNorm2d",
        "LayerNorm",
        "GroupNorm",
        "InstanceNorm2d",
        "Dropout",
        "Dropout2d",
        "Embedding",
        "RNN",
        "LSTM",
        "GRU",
        "MultiheadAttention",
        "TransformerEncoderLayer",
        "Upsample",
        "Flatten",
        "Unflatten",
        "Reshape",
        "Permute",
        "Identity",
        "Add",
        "Mul",
        "Concat",
        "ReLU",
        "ReLU6",
        "LeakyReLU",
        "PReLU",
        "ELU",
        "SELU",
        "CELU",
        "GELU",
        "SiLU",
        "Mish",
        "Sigmoid",
        "Tanh",
        "Hardtanh",
        "Hardswish",
        "Softplus",
        "Softsign",
        "Softmax",
        "LogSoftmax",
        "GLU",
        "Maxout",
    ]
    missing = [t for t in wanted if not catalog.has(t)]
    assert missing == []


@pytest.mark.parametrize("type_name", MODEL_TYPES)
def test_checked_shape_equals_real_forward(type_name: str) -> None:
    g, node = single_node_graph(type_name)
    rep = check(g)
    assert rep.ok, [d.message for d in rep.errors]
    model = compile_model(g, rep)
    model.eval()
    y = model(*model.torchwire.example_inputs(batch=3))
    assert tuple(y.shape) == (3, *rep.shapes[node])
    assert y.dtype == rep.dtypes[node]
    assert sum(p.numel() for p in model.parameters()) == rep.total_params


@pytest.mark.parametrize("type_name", MODEL_TYPES)
def test_round_trips_through_a_file(type_name: str, tmp_path) -> None:
    g, _ = single_node_graph(type_name)
    save_project(g, tmp_path / "p.json")
    g2 = load_project(tmp_path / "p.json")
    assert g2.to_dict() == g.to_dict()
    assert check(g2).shapes == check(g).shapes


@pytest.mark.parametrize("spec", list(catalog.all_specs()), ids=lambda s: s.type)
def test_declaration_is_complete_and_uses_torch_names(spec) -> None:
    assert spec.doc and spec.category
    names = [p.name for p in spec.params]
    assert len(names) == len(set(names))
    for p in spec.params:
        assert p.coerce(p.default) == p.default or p.default is None
    if spec.module is not None and spec.module.__module__.startswith("torch"):
        torch_names = signature_names(spec.module)
        for p in spec.params:
            if p.ctor:
                assert p.name in torch_names, f"{spec.type}.{p.name} is not torch's name"
        for name in spec.infer:
            assert name in torch_names


def test_input_size_arguments_are_never_parameters() -> None:
    inferred = {"in_features", "in_channels", "num_features", "input_size", "embed_dim", "d_model"}
    for spec in catalog.all_specs():
        assert not inferred & {p.name for p in spec.params}, spec.type


@pytest.mark.parametrize(
    ("type_name", "params", "message"),
    [
        ("Conv2d", {"kernel_size": 0}, "kernel_size: must be at least 1, got 0"),
        ("Conv2d", {"kernel_size": [3, 3, 3]}, "kernel_size: expected one number or 2 numbers"),
        ("Linear", {"out_features": "ten"}, "out_features: expected a whole number"),
        ("Dropout", {"p": 1.5}, "p: must be at most 1, got 1.5"),
        ("GELU", {"approximate": "fast"}, "approximate: 'fast' is not one of"),
        ("Linear", {"bias": 1}, "bias: expected true or false"),
        ("Linear", {"units": 3}, "Linear has no parameter 'units'"),
    ],
)
def test_bad_parameter_values_are_refused_with_a_reason(type_name, params, message) -> None:
    with pytest.raises(ParamError, match=message.replace("(", r"\(").replace(")", r"\)")):
        catalog.get(type_name).coerce_params(params)


def test_ctor_source_reads_like_hand_written_code() -> None:
    spec = catalog.get("Conv2d")
    params = spec.coerce_params({"out_channels": 6, "kernel_size": 5, "padding": 2})
    assert spec.ctor_source(params, [(1, 28, 28)]) == "nn.Conv2d(1, 6, 5, padding=2)"
    lstm = catalog.get("LSTM")
    src = lstm.ctor_source(lstm.coerce_params({"hidden_size": 32}), [(10, 8)])
    assert src == "nn.LSTM(8, 32, batch_first=True)"


def test_maxout_takes_the_max_of_its_pieces() -> None:
    from engine.modules import Maxout

    m = Maxout(3, 2, pieces=4)
    x = torch.randn(5, 3)
    full = m.linear(x).view(5, 2, 4)
    assert torch.equal(m(x), full.max(dim=-1).values)


def test_number_lists_refuse_what_is_not_a_finite_number() -> None:
    """Found by the fuzzer: [10**400] overflowed and NaN betas were accepted."""
    import pytest

    from engine.catalog import get
    from engine.catalog.base import ParamError

    betas = get("Adam").param("betas")
    for bad in ([10**400, 0.9], [float("nan"), 0.9], [float("inf"), 0.9]):
        with pytest.raises(ParamError):
            betas.coerce(bad)
    with pytest.raises(ParamError, match="too large"):
        get("Adam").param("lr").coerce(10**400)
    assert betas.coerce([0.8, 0.99]) == [0.8, 0.99]
