import pytest

from workloads.testing import WorkloadTestCase

TINY = {"seq_len": 12, "n_pairs": 3, "n_keys": 4, "n_values": 4, "d_model": 8, "d_state": 4, "headdim": 4,
        "batch": 4, "eval_size": 8, "steps": 4, "eval_every": 2}


class TestHydra(WorkloadTestCase):
    name = "hydra"
    tiny = TINY
    objective_probe = "val/loss"  # accuracy on the tiny eval set does not move in 25 steps


@pytest.mark.parametrize("mixer", ["add", "concat", "toeplitz", "causal"])
def test_every_mixer_trains(mixer):
    import torch

    from orchestrator.registry import load

    torch.set_num_threads(1)
    wl = load("hydra")
    run = wl.build(wl.make_config({**TINY, "mixer": mixer}), "cpu")
    assert run.train_step(0)["loss"] > 0
    assert 0 <= run.evaluate()["val/acc"] <= 1


def _inputs(block, batch=2, T=10):
    import torch

    torch.manual_seed(1)
    x = torch.randn(batch, T, block.H, block.P, dtype=torch.float64)
    bc = torch.randn(batch, T, block.n_bc, dtype=torch.float64)
    dt_raw = torch.randn(batch, T, block.in_proj.out_features - 2 * block.d_inner - block.n_bc, dtype=torch.float64)
    return x, bc, dt_raw


def test_hydra_mixer_equals_its_quasiseparable_matrix():
    """M_ij = C_{i−1}ᵀB_j ∏_{k=j+1..i−1} a^f_k Δ^f_j (i > j), mirrored with a^b for i < j, D(X)_i on the diagonal."""
    import torch
    from torch.nn import functional as F

    from workloads.nn.hydra import MixerBlock

    block = MixerBlock(8, "hydra", d_state=4, headdim=4).double()
    x, bc, dt_raw = _inputs(block)
    with torch.no_grad():
        got = block.mix(x, bc, dt_raw)
        H, T = block.H, x.shape[1]
        B, C = bc.split(block.N, dim=-1)
        dt = F.softplus(dt_raw + block.dt_bias)
        A = -torch.exp(block.A_log)
        diag = block.fc_D(x.flatten(2)) + block.D[0]
        want = torch.zeros_like(x)
        for b in range(x.shape[0]):
            for h in range(H):
                M = torch.zeros(T, T, dtype=torch.float64)
                for i in range(T):
                    M[i, i] = diag[b, i, h]
                    for j in range(T):
                        if i > j:  # forward direction, shifted: the output at i is the scan's at i − 1
                            decay = torch.exp(A[h] * dt[b, j + 1 : i, h].sum())
                            M[i, j] = C[b, i - 1] @ B[b, j] * decay * dt[b, j, h]
                        elif i < j:
                            decay = torch.exp(A[h] * dt[b, i + 1 : j, H + h].sum())
                            M[i, j] = C[b, i + 1] @ B[b, j] * decay * dt[b, j, H + h]
                want[b, :, h] = M @ x[b, :, h]
    assert torch.allclose(got, want, atol=1e-8)


def test_causal_mixer_ignores_the_future_and_hydra_does_not():
    import torch

    from workloads.nn.hydra import MixerBlock

    torch.manual_seed(0)
    for mixer, sees_future in (("causal", False), ("hydra", True), ("add", True), ("concat", True), ("toeplitz", True)):
        block = MixerBlock(8, mixer, d_state=4, headdim=4, seq_len=10)
        u = torch.randn(1, 10, 8, requires_grad=True)
        block(u)[0, 4].sum().backward()
        future = float(u.grad[0, 5:].abs().max())
        assert (future > 0) == sees_future, (mixer, future)


def test_queries_sit_left_and_right_of_their_pairs():
    import numpy as np

    from workloads.tasks.bidirectional_recall import IGNORE, bidirectional_mqar

    tokens, targets, side = bidirectional_mqar(np.random.default_rng(0), 200, 24, 4, 8, 8)
    assert ((targets != IGNORE) == (side != 0)).all()
    assert (side != 0).sum(1).tolist() == [4] * 200
    right = (side > 0).mean() / (side != 0).mean()
    assert 0.4 < right < 0.6
    b, t = np.argwhere(side != 0)[0]
    key = tokens[b, t] - 1 - 8 - 8
    at = np.flatnonzero(tokens[b] == 1 + key)[0]
    assert targets[b, t] == tokens[b, at + 1] - 1 - 8


@pytest.mark.parametrize("mixer", ["causal", "add", "hydra"])
def test_quadratic_ssd_equals_the_selective_scan_kernel(mixer):
    import torch

    from workloads.nn.hydra import MixerBlock

    torch.manual_seed(0)
    block = MixerBlock(8, mixer, d_state=4, headdim=4).double()
    x, bc, dt_raw = _inputs(block, T=37)
    with torch.no_grad():
        block.backend = "scan"
        scan = block.mix(x, bc, dt_raw)
        block.backend = "quadratic"
        quad = block.mix(x, bc, dt_raw)
    assert torch.allclose(scan, quad, atol=1e-9)
