"""pointer_networks: the contract for both variants, the masks, and what the pointer can emit."""

from __future__ import annotations

import numpy as np
import torch

from workloads.tasks.sorting import exact_match, position_accuracy, sort_batch
from workloads.testing import WorkloadTestCase

TINY = {"hidden": 16, "emb": 8, "n_min": 3, "n_max": 5, "n_long": 7, "batch": 8,
        "steps": 4, "eval_every": 2, "eval_size": 6, "lr": 1.0e-2}


class TestPointer(WorkloadTestCase):
    name = "pointer_networks"
    tiny = {**TINY, "variant": "pointer"}


class TestIndexSeq2SeqBaseline(WorkloadTestCase):
    name = "pointer_networks"
    tiny = {**TINY, "variant": "seq2seq"}


def test_sort_batch_targets_are_the_ascending_argsort():
    x, order = sort_batch(np.random.default_rng(0), 4, 6)
    assert np.all(np.diff(np.take_along_axis(x, order, axis=1), axis=1) > 0)
    assert position_accuracy(order, order) == 1.0 and exact_match(order[:, ::-1], order) == 0.0


def test_teacher_forced_mask_allows_exactly_the_unvisited_positions():
    from workloads.pointer_networks.model import teacher_forced_mask

    target = torch.tensor([[2, 0, 1]])
    mask = teacher_forced_mask(target, 3)[0]
    assert mask.tolist() == [[True, True, True], [True, True, False], [False, True, False]]
    wide = teacher_forced_mask(target, 5)[0]  # indices that do not exist are never allowed
    assert wide.shape == (3, 5) and not wide[:, 3:].any()


def test_pointer_emits_positions_beyond_the_training_length_and_the_baseline_cannot():
    from workloads.pointer_networks import WORKLOAD

    for variant, can_reach in (("pointer", True), ("seq2seq", False)):
        run = WORKLOAD.build(WORKLOAD.make_config({**TINY, "variant": variant, "mask_visited": True}), "cpu")
        x, _ = sort_batch(np.random.default_rng(1), 4, 9)  # n_max is 5
        pred = run.predict(x)
        assert pred.shape == (4, 9)
        assert (pred.max() >= 5) == can_reach
        if variant == "pointer":  # with masking, every greedy output is a permutation
            assert (np.sort(pred, axis=1) == np.arange(9)).all()


def test_pointer_beam_search_returns_the_greedy_order_at_beam_one():
    from workloads.pointer_networks import WORKLOAD

    run = WORKLOAD.build(WORKLOAD.make_config({**TINY, "variant": "pointer"}), "cpu")
    x, _ = sort_batch(np.random.default_rng(2), 5, 6)
    from workloads.nn.decoding import beam_search, greedy_decode

    start, state = run.model.start_state(torch.as_tensor(x))
    step = run.model.step_fn(False)
    greedy, _ = greedy_decode(step, state, start, 6)
    beamed, _ = beam_search(step, state, start, 6, 1)
    assert torch.equal(greedy, beamed[:, 0])


def test_pointer_learns_to_sort_five_numbers():
    from workloads.pointer_networks import WORKLOAD

    torch.set_num_threads(1)
    cfg = WORKLOAD.make_config({"hidden": 64, "emb": 32, "n_min": 5, "n_max": 5, "n_long": 8, "batch": 64,
                                "steps": 250, "lr": 3.0e-3, "eval_size": 200, "mask_visited": False})
    run = WORKLOAD.build(cfg, "cpu")
    for step in range(cfg.steps):
        run.train_step(step)
    metrics = run.evaluate()
    assert metrics["val/pos_acc"] > 0.6, metrics  # chance is 0.2
