"""The Mamba block on selective_scan: causal, backend-independent, LTI switch, trains."""

from __future__ import annotations

import pytest
import torch

from kernels.testing import assert_close
from workloads.nn.ssm import MambaBlock, MambaLM


def block(**kw) -> MambaBlock:
    torch.manual_seed(0)
    return MambaBlock(16, d_state=4, expand=2, **kw)


@pytest.mark.parametrize("T", [1, 7, 40])
def test_block_keeps_shape_and_is_finite(T):
    y = block()(torch.randn(2, T, 16))
    assert y.shape == (2, T, 16) and torch.isfinite(y).all()


@pytest.mark.parametrize("selective", [True, False], ids=["s6", "lti"])
def test_block_is_causal(selective):
    m = block(selective=selective)
    u = torch.randn(1, 30, 16)
    v = u.clone()
    v[:, 20] += 5.0
    a, b = m(u), m(v)
    assert torch.equal(a[:, :20], b[:, :20])
    assert not torch.allclose(a[:, 20:], b[:, 20:])


@pytest.mark.parametrize("heads", [1, 4])
def test_naive_and_chunk_backends_agree_on_output_and_gradients(heads):
    u = torch.randn(2, 37, 16)
    outs = []
    for backend in ("naive", "chunk"):
        m = block(backend=backend, heads=heads)
        y = m(u)
        (y * torch.linspace(-1, 1, y.numel()).view_as(y)).sum().backward()
        outs.append((y.detach(), [p.grad for p in m.parameters()]))
    assert_close("y", outs[0][0], outs[1][0], 1e-5)
    for i, (ga, gb) in enumerate(zip(outs[0][1], outs[1][1])):
        assert_close(f"grad[{i}]", ga, gb, 1e-4)


def test_lti_variant_has_input_independent_delta_b_c_and_s6_does_not():
    x = torch.randn(2, 9, 32)
    for selective in (False, True):
        delta, Bt, Ct = block(selective=selective).ssm_inputs(x)
        for name, t in (("delta", delta), ("B", Bt), ("C", Ct)):
            constant = torch.equal(t, t[:1, :1].expand_as(t))
            assert constant == (not selective), f"{name} selective={selective}"


def test_unknown_backend_is_rejected_by_the_kernel():
    with pytest.raises(ValueError, match="backend must be one of"):
        block(backend="fast")(torch.randn(1, 4, 16))


def test_tiny_lm_fits_a_fixed_batch():
    torch.manual_seed(0)
    model = MambaLM(vocab=8, d_model=32, n_layers=2, d_state=8)
    tokens = torch.randint(0, 8, (4, 33), generator=torch.Generator().manual_seed(0))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        logits = model(tokens[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 8), tokens[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0], losses[::10]
