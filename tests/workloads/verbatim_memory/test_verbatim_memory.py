import numpy as np

from workloads.testing import WorkloadTestCase


class TestVerbatimMemoryTransformer(WorkloadTestCase):
    name = "verbatim_memory"
    tiny = {"steps": 4, "eval_every": 2, "batch": 4, "doc_len": 48, "max_delay": 8, "eval_lists": 4, "d_model": 16, "n_heads": 2}


class TestVerbatimMemoryRotaryTransformer(WorkloadTestCase):
    name = "verbatim_memory"
    tiny = {**TestVerbatimMemoryTransformer.tiny, "pos": "rope"}


class TestVerbatimMemoryLSTM(WorkloadTestCase):
    name = "verbatim_memory"
    tiny = {**TestVerbatimMemoryTransformer.tiny, "arch": "lstm", "lstm_hidden": 16}


def test_repeat_surprisal_is_100_for_an_untrained_model_and_reported_per_cell():
    inst = TestVerbatimMemoryTransformer().build()
    out = inst.evaluate()
    for key in ("val/rs", "val/rs_k4", "val/rs_k48", "val/rs_shuffled", "val/rs_novel", "val/rs_early", "val/rs_late"):
        assert key in out
    # an untrained LM has no memory of list 1: list 2 is about as surprising as list 1
    assert 80 < out["val/rs"] < 120


def test_probe_positions_point_at_the_two_lists():
    inst = TestVerbatimMemoryTransformer().build()
    tokens, pos1, pos2 = inst.probes[(16, "repeat")]
    tokens = tokens.numpy()
    assert np.array_equal(tokens[:, pos1], tokens[:, pos2])
    assert (tokens[:, pos1] >= inst.world.n_filler).all() and (tokens[:, pos1] < inst.world.list_token).all()
