"""recformer: the contract for Recformer and the ID-based SASRec; the generator's cold items; the
text encoder's ID-free item representation and padding; the one-target NDCG against ranking.py."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from workloads.nn.ranking import ndcg_at_k
from workloads.recformer.model import Recformer, item_token_table
from workloads.recformer.task import category_chain, make_catalogue, sample_users
from workloads.recformer.trainer import ndcg_one_target
from workloads.testing import WorkloadTestCase

TINY = {
    "n_items": 60, "n_categories": 4, "n_brands": 6, "n_colours": 2, "words_per_category": 5, "n_fav_brands": 2,
    "n_train": 200, "n_eval": 40, "len_max": 6, "max_items": 4, "d_model": 16, "n_heads": 2, "n_layers": 1,
    "batch": 8, "steps": 4, "eval_every": 2, "refresh_every": 3, "lr": 3.0e-3,
}


class TestRecformer(WorkloadTestCase):
    name = "recformer"
    tiny = {**TINY, "model": "recformer", "mlm_weight": 0.5}
    objective_probe = "val/rank_pct"


class TestSasrecId(WorkloadTestCase):
    name = "recformer"
    tiny = {**TINY, "model": "sasrec_id"}
    objective_probe = "val/rank_pct"


def _catalogue(seed=0, n_items=400):
    rng = np.random.default_rng(seed)
    cat = make_catalogue(
        rng, n_items, n_categories=5, n_brands=10, n_colours=3, words_per_category=6, title_len=3, cold_frac=0.25, quality_std=0.5
    )
    return rng, cat


def _users(rng, cat, n, allow_cold):
    chain = category_chain(np.random.default_rng(1), cat.n_categories)
    return sample_users(
        rng, cat, chain, n, length=(3, 8), allow_cold=allow_cold, n_fav_brands=2, fav_boost=2.0, brand_weight=4.0, colour_weight=2.0
    )


def test_cold_items_never_appear_in_training_sequences_but_do_in_held_out_ones():
    rng, cat = _catalogue()
    assert abs(cat.cold.mean() - 0.25) < 0.02
    for c in range(cat.n_categories):  # stratified: every category keeps warm and cold items
        assert cat.cold[cat.category == c].any() and (~cat.cold[cat.category == c]).any()
    train = _users(rng, cat, 500, allow_cold=False)
    held = _users(rng, cat, 500, allow_cold=True)
    assert not cat.cold[train.items[train.items >= 0]].any()
    assert cat.cold[held.items[held.items >= 0]].mean() > 0.15
    assert ((train.items >= 0).sum(1) == train.lengths).all()
    assert cat.title.max() < cat.n_words and (cat.title // 6 == cat.category[:, None]).all()  # category word lists


def test_users_prefer_items_of_their_favourite_brands():
    rng, cat = _catalogue()
    users = _users(rng, cat, 400, allow_cold=True)
    # brand concentration: a user's most frequent brand covers far more than 1 / n_brands of the items
    top_share = [np.bincount(cat.brand[u[u >= 0]]).max() / (u >= 0).sum() for u in users.items]
    assert np.mean(top_share) > 0.3


def test_recformer_item_vectors_come_from_text_alone_and_padding_is_ignored():
    rng, cat = _catalogue()
    # item 1 becomes an exact text copy of item 0: same attributes, different id
    cat = dataclasses.replace(
        cat, **{f: np.concatenate([getattr(cat, f)[:1], getattr(cat, f)[:1], getattr(cat, f)[2:]]) for f in ("category", "brand", "colour", "title")}
    )
    tokens, types, vocab = item_token_table(cat)
    torch.manual_seed(0)
    model = Recformer(tokens, types, vocab, d_model=16, n_layers=2, n_heads=2, max_items=4).eval()
    with torch.no_grad():
        e = model.encode_items(torch.arange(3))
        assert torch.allclose(e[0], e[1], atol=1e-6) and not torch.allclose(e[0], e[2], atol=1e-3)
        short = model.encode(torch.tensor([[5, 7]]))
        padded = model.encode(torch.tensor([[5, 7, -1, -1]]))
        other = model.encode(torch.tensor([[5, 7, 9, -1]]))
    assert torch.allclose(short, padded, atol=1e-5) and not torch.allclose(short, other, atol=1e-3)


def test_ndcg_one_target_matches_the_shared_ranking_metric():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(50, 30))
    target = rng.integers(0, 30, 50)
    scores[np.arange(20), target[:20]] += 3.0  # some targets in the top 10
    relevant = np.zeros_like(scores, dtype=bool)
    relevant[np.arange(50), target] = True
    assert np.allclose(ndcg_one_target(scores, target), ndcg_at_k(scores, relevant))


def test_known_items_exclude_cold_ones_and_shrink_with_fewer_users():
    from orchestrator.registry import load

    wl = load("recformer")
    full = wl.build(wl.make_config({**TINY, "model": "sasrec_id", "n_train": 400}), "cpu")
    low = wl.build(wl.make_config({**TINY, "model": "sasrec_id", "n_train": 400, "train_frac": 0.05}), "cpu")
    cold = torch.as_tensor(full.cat.cold)
    assert not (full.known & cold).any() and not (low.known & cold).any()
    assert low.known.sum() < full.known.sum()
    assert np.array_equal(full.splits["val"].items, low.splits["val"].items)  # one held-out set per seed


def test_config_rejects_fewer_training_users_than_a_batch():
    from orchestrator.registry import load

    with pytest.raises(ValueError, match="train_frac"):
        load("recformer").make_config({"n_train": 100, "train_frac": 0.1, "batch": 32})
