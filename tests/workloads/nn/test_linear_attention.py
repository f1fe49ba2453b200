"""DeltaNetMixer and GLAMixer: shapes, causality, backends agreeing, state carry-over, β range."""

from __future__ import annotations

import pytest
import torch

from workloads.nn.linear_attention import DeltaNetMixer, GLAMixer


def _x(B=2, T=37, d=32, seed=0):
    return torch.randn(B, T, d, generator=torch.Generator().manual_seed(seed))


def _delta(**kw):
    torch.manual_seed(0)
    return DeltaNetMixer(32, 2, **kw)


def _gla(**kw):
    torch.manual_seed(0)
    return GLAMixer(32, 2, **kw)


LAYERS = [
    pytest.param(lambda **kw: _delta(**kw), id="deltanet"),
    pytest.param(lambda **kw: _delta(n_householder=2, allow_negative_eigenvalues=True, **kw), id="deltaproduct2-neg"),
    pytest.param(lambda **kw: _delta(n_householder=3, use_short_conv=False, **kw), id="deltaproduct3-noconv"),
    pytest.param(lambda **kw: _gla(**kw), id="gla"),
]


@pytest.mark.parametrize("make", LAYERS)
def test_layer_is_causal_and_keeps_shape(make):
    layer = make(chunk_size=16)
    x = _x()
    y = layer(x)
    assert y.shape == x.shape and torch.isfinite(y).all()
    x2 = x.clone()
    x2[:, 20:] = torch.randn_like(x2[:, 20:])
    y2 = layer(x2)
    torch.testing.assert_close(y2[:, :20], y[:, :20], rtol=1e-5, atol=1e-6)
    assert (y2[:, 20:] - y[:, 20:]).abs().max() > 1e-3


@pytest.mark.parametrize("make", LAYERS)
def test_chunk_backend_matches_naive_in_outputs_and_parameter_grads(make):
    x = _x(T=29)
    grads = {}
    for backend in ("naive", "chunk"):
        layer = make(chunk_size=16, backend=backend)
        y = layer(x)
        (y * torch.linspace(-1, 1, y.shape[-1])).sum().backward()
        grads[backend] = (y.detach(), {n: p.grad.clone() for n, p in layer.named_parameters()})
    torch.testing.assert_close(grads["chunk"][0], grads["naive"][0], rtol=1e-4, atol=1e-5)
    for name, g in grads["naive"][1].items():
        torch.testing.assert_close(grads["chunk"][1][name], g, rtol=1e-3, atol=1e-5, msg=lambda m: f"{name}: {m}")


@pytest.mark.parametrize(
    "make",
    [pytest.param(lambda: _delta(n_householder=2, use_short_conv=False), id="deltaproduct2-noconv"),
     pytest.param(lambda: _gla(), id="gla")],
)
def test_state_carries_a_split_sequence_exactly(make):
    layer = make()
    x = _x(T=40)
    y_full, s_full = layer(x, return_state=True)
    y1, s1 = layer(x[:, :17], return_state=True)
    y2, s2 = layer(x[:, 17:], initial_state=s1, return_state=True)
    torch.testing.assert_close(torch.cat([y1, y2], dim=1), y_full, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(s2, s_full, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("negative,upper", [(False, 1.0), (True, 2.0)])
def test_beta_range_follows_allow_negative_eigenvalues(negative, upper):
    layer = _delta(n_householder=2, allow_negative_eigenvalues=negative)
    with torch.no_grad():
        layer.b_proj.bias.fill_(30.0)  # saturate the sigmoid
    q, k, v, beta = layer.project(_x(T=5))
    assert beta.shape == (2, 10, 2)
    torch.testing.assert_close(beta, torch.full_like(beta, upper))
    torch.testing.assert_close(k.norm(dim=-1), torch.ones(2, 10, 2))


def test_gla_gate_is_a_decay_in_zero_one():
    q, k, v, g = _gla().project(_x(T=9))
    assert g.shape == q.shape == (2, 9, 2, 8) and v.shape == (2, 9, 2, 16)
    assert (g <= 0).all() and (g > -1.0).all()  # logsigmoid / 16 keeps α close to 1 at init


def test_mixer_rejects_bad_sizes():
    with pytest.raises(ValueError, match="n_householder must be >= 1"):
        DeltaNetMixer(32, 2, n_householder=0)
    with pytest.raises(ValueError, match="must divide by n_heads"):
        GLAMixer(30, 4)
