"""workloads/nn/rnn.py: step-by-step decoding matches teacher forcing, and search finds what it should."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch.nn import functional as F

from workloads.nn.rnn import (
    AdditiveAttention,
    LSTMDecoder,
    LSTMEncoder,
    lstm_state,
    lstm_step,
)
from workloads.nn.decoding import beam_search, greedy_decode, map_state, sequence_log_prob


def test_encoder_takes_tokens_or_features_and_returns_outputs_and_final_state():
    torch.manual_seed(0)
    tok = LSTMEncoder(16, 2, vocab=10, emb=8)
    out, (h, c) = tok(torch.randint(0, 10, (3, 7)))
    assert out.shape == (3, 7, 16) and h.shape == (2, 3, 16) and c.shape == (2, 3, 16)
    assert torch.allclose(out[:, -1], h[-1])  # top layer's last output is its final h
    feat = LSTMEncoder(16, 1, in_features=2, emb=8)
    assert feat(torch.randn(3, 5, 2))[0].shape == (3, 5, 16)
    with pytest.raises(ValueError, match="exactly one"):
        LSTMEncoder(16, vocab=10, in_features=2)


def test_additive_attention_is_v_tanh_w1e_plus_w2d_and_masks_with_minus_inf():
    torch.manual_seed(0)
    attn = AdditiveAttention(4, 3, 5)
    memory, query = torch.randn(2, 6, 4), torch.randn(2, 1, 3)
    scores = attn(query, attn.keys(memory))
    manual = torch.stack(
        [torch.stack([attn.v(torch.tanh(attn.w1(memory[b, j]) + attn.w2(query[b, 0]))).squeeze() for j in range(6)])
         for b in range(2)]
    )
    assert torch.allclose(scores[:, 0], manual, atol=1e-6)
    mask = torch.tensor([[True] * 6, [True, False] * 3])
    weights = attn(query, attn.keys(memory), mask).softmax(-1)
    assert (weights[1, 0, 1::2] == 0).all() and torch.allclose(weights.sum(-1), torch.ones(2, 1))


@pytest.mark.parametrize("attention", [False, True], ids=["plain", "attention"])
def test_step_by_step_decoding_reproduces_teacher_forced_logits(attention):
    torch.manual_seed(0)
    enc = LSTMEncoder(12, 2, vocab=9, emb=6)
    dec = LSTMDecoder(12, 2, 9, vocab=9, emb=6, attention=attention)
    src, y_in = torch.randint(0, 9, (3, 5)), torch.randint(0, 9, (3, 4))
    memory, hc = enc(src)
    full, _ = dec(y_in, hc, memory if attention else None)  # (B, T, V)
    step, state = lstm_step(dec), lstm_state(hc, memory if attention else None)
    for t in range(y_in.shape[1]):
        logp, state = step(y_in[:, t], state)
        assert torch.allclose(logp, F.log_softmax(full[:, t], dim=-1), atol=1e-5)


def _markov_step(table: torch.Tensor):
    """A step function whose log-probs depend only on the previous token: table[prev] is (V,)."""

    def step(tokens, state):
        return table[tokens], state

    return step


def test_beam_search_with_a_full_beam_finds_the_most_likely_sequence():
    torch.manual_seed(1)
    V, T = 3, 4
    table = F.log_softmax(torch.randn(V, V) * 2, dim=-1)
    step, start = _markov_step(table), torch.tensor([0])
    best = max(itertools.product(range(V), repeat=T),
               key=lambda seq: float(sequence_log_prob(step, None, start, torch.tensor([seq]))))
    tokens, scores = beam_search(step, None, start, T, beam=V**T)
    assert tokens[0, 0].tolist() == list(best)
    assert torch.all(scores[0, :-1] >= scores[0, 1:])  # best first
    assert scores[0, 0] == pytest.approx(float(sequence_log_prob(step, None, start, tokens[:, 0])), abs=1e-5)


def test_beam_search_escapes_the_greedy_trap_and_beam_one_is_greedy():
    # From start (0): token 1 looks best (0.6) but then every continuation is poor; token 2 (0.4)
    # leads to a certain continuation. Greedy takes 1; a beam of 2 keeps 2 and wins.
    p = torch.tensor([[0.0, 0.6, 0.4], [1 / 3, 1 / 3, 1 / 3], [0.0, 0.0, 1.0]]).clamp_min(1e-9).log()
    step, start = _markov_step(p), torch.tensor([0, 0])
    greedy, g_score = greedy_decode(step, None, start, 2)
    beamed, b_scores = beam_search(step, None, start, 2, beam=2)
    assert greedy[0].tolist() == [1, 0] and beamed[0, 0].tolist() == [2, 2]
    assert b_scores[0, 0] > g_score[0]
    one, one_score = beam_search(step, None, start, 2, beam=1)
    assert torch.equal(one[:, 0], greedy) and torch.allclose(one_score[:, 0], g_score)


def test_finished_hypotheses_keep_emitting_eos_at_no_cost():
    eos = 2
    p = torch.tensor([[0.0, 0.3, 0.7], [0.0, 0.5, 0.5], [0.5, 0.5, 0.0]]).clamp_min(1e-9).log()
    step, start = _markov_step(p), torch.tensor([0])
    tokens, score = greedy_decode(step, None, start, 4, eos=eos)
    assert tokens[0].tolist() == [2, 2, 2, 2] and score[0] == pytest.approx(float(p[0, 2]))
    beamed, scores = beam_search(step, None, start, 4, beam=2, eos=eos)
    assert beamed[0, 0].tolist() == [2, 2, 2, 2] and scores[0, 0] == pytest.approx(float(p[0, 2]))


def test_beam_search_reorders_a_batch_first_lstm_state_consistently():
    """Beam over a real decoder: every returned hypothesis's score is its true log-probability."""
    torch.manual_seed(3)
    enc, dec = LSTMEncoder(10, 2, vocab=7, emb=5), LSTMDecoder(10, 2, 7, vocab=7, emb=5, attention=True)
    memory, hc = enc(torch.randint(0, 7, (2, 4)))
    state, start = lstm_state(hc, memory), torch.zeros(2, dtype=torch.long)
    tokens, scores = beam_search(lstm_step(dec), state, start, 5, beam=3)
    for k in range(3):
        true = sequence_log_prob(lstm_step(dec), state, start, tokens[:, k])
        assert torch.allclose(scores[:, k], true, atol=1e-4)


def test_map_state_walks_nested_tuples_and_keeps_none():
    state = (torch.ones(2, 3), None, [torch.zeros(2)], {"m": torch.ones(2, 1)})
    doubled = map_state(lambda t: t.repeat_interleave(2, dim=0), state)
    assert doubled[0].shape == (4, 3) and doubled[1] is None and doubled[2][0].shape == (4,)
    assert doubled[3]["m"].shape == (4, 1)
