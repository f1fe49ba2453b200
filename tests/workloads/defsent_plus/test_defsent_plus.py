import numpy as np
import torch

from workloads.defsent_plus.lexicon import CLS, PAD, make_lexicon, sts_benchmark
from workloads.defsent_plus.model import isotropic, mean_pairwise_cosine
from workloads.testing import WorkloadTestCase

TINY = {"n_concepts": 60, "n_features": 12, "n_categories": 4, "proto_features": 3, "n_pieces": 20, "n_pairs": 40,
        "d_model": 16, "n_heads": 2, "n_layers": 1, "batch": 16, "pretrain_steps": 0, "steps": 4, "eval_every": 2}


class TestDefSentPlus(WorkloadTestCase):
    name = "defsent_plus"
    tiny = TINY
    objective_probe = "val/mlm_loss"


class TestDefSent(WorkloadTestCase):
    name = "defsent_plus"
    tiny = {**TINY, "method": "defsent"}
    objective_probe = "val/mlm_loss"


class TestMeanPooling(WorkloadTestCase):
    name = "defsent_plus"
    tiny = {**TINY, "method": "mean"}
    objective_probe = "val/mlm_loss"


def test_lexicon_has_the_asked_share_of_multi_token_names() -> None:
    lex = make_lexicon(np.random.default_rng(0), n_concepts=500, multi_share=0.4)
    assert len(lex.single) == 300
    assert len(set(lex.names)) == 500
    sts = sts_benchmark(np.random.default_rng(1), lex, 200)
    assert (sts.left[:, 0] == CLS).all() and sts.left.shape[1] == lex.max_len
    assert 0 <= sts.gold.min() and sts.gold.max() <= 1 and sts.gold.std() > 0.1


def test_whitening_makes_entry_embeddings_isotropic() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(500, 8, generator=gen) + 5.0  # a shared offset: anisotropic
    assert mean_pairwise_cosine(x) > 0.8
    assert abs(mean_pairwise_cosine(isotropic(x, "whiten"))) < 0.01
    assert (x != PAD).any()
