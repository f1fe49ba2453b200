import numpy as np

from workloads.tasks import nouns


def world():
    return nouns.make_world(np.random.default_rng(0), n_filler=20, n_nouns=30)


def test_second_list_follows_the_condition():
    w, rng = world(), np.random.default_rng(1)
    first, second = nouns.noun_lists(w, rng, 6, "repeat")
    assert np.array_equal(first, second)
    first, second = nouns.noun_lists(w, rng, 6, "shuffled")
    assert sorted(first) == sorted(second) and not np.array_equal(first, second)
    first, second = nouns.noun_lists(w, rng, 6, "novel")
    assert len(set(first)) == 6 and ((second >= 20) & (second < 50)).all()


def test_test_episode_layout_has_markers_before_each_list():
    w = world()
    tokens, pos1, pos2 = nouns.test_episodes(w, np.random.default_rng(2), 3, n=5, k=7, condition="repeat", prefix=4)
    assert tokens.shape == (3, 4 + 1 + 5 + 7 + 1 + 5)
    assert (tokens[:, pos1[0] - 1] == w.list_token).all() and (tokens[:, pos2[0] - 1] == w.list_token).all()
    assert (tokens[:, : pos1[0] - 1] < w.n_filler).all()


def test_training_batch_is_seeded_and_holds_episodes():
    w = world()
    a = nouns.training_batch(w, np.random.default_rng([3, 4]), 8, length=64, p_episode=1.0, max_episodes=3)
    b = nouns.training_batch(w, np.random.default_rng([3, 4]), 8, length=64, p_episode=1.0, max_episodes=3)
    assert a.shape == (8, 64) and np.array_equal(a, b)
    assert ((a == w.list_token).sum(axis=1) >= 2).all()  # every document opens at least one episode
    none = nouns.training_batch(w, np.random.default_rng(5), 8, length=64, p_episode=0.0)
    assert (none < w.n_filler).all()


def test_filler_follows_the_chain():
    w = world()
    seq = nouns.filler(w, np.random.default_rng(6), 2000)
    probs = np.diff(np.concatenate([np.zeros((w.n_filler, 1)), w.cdf], axis=1), axis=1)
    # every observed transition has non-negligible probability under the chain
    assert probs[seq[:-1], seq[1:]].min() > 0
