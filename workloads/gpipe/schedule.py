"""GPipe's bubble, counted from DeepSpeed's own training schedule (no timing, no simulator of ours).

DeepSpeed's ``TrainSchedule(micro_batches=m, stages=p, stage_id=s)`` yields, step by step, the
instructions stage ``s`` executes. A step with neither a ``ForwardPass`` nor a ``BackwardPass``
is a step the stage waits: the bubble. GPipe (paper §2.2) predicts an idle fraction of
(p − 1)/(m + p − 1) per stage; DeepSpeed runs 1F1B, which interleaves forward and backward
passes differently but has the same number of idle slots.
"""

from __future__ import annotations


def predicted_bubble(stages: int, micro_batches: int) -> float:
    """GPipe's bubble fraction (p − 1)/(m + p − 1)."""
    return (stages - 1) / (micro_batches + stages - 1)


def stage_slots(stages: int, micro_batches: int, stage_id: int) -> tuple[int, int]:
    """(busy steps, total steps) of one stage in DeepSpeed's TrainSchedule for one batch."""
    import os

    os.environ.setdefault("DS_ACCELERATOR", "cpu")
    from deepspeed.runtime.pipe.schedule import BackwardPass, ForwardPass, TrainSchedule

    schedule = TrainSchedule(micro_batches=micro_batches, stages=stages, stage_id=stage_id)
    busy = total = 0
    for commands in schedule.steps():
        total += 1
        busy += any(isinstance(c, (ForwardPass, BackwardPass)) for c in commands)
    return busy, total


def idle_fraction(stages: int, micro_batches: int) -> float:
    """Fraction of schedule steps in which a stage computes nothing, averaged over the stages."""
    fractions = []
    for stage_id in range(stages):
        busy, total = stage_slots(stages, micro_batches, stage_id)
        fractions.append(1.0 - busy / total)
    return sum(fractions) / len(fractions)
