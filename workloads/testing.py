"""The conformance suite every workload passes (after Optuna's reusable sampler tests).

A workload's own test is a few lines that name it and supply a tiny config::

    from workloads.testing import WorkloadTestCase

    class TestArNet(WorkloadTestCase):
        name = "ar_net"
        tiny = {"n_train": 400, "order": 8, "steps": 6, "eval_every": 3}

Each check builds the workload on CPU through the registry, exactly as a trial does.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import pytest
import yaml

from workloads.api import Checkpointable, Trainable, WorkloadDef


def _finite_floats(metrics: Any) -> dict[str, float]:
    assert isinstance(metrics, dict) or hasattr(metrics, "items"), f"metrics must be a mapping, got {type(metrics)}"
    out = {}
    for key, value in metrics.items():
        assert isinstance(key, str), f"metric name {key!r} is not a string"
        as_float = float(value)
        assert math.isfinite(as_float), f"metric {key} = {value} is not finite"
        out[key] = as_float
    return out


class WorkloadTestCase:
    """Subclass with ``name`` and ``tiny`` (config overrides that make a run take seconds)."""

    name: ClassVar[str] = ""
    tiny: ClassVar[dict[str, Any]] = {}
    #: repeated ``train_step(0)`` calls used to check that loss falls on one fixed batch
    fixed_batch_steps: ClassVar[int] = 25
    #: a continuous metric ``evaluate()`` computes from the same model as the objective, checked by
    #: ``test_evaluate_depends_on_the_model`` instead of an objective that is a count (exact-match
    #: accuracy) which a few steps on one tiny batch cannot move
    objective_probe: ClassVar[str | None] = None

    # -- helpers ---------------------------------------------------------------------------
    def workload(self) -> WorkloadDef:
        from orchestrator.registry import load

        return load(self.name)

    def build(self, **overrides: Any) -> Trainable:
        import torch

        torch.set_num_threads(1)
        wl = self.workload()
        cfg = wl.make_config({**self.tiny, **overrides})
        return wl.build(cfg, "cpu")

    def run_steps(self, inst: Trainable, start: int, stop: int) -> list[dict[str, float]]:
        """Metrics of train steps ``start .. stop - 1``, each checked finite."""
        return [_finite_floats(inst.train_step(step)) for step in range(start, stop)]

    # -- the checks ------------------------------------------------------------------------
    def test_definition(self) -> None:
        wl = self.workload()
        assert wl.name == self.name
        assert wl.mode in ("min", "max")
        assert wl.title and wl.family and wl.metric
        for field_name, field in wl.config.model_fields.items():
            assert field.description, f"{self.name}.Config.{field_name} has no description"

    def test_config_round_trips_through_yaml(self) -> None:
        wl = self.workload()
        cfg = wl.make_config(self.tiny)
        text = yaml.safe_dump(cfg.model_dump(mode="json"))
        assert wl.make_config(yaml.safe_load(text)) == cfg

    def test_train_step_gives_finite_metrics_with_loss(self) -> None:
        inst = self.build()
        assert isinstance(inst, Trainable)
        for metrics in self.run_steps(inst, 0, 2):
            assert "loss" in metrics

    def test_loss_falls_on_a_fixed_batch(self) -> None:
        inst = self.build()
        losses = [_finite_floats(inst.train_step(0))["loss"] for _ in range(self.fixed_batch_steps)]
        first, last = losses[0], min(losses[-3:])
        assert last < first, f"loss did not fall on a fixed batch: {losses}"

    def test_evaluate_holds_the_objective_and_is_deterministic(self) -> None:
        wl = self.workload()
        results = []
        for _ in range(2):
            inst = self.build()
            self.run_steps(inst, 0, 2)
            results.append(_finite_floats(inst.evaluate()))
        assert wl.metric in results[0], f"evaluate() lacks the objective {wl.metric}: {results[0]}"
        assert results[0] == results[1], "evaluate() differs between two runs with one seed"

    def test_evaluate_depends_on_the_model(self) -> None:
        """Training on one repeated batch changes the objective: a constant ``evaluate()`` fails here."""
        metric = self.objective_probe or self.workload().metric
        inst = self.build()
        before = _finite_floats(inst.evaluate())[metric]
        for _ in range(self.fixed_batch_steps):
            inst.train_step(0)
        after = _finite_floats(inst.evaluate())[metric]
        assert after != before, (
            f"{metric} is {before} before and after {self.fixed_batch_steps} steps on one batch: "
            "evaluate() does not read the trained model"
        )

    def test_state_dict_round_trip(self) -> None:
        import pickle

        first = self.build()
        declared = self.workload().checkpointable
        if not isinstance(first, Checkpointable):
            assert not declared, f"{self.name} offers no state_dict: register it with checkpointable=False"
            pytest.skip(f"{self.name} offers no state_dict (checkpointing is optional in the contract)")
        assert declared, f"{self.name} offers state_dict but is registered with checkpointable=False"
        self.run_steps(first, 0, 2)
        state = pickle.loads(pickle.dumps(first.state_dict()))
        second = self.build()  # fresh from init: differs from `first`, which trained 2 steps
        second.load_state_dict(state)
        assert _finite_floats(first.evaluate()) == _finite_floats(second.evaluate())
        assert _deterministic(self.run_steps(first, 2, 3)) == _deterministic(self.run_steps(second, 2, 3))


def _deterministic(steps: list[dict[str, float]]) -> list[dict[str, float]]:
    """Step metrics without the ``time/`` ones (throughput, step time), which a restore cannot repeat."""
    return [{k: v for k, v in step.items() if not k.startswith("time/")} for step in steps]
