import numpy as np

from workloads.tasks.state_tracking import group, permutation_group, word_problem_batch


def test_s3_is_a_non_abelian_group_with_identity_zero():
    table = group("S3")
    assert table.shape == (6, 6)
    assert (table[0] == np.arange(6)).all() and (table[:, 0] == np.arange(6)).all()
    assert (np.sort(table, axis=1) == np.arange(6)).all()  # each row a permutation: Latin square
    assert (table != table.T).any()
    a, b, c = 1, 3, 4
    assert table[table[a, b], c] == table[a, table[b, c]]  # associativity on a triple


def test_word_problem_labels_are_running_products():
    perms = permutation_group(3)
    x, y = word_problem_batch(group("S3"), np.random.default_rng(0), 3, 7)
    for b in range(3):
        state = np.arange(3)
        for t in range(7):
            state = perms[x[b, t]][state]
            assert (perms[y[b, t]] == state).all()


def test_z2_word_problem_is_parity():
    x, y = word_problem_batch(group("Z2"), np.random.default_rng(1), 4, 9)
    assert (y == np.cumsum(x, axis=1) % 2).all()
