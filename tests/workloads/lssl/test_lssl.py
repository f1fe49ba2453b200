import pytest

from workloads.testing import WorkloadTestCase

TINY = {"side": 8, "H": 8, "N": 8, "lstm_hidden": 8, "batch": 8, "eval_size": 16, "steps": 4, "eval_every": 2}


class TestLSSL(WorkloadTestCase):
    name = "lssl"
    tiny = TINY


@pytest.mark.parametrize("overrides", [{"init": "random"}, {"model": "lstm"}])
def test_random_a_and_lstm_arms_train(overrides):
    import torch

    from orchestrator.registry import load

    torch.set_num_threads(1)
    wl = load("lssl")
    run = wl.build(wl.make_config({**TINY, **overrides}), "cpu")
    assert run.train_step(0)["loss"] > 0
    assert 0 <= run.evaluate()["val/acc"] <= 1


@pytest.mark.parametrize("init", ["legs", "random"])
def test_convolution_and_recurrent_views_agree_to_1e_4(init):
    import torch

    from workloads.nn.lssl import LSSL

    torch.manual_seed(0)
    layer = LSSL(4, 32, init=init)
    u = torch.randn(2, 100, 4)
    with torch.no_grad():
        conv = layer(u).double()
    assert float((conv - layer.recurrent(u.double())).abs().max()) < 1e-4


def test_krylov_kernel_is_c_abar_power_bbar():
    import torch

    from workloads.nn.lssl import LSSL

    torch.manual_seed(0)
    layer = LSSL(2, 6).double()
    with torch.no_grad():
        K = layer.kernel(5)
        Abar, Bbar = layer.discrete()
        direct = torch.stack([layer.C[h] @ torch.linalg.matrix_power(Abar[h], k) @ Bbar[h] for h in range(2) for k in range(5)]).view(2, 5)
    assert torch.allclose(K, direct, atol=1e-10)


def test_legs_a_is_hippo_and_random_a_is_stable():
    import torch

    from workloads.nn.lssl import LSSL

    torch.manual_seed(0)
    legs, rand = LSSL(1, 4), LSSL(1, 16, init="random")
    assert torch.allclose(legs.A[0].diag(), -torch.arange(1.0, 5.0))
    assert float(legs.A[0, 2, 0]) == pytest.approx(-(5**0.5) * 1.0, rel=1e-6)
    assert float(torch.linalg.eigvals(rand.A[0].double()).real.max()) == pytest.approx(-1.0, abs=1e-4)
    assert not any(p is legs.A for p in legs.parameters())  # A is a fixed buffer


def test_digit_sequences_are_a_fixed_permutation_of_the_same_pixels():
    import numpy as np

    from workloads.tasks.digit_sequences import digit_sequences

    plain = digit_sequences(12, permute=False)
    perm = digit_sequences(12, permute=True)
    assert plain[0].shape == (1400, 144) and plain[2].shape == (397, 144)
    assert (plain[1] == perm[1]).all()
    assert np.allclose(np.sort(plain[0], 1), np.sort(perm[0], 1)) and not np.allclose(plain[0], perm[0])


def test_lstm_starts_with_unit_forget_gate_bias():
    import torch

    from orchestrator.registry import load

    wl = load("lssl")
    run = wl.build(wl.make_config({**TINY, "model": "lstm", "lstm_hidden": 32}), "cpu")
    H = 32
    for layer in range(run.model.lstm.num_layers):
        b = getattr(run.model.lstm, f"bias_ih_l{layer}") + getattr(run.model.lstm, f"bias_hh_l{layer}")  # (4H,) = i, f, g, o
        assert torch.equal(b[H : 2 * H], torch.ones(H))
        assert float(b[:H].abs().max()) < 1.0  # the other gates keep PyTorch's small uniform init
