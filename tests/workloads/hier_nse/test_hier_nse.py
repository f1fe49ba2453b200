"""hier_nse: the contract for the hierarchical NSE (factored and not) and the flat baseline; the
document generator's salient-content rule and rare-inflection split; the copy mixture; the
NSE's erase-then-write update."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workloads.hier_nse.model import HierNSE, TokenEmbedding, copy_log_probs
from workloads.hier_nse.task import CUE, EOS, N_SPECIAL, PERIOD, make_lexicon, sample_corpus
from workloads.hier_nse.trainer import rouge_l, strip_eos
from workloads.testing import WorkloadTestCase

TINY = {"n_train": 200, "n_test": 20, "d": 16, "batch": 8, "steps": 4, "eval_every": 2, "lr": 1.0e-2,
        "n_sent": 4, "sent_len": 5, "n_lemmas": 20}


class TestHierNse(WorkloadTestCase):
    name = "hier_nse"
    tiny = {**TINY, "model": "hier_nse", "factored": True}
    objective_probe = "val/nll"


class TestHierNseUnfactored(WorkloadTestCase):
    name = "hier_nse"
    tiny = {**TINY, "model": "hier_nse", "factored": False}
    objective_probe = "val/nll"


class TestFlatCopy(WorkloadTestCase):
    name = "hier_nse"
    tiny = {**TINY, "model": "flat", "factored": False}
    objective_probe = "val/nll"


def test_config_rejects_all_sentences_highlighted_and_unsplittable_factored_width():
    from orchestrator.registry import load

    wl = load("hier_nse")
    with pytest.raises(ValueError, match="n_highlights"):
        wl.make_config({"n_sent": 3, "n_highlights": 3})
    with pytest.raises(ValueError, match="divisible by 8"):
        wl.make_config({"d": 36, "factored": True})
    wl.make_config({"d": 36, "factored": False})


def test_summary_is_the_content_of_the_cue_sentences_in_document_order():
    lex = make_lexicon(np.random.default_rng(0), 30, 4)
    c = sample_corpus(np.random.default_rng(1), lex, 200, 6, 8, 2, 0.05, False, "surface")
    assert c.targets.shape == (200, 2 * 6 + 1) and (c.targets[:, -1] == EOS).all()
    assert (c.docs[:, :, -1] == PERIOD).all()
    assert ((c.docs == CUE).sum(2) == c.highlights).all()  # one cue per highlight, none elsewhere
    for doc, target, hl in zip(c.docs, c.targets, c.highlights):
        expected = [t for s in np.flatnonzero(hl) for t in doc[s] if t >= N_SPECIAL]
        assert target[:-1].tolist() == expected
    # highlights reach the first and the last sentence
    assert c.highlights[:, 0].any() and c.highlights[:, -1].any()


def test_rare_inflection_is_confined_to_half_the_lemmas_in_training_only():
    lex = make_lexicon(np.random.default_rng(0), 40, 4)
    lemma_of, infl_of, _ = lex.factors()
    train = sample_corpus(np.random.default_rng(1), lex, 500, 6, 8, 2, 0.1, False)
    rare = sample_corpus(np.random.default_rng(2), lex, 200, 6, 8, 2, 0.5, True)
    words = train.docs[train.docs >= N_SPECIAL]
    rare_lemmas = lemma_of[words[infl_of[words] == 3]] - N_SPECIAL
    assert rare_lemmas.size and lex.rare_lemmas[rare_lemmas].all()
    rare_words = rare.docs[rare.docs >= N_SPECIAL]
    in_rare_form = rare_words[infl_of[rare_words] == 3]
    assert 0.4 < in_rare_form.size / rare_words.size < 0.6
    assert (~lex.rare_lemmas[lemma_of[in_rare_form] - N_SPECIAL]).any()  # forms never seen in training


def test_factored_embedding_shares_lemma_and_inflection_parts():
    lex = make_lexicon(np.random.default_rng(0), 10, 4)
    emb = TokenEmbedding(lex.factors(), 32, True)
    a, b = N_SPECIAL + 3 * 4 + 0, N_SPECIAL + 3 * 4 + 3  # one lemma, two inflections
    v = emb(torch.tensor([a, b]))
    assert v.shape == (2, 32)
    assert torch.equal(v[0, 16:24], v[1, 16:24])  # lemma part
    assert not torch.equal(v[0, 24:28], v[1, 24:28])  # inflection part


def test_copy_mixture_is_a_distribution_that_puts_copy_mass_on_source_ids():
    logits = torch.zeros(2, 10)
    attn = torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    src = torch.tensor([[7, 8, 9], [4, 4, 9]])
    p = copy_log_probs(logits, attn, src, torch.full((2, 1), 0.0)).exp()
    assert torch.allclose(p.sum(-1), torch.ones(2))
    assert p[0, 7] > 0.99 and p[1, 4] > 0.99
    half = copy_log_probs(logits, attn, src, torch.full((2, 1), 0.5)).exp()
    assert torch.allclose(half[0, 7], torch.tensor(0.5 + 0.05)) and torch.allclose(half.sum(-1), torch.ones(2))


def test_decoder_write_erases_then_writes_at_the_attended_slot():
    lex = make_lexicon(np.random.default_rng(0), 10, 4)
    torch.manual_seed(0)
    model = HierNSE(TokenEmbedding(lex.factors(), 16, False), lex.size, 16)
    docs = torch.randint(N_SPECIAL, lex.size, (2, 3, 4))
    state = model.encode(docs)
    memory = state[4]
    assert memory.shape == (2, 12, 16)
    _, new = model.step(torch.full((2,), 1), state)
    hw, new_memory = new[2], new[4]
    # every slot moved toward the written vector h: M' - M = z ⊙ (h - M), so each slot's change is
    # parallel to (h - M) with a coefficient z in [0, 1] that sums to 1 over the slots
    diff = new_memory - memory
    target = hw.unsqueeze(1) - memory
    z = (diff * target).sum(-1) / (target * target).sum(-1)
    assert torch.allclose(diff, z.unsqueeze(-1) * target, atol=1e-5)
    assert torch.allclose(z.sum(-1), torch.ones(2), atol=1e-4) and (z >= -1e-6).all()


def test_rouge_l_and_eos_stripping():
    assert rouge_l([[5, 6, 7]], [[5, 6, 7]]) == 1.0
    assert rouge_l([[5, 6, 7, 8]], [[5, 7]]) == pytest.approx(2 * (1.0 * 0.5) / 1.5)
    assert strip_eos(np.array([5, 6, EOS, 7])) == [5, 6]


def test_base_rare_summary_restates_only_the_rare_inflection_in_base_form():
    lex = make_lexicon(np.random.default_rng(0), 30, 4)
    args = (lex, 100, 6, 8, 2, 0.5, True)
    surface = sample_corpus(np.random.default_rng(1), *args, "surface")
    based = sample_corpus(np.random.default_rng(1), *args, "base_rare")
    assert np.array_equal(surface.docs, based.docs)
    words = surface.targets[:, :-1]
    infl = (words - N_SPECIAL) % 4
    assert np.array_equal(based.targets[:, :-1], np.where(infl == 3, words - 3, words))
    assert (infl == 3).any() and ((based.targets[:, :-1] - N_SPECIAL) % 4 != 3).all()


def test_hierarchical_memory_knows_each_sentence_place_in_the_document():
    """Swapping two sentences changes their slots beyond the swap: the document-level LSTM
    gives the otherwise order-free sentence NSEs their order."""
    lex = make_lexicon(np.random.default_rng(0), 10, 4)
    torch.manual_seed(0)
    model = HierNSE(TokenEmbedding(lex.factors(), 16, True), lex.size, 16)
    docs = torch.randint(N_SPECIAL, lex.size, (1, 3, 4))
    swapped = docs[:, [1, 0, 2]]
    with torch.no_grad():
        m = model.encode(docs)[4].view(1, 3, 4, 16)  # (B, S*T, d) -> (B, S, T, d)
        m_swapped = model.encode(swapped)[4].view(1, 3, 4, 16)
    assert not torch.allclose(m[:, 0], m_swapped[:, 1], atol=1e-4)


def test_unknown_and_dropped_words_share_the_unk_vector_but_keep_their_factors():
    lex = make_lexicon(np.random.default_rng(0), 10, 4)
    torch.manual_seed(0)
    for factored in (True, False):
        emb = TokenEmbedding(lex.factors(), 32, factored)
        known = torch.ones(lex.size, dtype=torch.bool)
        a, b = N_SPECIAL + 2 * 4 + 3, N_SPECIAL + 5 * 4 + 3  # two lemmas in the rare inflection
        known[a] = False
        emb.set_known(known)
        v = emb(torch.tensor([a, b]), drop=torch.tensor([False, True]))
        word = 16 if factored else 32
        assert torch.equal(v[0, :word], emb.word.weight[emb.unk]) and torch.equal(v[1, :word], emb.word.weight[emb.unk])
        if factored:
            assert not torch.equal(v[0, word:24], v[1, word:24])  # lemma parts still tell them apart
        else:
            assert torch.equal(v[0], v[1])


def test_trainer_vocabulary_marks_rare_split_forms_unseen_in_training_as_unknown():
    from orchestrator.registry import load

    wl = load("hier_nse")
    inst = wl.build(wl.make_config({**TINY, "n_train": 300}), "cpu")
    known = inst.model.embed.known.numpy()
    assert known[np.unique(inst.train.docs)].all()
    assert not known[np.unique(inst.rare.docs)].all()
    assert 0.2 < inst.evaluate()["data/unseen_rare_types"] < 0.8
    perfect = inst.rare.targets
    assert inst._unseen_form_accuracy(inst.rare, perfect) == 1.0
    assert inst._unseen_form_accuracy(inst.rare, np.full_like(perfect, EOS)) == 0.0


@pytest.mark.slow
def test_hier_nse_beats_the_flat_copy_baseline_at_equal_steps():
    from orchestrator.registry import load

    torch.set_num_threads(1)
    wl = load("hier_nse")
    out = {}
    for name, over in {"hier": {"model": "hier_nse"}, "flat": {"model": "flat"}}.items():
        inst = wl.build(wl.make_config({**over, "seed": 100, "steps": 300, "n_test": 200}), "cpu")
        for step in range(300):
            inst.train_step(step)
        out[name] = inst.evaluate()["val/rougeL"]
    assert out["hier"] > out["flat"], out
