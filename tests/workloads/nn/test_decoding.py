"""The shared decoders against brute force: every sequence over a tiny vocabulary, enumerated.

The model is a fixed random table indexed by a hash of the whole prefix, so each next-token
distribution depends on everything before it (no decoder can get lucky on a Markov chain).
Vocabulary 4 with token 0 as EOS, 4 steps: 4⁴ = 256 sequences, of which those that keep
emitting EOS once they have are the 1 + 3 + 9 + 27 + 81 = 121 distinct hypotheses.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from workloads.nn.decoding import (
    beam_search,
    diverse_beam_search,
    greedy_decode,
    sequence_log_prob,
    speculative_greedy,
)

V, T, EOS, P = 4, 4, 0, 10_007


def table(seed: int) -> torch.Tensor:
    return torch.log_softmax(torch.randn(P, V, generator=torch.Generator().manual_seed(seed)) * 2.0, dim=-1)


def lm(seed: int = 0):
    """The step function and start of a prefix-hash LM: state = the prefix's hash, ``(N,)``."""
    logp = table(seed)

    def step(tokens: torch.Tensor, state: torch.Tensor):
        h = (state * 31 + tokens + 1) % P  # (N,)
        return logp[h], h

    return step, torch.zeros(2, dtype=torch.long), torch.tensor([1, 2])  # two rows, different starts


def hypotheses() -> list[tuple[int, ...]]:
    """Every length-T sequence that, once it emits EOS, only emits EOS."""
    return [seq for seq in itertools.product(range(V), repeat=T)
            if all(seq[i] == EOS for i in range(T) if EOS in seq[:i])]  # fmt: skip


def brute(step, state, start, row: int, key=lambda seq, lp: lp, keep=lambda seq: True):
    """Hypotheses of one row, scored by the model up to their first EOS, ranked by ``key``, best first."""
    scored = []
    for seq in filter(keep, hypotheses()):
        upto = seq[: seq.index(EOS) + 1] if EOS in seq else seq  # the EOS padding after it costs nothing
        lp = sequence_log_prob(step, state[row : row + 1], start[row : row + 1], torch.tensor([upto]))
        scored.append((seq, float(lp)))
    return sorted(scored, key=lambda pair: -key(*pair))


def test_hypotheses_are_the_121_eos_padded_sequences():
    assert len(hypotheses()) == 121


def test_greedy_follows_the_argmax_path():
    step, state, start = lm()
    tokens, total = greedy_decode(step, state, start, T, eos=EOS)
    for row in range(2):
        seq, h, prev, done = [], state[row], start[row], False
        for _ in range(T):
            logp, h = step(prev.view(1), h.view(1))
            prev = torch.tensor(EOS) if done else logp[0].argmax()
            done = done or int(prev) == EOS
            seq.append(int(prev))
        assert tokens[row].tolist() == seq


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_full_beam_ranks_every_hypothesis_exactly(seed):
    step, state, start = lm(seed)
    tokens, scores = beam_search(step, state, start, T, beam=121, eos=EOS)
    for row in range(2):
        truth = brute(step, state, start, row)
        assert [tuple(t) for t in tokens[row, :10].tolist()] == [s for s, _ in truth[:10]]
        assert scores[row].tolist() == pytest.approx([lp for _, lp in truth], abs=1e-5)


def test_beam_one_is_greedy_and_wider_beams_never_score_worse():
    step, state, start = lm(3)
    greedy, g_score = greedy_decode(step, state, start, T, eos=EOS)
    one, one_score = beam_search(step, state, start, T, beam=1, eos=EOS)
    assert torch.equal(one[:, 0], greedy) and torch.allclose(one_score[:, 0], g_score)
    best = [beam_search(step, state, start, T, beam=k, eos=EOS)[1][:, 0] for k in (1, 2, 4, 8, 121)]
    assert all(torch.all(a <= b + 1e-6) for a, b in zip(best, best[1:]))


def test_constrained_beam_finds_the_best_sequences_that_obey_the_mask():
    step, state, start = lm(4)

    def no_repeat(history: torch.Tensor) -> torch.Tensor:  # (N, t) -> (N, V): no token twice in a row (EOS aside)
        mask = torch.ones(history.shape[0], V, dtype=torch.bool)
        if history.shape[1]:
            mask[torch.arange(history.shape[0]), history[:, -1]] = False
            mask[:, EOS] = True
        return mask

    tokens, scores = beam_search(step, state, start, T, beam=121, eos=EOS, allowed=no_repeat)
    ok = lambda seq: all(a != b or a == EOS for a, b in zip(seq, seq[1:]))  # noqa: E731
    for row in range(2):
        truth = brute(step, state, start, row, keep=ok)
        finite = scores[row].isfinite()
        assert int(finite.sum()) == len(truth)  # every allowed hypothesis, and nothing else
        assert [tuple(t) for t in tokens[row, : len(truth)].tolist()] == [s for s, _ in truth]


def test_conditional_beam_ranks_by_likelihood_plus_the_attribute():
    step, state, start = lm(5)
    short = torch.tensor(-4.0)

    def long_enough(prefixes: torch.Tensor) -> torch.Tensor:  # (M, t) -> (M,): log P(A) for A = "no EOS before 3 tokens"
        early = (prefixes[:, :2] == EOS).any(dim=1)
        return torch.where(early, short, torch.tensor(0.0))

    tokens, scores = beam_search(step, state, start, T, beam=121, eos=EOS, bonus=long_enough)
    for row in range(2):
        key = lambda seq, lp: lp + (float(short) if EOS in seq[:2] else 0.0)  # noqa: E731
        truth = brute(step, state, start, row, key=key)
        assert tuple(tokens[row, 0].tolist()) == truth[0][0]
        assert scores[row, 0].item() == pytest.approx(truth[0][1], abs=1e-5)  # the model's own log-probability
        assert EOS not in tokens[row, 0, :2].tolist()


def test_diverse_beam_with_one_group_is_beam_search_and_without_penalty_each_group_is_a_beam():
    step, state, start = lm(6)
    plain = beam_search(step, state, start, T, beam=6, eos=EOS)
    one = diverse_beam_search(step, state, start, T, beam=6, groups=1, eos=EOS)
    assert torch.equal(plain[0], one[0]) and torch.allclose(plain[1], one[1])
    small = beam_search(step, state, start, T, beam=2, eos=EOS)
    free = diverse_beam_search(step, state, start, T, beam=6, groups=3, strength=0.0, eos=EOS)
    for g in range(3):
        assert torch.equal(free[0][:, 2 * g : 2 * g + 2], small[0])


def test_diverse_beam_groups_start_differently_and_keep_true_log_probabilities():
    step, state, start = lm(7)
    tokens, scores = diverse_beam_search(step, state, start, T, beam=V - 1, groups=V - 1, strength=100.0)
    for row in range(2):
        firsts = tokens[row, :, 0].tolist()
        assert len(set(firsts)) == V - 1  # a strong penalty: each group opens with its own token
        truth = sequence_log_prob(step, state[row : row + 1].expand(V - 1), start[row : row + 1].expand(V - 1), tokens[row])
        assert torch.allclose(scores[row], truth, atol=1e-5)
    with pytest.raises(ValueError, match="multiple of groups"):
        diverse_beam_search(step, state, start, T, beam=5, groups=2)


def scorer(seed: int):
    """The whole-prefix view of a prefix-hash LM: ``(1, T) -> (1, T, V)``."""
    logp = table(seed)

    def score(tokens: torch.Tensor) -> torch.Tensor:
        h, rows = torch.zeros(1, dtype=torch.long), []
        for t in range(tokens.shape[1]):
            h = (h * 31 + tokens[:, t] + 1) % P
            rows.append(logp[h])
        return torch.stack(rows, dim=1)

    return score


def plain_greedy(score, prompt: torch.Tensor, n: int) -> list[int]:
    seq = prompt
    for _ in range(n):
        seq = torch.cat([seq, score(seq.unsqueeze(0))[0, -1].argmax().view(1)])
    return seq[prompt.shape[0] :].tolist()


@pytest.mark.parametrize("k", [1, 3, 5])
def test_speculative_greedy_is_lossless_whatever_the_draft(k):
    score, prompt = scorer(8), torch.tensor([1, 2, 3])
    truth = plain_greedy(score, prompt, 12)
    rng = torch.Generator().manual_seed(k)
    guess = lambda seq, k: torch.randint(0, V, (k,), generator=rng)  # noqa: E731
    out, passes = speculative_greedy(score, guess, prompt, 12, k)
    assert out.tolist() == truth and 1 <= passes <= 12

    def oracle(seq: torch.Tensor, k: int) -> torch.Tensor:  # the target's own greedy continuation
        return torch.tensor(plain_greedy(score, seq, k))

    out, passes = speculative_greedy(score, oracle, prompt, 12, k)
    assert out.tolist() == truth and passes == math.ceil(12 / (k + 1))  # every proposal accepted: τ = k + 1


def test_speculative_greedy_stops_at_eos_as_greedy_would():
    score, prompt = scorer(9), torch.tensor([2])
    truth = plain_greedy(score, prompt, 30)
    out, _ = speculative_greedy(score, lambda seq, k: torch.zeros(k, dtype=torch.long), prompt, 30, 2, eos=EOS)
    expected = truth[: truth.index(EOS) + 1] if EOS in truth else truth
    assert out.tolist() == expected
