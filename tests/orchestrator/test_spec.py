"""Bad sweep files: each gives one line naming the problem, exit status 2, no traceback."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.cli import app
from orchestrator.spec import load_sweep, parse_duration
from orchestrator.yamlio import SpecError

GOOD = """\
name: probe
workload: quadratic
objective: {metric: val/loss, mode: min}
search: {sampler: tpe, num_trials: 4}
parameters:
  lr: {type: float, low: 1.0e-3, high: 0.5, log: true}
  momentum: {type: categorical, values: [0.0, 0.9]}
fixed: {steps: 20}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def validate(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["validate", str(path)])
    return result.exit_code, result.output


def test_a_good_file_validates(tmp_path):
    code, out = validate(write(tmp_path, GOOD))
    assert code == 0, out
    assert "valid sweep 'probe'" in out


BAD = [
    pytest.param(GOOD.replace("search: {", "search: {{"), r"sweep.yaml:\d+:\d+: malformed YAML", id="malformed-yaml-line-and-column"),
    pytest.param(GOOD.replace("search:", "serach:"), r"sweep.yaml:4: unknown key 'serach' \(did you mean 'search'\?\)", id="unknown-key-closest"),
    pytest.param(GOOD.replace("num_trials: 4", "num_trails: 4"), r"unknown key 'search.num_trails' \(did you mean 'num_trials'\?\)", id="unknown-nested-key"),
    pytest.param(GOOD.replace("workload: quadratic", "workload: quadratc"), r"sweep.yaml:2: workload: unknown workload 'quadratc'; did you mean quadratic", id="unknown-workload-closest"),
    pytest.param(GOOD.replace("  momentum:", "  momentun:"), r"sweep.yaml:7: parameters.momentun: not a field of quadratic's Config \(did you mean 'momentum'\?\)", id="parameter-not-a-field"),
    pytest.param(GOOD.replace("steps: 20", "steps: twenty"), r"fixed.steps: 'twenty' does not fit", id="wrong-type-fixed"),
    pytest.param(GOOD.replace("values: [0.0, 0.9]", "values: [0.0, fast]"), r"parameters.momentum: 'fast' does not fit", id="wrong-type-categorical"),
    pytest.param(GOOD.replace("low: 1.0e-3", "low: 0.0"), r"parameters.lr: low must be > 0 when log: true", id="log-with-low-zero"),
    pytest.param(GOOD.replace("low: 1.0e-3, high: 0.5, log: true", "low: 0.5, high: 0.5"), r"parameters.lr: low \(0.5\) must be < high \(0.5\)", id="low-not-below-high"),
    pytest.param(GOOD.replace("values: [0.0, 0.9]", "values: []"), r"parameters.momentum.values: values must list at least one choice", id="empty-categorical"),
    pytest.param(GOOD.replace("num_trials: 4", "num_trials: 0"), r"search.num_trials: num_trials must be > 0", id="no-trials"),
    pytest.param(GOOD.replace("fixed: {steps: 20}", "fixed: {steps: 20, lr: 0.1}"), r"lr is both searched", id="searched-and-fixed"),
    pytest.param(GOOD.replace("sampler: tpe", "sampler: grid"), r"grid sampler needs categorical or int", id="grid-with-float"),
    pytest.param(GOOD.replace("num_trials: 4}", "num_trials: 4, max_concurrent: 2, early_stopping: {type: hyperband}}"),
                 r"search.max_concurrent: hyperband pauses trials .* max_concurrent \(2\) < num_trials \(4\)", id="hyperband-concurrency"),
    pytest.param(GOOD.replace("sampler: tpe", "sampler: annealing_zz"), r"sweep.yaml:4: search.sampler: 'annealing_zz' is not one of 'tpe', 'random'", id="invalid-choice-echoed"),
    pytest.param(GOOD.replace("mode: min", "mode: minimise"), r"sweep.yaml:3: objective.mode: 'minimise' is not one of 'min' or 'max'", id="invalid-mode-echoed"),
]


@pytest.mark.parametrize("text,pattern", BAD)
def test_bad_file_gives_one_line_exit_2(tmp_path, text, pattern):
    code, out = validate(write(tmp_path, text))
    assert code == 2
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out
    assert "Traceback" not in out
    import re

    assert re.search(pattern, lines[0]), lines[0]


def test_missing_file(tmp_path):
    code, out = validate(tmp_path / "nope.yaml")
    assert code == 2
    assert "nope.yaml: no such file" in out


def test_real_process_exits_2_without_traceback(tmp_path):
    path = write(tmp_path, GOOD.replace("serach", "x").replace("search:", "serach:"))
    proc = subprocess.run([sys.executable, "-m", "orchestrator.cli", "validate", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("seqlab: ") and "unknown key 'serach'" in proc.stderr


def test_floats_in_exponent_form_read_as_numbers(tmp_path):
    spec, _ = load_sweep(write(tmp_path, GOOD.replace("low: 1.0e-3", "low: 1e-3")))
    assert spec.parameters["lr"].low == pytest.approx(1e-3)


@pytest.mark.parametrize("text,seconds", [("90", 90), ("90s", 90), ("10m", 600), ("1.5h", 5400), (30, 30)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


def test_bad_duration_names_the_value():
    with pytest.raises(ValueError, match="'ten minutes'"):
        parse_duration("ten minutes")


def test_every_shipped_sweep_validates():
    root = Path(__file__).resolve().parents[2] / "sweeps"
    files = [p for p in root.glob("*.yaml")]
    assert (root / "quickstart.yaml") in files
    for path in files:
        try:
            load_sweep(path)
        except SpecError as err:  # pragma: no cover - the message is the point
            pytest.fail(str(err))


def test_a_capitalised_parameter_keeps_its_name_and_line(tmp_path):
    # s4, lssl and s4_survey have fields named H and N; the location must not drop them
    text = """\
    name: probe
    workload: s4
    objective: {metric: val/acc, mode: max}
    parameters:
      H:
        type: categorical
        values: [16, 32]
        lgo: true
    """
    code, out = validate(write(tmp_path, text))
    assert code == 2
    assert "sweep.yaml:8: unknown key 'parameters.H.lgo'" in out, out
