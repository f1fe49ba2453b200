import torch

from workloads.nn.sma import SMAGatedGAU
from workloads.sma import Config
from workloads.sma.model import SeqBoatLM
from workloads.testing import WorkloadTestCase

_TINY = {"n_pairs": 3, "n_queries": 2, "n_keys": 8, "n_values": 8, "n_filler": 4, "d_model": 16, "state": 8,
         "batch": 4, "n_test": 8, "steps": 4, "eval_every": 2}


class TestSMA(WorkloadTestCase):
    name = "sma"
    tiny = {**_TINY, "sparsity": 0.01}


class TestSMADense(WorkloadTestCase):
    name = "sma"
    tiny = {**_TINY, "variant": "dense"}


def _tokens(T=12, B=3):
    return torch.randint(0, 17, (B, T), generator=torch.Generator().manual_seed(0))


def test_gate_forced_off_gives_exactly_the_ssm_only_model():
    torch.manual_seed(0)
    boat = SeqBoatLM(17, Config(**_TINY, gate_bias=-1.0e4))
    ssm = SeqBoatLM(17, Config(**_TINY, variant="ssm"))
    ssm.load_state_dict({k: v for k, v in boat.state_dict().items() if not k.startswith(("attn.", "norms."))})
    x = _tokens()
    logits, active, _ = boat(x)
    assert not active.any()
    assert torch.equal(logits, ssm(x)[0])


def test_gate_forced_on_equals_the_dense_unit():
    torch.manual_seed(0)
    gated = SMAGatedGAU(16, window=64, gate_bias=1.0e4)
    dense = SMAGatedGAU(16, window=64, dense=True)
    dense.load_state_dict(gated.state_dict())
    x = torch.randn(2, 10, 16)
    y, on, p = gated(x)
    assert on.all() and torch.allclose(p, torch.ones_like(p))
    assert torch.allclose(y, dense(x)[0], atol=1e-6)


def test_activated_tokens_attend_only_among_themselves_and_skipped_tokens_get_zero():
    torch.manual_seed(0)
    unit = SMAGatedGAU(16, window=3)
    keep = torch.tensor([0, 2, 3, 7, 8, 11])
    logit = torch.full((12,), -1.0e4)
    logit[keep] = 1.0e4
    with torch.no_grad():  # a gate that activates exactly the positions in `keep`, whatever the input
        unit.gate.weight.zero_()
    unit.gate.forward = lambda x: torch.stack([torch.zeros(12), logit], -1).expand(x.shape[0], 12, 2)
    x = torch.randn(1, 12, 16)
    y, on, _ = unit(x)
    assert torch.equal(on[0].nonzero()[:, 0], keep)
    off = torch.ones(12, dtype=torch.bool)
    off[keep] = False
    assert torch.equal(y[0, off], torch.zeros(int(off.sum()), 16))
    # the compressed sequence; the window (3) counts activated tokens, not positions
    ref = unit.gau(x[:, keep], torch.ones(1, len(keep), dtype=torch.bool), 3)  # (1, 6, d)
    assert torch.allclose(y[:, keep], ref, atol=1e-6)
