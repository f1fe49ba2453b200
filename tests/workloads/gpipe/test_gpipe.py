"""gpipe as a single-process workload (conformance) and its schedule count.

The pipeline-versus-single-process equivalence runs two Ray Train workers: it lives in
test_gpipe_pipeline.py.
"""

import pytest
import torch

from workloads.testing import WorkloadTestCase

TINY = {"d_model": 16, "n_heads": 2, "n_layers": 2, "seq_len": 12, "batch_size": 8, "steps": 6, "eval_every": 3}


class TestGPipe(WorkloadTestCase):
    name = "gpipe"
    tiny = TINY


@pytest.mark.parametrize("stages", [2, 4])
@pytest.mark.parametrize("micro_batches", [1, 4, 8])
def test_deepspeed_schedule_idle_fraction_is_gpipe_bubble(stages, micro_batches):
    from workloads.gpipe.schedule import idle_fraction, predicted_bubble, stage_slots

    # every stage, not only their mean, idles (p-1)/(m+p-1) of the schedule's steps
    for stage_id in range(stages):
        busy, total = stage_slots(stages, micro_batches, stage_id)
        assert busy == 2 * micro_batches  # one forward and one backward slot per micro-batch
        assert (total - busy) / total == pytest.approx(predicted_bubble(stages, micro_batches), abs=0)
    assert idle_fraction(stages, micro_batches) == pytest.approx((stages - 1) / (micro_batches + stages - 1), abs=1e-15)


def test_micro_batched_step_equals_full_batch_step():
    """Gradient accumulation over m micro-batches is the full-batch update (what makes GPipe exact)."""
    from orchestrator.registry import load

    torch.set_num_threads(1)
    wl = load("gpipe")
    runs = [wl.build(wl.make_config({**TINY, "micro_batches": m}), "cpu") for m in (1, 4)]
    for step in range(8):
        full, micro = (run.train_step(step)["loss"] for run in runs)
        assert micro == pytest.approx(full, rel=1e-5)
    # compared through the loss, not parameter by parameter: the attention's key bias has an
    # exactly zero gradient, so Adam turns its round-off into ±lr steps that change no output
    full, micro = (run.evaluate()["val/loss"] for run in runs)
    assert micro == pytest.approx(full, rel=1e-5)


def test_layers_draw_the_same_weights_in_any_order():
    """Layer i's initial weights depend on (seed, i) only, so a pipeline stage that builds a
    slice of the list gets the very weights the single-process chain has."""
    from orchestrator.registry import load
    from workloads.gpipe.model import build_sequential, layer_specs

    cfg = load("gpipe").make_config(TINY)
    specs = layer_specs(cfg)
    whole = build_sequential(specs)
    torch.manual_seed(12345)  # a different global state, as in another process
    second_half = build_sequential(specs[2:])
    for a, b in zip(whole[2:].parameters(), second_half.parameters()):
        assert torch.equal(a, b)
