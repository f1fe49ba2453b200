"""The driver's view of a Tune run's trials: counts, outcomes, and the Callback that forwards
trial events to MLflow and enforces Seqlab's limits (time per trial, failed trials).

Imported by :mod:`orchestrator.sweep`, the only module that starts Tune.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from orchestrator.ray_private import trial_actor
from orchestrator.trial import DEVICE_KEY, read_curve

TUNE_KEYS = {
    "training_iteration", "time_total_s", "episodes_total", "timesteps_total", "node_ip", "hostname",
    "pid", "time_this_iter_s", "timestamp", "date", "time_since_restore", "timesteps_since_restore",
    "iterations_since_restore", "checkpoint_dir_name", "done", "trial_id", "experiment_tag",
    "should_checkpoint", "experiment_id",
}  # fmt: skip


@dataclass
class Counts:
    """Live tally of a run's trials, shown by the progress display."""

    total: int
    running: int = 0
    completed: int = 0
    pruned: int = 0
    failed: int = 0
    best: float | None = None
    best_trial: str | None = None
    started: float = field(default_factory=time.monotonic)


@dataclass
class TrialOutcome:
    trial_id: str
    params: dict[str, Any]
    outcome: str  # completed | pruned | failed | timeout
    metrics: dict[str, float]
    error: str | None = None
    checkpoint: str | None = None  # folder of the trial's last Tune checkpoint, if it kept one
    retries: int = 0  # times it failed and was started again (limits.max_failures), from its checkpoint


@dataclass
class RunOutcome:
    """What a finished Tune run gives back to the CLI."""

    trials: list[TrialOutcome]
    stopped_reason: str | None
    parent_run_id: str | None
    experiment_id: str | None
    tracking_uri: str
    path: Path
    tracking_errors: list[str]
    interrupted: bool = False
    best_checkpoint: str | None = None  # where the best trial's last checkpoint went, for people


def trial_number(trial) -> int:
    """The trial's running number in its run, from 1, as Tune's experiment tag counts it.

    Tune's searchers tag trials ``1_lr=...``, ``2_lr=...``; its grid and random generator tags
    them from 0 (``0_lr=...``) and gives them ids ending in that number (``5a1f2_00000``).
    """
    head = trial.experiment_tag.split("_", 1)[0]
    number = int(head) if head.isdigit() else 0
    return number + 1 if re.search(r"_\d{5}$", trial.trial_id) else number


def describe_params(config: Mapping[str, Any], limit: int = 240) -> str:
    """Sampled values in one short line for people (``lr=0.00316, d_model=64``)."""
    text = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in config.items())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def make_bridge(recorder, counts: Counts, metric: str | None, mode: str | None, max_steps: Callable[[dict], int],
            duration: float | None, max_failed: int | None, on_change: Callable[[Counts], None] | None,
            trial_name: Callable[[int, Mapping[str, Any]], str], space: Callable[[], str | None] | None = None):
    """A Tune Callback that forwards trial events to MLflow and enforces Seqlab's limits.

    ``space()`` returns a reason once the runs folder runs out of room (checked every second);
    the run is then interrupted as Ctrl-C would (``paused``: its state is saved, unfinished trials
    resume later) and the reason becomes ``stop_reason``.
    """
    import ray
    from ray import tune

    class Bridge(tune.Callback):
        def __init__(self) -> None:
            self.outcomes: dict[str, TrialOutcome] = {}
            self.started_at: dict[str, float] = {}
            self.timed_out: set[str] = set()
            self.stop_reason: str | None = None
            self.running: set[str] = set()  # a paused trial (HyperBand, PBT) starts again: count it once
            self.exploits: dict[str, int] = {}
            self.retries: dict[str, int] = {}
            self.paused = False  # interrupted to be resumed (disk full), not stopped for good
            self._last_draw = 0.0
            self._space_checked = 0.0

        def __reduce__(self):  # Tune pickles its run config; this driver's live state stays here
            return (_inert_callback, ())

        def _params(self, trial) -> dict[str, Any]:
            return {k: v for k, v in trial.config.items()}

        def on_trial_start(self, iteration, trials, trial, **info):
            self.started_at[trial.trial_id] = time.monotonic()
            params = self._params(trial)
            recorder.trial_started(
                trial.trial_id, trial_name(trial_number(trial), params), params,
                tags={"mlflow.note.content": describe_params(params)},
            )
            self.running.add(trial.trial_id)
            counts.running = len(self.running)
            self._changed()

        def on_exploit(self, trial, donor) -> None:
            """PBT: ``trial`` took over ``donor``'s checkpoint with perturbed parameters."""
            step = int((donor.last_result or {}).get("step", 0))
            k = self.exploits[trial.trial_id] = self.exploits.get(trial.trial_id, 0) + 1
            recorder.trial_tags(trial.trial_id, {
                f"seqlab.pbt.exploit_{k}": f"step {step}: took over trial {donor.trial_id}'s checkpoint; "
                                           f"now {describe_params(self._params(trial))}",
            })  # fmt: skip
            recorder.trial_result(trial.trial_id, {"pbt/exploits": float(k)}, step)

        def on_trial_recover(self, iteration, trials, trial, **info):
            """A failed trial Tune starts again (``max_failures``): from its last checkpoint."""
            self.started_at[trial.trial_id] = time.monotonic()
            n = self.retries[trial.trial_id] = self.retries.get(trial.trial_id, 0) + 1
            recorder.trial_tags(trial.trial_id, {"seqlab.retries": str(n)})

        def on_trial_restore(self, iteration, trials, trial, **info):
            self.started_at[trial.trial_id] = time.monotonic()

        def on_trial_result(self, iteration, trials, trial, result, **info):
            metrics = {
                k: v for k, v in result.items()
                if k not in TUNE_KEYS and not k.startswith("config/") and isinstance(v, (int, float))
            }
            step = int(metrics.get("step", result.get("training_iteration", 0)))
            if isinstance(result.get(DEVICE_KEY), str):
                recorder.trial_tags(trial.trial_id, {"seqlab.device": result[DEVICE_KEY]})
            # the report's own step comes with the report's metrics, not from its curve
            curve = [(at, values) for at, values in read_curve(result) if at != step]
            recorder.trial_results(trial.trial_id, [*curve, (step, metrics)])
            self.outcomes[trial.trial_id] = TrialOutcome(trial.trial_id, self._params(trial), "running", metrics)
            self._update_best()
            self._changed()

        def _update_best(self) -> None:
            """Best last-reported objective over trials (Tune's scope='last')."""
            scored = [(o.metrics[metric], tid) for tid, o in self.outcomes.items() if metric and metric in o.metrics]
            if scored:
                counts.best, counts.best_trial = (max if mode == "max" else min)(scored)

        def on_trial_complete(self, iteration, trials, trial, **info):
            done = self.outcomes.get(trial.trial_id)
            metrics = done.metrics if done else {}
            finished = int(metrics.get("step", 0)) >= max_steps(trial.config)
            outcome = "completed" if finished else "pruned"
            self.outcomes[trial.trial_id] = TrialOutcome(trial.trial_id, self._params(trial), outcome, metrics,
                                                         retries=self.retries.get(trial.trial_id, 0))  # fmt: skip
            recorder.trial_finished(trial.trial_id, outcome)
            self.running.discard(trial.trial_id)
            counts.running = len(self.running)
            setattr(counts, outcome, getattr(counts, outcome) + 1)
            self._changed()

        def on_trial_error(self, iteration, trials, trial, **info):
            done = self.outcomes.get(trial.trial_id)
            timed_out = trial.trial_id in self.timed_out
            outcome = "timeout" if timed_out else "failed"
            error = _trial_error_text(trial)
            if timed_out:
                error = f"trial exceeded max_trial_duration ({duration:g} s) and was ended\n\n{error or ''}"
            self.outcomes[trial.trial_id] = TrialOutcome(
                trial.trial_id, self._params(trial), outcome, done.metrics if done else {}, error,
                retries=self.retries.get(trial.trial_id, 0),
            )
            recorder.trial_finished(trial.trial_id, outcome, error)
            self.running.discard(trial.trial_id)
            counts.running = len(self.running)
            counts.failed += 1
            if max_failed is not None and counts.failed > max_failed and not self.stop_reason:
                self.stop_reason = f"{counts.failed} trials failed, more than limits.max_failed_trials = {max_failed}"
            self._changed()

        def on_step_begin(self, iteration, trials, **info):
            now = time.monotonic()
            if space is not None and now - self._space_checked > 1.0 and not self.stop_reason:
                self._space_checked = now
                self.stop_reason = space()
                self.paused = self.stop_reason is not None and interrupt_tune()
            if duration is None:
                return
            for trial in trials:
                began = self.started_at.get(trial.trial_id)
                if trial.status != "RUNNING" or began is None or trial.trial_id in self.timed_out:
                    continue
                if now - began > duration:
                    actor = trial_actor(trial)
                    if actor is None:
                        continue
                    self.timed_out.add(trial.trial_id)
                    trial.max_failures = 0  # an overrun is final: no retry
                    ray.kill(actor, no_restart=True)

        def on_experiment_end(self, trials, **info):  # after Tune's final save of the experiment state
            for trial in trials:
                if trial.checkpoint is not None:
                    drop_checkpoints_before(Path(trial.checkpoint.path))
            self._changed(force=True)

        def on_step_end(self, iteration, trials, **info):
            if on_change and time.monotonic() - self._last_draw > 0.5:
                self._changed(force=True)

        def _changed(self, force: bool = False) -> None:
            if on_change is None:
                return
            now = time.monotonic()
            if force or now - self._last_draw > 0.25:
                self._last_draw = now
                on_change(counts)

    class LimitStopper(tune.Stopper):
        def __init__(self, bridge: Bridge) -> None:
            self.bridge = bridge

        def __reduce__(self):
            return (_inert_stopper, ())

        def __call__(self, trial_id, result) -> bool:
            return False

        def stop_all(self) -> bool:
            return self.bridge.stop_reason is not None and not self.bridge.paused

    bridge = Bridge()
    return bridge, LimitStopper(bridge)


def drop_checkpoints_before(kept: Path) -> None:
    """Delete the trial's checkpoint folders older than ``kept``, the one Tune's saved state names.

    A newer folder may exist (written by the trial, never registered by an interrupted driver);
    it is left alone.
    """
    import shutil

    for folder in kept.parent.glob("checkpoint_*"):
        if folder.name < kept.name:  # checkpoint_000004: zero-padded, so names sort by index
            shutil.rmtree(folder, ignore_errors=True)


def interrupt_tune() -> bool:
    """End the running Tune loop as Ctrl-C does: the experiment state is saved and unfinished
    trials stay resumable. Only where Tune caught SIGINT (it runs on the main thread); False elsewhere."""
    import signal

    handler = signal.getsignal(signal.SIGINT)
    if getattr(handler, "__name__", "") != "signal_interrupt_tune_run":  # Tune's own handler (ray.tune.tune)
        return False
    handler(signal.SIGINT, None)
    return True


def _inert_callback():
    from ray import tune

    return tune.Callback()


def _inert_stopper():
    from ray.tune.stopper import NoopStopper

    return NoopStopper()


def _trial_error_text(trial) -> str | None:
    """The trial's traceback as Tune saved it, else its error message."""
    path = getattr(trial, "error_file", None)
    if path and Path(path).exists():
        return Path(path).read_text()
    message = getattr(trial, "error_msg", None)
    return str(message) if message else None
