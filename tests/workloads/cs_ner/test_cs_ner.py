"""cs_ner: the contract for the CRF+char tagger, the softmax tagger and the gazetteer; the task
generator's held-out names; the CRF's forward algorithm and Viterbi against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from workloads.cs_ner.crf import CRF
from workloads.cs_ner.task import TEMPLATES, invalid_transitions, make_lexicon, sample_corpus
from workloads.cs_ner.trainer import _spans
from workloads.testing import WorkloadTestCase

TINY = {"n_train": 200, "n_test": 40, "emb": 16, "hidden": 16, "batch": 8, "steps": 4, "eval_every": 2, "lr": 1.0e-2}


class TestCrfCharTagger(WorkloadTestCase):
    name = "cs_ner"
    tiny = {**TINY, "crf": True, "chars": True}
    objective_probe = "val/precision"


class TestSoftmaxTagger(WorkloadTestCase):
    name = "cs_ner"
    tiny = {**TINY, "crf": False, "chars": False}
    objective_probe = "val/precision"


def test_config_rejects_a_lexicon_with_nothing_held_out():
    from orchestrator.registry import load

    with pytest.raises(ValueError, match="held_out"):
        load("cs_ner").make_config({"held_out": 0.01, "names_per_type": 10})


def test_held_out_names_never_appear_in_training_and_fill_the_unseen_test_set():
    rng = np.random.default_rng(0)
    lex = make_lexicon(rng, 40, 0.3)
    for kind in lex.seen:
        assert not set(lex.seen[kind]) & set(lex.unseen[kind])
    train = sample_corpus(rng, lex, TEMPLATES, 300, 0.0)
    unseen = sample_corpus(rng, lex, TEMPLATES, 100, 1.0)
    assert all(not any(s.unseen) for s in train) and all(all(s.unseen) for s in unseen)
    held = {name for names in lex.unseen.values() for name in names}
    train_names = {" ".join(s.words[a:b]) for s in train for a, b, _ in _spans(s.tags)}
    unseen_names = {" ".join(s.words[a:b]) for s in unseen for a, b, _ in _spans(s.tags)}
    assert train_names and not train_names & held and unseen_names <= held
    assert invalid_transitions([s.tags for s in train]) == 0


def test_invalid_transitions_counts_i_tags_without_their_b():
    assert invalid_transitions([["O", "I-tool", "B-method", "I-method", "I-tool"]]) == 2
    assert invalid_transitions([["B-tool", "I-tool", "O"]]) == 0


def _paths(K, T):
    return [torch.tensor(p) for p in itertools.product(range(K), repeat=T)]


def test_crf_partition_and_viterbi_match_brute_force_with_padding():
    torch.manual_seed(0)
    K, T = 3, 4
    crf = CRF(K)
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_()
    e = torch.randn(2, T, K)
    mask = torch.tensor([[True] * 4, [True, True, True, False]])
    logz = crf.log_partition(e, mask)
    best = crf.viterbi(e, mask)
    for b, n in enumerate([4, 3]):
        paths = _paths(K, n)
        padded = [torch.cat([p, p[-1:].expand(T - n)]) for p in paths]
        scores = torch.stack([crf.path_score(e[b : b + 1], p.unsqueeze(0), mask[b : b + 1])[0] for p in padded])
        assert torch.allclose(logz[b], torch.logsumexp(scores, 0), atol=1e-5)
        assert best[b] == paths[int(scores.argmax())].tolist()


def test_gazetteer_finds_training_names_and_nothing_held_out():
    from orchestrator.registry import load

    wl = load("cs_ner")
    inst = wl.build(wl.make_config({"model": "gazetteer", "n_train": 500, "n_test": 100}), "cpu")
    m = inst.evaluate()
    assert m["val/precision"] > 0.9 and m["val/f1_unseen"] < 0.05


@pytest.mark.slow
def test_char_cnn_crf_beats_word_softmax_on_unseen_names():
    from orchestrator.registry import load

    wl = load("cs_ner")
    out = {}
    for name, over in {"crf_char": {"crf": True, "chars": True}, "softmax": {"crf": False, "chars": False}}.items():
        inst = wl.build(wl.make_config({**over, "steps": 300, "n_train": 2000, "n_test": 300}), "cpu")
        for step in range(300):
            inst.train_step(step)
        out[name] = inst.evaluate()["val/f1_unseen"]
    assert out["crf_char"] > out["softmax"]
