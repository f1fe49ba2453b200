import math

import numpy as np
import torch

from workloads.defsent_plus import Config
from workloads.defsent_plus.lexicon import CLS, PAD, make_lexicon, pretraining_batch, sts_benchmark
from workloads.defsent_plus.model import isotropic, make_plm, mean_pairwise_cosine, mlm_loss
from workloads.defsent_plus.trainer import DefSentRun
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
    lex = make_lexicon(np.random.default_rng(0), n_concepts=500, multi_share=0.4, n_pieces=100)
    assert len(lex.single) == 300
    assert len(set(lex.names)) == 500
    assert all(2 <= len(lex.names[i]) <= 3 for i in set(range(500)) - set(lex.single.tolist()))
    sts = sts_benchmark(np.random.default_rng(1), lex, 200)
    assert (sts.left[:, 0] == CLS).all() and sts.left.shape[1] == lex.max_len
    assert 0 <= sts.gold.min() and sts.gold.max() <= 1 and sts.gold.std() > 0.1


def test_concepts_of_one_category_share_more_features() -> None:
    lex = make_lexicon(np.random.default_rng(2))
    f = lex.features.astype(float)
    overlap = f @ f.T  # (C, C) shared features
    same = lex.category[:, None] == lex.category[None, :]
    off = ~np.eye(len(f), dtype=bool)
    assert overlap[same & off].mean() > 2 * overlap[~same].mean()


def test_initial_mlm_loss_is_near_uniform() -> None:
    # the tied head must start small: N(0, 1) embedding rows gave a loss of ~50 (ln V ~ 5.7)
    lex = make_lexicon(np.random.default_rng(0))
    torch.manual_seed(0)
    model = make_plm(lex.vocab, 64, 2, 4, lex.max_len)
    tokens = torch.from_numpy(pretraining_batch(np.random.default_rng(1), lex, 64))
    with torch.no_grad():
        loss = float(mlm_loss(model, tokens, torch.Generator().manual_seed(0), 0.3))
    assert abs(loss - math.log(lex.vocab)) < 1.0


def test_whitening_makes_entry_embeddings_isotropic() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(500, 8, generator=gen) @ torch.randn(8, 8, generator=gen) + 10.0  # offset + correlated: anisotropic
    assert mean_pairwise_cosine(x) > 0.8
    white = isotropic(x, "whiten")
    assert abs(mean_pairwise_cosine(white)) < 0.01
    assert torch.allclose(white.norm(dim=-1), torch.ones(500), atol=1e-5)
    spread = torch.linalg.eigvalsh(white.T @ white / 500) * 8  # (8,) second moment of unit vectors, x d
    assert spread.min() > 0.7 and spread.max() < 1.3  # every direction about equally used
    assert torch.linalg.eigvalsh(torch.cov(isotropic(x, "normalize").T)).min() < 0.05  # centring alone leaves it skewed
    assert mean_pairwise_cosine(isotropic(x, "none")) > 0.8


def test_defsent_keeps_the_tied_embeddings_frozen_and_uses_single_token_entries() -> None:
    torch.set_num_threads(1)
    run = DefSentRun(Config(**{**TINY, "method": "defsent", "pretrain_steps": 1, "steps": 3}))
    run.train_step(0)  # MLM moves the embeddings
    before = run.model.embed.weight.detach().clone()
    block = run.model.blocks[0].mlp[0].weight.detach().clone()
    run.train_step(1)
    run.train_step(2)
    assert torch.equal(run.model.embed.weight, before)
    assert not torch.equal(run.model.blocks[0].mlp[0].weight, block)
    assert len(run.single) < TINY["n_concepts"] and all(len(run.lex.names[i]) == 1 for i in run.single.tolist())


def test_defsent_plus_classifies_into_every_entry_with_whitened_targets() -> None:
    torch.set_num_threads(1)
    run = DefSentRun(Config(**{**TINY, "pretrain_steps": 1, "steps": 3}))
    run.train_step(0)
    metrics = run.train_step(1)
    assert 0 <= metrics["train/def_acc"] <= 1
    assert run.entries is not None and run.entries.shape == (TINY["n_concepts"], TINY["d_model"])
    assert abs(run.evaluate()["val/entry_anisotropy"]) < 0.05
    assert (run.names[:, 0] == CLS).all() and (run.names[:, 2] != PAD).sum() > 0  # multi-token names included
