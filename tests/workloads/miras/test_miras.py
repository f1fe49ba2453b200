import numpy as np
import torch

from kernels.delta_rule import delta_rule
from workloads.nn.miras import MirasMixer, miras_scan
from workloads.tasks.mqar import IGNORE, mqar, mqar_length
from workloads.testing import WorkloadTestCase


class TestMiras(WorkloadTestCase):
    name = "miras"
    tiny = {"n_pairs": 4, "n_queries": 3, "n_keys": 8, "n_values": 8, "n_filler": 2, "d_model": 16,
            "head_dim": 8, "batch": 8, "n_test": 8, "steps": 4, "eval_every": 2}


class TestMirasNoisyMemora(WorkloadTestCase):
    name = "miras"
    tiny = {**TestMiras.tiny, "variant": "memora", "noisy": True}


def _qkv(B=2, T=7, H=2, D=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(B, T, H, D, generator=g)
    k = torch.nn.functional.normalize(torch.randn(B, T, H, D, generator=g), dim=-1)
    v = torch.randn(B, T, H, D, generator=g)
    beta = torch.rand(B, T, H, generator=g)
    return q, k, v, beta


def test_l2_scan_without_retention_is_the_delta_rule_kernel():
    q, k, v, beta = _qkv()
    ours, state = miras_scan(q, k, v, beta, torch.ones_like(beta), "l2")
    ref, ref_state = delta_rule(q, k, v, beta, backend="naive")
    assert torch.allclose(ours, ref, atol=1e-5)
    assert torch.allclose(state, ref_state, atol=1e-5)


def test_huber_equals_l2_below_threshold_and_clips_above():
    q, k, v, beta = _qkv()
    one = torch.ones_like(beta)
    l2, _ = miras_scan(q, k, v, beta, one, "l2")
    big, _ = miras_scan(q, k, v, beta, one, "huber", delta=one * 1e6)
    assert torch.allclose(l2, big, atol=1e-6)
    # a huge value at t = 0 writes at most δ · η per entry under Huber, unboundedly under ℓ2
    v2 = v.clone()
    v2[:, 0] = 1e4
    _, m_huber = miras_scan(q[:, :1], k[:, :1], v2[:, :1], beta[:, :1], one[:, :1], "huber", delta=one[:, :1] * 0.5)
    assert m_huber.abs().max() <= 0.5 + 1e-6


def test_memora_rows_keep_their_mass():
    q, k, v, beta = _qkv()
    log_c = torch.log(torch.tensor([3.0, 5.0]))
    _, mem = miras_scan(q, k, v, beta, torch.full_like(beta, 0.9), "kl", log_c=log_c)
    assert (mem > 0).all()
    assert torch.allclose(mem.sum(-1), torch.tensor([3.0, 5.0]).view(1, 2, 1).expand(2, 2, 4), atol=1e-4)


def test_moneta_memory_q_norm_is_at_most_one_after_normalisation():
    q, k, v, beta = _qkv()
    _, mem = miras_scan(q, k, v * 50, beta, torch.ones_like(beta), "lp", p=3.0, q_norm=4.0)
    norm = mem.abs().pow(4).sum((-2, -1)).pow(0.25)
    assert (norm <= 1.0 + 1e-4).all()


def test_mixers_are_causal():
    torch.manual_seed(0)
    for memory in ("dot", "huber", "lp", "kl"):
        mixer = MirasMixer(16, 2, 8, memory)
        x = torch.randn(2, 9, 16)
        x2 = x.clone()
        x2[:, 6] += 1.0
        a, b = mixer(x), mixer(x2)
        assert torch.allclose(a[:, :6], b[:, :6], atol=1e-5), memory
        assert not torch.allclose(a[:, 6:], b[:, 6:], atol=1e-5), memory


def test_mqar_targets_are_the_latest_binding_and_noise_only_at_outliers():
    rng = np.random.default_rng(0)
    x, y, z = mqar(rng, 16, 8, 6, 32, 32, n_filler=5, collide=0.25, outlier_frac=0.1, outlier_scale=3.0, noise_dim=4)
    assert x.shape == (16, mqar_length(8, 6, 0.1, 5))
    for b in range(16):
        latest = {}
        for t in range(x.shape[1] - 6 - 1):
            if x[b, t] < 32 and 32 <= x[b, t + 1] < 64 and not z[b, t].any():
                latest[int(x[b, t])] = int(x[b, t + 1])
        for t in range(x.shape[1] - 6, x.shape[1]):
            assert y[b, t] == latest[int(x[b, t])]
        assert (y[b, : x.shape[1] - 6] == IGNORE).all()
    assert (np.abs(z).sum(-1) > 0).sum() == 16 * (x.shape[1] - 27)
