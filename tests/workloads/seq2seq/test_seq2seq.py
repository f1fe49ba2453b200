"""seq2seq: the contract, the translation task, and that reversal only changes what the encoder reads."""

from __future__ import annotations

import numpy as np
import torch

from workloads.tasks.translation import BOS, EOS, SPECIALS, decoder_io, make_lexicon, translate, translation_batch
from workloads.testing import WorkloadTestCase


class TestSeq2Seq(WorkloadTestCase):
    name = "seq2seq"
    tiny = {"hidden": 16, "emb": 8, "layers": 2, "min_len": 3, "max_len": 4, "batch": 8,
            "steps": 4, "eval_every": 2, "eval_per_length": 4, "words": 6, "lr": 1.0e-2}


def test_lexicon_is_a_bijection_that_fixes_the_specials():
    lex = make_lexicon(30, seed=0)
    assert lex[:SPECIALS].tolist() == [0, 1, 2]
    assert sorted(lex[SPECIALS:].tolist()) == list(range(SPECIALS, SPECIALS + 30))
    assert not np.array_equal(lex, make_lexicon(30, seed=1))


def test_translate_maps_words_then_swaps_adjacent_pairs():
    lex = np.arange(SPECIALS + 5)
    lex[SPECIALS:] = lex[SPECIALS:][::-1]  # 3<->7, 4<->6, 5 fixed
    src = np.array([[3, 4, 5, 6, 7]])
    assert translate(src, lex, swap_pairs=False).tolist() == [[7, 6, 5, 4, 3]]
    assert translate(src, lex, swap_pairs=True).tolist() == [[6, 7, 4, 5, 3]]  # odd tail stays


def test_batches_depend_only_on_the_rng_and_decoder_io_frames_the_target():
    lex = make_lexicon(10)
    a = translation_batch(np.random.default_rng([4, 2]), 3, 5, 10, lex)
    b = translation_batch(np.random.default_rng([4, 2]), 3, 5, 10, lex)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    y_in, y_out = decoder_io(a[1])
    assert (y_in[:, 0] == BOS).all() and (y_out[:, -1] == EOS).all()
    assert np.array_equal(y_in[:, 1:], y_out[:, :-1])


def test_reverse_feeds_the_encoder_the_source_back_to_front():
    from workloads.seq2seq import WORKLOAD

    run = WORKLOAD.build(WORKLOAD.make_config({**TestSeq2Seq.tiny, "reverse": True}), "cpu")
    src = np.array([[3, 4, 5]])
    assert run._source(src).tolist() == [[5, 4, 3]]
    plain = WORKLOAD.build(WORKLOAD.make_config({**TestSeq2Seq.tiny, "reverse": False}), "cpu")
    assert plain._source(src).tolist() == [[3, 4, 5]]


def test_learns_a_short_copy_task_and_beam_scores_at_least_greedy():
    """A small model reaches high token accuracy on length-3 sentences within a few seconds."""
    from workloads.seq2seq import WORKLOAD

    torch.set_num_threads(1)
    cfg = WORKLOAD.make_config({"hidden": 64, "emb": 32, "layers": 1, "min_len": 3, "max_len": 3, "words": 8,
                                "batch": 32, "steps": 300, "lr": 1.0e-2, "eval_per_length": 64})
    run = WORKLOAD.build(cfg, "cpu")
    for step in range(cfg.steps):
        run.train_step(step)
    metrics = run.evaluate()
    assert metrics["val/token_acc"] > 0.9, metrics
    assert metrics["val/logp_beam"] >= metrics["val/logp"] - 1e-5
