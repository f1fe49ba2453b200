"""The conformance suite itself: it must catch a workload that breaks the contract."""

from __future__ import annotations

import dataclasses

import pytest

from workloads.testing import WorkloadTestCase


class _Frozen:
    """A quadratic-bowl run whose evaluate() ignores the model: a constant objective."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def train_step(self, step: int):
        return self.inner.train_step(step)

    def evaluate(self):
        return {"val/loss": 1.0}


class _ConstantEvaluate(WorkloadTestCase):
    name = "quadratic"
    tiny = {"steps": 4, "eval_every": 2}

    def workload(self):
        real = super().workload()
        return dataclasses.replace(real, build=lambda cfg, device: _Frozen(real.build(cfg, device)), checkpointable=False)


class _UndeclaredNoState(_ConstantEvaluate):
    """No state_dict, yet registered as checkpointable: the flag is wrong."""

    def workload(self):
        return dataclasses.replace(super().workload(), checkpointable=True)


class _Honest(WorkloadTestCase):
    name = "quadratic"
    tiny = {"steps": 4, "eval_every": 2}


def test_a_constant_evaluate_fails_the_suite():
    with pytest.raises(AssertionError, match="evaluate\\(\\) does not read the trained model"):
        _ConstantEvaluate().test_evaluate_depends_on_the_model()


def test_the_real_workload_passes_the_same_check():
    _Honest().test_evaluate_depends_on_the_model()


def test_a_workload_without_state_dict_is_skipped_with_a_reason():
    with pytest.raises(pytest.skip.Exception, match="offers no state_dict"):
        _ConstantEvaluate().test_state_dict_round_trip()


def test_a_wrong_checkpointable_flag_fails_the_suite():
    with pytest.raises(AssertionError, match="register it with checkpointable=False"):
        _UndeclaredNoState().test_state_dict_round_trip()
