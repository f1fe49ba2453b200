import numpy as np

from workloads.tasks.dfa import end_probability, random_dfas, sample_prompts


def test_every_sampled_token_is_legal_under_the_true_next_token_distribution() -> None:
    rng = np.random.default_rng(0)
    dfas = random_dfas(rng, 64, vocab=12, symbols=(4, 6), min_out=1, max_out=3)
    tokens, probs = sample_prompts(rng, dfas, 48)
    B, T = tokens.shape
    p_next = probs[np.arange(B)[:, None], np.arange(T - 1)[None], tokens[:, 1:]]
    assert (p_next > 0).all()
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)


def test_out_degree_stays_in_range_and_below_the_alphabet_size() -> None:
    dfas = random_dfas(np.random.default_rng(1), 200, vocab=12, symbols=(4, 6), min_out=1, max_out=3)
    for b in range(200):
        alphabet = dfas.legal[b, : dfas.n_states[b]].any(0).sum()
        degrees = dfas.legal[b, : dfas.n_states[b]].sum(-1)
        assert degrees.min() >= 1 and degrees.max() <= 3
        assert alphabet <= 6
    assert (dfas.next_state < dfas.n_states[:, None, None]).all()


def test_string_lengths_stay_within_bounds() -> None:
    rng = np.random.default_rng(2)
    dfas = random_dfas(rng, 32)
    tokens, _ = sample_prompts(rng, dfas, 200, min_len=3, max_len=8)
    sep = dfas.next_state.shape[-1]
    for row in tokens:
        cuts = np.flatnonzero(row == sep)
        lengths = np.diff(cuts) - 1  # symbols between consecutive separators
        assert lengths.min() >= 3 and lengths.max() <= 8


def test_end_probability_makes_lengths_uniform() -> None:
    survive, dist = 1.0, []
    for length in range(0, 9):
        p = float(end_probability(np.array(length), 3, 8))
        dist.append(survive * p)
        survive *= 1 - p
    np.testing.assert_allclose(dist[3:], [1 / 6] * 6)
    assert sum(dist[:3]) == 0
