"""`seqlab compare` reads a real sweep and a real claim back from MLflow and writes tables, CSV and plots."""

from __future__ import annotations

import csv
import json
import textwrap

import pytest
from typer.testing import CliRunner

from orchestrator import compare
from orchestrator.cli import app

SWEEP = {
    "name": "cmp-pareto",
    "workload": "quadratic",
    "objective": [{"metric": "val/loss", "mode": "min"}, {"metric": "train/loss", "mode": "min"}],
    "search": {"sampler": "nsga2", "seed": 0, "num_trials": 6, "max_concurrent": 2},
    "parameters": {
        "lr": {"type": "float", "low": 1.0e-3, "high": 0.3, "log": True},
        "seed": {"type": "categorical", "values": [0, 1]},
    },
    "fixed": {"steps": 6, "eval_every": 2},
}
CLAIM = textwrap.dedent("""\
    # Probe claim: a larger step size descends the bowl faster.
    name: cmp-claim
    paper: "none (probe)"
    metric: val/loss
    seeds: [0, 1, 2]
    arms:
      fast: {workload: quadratic, fixed: {lr: 0.1, steps: 6, eval_every: 2}}
      slow: {workload: quadratic, fixed: {lr: 0.005, steps: 6, eval_every: 2}}
    expect:
      - "mean(fast) < mean(slow)"
""")


@pytest.fixture(scope="module")
def store(ray_local, tmp_path_factory):
    """A sweep and a claim run in-process, tracked in one SQLite MLflow store."""
    import os

    from orchestrator.claim_run import run_claim
    from orchestrator.claims import load_claim
    from orchestrator.runs import run_sweep
    from orchestrator.spec import parse_sweep
    from orchestrator.tracking import default_uri

    runs = tmp_path_factory.mktemp("runs")
    old = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        spec = parse_sweep(SWEEP)
        outcome = run_sweep(spec, json.dumps(SWEEP), runs_dir=runs)
        claim_file = runs / "claim.yaml"
        claim_file.write_text(CLAIM)
        claim, text = load_claim(claim_file)
        result = run_claim(claim, text, runs_dir=runs)
    finally:
        if old is not None:
            os.environ["MLFLOW_TRACKING_URI"] = old
    return default_uri(runs), outcome, result, runs


def test_pareto_front_keeps_only_undominated_points():
    points = [(1, 5), (2, 2), (3, 1), (3, 3), (5, 5)]
    assert compare.pareto_front(points, ("min", "min")) == [0, 1, 2]
    assert compare.pareto_front(points, ("max", "max")) == [4]


def test_sweep_compare_ranks_trials_groups_seeds_and_writes_every_plot(store, tmp_path):
    uri, outcome, _, _ = store
    report = compare.compare(uri, "cmp-pareto", out=tmp_path / "out", top=3)
    assert report.metric == "val/loss" and report.mode == "min"
    assert len(report.trials) == 6
    finals = sorted(t.metrics["val/loss"] for t in outcome.trials)
    assert [t.metrics["val/loss"] for t in report.best] == pytest.approx(finals[:3])
    for group in report.groups:  # seed is searched: mean ± std over seeds per configuration
        assert group.key.startswith("lr=") and group.n >= 1
    names = {p.name for p in report.files}
    assert {"summary.txt", "trials.csv", "learning_curves.png", "param_lr.png", "param_seed.png", "pareto.png"} <= names
    assert all(p.stat().st_size > 1000 for p in report.files if p.suffix == ".png")
    rows = list(csv.DictReader(open(tmp_path / "out" / "trials.csv")))
    assert len(rows) == 6 and {"param/lr", "param/seed", "val/loss", "train/loss"} <= set(rows[0])


def test_compare_logs_its_files_as_artifacts_of_the_parent_run(store, tmp_path):
    from orchestrator.tracking import client_for

    uri, outcome, _, _ = store
    report = compare.compare(uri, "cmp-pareto", out=tmp_path / "out")
    logged = {f.path for f in client_for(uri).list_artifacts(outcome.parent_run_id, compare.ARTIFACT_DIR)}
    assert report.parent_run_id == outcome.parent_run_id
    assert {"compare/trials.csv", "compare/pareto.png", "compare/learning_curves.png"} <= logged


def test_claim_compare_gives_mean_and_std_per_arm_over_seeds(store, tmp_path):
    uri, _, result, _ = store
    report = compare.compare(uri, "cmp-claim", out=tmp_path / "claim")
    groups = {g.key: g for g in report.groups}
    assert set(groups) == {"arm=fast", "arm=slow"} and all(g.n == 3 for g in groups.values())
    mean, std, n = result.summary("fast")
    assert groups["arm=fast"].mean == pytest.approx(mean) and groups["arm=fast"].std == pytest.approx(std)
    assert f"verdict {result.verdict}" in report.text
    assert "groups.png" in {p.name for p in report.files}


def test_claim_child_runs_are_named_by_arm_and_seed(store):
    from mlflow.tracking import MlflowClient

    uri, _, result, _ = store
    client = MlflowClient(uri)
    parent = client.get_run(result.parent_run_id)
    children = client.search_runs(
        [parent.info.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{result.parent_run_id}'"
    )
    assert sorted(c.info.run_name for c in children) == [f"{arm}/seed{k}" for arm in ("fast", "slow") for k in range(3)]


def test_compare_cli_prints_the_table_and_unknown_names_fail_cleanly(store, tmp_path):
    uri, _, _, _ = store
    ok = CliRunner().invoke(app, ["compare", "cmp-pareto", "--tracking-uri", uri, "--out", str(tmp_path / "cli"), "--metric", "train/loss"])
    assert ok.exit_code == 0, ok.output
    assert "ranked by min train/loss" in ok.output and "best trials:" in ok.output
    missing = CliRunner().invoke(app, ["compare", "no-such-sweep", "--tracking-uri", uri])
    assert missing.exit_code == 2 and "no sweep or claim named 'no-such-sweep'" in missing.output


IMPORTANCE_SWEEP = {
    "name": "cmp-importance",
    "workload": "quadratic",
    "objective": {"metric": "val/loss", "mode": "min"},
    "search": {"sampler": "random", "seed": 0, "num_trials": 12, "max_concurrent": 2},
    "parameters": {  # lr decides the loss after 20 steps; sleep_s only slows a step down
        "lr": {"type": "float", "low": 1.0e-3, "high": 0.5, "log": True},
        "sleep_s": {"type": "float", "low": 0.0, "high": 0.001},
    },
    "fixed": {"steps": 20, "eval_every": 20},
}


def test_compare_ranks_the_parameter_that_matters_first(ray_local, tmp_path):
    import os

    from orchestrator.runs import run_sweep
    from orchestrator.spec import parse_sweep
    from orchestrator.tracking import client_for, default_uri

    old = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        outcome = run_sweep(parse_sweep(IMPORTANCE_SWEEP), json.dumps(IMPORTANCE_SWEEP), runs_dir=tmp_path / "runs")
    finally:
        if old is not None:
            os.environ["MLFLOW_TRACKING_URI"] = old
    uri = default_uri(tmp_path / "runs")
    report = compare.compare(uri, "cmp-importance", out=tmp_path / "out")
    assert list(report.importances) == ["lr", "sleep_s"], report.importances
    assert report.importances["lr"] > 0.7 > report.importances["sleep_s"]
    assert sum(report.importances.values()) == pytest.approx(1.0)
    assert f"parameter importance for val/loss ({report.importance_by}):" in report.text
    assert "fANOVA" in report.importance_by or "PED-ANOVA" in report.importance_by
    assert "importance.png" in {p.name for p in report.files}
    logged = {f.path for f in client_for(uri).list_artifacts(outcome.parent_run_id, compare.ARTIFACT_DIR)}
    assert "compare/importance.png" in logged
    again = compare.compare(uri, "cmp-importance", out=tmp_path / "again", log=False)
    assert again.importances == report.importances  # seeded: the same figures each time


def test_importances_say_why_when_there_is_too_little(store, tmp_path):
    uri, _, _, _ = store
    claim = compare.compare(uri, "cmp-claim", out=tmp_path / "claim")
    assert claim.importances == {} and "parameter importance" not in claim.text  # arms and seeds are not searched
    from orchestrator.importance import importances

    few = [compare.Trial("r", "t", "completed", {"lr": 0.1, "momentum": 0.0}, {"val/loss": 1.0})] * 3
    assert importances(few, "val/loss", "min", {"lr": {}, "momentum": {}}) == ({}, "3 completed trials report val/loss: importances need at least 4")


def test_importance_replays_trials_in_the_searchs_own_distributions():
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    from orchestrator.importance import sweep_distributions
    from orchestrator.search import distributions
    from orchestrator.spec import parse_sweep

    block = {"lr": {"type": "float", "low": 1.0e-3, "high": 0.3, "log": True},
             "H": {"type": "categorical", "values": [16, 32]}, "n": {"type": "int", "low": 1, "high": 9, "step": 2}}  # fmt: skip
    found = sweep_distributions(block)
    assert found == {"lr": FloatDistribution(1.0e-3, 0.3, log=True), "H": CategoricalDistribution([16, 32]),
                     "n": IntDistribution(1, 9, step=2)}  # fmt: skip
    sweep = parse_sweep({"name": "x", "workload": "quadratic", "objective": {"metric": "val/loss", "mode": "min"},
                         "parameters": block})  # fmt: skip
    assert found == distributions(sweep)
    assert sweep_distributions({"lr": {"type": "floaty"}}) == {}  # an old or broken block: ranges come from the trials
