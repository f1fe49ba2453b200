import numpy as np

from workloads.nn.ranking import hits_at_k, ndcg_at_k, recall_at_k


def test_a_target_ranked_first_scores_one_and_one_outside_the_top_k_scores_zero() -> None:
    scores = np.array([[5.0, 4.0, 3.0, 2.0], [5.0, 4.0, 3.0, 2.0]])
    relevant = np.array([[True, False, False, False], [False, False, False, True]])
    np.testing.assert_allclose(hits_at_k(scores, relevant, k=2), [1.0, 0.0])
    np.testing.assert_allclose(recall_at_k(scores, relevant, k=2), [1.0, 0.0])
    np.testing.assert_allclose(ndcg_at_k(scores, relevant, k=2), [1.0, 0.0])


def test_ndcg_discounts_by_rank() -> None:
    scores = np.array([[3.0, 2.0, 1.0]])
    np.testing.assert_allclose(ndcg_at_k(scores, np.array([[False, True, False]]), k=3), [1 / np.log2(3)])
    np.testing.assert_allclose(recall_at_k(scores, np.array([[True, False, True]]), k=2), [0.5])
