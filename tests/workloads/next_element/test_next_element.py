import numpy as np

from workloads.next_element.counting import Alergia, MarkovBackoff, PrefixTree
from workloads.next_element.hmm import HMM
from workloads.tasks.process_logs import B, F, G, pad, sample_log
from workloads.testing import WorkloadTestCase

TINY_LOG = {"n_train": 200, "n_test": 60}


class TestNextElementGRU(WorkloadTestCase):
    name = "next_element"
    tiny = {"steps": 4, "eval_every": 2, "hidden": 16, **TINY_LOG}


class TestNextElementHMM(WorkloadTestCase):
    name = "next_element"
    tiny = {"model": "hmm", "steps": 4, "eval_every": 2, **TINY_LOG}
    fixed_batch_steps = 5  # each step is a full Baum-Welch iteration


def test_markov_backs_off_to_shorter_contexts() -> None:
    m = MarkovBackoff([np.array([0, 1, 2, 10]), np.array([0, 1, 2, 10])], k=3)
    assert m.predict([0, 1]) == 2
    assert m.predict([5, 5, 1]) == 2  # (5, 5, 1) and (5, 1) unseen: (1,) -> 2


def test_prefix_tree_remembers_the_whole_prefix_and_markov_one_cannot() -> None:
    log = sample_log(np.random.default_rng(0), 400, noise=0.0, loop_mean=2.0)
    tree = PrefixTree(log.traces, MarkovBackoff(log.traces, 1))
    t = next(t for t, k in zip(log.traces, log.loop_len) if k == 1)
    d = 3
    assert tree.counts(t[:d].tolist())[F if t[1] == B else G] > 0
    assert tree.counts(t[:d].tolist())[G if t[1] == B else F] == 0


def test_alergia_merges_the_prefix_tree_into_a_small_automaton() -> None:
    log = sample_log(np.random.default_rng(1), 500, noise=0.0)
    fallback = MarkovBackoff(log.traces, 1)
    model = Alergia(log.traces, 0.05, fallback)
    assert model.n_states() < 30  # the process has ~10 states; the prefix tree has hundreds


def test_hmm_em_does_not_increase_the_negative_log_likelihood() -> None:
    log = sample_log(np.random.default_rng(2), 200)
    x = pad(log.traces, 0)
    mask = np.zeros_like(x, dtype=bool)
    for i, t in enumerate(log.traces):
        mask[i, : len(t)] = True
    hmm = HMM(4, 11, np.random.default_rng(0))
    nll = [hmm.em_step(x, mask) for _ in range(6)]
    assert all(b <= a + 1e-9 for a, b in zip(nll, nll[1:]))
    probs = hmm.predict_next(x, mask)
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-8)


def test_gru_learns_the_long_range_choice_and_markov_three_does_not() -> None:
    from orchestrator.registry import load

    wl = load("next_element")
    gru = wl.build(wl.make_config({"steps": 300, "n_train": 500, "n_test": 200}), "cpu")
    for step in range(300):
        gru.train_step(step)
    base = wl.build(wl.make_config({"model": "baselines", "steps": 2, "n_train": 500, "n_test": 200}), "cpu")
    assert gru.evaluate()["val/acc_decision_long"] > 0.9
    assert abs(base.evaluate()["val/markov3_acc_decision_long"] - 0.5) < 0.2
