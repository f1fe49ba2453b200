"""Claims: a paper's headline result at toy scale, checked over seeds.

A claim file names arms (workload + fixed config), seeds and expectations over the arms' final
metrics (grammar in :mod:`orchestrator.expr`). ``run_claim`` runs every arm × seed as one Tune
run, records a parent MLflow run tagged PASS or FAIL, and returns the evidence. A claim that
does not reproduce is a FAIL with its numbers, not something to hide.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pydantic import Field, ValidationError, field_validator, model_validator

from orchestrator.expr import Expectation, ExprError, check, parse
from orchestrator.spec import Resources, Strict, Tracking, spec_hash
from orchestrator.yamlio import SpecError, load_model


class Arm(Strict):
    workload: str = Field(description="A registered workload.")
    fixed: dict[str, Any] = Field(default_factory=dict, description="Config values for this arm.")


class ClaimSpec(Strict):
    """A claim file (``sweeps/claims/<paper>.yaml``)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Claim name; names its folder and MLflow run.")
    paper: str = Field(description="The paper whose result this checks.")
    metric: str = Field(description="Default metric of the expectations (each arm's final evaluated value).")
    seeds: list[int] = Field(description="Seeds every arm runs with.")
    arms: dict[str, Arm] = Field(description="Arm name -> workload and fixed config.")
    expect: list[str] = Field(description="Expectations, e.g. \"mean(s6) - mean(lti) >= 0.3\".")
    resources: Resources = Field(default_factory=Resources, description="Per-trial resources.")
    max_concurrent: int = Field(2, ge=1, description="Trials running at the same time.")
    tracking: Tracking = Field(default_factory=Tracking, description="Where MLflow records the claim.")

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, seeds: list[int]) -> list[int]:
        if not seeds:
            raise ValueError("seeds must list at least one seed")
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds repeat: {seeds}")
        return seeds

    @model_validator(mode="after")
    def _expectations(self) -> "ClaimSpec":
        if not self.arms:
            raise ValueError("arms must name at least one arm")
        if not self.expect:
            raise ValueError("expect must list at least one expectation")
        for text in self.expect:
            exp = parse(text)
            unknown = sorted(exp.arms() - set(self.arms))
            if unknown:
                raise ValueError(f"expectation {text!r} names unknown arm(s) {', '.join(unknown)} (arms: {', '.join(self.arms)})")
        return self

    def expectations(self) -> list[Expectation]:
        return [parse(text) for text in self.expect]


def load_claim(path: str | Path, *, check_workloads: bool = True) -> tuple[ClaimSpec, str]:
    """Read and check a claim file; every problem is a one-line SpecError."""
    try:
        return load_model(path, ClaimSpec, what="claim", check=check_arms if check_workloads else None)
    except ExprError as err:
        raise SpecError(f"{path}: expect: {err}") from None


def check_arms(spec: ClaimSpec) -> None:
    """Each arm's workload exists and its fixed values (with each seed) fit its Config."""
    from orchestrator.registry import UnknownWorkload, load

    for arm_name, arm in spec.arms.items():
        try:
            wl = load(arm.workload)
        except UnknownWorkload as err:
            raise SpecError(f"arms.{arm_name}.workload: {err}", key=("arms", arm_name, "workload")) from None
        try:
            wl.make_config({**arm.fixed, "seed": spec.seeds[0]})
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise SpecError(
                f"arms.{arm_name}.fixed.{where}: {first['msg']}", key=("arms", arm_name, "fixed", where)
            ) from None


def families(spec: ClaimSpec) -> set[str]:
    """The families of the workloads a claim runs."""
    from orchestrator.registry import load

    return {load(arm.workload).family for arm in spec.arms.values()}


@dataclass
class ExpectationResult:
    text: str
    holds: bool
    left: float | None
    right: float | None
    problem: str | None = None


@dataclass
class ClaimResult:
    """The evidence of one claim run."""

    name: str
    paper: str
    metric: str
    verdict: str  # PASS | FAIL
    values: dict[str, dict[str, list[float]]]  # arm -> metric -> per-seed values
    expectations: list[ExpectationResult]
    failed_trials: list[str]
    seconds: float
    parent_run_id: str | None = None
    tracking_uri: str = ""
    arm_order: list[str] = field(default_factory=list)

    def summary(self, arm: str) -> tuple[float, float, int] | None:
        series = self.values.get(arm, {}).get(self.metric, [])
        if not series:
            return None
        std = statistics.stdev(series) if len(series) > 1 else 0.0
        return statistics.fmean(series), std, len(series)

    def to_json(self) -> str:
        return json.dumps(
            {
                "name": self.name, "paper": self.paper, "metric": self.metric, "verdict": self.verdict,
                "values": self.values, "seconds": round(self.seconds, 1), "failed_trials": self.failed_trials,
                "expectations": [e.__dict__ for e in self.expectations],
            },
            indent=2,
        )


def judge(spec: ClaimSpec, values: dict[str, dict[str, list[float]]], failed: list[str], seconds: float) -> ClaimResult:
    """Check every expectation against per-seed values; PASS only if all hold."""
    results = []
    for exp in spec.expectations():
        holds, left, right, problem = check(exp, values, spec.metric)
        results.append(ExpectationResult(exp.text, holds, left, right, problem))
    verdict = "PASS" if all(r.holds for r in results) else "FAIL"
    return ClaimResult(spec.name, spec.paper, spec.metric, verdict, values, results, failed, seconds, arm_order=list(spec.arms))


def run_claim(
    spec: ClaimSpec,
    text: str,
    *,
    runs_dir: Path,
    fresh: bool = True,
    on_change: Callable | None = None,
    num_cpus: int | None = None,
) -> ClaimResult:
    """Run all arms × seeds as one Tune run and judge the expectations."""
    from orchestrator import sweep, tracking
    from orchestrator.runs import prepare_folder
    from orchestrator.trial import TrialPlan

    started = time.monotonic()
    digest = spec_hash(text)
    sweep.ensure_ray(num_cpus)
    sweep.check_resources(spec.resources.cpu, spec.resources.gpu)
    name = f"claim-{spec.name}"
    _, key = prepare_folder(runs_dir, name, resume=False, fresh=fresh, digest=digest)
    workloads = sorted({arm.workload for arm in spec.arms.values()})
    recorder = tracking.Recorder(
        spec.tracking.uri or tracking.default_uri(runs_dir),
        spec.tracking.experiment or "claims",
        name,
        tags={**tracking.run_tags("claim", spec.name, ",".join(workloads), digest), "seqlab.paper": spec.paper[:250]},
        artifacts={"claim.yaml": text},
        resume_key=key,
        artifact_root=runs_dir / "artifacts",
    )
    plan = TrialPlan(
        workload=workloads[0],
        cpus=spec.resources.cpu,
        arms={arm_name: (arm.workload, dict(arm.fixed)) for arm_name, arm in spec.arms.items()},
    )
    try:
        outcome = sweep.run_tune(
            name=name,
            plan=plan,
            runs_dir=runs_dir,
            recorder=recorder,
            param_space={"arm": {"grid_search": list(spec.arms)}, "seed": {"grid_search": list(spec.seeds)}},
            max_concurrent=spec.max_concurrent,
            cpu=spec.resources.cpu,
            gpu=spec.resources.gpu,
            on_change=on_change,
        )
    except BaseException:
        recorder.finish("KILLED")
        raise
    values: dict[str, dict[str, list[float]]] = {arm: {} for arm in spec.arms}
    failed = []
    for trial in sorted(outcome.trials, key=lambda t: (str(t.params.get("arm")), t.params.get("seed", 0))):
        arm = trial.params.get("arm")
        if trial.outcome != "completed":
            failed.append(f"{arm} seed {trial.params.get('seed')}: {trial.outcome}")
            continue
        for metric, value in trial.metrics.items():
            values.setdefault(arm, {}).setdefault(metric, []).append(value)
    result = judge(spec, values, failed, time.monotonic() - started)
    result.tracking_uri = recorder.uri
    metrics = {}
    for arm in spec.arms:
        summary = result.summary(arm)
        if summary:
            metrics[f"{arm}/mean"], metrics[f"{arm}/std"] = summary[0], summary[1]
    recorder.parent_metrics(metrics)
    parent = recorder.finish(
        "FINISHED",
        tags={"seqlab.verdict": result.verdict},
        artifacts={"claim-result.json": result.to_json()},
    )
    result.parent_run_id = parent.run_id if parent else None
    return result


def discover(folder: Path) -> list[Path]:
    """Claim files in ``folder``, sorted by name."""
    return sorted(p for p in folder.glob("*.yaml") if p.is_file())


def board_markdown(rows: list[tuple[ClaimResult | None, Path, str]]) -> str:
    """The claims board: one row per claim with verdict, key numbers and run time."""
    lines = [
        "| claim | paper | verdict | key numbers (mean ± std over seeds) | run time |",
        "|---|---|---|---|---|",
    ]
    for result, path, problem in rows:
        if result is None:
            lines.append(f"| {path.stem} | | ERROR | {problem} | |")
            continue
        numbers = []
        for arm in result.arm_order:
            summary = result.summary(arm)
            numbers.append(f"{arm} {summary[0]:.3g} ± {summary[1]:.2g}" if summary else f"{arm} n/a")
        checks = "; ".join(
            f"`{e.text}` {'✓' if e.holds else '✗'}" + (f" ({e.left:.3g} vs {e.right:.3g})" if e.left is not None else "")
            for e in result.expectations
        )
        lines.append(
            f"| {path.stem} | {result.paper} | {result.verdict} | {result.metric}: {', '.join(numbers)}<br>{checks} | {result.seconds:.0f} s |"
        )
    return "\n".join(lines) + "\n"


def merge_board(old: str, new: str) -> str:
    """Board ``new`` with the rows of ``old`` it does not re-run kept, all in claim-name order.

    Rows are keyed by their first cell (the claim file's stem); text outside the table in
    ``old`` is dropped, so the caller writes a fresh heading.
    """
    def rows(board: str) -> dict[str, str]:
        table = [line for line in board.splitlines() if line.startswith("| ") and not line.startswith("| claim |")]
        return {line.split("|")[1].strip(): line for line in table}

    merged = {**rows(old), **rows(new)}
    header = board_markdown([]).splitlines()
    return "\n".join(header + [merged[name] for name in sorted(merged)]) + "\n"
