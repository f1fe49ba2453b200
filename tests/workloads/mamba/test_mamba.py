import numpy as np

from workloads.testing import WorkloadTestCase


class TestMamba(WorkloadTestCase):
    name = "mamba"
    objective_probe = "val/loss"  # accuracy on the tiny eval set does not move in 25 steps
    tiny = {"d_model": 8, "d_state": 4, "seq_len": 12, "n_data": 2, "batch": 4, "eval_batch": 8, "steps": 4, "eval_every": 2}


class TestMambaLTI(WorkloadTestCase):
    name = "mamba"
    objective_probe = "val/loss"
    tiny = {"selective": False, "task": "induction", "d_model": 8, "d_state": 4, "seq_len": 12, "batch": 4, "eval_batch": 8, "steps": 4, "eval_every": 2}


def test_lti_variant_has_no_input_dependent_projections():
    from orchestrator.registry import load

    wl = load("mamba")
    run = wl.build(wl.make_config({"selective": False, "d_model": 8, "d_state": 4, "seq_len": 8, "eval_batch": 2}), "cpu")
    names = {n for n, _ in run.model.named_parameters()}
    assert not any("x_proj" in n for n in names) and any(n.endswith("mixer.B") for n in names)


def test_long_eval_set_is_extrapolate_times_training_length():
    from orchestrator.registry import load

    wl = load("mamba")
    run = wl.build(wl.make_config({"d_model": 8, "d_state": 4, "seq_len": 8, "n_data": 2, "extrapolate": 4, "eval_batch": 2}), "cpu")
    assert run.eval_sets[""][0].shape == (2, 8 + 2)
    assert run.eval_sets["_long"][0].shape == (2, 32 + 2)
    assert np.array_equal(run.eval_sets["_long"][1][:, -2:].numpy() > 0, np.ones((2, 2), dtype=bool))


def _lti_block():
    import torch

    from workloads.mamba.lti import LTIMambaBlock

    torch.manual_seed(0)
    return LTIMambaBlock(8, d_state=4, dt_min=1e-2, dt_max=0.5).double()


def test_lti_arm_has_per_channel_b_c_and_delta_and_no_input_projection():
    from orchestrator.registry import load

    wl = load("mamba")
    run = wl.build(wl.make_config({"selective": False, "d_model": 8, "d_state": 4, "seq_len": 8, "eval_batch": 2}), "cpu")
    for layer in run.model.layers:
        shapes = {name: tuple(p.shape) for name, p in layer.mixer.named_parameters()}
        assert shapes["B"] == shapes["C"] == (16, 4) and shapes["dt_bias"] == (16,)  # (d_inner, N), (d_inner,)
        assert not any(name.startswith(("x_proj", "dt_proj")) for name in shapes)  # nothing maps x to Δ, B, C


def test_lti_b_of_one_channel_changes_only_that_channel():
    import torch

    block = _lti_block()
    x, z = torch.randn(2, 19, 16, dtype=torch.float64), torch.randn(2, 19, 16, dtype=torch.float64)
    before = block.ssm(x, z)
    with torch.no_grad():
        block.B[3] += 1.0
    changed = (block.ssm(x, z) - before).abs().amax(dim=(0, 1))  # (d_inner,)
    assert changed[3] > 1e-3 and torch.all(changed[torch.arange(16) != 3] == 0)


def test_lti_ssm_is_linear_and_time_invariant_in_its_input():
    """Δ, B, C do not depend on x: superposition holds and a delayed input gives a delayed output."""
    import torch

    block = _lti_block()
    x1, x2, z = (torch.randn(2, 23, 16, dtype=torch.float64) for _ in range(3))
    torch.testing.assert_close(block.ssm(x1 + 2 * x2, z), block.ssm(x1, z) + 2 * block.ssm(x2, z))
    shift = 5
    pad = torch.zeros(2, shift, 16, dtype=torch.float64)
    delayed = block.ssm(torch.cat([pad, x1], 1), torch.cat([pad, z], 1))
    torch.testing.assert_close(delayed[:, shift:], block.ssm(x1, z))


def test_lti_fft_path_matches_the_scan_kernel_outputs_and_gradients():
    import torch

    block = _lti_block()
    x = torch.randn(3, 37, 16, dtype=torch.float64, requires_grad=True)
    z = torch.randn(3, 37, 16, dtype=torch.float64)
    grads = []
    for fn in (block.ssm, lambda a, b: block.ssm_by_scan(a, b, backend="naive")):
        block.zero_grad()
        x.grad = None
        out = fn(x, z)
        (out * torch.cos(out)).sum().backward()
        grads.append([out.detach(), x.grad.clone()] + [p.grad.clone() for p in (block.B, block.C, block.dt_bias, block.A_log, block.D)])
    for fast, ref in zip(*grads):
        torch.testing.assert_close(fast, ref, rtol=1e-9, atol=1e-10)
