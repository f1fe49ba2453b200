import numpy as np

from workloads.tasks.interest_dynamics import genre_weights, sample_sessions


def test_sessions_are_sorted_padded_and_drawn_from_two_genres() -> None:
    d = sample_sessions(np.random.default_rng(0), 200, n_items=40, n_genres=4)
    assert d.items.shape == (200, 8, 6)
    assert d.n_sessions.min() >= 4 and d.n_sessions.max() <= 8
    for u in range(200):
        n = d.n_sessions[u]
        assert (np.diff(d.times[u, :n]) >= 0.2).all()
        assert (d.items[u, n:] == -1).all() and (d.items[u, :n] >= 0).all()
        for s in range(n):
            assert len(set(d.genre[d.items[u, s]])) <= 2  # top-2 genres only


def test_interests_drift_with_time() -> None:
    rng = np.random.default_rng(1)
    amp, om, ph, off = rng.uniform(0, 3, (50, 8)), rng.uniform(0.3, 1.5, 50), rng.uniform(0, 6.28, (50, 8)), rng.normal(size=(50, 8))
    w = genre_weights(np.array([[0.0, 0.1, 3.0]] * 50), amp, om, ph, off)
    np.testing.assert_allclose(w.sum(-1), 1.0)
    near = np.abs(w[:, 1] - w[:, 0]).sum(-1).mean()
    far = np.abs(w[:, 2] - w[:, 0]).sum(-1).mean()
    assert far > 3 * near  # a short gap keeps the interests, a long one moves them


def test_same_seed_same_users() -> None:
    a = sample_sessions(np.random.default_rng(5), 30)
    b = sample_sessions(np.random.default_rng(5), 30)
    assert np.array_equal(a.items, b.items) and np.array_equal(a.times, b.times)
