"""The seqlab command as a user runs it: fast inspection commands, a real run, resume, claims."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.cli import app

SEQLAB = [sys.executable, "-m", "orchestrator.cli"]


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def test_list_shows_name_family_paper_and_objective():
    result = invoke("list")
    assert result.exit_code == 0
    row = next(line for line in result.output.splitlines() if line.strip().startswith("quadratic"))
    assert "probe" in row and "min val/loss" in row


def test_describe_shows_every_config_field_with_type_default_and_doc():
    result = invoke("describe", "quadratic")
    assert result.exit_code == 0
    for field, default in [("lr", "0.05"), ("hang_at_step", "-1"), ("seed", "0")]:
        line = next(line for line in result.output.splitlines() if line.strip().startswith(field + " "))
        assert default in line
    assert "Step size of gradient descent." in result.output


def test_describe_unknown_workload_suggests_names():
    result = invoke("describe", "quadratik")
    assert result.exit_code == 2
    assert "did you mean quadratic" in result.output


def test_kernels_shows_each_op_backends_and_the_default_here():
    result = invoke("kernels")
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.output.splitlines()[1:] if line.strip()}
    assert set(rows) == {"delta_rule", "gated_linear_attention", "prefix_attention", "s4d_kernel", "selective_scan"}
    assert rows["selective_scan"][1:4] == ["yes", "yes", "yes"] and "cpp" in rows["selective_scan"]
    assert rows["prefix_attention"][1:5] == ["yes", "yes", "—", "—"] and "chunk" in rows["prefix_attention"]


def test_schema_is_json_schema_of_the_sweep_file():
    result = invoke("schema")
    schema = json.loads(result.output)
    assert schema["title"] == "Seqlab sweep"
    assert {"name", "workload", "objective", "search", "parameters"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False
    # parallelism is typed (stages, micro-batches...), not an opaque mapping
    parallelism = schema["$defs"]["Parallelism"]["properties"]
    assert {"pipeline_stages", "micro_batches", "data_parallel", "zero_stage"} <= set(parallelism)


def test_help_does_not_import_the_heavy_stack():
    code = "import sys; from orchestrator import cli; print(sorted(m for m in ('ray','torch','mlflow','optuna','deepspeed') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


SWEEP = """\
name: resumable
workload: quadratic
objective: {metric: val/loss, mode: min}
search: {sampler: tpe, seed: 0, num_trials: 4, max_concurrent: 1}
parameters: {lr: {type: float, low: 1.0e-3, high: 0.3, log: true}}
fixed: {steps: 12, eval_every: 2, sleep_s: 0.4}
"""


def _progress(runs: Path) -> dict[str, list[float]]:
    """Steps each trial reported so far, from Tune's result.json files."""
    out = {}
    for result in (runs / "resumable").glob("*/result.json"):
        steps = [json.loads(line)["step"] for line in result.read_text().splitlines() if line.strip()]
        out[result.parent.name] = steps
    return out


def test_an_interrupted_sweep_resumes_without_rerunning_finished_trials(tmp_path):
    (tmp_path / "sweep.yaml").write_text(SWEEP)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [*SEQLAB, "run", "sweep.yaml", "--num-cpus", "2"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    runs = tmp_path / "seqlab-runs"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:  # wait for one finished trial and one past its first checkpoint
        progress = _progress(runs)
        finished = [s for s in progress.values() if s and s[-1] == 12]
        midway = [s for s in progress.values() if s and 4 <= s[-1] < 10]
        if finished and midway:
            break
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("the sweep did not get going: " + (proc.stdout.read() if proc.stdout else ""))
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    assert "seqlab run --resume sweep.yaml" in out
    before = _progress(runs)

    resumed = subprocess.run([*cmd, "--resume"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    after = _progress(runs)
    assert len(after) == 4  # the final trial count equals num_trials
    for name, steps in before.items():
        if steps[-1] == 12:
            assert after[name] == steps  # finished before: not run again
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{runs / 'mlflow.db'}")
    [exp] = [e for e in client.search_experiments() if e.name == "resumable"]
    runs_ = client.search_runs([exp.experiment_id])
    parents = [r for r in runs_ if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs_ if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert len(children) == 4
    for child in children:
        steps = [m.step for m in client.get_metric_history(child.info.run_id, "val/loss")]
        assert steps == sorted(set(steps)) and steps[-1] == 12, steps  # continued, never restarted


def test_resume_without_a_run_is_a_clear_error(tmp_path):
    (tmp_path / "sweep.yaml").write_text(SWEEP)
    result = subprocess.run([*SEQLAB, "run", "sweep.yaml", "--resume"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 2
    assert "nothing to resume" in result.stderr and "Traceback" not in result.stderr


CLAIM = """\
name: probe-momentum
paper: "probe"
metric: val/loss
seeds: [0, 1, 2]
arms:
  heavy: {workload: quadratic, fixed: {lr: 0.05, momentum: 0.9, steps: 30, eval_every: 10}}
  plain: {workload: quadratic, fixed: {lr: 0.001, steps: 30, eval_every: 10}}
expect:
  - "mean(heavy) < mean(plain)"
  - "EXPECT"
"""


@pytest.mark.parametrize("expectation,code,verdict", [("mean(heavy) <= 0.5 * mean(plain)", 0, "PASS"), ("std(plain) > 100", 1, "FAIL")])
def test_claim_prints_the_verdict_exits_by_it_and_tags_mlflow(tmp_path, expectation, code, verdict):
    (tmp_path / "claim.yaml").write_text(CLAIM.replace("EXPECT", expectation))
    result = subprocess.run([*SEQLAB, "claim", "claim.yaml", "--num-cpus", "2"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == code, result.stdout + result.stderr
    assert verdict in result.stdout and "heavy" in result.stdout and "± " in result.stdout
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'seqlab-runs' / 'mlflow.db'}")
    [exp] = [e for e in client.search_experiments() if e.name == "claims"]
    parents = [r for r in client.search_runs([exp.experiment_id]) if "mlflow.parentRunId" not in r.data.tags]
    assert parents[0].data.tags["seqlab.verdict"] == verdict
    assert len(client.search_runs([exp.experiment_id])) == 1 + 6  # parent + arms x seeds


def test_claim_naming_an_unknown_arm_is_a_spec_error(tmp_path):
    (tmp_path / "claim.yaml").write_text(CLAIM.replace("EXPECT", "mean(heavvy) < 1"))
    result = invoke("validate", str(tmp_path / "claim.yaml"))
    assert result.exit_code == 2
    assert "names unknown arm(s) heavvy" in result.output


def test_claims_board_runs_a_folder_and_update_reruns_only_the_named_claim(tmp_path):
    folder = tmp_path / "claims"
    folder.mkdir()
    (folder / "a_pass.yaml").write_text(CLAIM.replace("EXPECT", "mean(heavy) <= 0.5 * mean(plain)").replace("probe-momentum", "a-pass"))
    (folder / "b_fail.yaml").write_text(CLAIM.replace("EXPECT", "std(plain) > 100").replace("probe-momentum", "b-fail"))
    board = tmp_path / "board.md"
    cmd = [*SEQLAB, "claims", "--dir", str(folder), "--report", str(board), "--num-cpus", "2"]
    first = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert first.returncode == 1, first.stdout + first.stderr  # one claim FAILs
    rows = [line for line in board.read_text().splitlines() if line.startswith("| [a_pass]") or line.startswith("| [b_fail]")]
    assert [r.split("|")[2].strip() for r in rows] == ["PASS", "FAIL"], board.read_text()

    (folder / "b_fail.yaml").write_text(CLAIM.replace("EXPECT", "std(plain) < 100").replace("probe-momentum", "b-fail"))
    again = subprocess.run([*cmd, "--only", "b_fail", "--update"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    text = board.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| [a_pass]") or line.startswith("| [b_fail]")]
    assert [r.split("|")[2].strip() for r in rows] == ["PASS", "PASS"], text
    assert "Rows re-run at " in text and ": b_fail;" in text


def test_claim_holdout_runs_the_unseen_seeds_as_a_second_mlflow_parent(tmp_path):
    (tmp_path / "claim.yaml").write_text(CLAIM.replace("EXPECT", "mean(heavy) <= 0.5 * mean(plain)").replace("seeds: [0, 1, 2]", "seeds: [0, 1]"))
    cmd = [*SEQLAB, "claim", "claim.yaml", "--num-cpus", "2", "--holdout", "--holdout-seeds", "300,301"]
    result = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS on evaluation seeds 0, 1" in result.stdout and "PASS on holdout seeds 300, 301" in result.stdout
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'seqlab-runs' / 'mlflow.db'}")
    [exp] = [e for e in client.search_experiments() if e.name == "claims"]
    parents = {r.data.tags["seqlab.seed_set"]: r for r in client.search_runs([exp.experiment_id]) if "mlflow.parentRunId" not in r.data.tags}
    assert set(parents) == {"evaluation", "holdout"}
    assert parents["holdout"].data.tags["seqlab.seeds"] == "300,301"
    assert parents["holdout"].data.tags["seqlab.verdict"] == "PASS"


@pytest.mark.parametrize("args,message", [
    (["--holdout-seeds", "1,300"], "seed(s) [1] are probe-momentum's calibration or evaluation seeds"),
    (["--calibrate", "--holdout"], "--calibrate runs the calibration seeds only"),
    (["--holdout-seeds", "3,x"], "--holdout-seeds takes comma-separated integers"),
])
def test_claim_refuses_holdout_seeds_that_are_not_unseen(tmp_path, args, message):
    (tmp_path / "claim.yaml").write_text(CLAIM.replace("EXPECT", "mean(heavy) < 1"))
    result = invoke("claim", str(tmp_path / "claim.yaml"), *args)
    assert result.exit_code == 2
    assert message in result.output


def test_claims_only_naming_no_claim_file_is_a_clear_error(tmp_path):
    folder = tmp_path / "claims"
    folder.mkdir()
    (folder / "a_pass.yaml").write_text(CLAIM.replace("EXPECT", "mean(heavy) < 1"))
    result = invoke("claims", "--dir", str(folder), "--only", "a_pas")
    assert result.exit_code == 2
    assert "--only names no claim file" in result.output and "a_pas" in result.output and "have: a_pass" in result.output
