"""Stuffed Mamba workload: conformance, the state window's exactness, and Δ scaling's effect."""

from __future__ import annotations

import torch

from kernels.selective_scan import selective_scan
from workloads.nn.ssm import MambaBlock
from workloads.testing import WorkloadTestCase

TINY = {
    "d_model": 8, "d_state": 4, "train_len": 16, "eval_len": 48, "short_len": 8, "long_from": 32,
    "batch": 4, "eval_batch": 2, "window": 8, "steps": 4, "eval_every": 2,
}


class TestStuffedMamba(WorkloadTestCase):
    name = "stuffed_mamba"
    tiny = TINY


class TestStuffedMambaPasskey(WorkloadTestCase):
    name = "stuffed_mamba"
    tiny = {**TINY, "task": "passkey", "train_len": 24, "n_digits": 2, "passkey_lengths": (24, 48)}


def test_passkey_reports_the_claim_metric_and_capacity():
    from orchestrator.registry import load

    wl = load("stuffed_mamba")
    run = wl.build(wl.make_config(TestStuffedMambaPasskey.tiny), "cpu")
    m = run.evaluate()
    assert {"val/loss", "val/capacity", "val/acc_24", "val/acc_48"} <= set(m) and m["val/capacity"] in (0.0, 24.0, 48.0)


def _block() -> MambaBlock:
    torch.manual_seed(0)
    return MambaBlock(16, d_state=4, expand=2, dt_min=1e-2, dt_max=0.5)


def test_window_larger_than_sequence_changes_nothing():
    m, u = _block(), torch.randn(2, 40, 16)
    full = m(u)
    m.window = 64
    assert torch.equal(m(u), full)


def test_window_keeps_the_first_two_blocks_and_restarts_later_blocks_from_zero():
    torch.manual_seed(1)
    B, T, H, P, N, r = 2, 40, 1, 6, 4, 8
    x, z = torch.randn(B, T, H, P), torch.randn(B, T, H, P)
    delta = torch.rand(B, T, H, P) * 0.5
    A = -torch.rand(H, P, N) - 0.1
    Bm, Cm = torch.randn(B, T, H, N), torch.randn(B, T, H, N)
    m = _block()
    m.window = r
    D = m.D.detach()[:P].view(H, P)
    m.D = torch.nn.Parameter(D.reshape(-1))
    y = m._windowed_scan(x, delta, A, Bm, Cm, z)
    full, _ = selective_scan(x, delta, A, Bm, Cm, D, z)
    assert torch.allclose(y[:, : 2 * r], full[:, : 2 * r], atol=1e-5)
    # block k = 3 covers [3r, 4r): a scan from zero at 2r
    part, _ = selective_scan(*(t[:, 2 * r : 4 * r] for t in (x, delta)), A, *(t[:, 2 * r : 4 * r] for t in (Bm, Cm)), D, z[:, 2 * r : 4 * r])
    assert torch.allclose(y[:, 3 * r : 4 * r], part[:, r:], atol=1e-5)
    assert not torch.allclose(y[:, 3 * r : 4 * r], full[:, 3 * r : 4 * r], atol=1e-3)


def test_window_bounds_the_state_norm_on_constant_input():
    m, u = _block(), torch.ones(1, 400, 16)
    m.keep_state = True
    m(u)
    free = m.last_state.norm()
    m.window = 16
    m(u)
    assert m.last_state.norm() < free


def test_delta_scale_forgets_an_impulse_faster():
    torch.manual_seed(0)
    m = MambaBlock(16, d_state=4, expand=2, selective=False, dt_min=1e-2, dt_max=0.5)  # state linear in x
    silence, impulse = torch.zeros(1, 60, 16), torch.zeros(1, 60, 16)
    impulse[:, 0] = 3.0
    m.keep_state = True

    def memory() -> torch.Tensor:  # what is left of the impulse after 60 steps
        m(impulse)
        with_impulse = m.last_state
        m(silence)
        return (with_impulse - m.last_state).norm()

    kept = memory()
    m.delta_scale = 4.0
    assert memory() < 0.8 * kept


def test_evaluate_reports_ratios_consistent_with_losses():
    from orchestrator.registry import load

    torch.set_num_threads(1)
    wl = load("stuffed_mamba")
    run = wl.build(wl.make_config(TINY), "cpu")
    m = run.evaluate()
    assert abs(m["val/ratio"] - m["val/loss_long"] / m["val/loss"]) < 1e-6
    assert abs(m["val/ratio_window"] - m["val/loss_long_window"] / m["val/loss"]) < 1e-6
    assert m["val/state_norm_long"] > 0 and m["val/state_growth"] > 0
