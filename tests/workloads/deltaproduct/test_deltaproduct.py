import torch

from workloads.deltaproduct.model import DeltaProductTagger
from workloads.testing import WorkloadTestCase


class TestDeltaProduct(WorkloadTestCase):
    name = "deltaproduct"
    tiny = {"d_model": 16, "n_heads": 2, "head_dim": 8, "train_length": 6, "test_length": 8, "batch": 8,
            "n_test": 8, "steps": 4, "eval_every": 2, "lr": 1.0e-2}


def test_tagger_is_causal():
    torch.manual_seed(0)
    model = DeltaProductTagger(6, 16, 2, 8, 1, n_householder=2, negative=True)
    x = torch.randint(0, 6, (2, 10))
    x2 = x.clone()
    x2[:, 7] = (x[:, 7] + 1) % 6
    a, b = model(x), model(x2)
    assert torch.allclose(a[:, :7], b[:, :7], atol=1e-5)
    assert not torch.allclose(a[:, 7:], b[:, 7:], atol=1e-5)


def test_beta_range_follows_the_eigenvalue_switch():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 16) * 10
    for negative, top in ((True, 2.0), (False, 1.0)):
        mixer = DeltaProductTagger(6, 16, 2, 8, 1, n_householder=2, negative=negative).blocks[0].mixer
        with torch.no_grad():
            mixer.b_proj.bias.fill_(20.0)
        beta = mixer.project(x)[3]
        assert beta.max().item() > 0.99 * top and beta.max().item() <= top
