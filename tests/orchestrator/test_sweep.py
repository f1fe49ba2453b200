"""Sweeps on a real local Ray with a real SQLite MLflow store, driving the probe workload."""

from __future__ import annotations

import json
import time
import textwrap
from pathlib import Path

import pytest

from orchestrator.runs import run_sweep
from orchestrator.spec import load_sweep
from orchestrator.yamlio import SpecError

pytestmark = pytest.mark.usefixtures("ray_local")


def sweep(tmp_path: Path, body: str):
    path = tmp_path / "sweep.yaml"
    path.write_text(textwrap.dedent(body))
    spec, text = load_sweep(path)
    return spec, text


def mlflow_children(outcome):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(outcome.tracking_uri)
    runs = client.search_runs([outcome.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{outcome.parent_run_id}'")
    return client, {r.data.tags["seqlab.trial_id"]: r for r in runs}


def test_a_sweep_records_a_parent_run_and_one_child_per_trial(tmp_path):
    spec, text = sweep(tmp_path, """\
        name: records
        workload: quadratic
        objective: {metric: val/loss, mode: min}
        search: {sampler: random, seed: 1, num_trials: 3, max_concurrent: 2}
        parameters: {lr: {type: float, low: 0.01, high: 0.2, log: true}}
        fixed: {steps: 20, eval_every: 10}
        tracking: {log_every: 1}
    """)
    outcome = run_sweep(spec, text, runs_dir=tmp_path / "runs")
    assert outcome.stopped_reason is None
    assert sorted(t.outcome for t in outcome.trials) == ["completed"] * 3
    client, children = mlflow_children(outcome)
    parent = client.get_run(outcome.parent_run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["seqlab.sweep"] == "records"
    assert parent.data.tags["seqlab.workload"] == "quadratic"
    assert len(parent.data.tags["seqlab.spec_hash"]) == 12
    assert "seqlab.version" in parent.data.tags
    artifacts = [a.path for a in client.list_artifacts(outcome.parent_run_id)]
    assert "sweep.yaml" in artifacts
    assert len(children) == 3
    assert sorted(c.info.run_name for c in children.values()) == ["records-1", "records-2", "records-3"]
    for trial in outcome.trials:
        child = children[trial.trial_id]
        assert child.info.status == "FINISHED"
        assert child.data.tags["seqlab.status"] == "completed"
        assert float(child.data.params["lr"]) == pytest.approx(trial.params["lr"])
        assert child.data.tags["mlflow.note.content"] == f"lr={trial.params['lr']:.3g}"
        assert child.data.tags["seqlab.device"] == "cpu"
        history = client.get_metric_history(child.info.run_id, "val/loss")
        assert [m.step for m in history] == [10, 20]
        assert history[-1].value == pytest.approx(trial.metrics["val/loss"])
        curve = client.get_metric_history(child.info.run_id, "train/loss")  # every step, once
        assert sorted(m.step for m in curve) == list(range(1, 21))
    # the best trial's trained state is in MLflow, beside its run, and restores at step 20
    best = min(outcome.trials, key=lambda t: t.metrics["val/loss"])
    assert parent.data.tags["seqlab.best_trial"] == best.trial_id
    assert outcome.best_checkpoint.startswith("in MLflow")
    kept = [a.path for a in client.list_artifacts(children[best.trial_id].info.run_id, "checkpoint")]
    assert kept == ["checkpoint/state.pkl"]
    import pickle

    state = pickle.loads(Path(client.download_artifacts(children[best.trial_id].info.run_id, "checkpoint/state.pkl", str(tmp_path))).read_bytes())
    assert state["step"] == 20
    others = [t for t in outcome.trials if t.trial_id != best.trial_id]
    assert all(not client.list_artifacts(children[t.trial_id].info.run_id, "checkpoint") for t in others)
    # Tune kept every checkpoint while the sweep ran (a killed driver's lagging state may name any);
    # at the end each trial folder keeps only its last
    kept = sorted(p.name for p in outcome.path.glob("*/checkpoint_*"))
    assert len(kept) == 3 and all(Path(t.checkpoint).name in kept for t in outcome.trials), kept


def test_failing_and_nan_trials_are_recorded_and_the_sweep_goes_on(tmp_path):
    spec, text = sweep(tmp_path, """\
        name: failures
        workload: quadratic
        objective: {metric: val/loss, mode: min}
        search: {sampler: grid, num_trials: 4, max_concurrent: 2}
        parameters: {fail_at_step: {type: categorical, values: [-1, 3]}, nan_at_step: {type: categorical, values: [-1, 4]}}
        fixed: {steps: 10, eval_every: 5}
    """)
    outcome = run_sweep(spec, text, runs_dir=tmp_path / "runs")
    by_params = {(t.params["fail_at_step"], t.params["nan_at_step"]): t for t in outcome.trials}
    assert len(by_params) == 4
    client, children = mlflow_children(outcome)
    ok = [t for t in outcome.trials if t.params == {"fail_at_step": -1, "nan_at_step": -1}]
    assert ok and ok[0].outcome == "completed"
    for trial in outcome.trials:
        if trial in ok:
            continue
        assert trial.outcome == "failed"
        child = children[trial.trial_id]
        assert child.info.status == "FAILED"
        assert child.data.tags["seqlab.status"] == "failed"
        tb = Path(client.download_artifacts(child.info.run_id, "traceback.txt", str(tmp_path))).read_text()
        expected = "failing at step 3" if trial.params["fail_at_step"] == 3 else "metric 'loss' is nan"
        assert expected in tb


def test_max_failed_trials_stops_the_sweep_with_a_reason(tmp_path):
    spec, text = sweep(tmp_path, """\
        name: give-up
        workload: quadratic
        objective: {metric: val/loss, mode: min}
        search: {sampler: random, num_trials: 6, max_concurrent: 1}
        parameters: {lr: {type: float, low: 0.01, high: 0.2}}
        fixed: {steps: 5, fail_at_step: 1}
        limits: {max_failed_trials: 1}
    """)
    outcome = run_sweep(spec, text, runs_dir=tmp_path / "runs")
    assert outcome.stopped_reason and "more than limits.max_failed_trials = 1" in outcome.stopped_reason
    assert 2 <= len(outcome.trials) < 6


def test_max_trial_duration_ends_a_trial_stuck_inside_a_step(tmp_path):
    spec, text = sweep(tmp_path, """\
        name: stuck
        workload: quadratic
        objective: {metric: val/loss, mode: min}
        search: {sampler: grid, num_trials: 2, max_concurrent: 2}
        parameters: {hang_at_step: {type: categorical, values: [-1, 2]}}
        fixed: {steps: 6, eval_every: 1}
        limits: {max_trial_duration: 4s, max_failures: 2}
    """)
    started = time.monotonic()
    outcome = run_sweep(spec, text, runs_dir=tmp_path / "runs")
    assert time.monotonic() - started < 90
    outcomes = {t.params["hang_at_step"]: t for t in outcome.trials}
    assert outcomes[-1].outcome == "completed"
    assert outcomes[2].outcome == "timeout"
    client, children = mlflow_children(outcome)
    child = children[outcomes[2].trial_id]
    assert child.info.status == "FAILED" and child.data.tags["seqlab.status"] == "timeout"


def test_a_retried_trial_resumes_from_its_checkpoint(tmp_path):
    spec, text = sweep(tmp_path, """\
        name: retry
        workload: quadratic
        objective: {metric: val/loss, mode: min}
        search: {sampler: grid, num_trials: 1}
        parameters: {transient_fail_at_step: {type: categorical, values: [25]}}
        fixed: {steps: 40, eval_every: 10}
        limits: {max_failures: 1}
    """)
    outcome = run_sweep(spec, text, runs_dir=tmp_path / "runs")
    [trial] = outcome.trials
    assert trial.outcome == "completed"
    client, children = mlflow_children(outcome)
    steps = [m.step for m in client.get_metric_history(children[trial.trial_id].info.run_id, "val/loss")]
    assert steps == [10, 20, 30, 40]  # a restart from scratch would report 10 and 20 twice
    assert trial.retries == 1 and children[trial.trial_id].data.tags["seqlab.retries"] == "1"


MULTI = "objective: [{metric: val/loss, mode: min}, {metric: train/loss, mode: min}]"


@pytest.mark.parametrize("sampler", ["tpe", "random", "grid", "cmaes", "qmc", "nsga2"])
def test_every_sampler_runs_its_trials(tmp_path, sampler):
    objective = MULTI if sampler == "nsga2" else "objective: {metric: val/loss, mode: min}"
    params = (
        "{dim: {type: int, low: 2, high: 4}, momentum: {type: categorical, values: [0.0, 0.5]}}"
        if sampler == "grid" else "{lr: {type: float, low: 0.01, high: 0.3}, dim: {type: int, low: 2, high: 6}}"
    )
    spec, text = sweep(tmp_path, f"""\
        name: s-{sampler}
        workload: quadratic
        {objective}
        search: {{sampler: {sampler}, seed: 0, num_trials: 3, max_concurrent: 2}}
        parameters: {params}
        fixed: {{steps: 3, eval_every: 3}}
    """)
    outcome = run_sweep(spec, text, runs_dir=tmp_path / "runs")
    assert [t.outcome for t in outcome.trials] == ["completed"] * 3
    assert len({tuple(sorted(t.params.items())) for t in outcome.trials}) == 3  # three distinct proposals
    import optuna

    journal = tmp_path / "runs" / f"s-{sampler}" / "optuna.log"  # the study, as optuna-dashboard reads it
    study = optuna.load_study(study_name=f"s-{sampler}", storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(journal))))  # fmt: skip
    assert sorted(tuple(sorted(t.params.items())) for t in study.trials) == sorted(
        tuple(sorted(t.params.items())) for t in outcome.trials)  # fmt: skip


def test_resources_the_cluster_cannot_give_are_an_error_before_any_trial(tmp_path):
    spec, text = sweep(tmp_path, """\
        name: too-big
        workload: quadratic
        objective: {metric: val/loss, mode: min}
        parameters: {lr: {type: float, low: 0.01, high: 0.2}}
        resources: {cpu: 64, gpu: 1}
    """)
    with pytest.raises(SpecError, match=r"asks for cpu: 64, gpu: 1, but the largest node of this cluster has cpu: 2, gpu: 0"):
        run_sweep(spec, text, runs_dir=tmp_path / "runs")
    assert not (tmp_path / "runs" / "too-big").exists()


@pytest.mark.parametrize("scheduler", ["asha", "hyperband", "median"])
def test_every_early_stopping_scheduler_accounts_for_every_trial(tmp_path, scheduler):
    spec, text = sweep(tmp_path, f"""\
        name: es-{scheduler}
        workload: quadratic
        objective: {{metric: val/loss, mode: min}}
        search: {{sampler: random, seed: 0, num_trials: 4, max_concurrent: {4 if scheduler == "hyperband" else 2},
                  early_stopping: {{type: {scheduler}, grace_period: 5, reduction_factor: 2}}}}
        parameters: {{lr: {{type: float, low: 0.001, high: 0.3, log: true}}}}
        fixed: {{steps: 20, eval_every: 5}}
    """)
    outcome = run_sweep(spec, text, runs_dir=tmp_path / "runs")
    assert len(outcome.trials) == 4
    assert {t.outcome for t in outcome.trials} <= {"completed", "pruned"}
    for t in outcome.trials:  # a pruned trial stopped before its last step, a completed one at it
        assert (t.metrics["step"] == 20) == (t.outcome == "completed")


def test_tracking_uri_in_the_file_decides_where_mlflow_writes(tmp_path):
    store = tmp_path / "elsewhere.db"
    spec, text = sweep(tmp_path, f"""\
        name: elsewhere
        workload: quadratic
        objective: {{metric: val/loss, mode: min}}
        search: {{sampler: random, num_trials: 1}}
        parameters: {{lr: {{type: float, low: 0.01, high: 0.2}}}}
        fixed: {{steps: 2, eval_every: 1}}
        tracking: {{experiment: somewhere, uri: "sqlite:///{store}"}}
    """)
    outcome = run_sweep(spec, text, runs_dir=tmp_path / "runs")
    assert outcome.tracking_uri == f"sqlite:///{store}" and store.exists()
    from mlflow.tracking import MlflowClient

    exp = MlflowClient(outcome.tracking_uri).get_experiment_by_name("somewhere")
    assert exp is not None and exp.experiment_id == outcome.experiment_id
    assert not (tmp_path / "runs" / "mlflow.db").exists()


def test_pbt_trials_take_over_better_checkpoints_and_mlflow_records_it(tmp_path):
    spec, text = sweep(tmp_path, """\
        name: pbt
        workload: quadratic
        objective: {metric: val/loss, mode: min}
        search: {sampler: random, seed: 0, num_trials: 4, max_concurrent: 2,
                 early_stopping: {type: pbt, perturbation_interval: 4, quantile_fraction: 0.25}}
        parameters: {lr: {type: float, low: 1.0e-4, high: 0.3, log: true}}
        fixed: {steps: 24, eval_every: 2, sleep_s: 0.02}
    """)
    outcome = run_sweep(spec, text, runs_dir=tmp_path / "runs")
    assert sorted(t.outcome for t in outcome.trials) == ["completed"] * 4
    policy = [json.loads(line) for line in (outcome.path / "pbt_global.txt").read_text().splitlines()]
    assert policy, "no exploit happened"
    client, children = mlflow_children(outcome)
    exploits = {tid: {k: v for k, v in c.data.tags.items() if k.startswith("seqlab.pbt.exploit_")} for tid, c in children.items()}
    recorded = [text for tags in exploits.values() for text in tags.values()]
    assert len(recorded) == len(policy)  # each exploit Tune logged is on the recipient's MLflow run
    donors = {t.trial_id for t in outcome.trials}
    assert all(any(f"trial {d}'s checkpoint" in text for d in donors) for text in recorded)
    taker = next(tid for tid, tags in exploits.items() if tags)
    counts = client.get_metric_history(children[taker].info.run_id, "pbt/exploits")
    assert [m.value for m in counts][:1] == [1.0]


def test_pbt_is_refused_where_it_cannot_work(tmp_path):
    base = """\
        name: pbt-bad
        workload: WORKLOAD
        objective: {metric: val/loss, mode: min}
        search: {sampler: SAMPLER, num_trials: 4, early_stopping: {type: pbt, INTERVAL}}
        parameters: {lr: {type: float, low: 1.0e-4, high: 0.3, log: true}}
    """
    def bad(**kw):
        body = base
        for key, value in {"WORKLOAD": "quadratic", "SAMPLER": "random", "INTERVAL": "perturbation_interval: 4", **kw}.items():
            body = body.replace(key, value)
        with pytest.raises(SpecError) as err:
            sweep(tmp_path, body)
        return str(err.value)

    assert "pbt needs perturbation_interval" in bad(INTERVAL="quantile_fraction: 0.25")
    assert "cannot follow the tpe sampler; use sampler: random" in bad(SAMPLER="tpe")
    assert "nsr offers no state_dict" in bad(WORKLOAD="nsr").replace("val/loss", "")
