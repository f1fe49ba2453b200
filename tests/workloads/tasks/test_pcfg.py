import numpy as np

from workloads.tasks import pcfg


def test_rule_probabilities_sum_to_one_and_heads_point_inside():
    for lhs, rules in pcfg.RULES.items():
        assert abs(sum(p for p, _, _ in rules) - 1.0) < 1e-9, lhs
        for _, rhs, head in rules:
            assert 0 <= head < len(rhs)
            assert all(s in pcfg.RULES or s in pcfg.LEXICON for s in rhs)


def test_gold_trees_are_consistent():
    for s in pcfg.corpus(np.random.default_rng(0), 200):
        n = len(s.words)
        assert 5 <= n <= 20
        assert sum(p == -1 for p in s.parents) == 1  # one root
        assert all(-1 <= p < n and p != i for i, p in enumerate(s.parents))
        assert all(0 <= i and j <= n and 2 <= j - i < n for i, j in s.spans)
        # spans of a tree nest or are disjoint
        for a in s.spans:
            for b in s.spans:
                assert a[1] <= b[0] or b[1] <= a[0] or (a[0] <= b[0] and b[1] <= a[1]) or (b[0] <= a[0] and a[1] <= b[1])


def test_analyse_of_a_hand_built_tree():
    # S(NP(Det N) VP(V NP(Pron))): "the dog sees him"
    tree = ("S", 1, (("NP", 1, (("Det", 2), ("N", 3))), ("VP", 0, (("V", 4), ("NP", 0, (("Pron", 5),))))))
    s = pcfg.analyse(tree)
    assert s.words == (2, 3, 4, 5)
    assert s.spans == frozenset({(0, 2), (2, 4)})
    assert s.parents == (1, 2, -1, 2)


def test_split_at_largest_distance_and_baselines():
    assert pcfg.spans_from_distances(np.array([0.0, 5.0, 1.0])) == frozenset({(0, 2), (2, 4)})
    assert pcfg.right_branching(4) == frozenset({(1, 4), (2, 4)})
    assert pcfg.left_branching(4) == frozenset({(0, 2), (0, 3)})
    assert pcfg.span_f1(frozenset({(0, 2)}), frozenset({(0, 2), (2, 4)})) == 2 * 1 * 0.5 / 1.5
    assert pcfg.uas(pcfg.right_chain(4), (1, 2, -1, 2)) == 0.5
