import numpy as np
import torch

from workloads.testing import WorkloadTestCase

TINY = {"n_train": 64, "n_eval": 20, "n_items": 40, "batch": 16, "d_model": 16, "z_dim": 4, "steps": 4, "eval_every": 2}


class TestIDNP(WorkloadTestCase):
    name = "idnp"
    tiny = TINY


class TestIDNPSASRec(WorkloadTestCase):
    name = "idnp"
    tiny = {**TINY, "model": "sasrec", "sasrec_layers": 1}


def _model():
    from workloads.idnp.model import IDNP

    torch.manual_seed(0)
    return IDNP(n_items=20, d=16, z_dim=4, n_scales=3, learned_time=False).eval()


def test_scores_ignore_sessions_after_the_context() -> None:
    """The deterministic path reads the prefix up to n_ctx and the latent averages only context sessions."""
    model = _model()
    items = torch.randint(0, 20, (2, 5, 6))
    times = torch.arange(5.0).expand(2, 5).contiguous()
    n_ctx, t_q = torch.tensor([3, 3]), torch.tensor([3.5, 3.5])
    changed = items.clone()
    changed[:, 3:] = (changed[:, 3:] + 7) % 20
    torch.testing.assert_close(model(items, times, n_ctx, t_q), model(changed, times, n_ctx, t_q))


def test_query_time_changes_the_scores() -> None:
    model = _model()
    items, times = torch.randint(0, 20, (1, 4, 6)), torch.tensor([[0.0, 1.0, 2.5, 4.0]])
    n_ctx = torch.tensor([4])
    near, far = model(items, times, n_ctx, torch.tensor([4.3])), model(items, times, n_ctx, torch.tensor([9.0]))
    assert not torch.allclose(near, far)


def test_kl_is_zero_when_posterior_equals_prior_and_elbo_is_finite() -> None:
    model = _model().train()
    items, times = torch.randint(0, 20, (3, 4, 6)), torch.rand(3, 4).cumsum(1)
    loss, nll, kl = model(items, times, torch.tensor([2, 3, 4]), times[:, -1] + 1, target=torch.randint(0, 20, (3, 6)), eps=torch.zeros(3, 4))
    assert torch.isfinite(loss) and kl >= 0 and nll > 0
    torch.testing.assert_close(loss, nll + kl)


def test_time_input_index_hides_the_timestamps() -> None:
    from orchestrator.registry import load

    wl = load("idnp")
    run = wl.build(wl.make_config({**TINY, "time_input": "index"}), "cpu")
    data = run.splits["val"]
    users = np.arange(len(data))
    _, times, _, t_query, _ = run._context(data, users, data.n_sessions - 1)
    assert torch.equal(t_query, torch.as_tensor(data.n_sessions - 1, dtype=torch.float32))
    assert float(times[0, 1]) == 1.0


def test_config_rejects_a_target_without_context() -> None:
    import pydantic
    import pytest
    from orchestrator.registry import load

    with pytest.raises(pydantic.ValidationError, match="min_context"):
        load("idnp").make_config({"min_context": 4, "sessions_min": 4})
