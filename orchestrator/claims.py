"""Claims: a paper's headline result at toy scale, checked over seeds.

A claim file names arms (workload + fixed config), three disjoint seed sets, the paper's claim
as expectations over the arms' final metrics (grammar in :mod:`orchestrator.expr`), sanity
checks on the setup, and caveats. ``orchestrator.claim_run.run_claim`` runs every arm × seed of one
seed set as one Tune run, records a parent MLflow run tagged with the verdict, and returns the
evidence. The verdict
is PASS only when every trial completed and every expectation and sanity check holds; a failed,
timed-out or missing trial makes it INCOMPLETE; a claim that does not reproduce is a FAIL with
its numbers, not something to hide. The board is rendered by :mod:`orchestrator.board`."""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from pydantic import Field, ValidationError, field_validator, model_validator

from orchestrator.expr import Expectation, ExprError, check, parse
from orchestrator.spec import Resources, Strict, Tracking
from orchestrator.yamlio import SpecError, load_model


SEED_SETS = ("calibration", "evaluation", "holdout")


class Arm(Strict):
    workload: str = Field(description="A registered workload.")
    fixed: dict[str, Any] = Field(default_factory=dict, description="Config values for this arm.")
    budget: Optional[str] = Field(
        None,
        description="What this arm's training budget is when its Config's steps (or budget_s) do not say it, "
        "e.g. 'closed form' or '30 epochs'; shown on the board beside the derived budget.",
    )


def _seed_list(what: str, seeds: list[int]) -> list[int]:
    if not seeds:
        raise ValueError(f"{what} must list at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"{what} repeat: {seeds}")
    return seeds


class ClaimSpec(Strict):
    """A claim file (``sweeps/claims/<paper>.yaml``).

    Three disjoint seed sets keep a PASS honest: task sizes and thresholds are set on
    ``calibration_seeds``; ``seeds`` (the evaluation seeds) are run for the board; and
    ``holdout_seeds`` are run by ``seqlab claims --holdout`` to show a claim tuned to its seeds.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Claim name; names its folder and MLflow run.")
    paper: str = Field(description="The paper whose result this checks.")
    metric: str = Field(description="Default metric of the expectations (each arm's final evaluated value).")
    calibration_seeds: list[int] = Field(
        default_factory=lambda: [100, 101, 102],
        description="Seeds on which task sizes, budgets and thresholds are set (seqlab claim --calibrate runs them).",
    )
    seeds: list[int] = Field(
        default_factory=lambda: [0, 1, 2], description="Evaluation seeds: run for the board, never tuned on."
    )
    holdout_seeds: list[int] = Field(
        default_factory=lambda: [200, 201, 202],
        description="Unseen seeds for the board's holdout column (seqlab claims --holdout).",
    )
    arms: dict[str, Arm] = Field(description="Arm name -> workload and fixed config.")
    expect: list[str] = Field(description="The paper's claim as expectations, e.g. \"mean(s6) - mean(lti) >= 0.3\".")
    sanity: list[str] = Field(
        default_factory=list,
        description="Checks that guard the setup (identities, bounds a correct run always meets); must hold "
        "for PASS and are shown apart from the claim.",
    )
    caveats: list[str] = Field(
        default_factory=list, description="What a reader must know about this toy-scale check (budgets cut, baselines weakened)."
    )
    resources: Resources = Field(default_factory=Resources, description="Per-trial resources.")
    max_concurrent: int = Field(2, ge=1, description="Trials running at the same time.")
    tracking: Tracking = Field(default_factory=Tracking, description="Where MLflow records the claim.")

    @field_validator("calibration_seeds", "seeds", "holdout_seeds")
    @classmethod
    def _seeds(cls, seeds: list[int], info) -> list[int]:
        return _seed_list(info.field_name, seeds)

    @model_validator(mode="after")
    def _expectations(self) -> "ClaimSpec":
        sets = {"calibration_seeds": self.calibration_seeds, "seeds": self.seeds, "holdout_seeds": self.holdout_seeds}
        names = list(sets)
        for i, first in enumerate(names):
            for second in names[i + 1:]:
                shared = sorted(set(sets[first]) & set(sets[second]))
                if shared:
                    raise ValueError(
                        f"{first} and {second} share seed(s) {shared}: calibration, evaluation and holdout "
                        "seeds must be disjoint, so no threshold is tuned on the seeds that judge it"
                    )
        if not self.arms:
            raise ValueError("arms must name at least one arm")
        if not self.expect:
            raise ValueError("expect must list at least one expectation (the paper's claim)")
        for where, texts in (("expect", self.expect), ("sanity", self.sanity)):
            for index, text in enumerate(texts):
                try:
                    parsed = parse(text)
                except ExprError as err:
                    raise ValueError(f"{where}.{index}: {err}") from None
                unknown = sorted(parsed.arms() - set(self.arms))
                if unknown:
                    raise ValueError(
                        f"{where}: expectation {text!r} names unknown arm(s) {', '.join(unknown)} (arms: {', '.join(self.arms)})"
                    )
        return self

    def expectations(self) -> list[Expectation]:
        return [parse(text) for text in self.expect]

    def sanity_checks(self) -> list[Expectation]:
        return [parse(text) for text in self.sanity]

    def seed_set(self, which: str) -> list[int]:
        """The seeds of ``which``: calibration, evaluation or holdout."""
        return {"calibration": self.calibration_seeds, "evaluation": self.seeds, "holdout": self.holdout_seeds}[which]


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
        for seed in spec.calibration_seeds + spec.seeds + spec.holdout_seeds:
            try:
                wl.make_config({**arm.fixed, "seed": seed})
            except ValidationError as err:
                first = err.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise SpecError(
                    f"arms.{arm_name}.fixed.{where}: {first['msg']}", key=("arms", arm_name, "fixed", where)
                ) from None


def budgets(spec: ClaimSpec) -> dict[str, str]:
    """Each arm's training budget in words, from its resolved Config (and its ``budget`` note)."""
    from orchestrator.registry import load

    out = {}
    for arm_name, arm in spec.arms.items():
        cfg = load(arm.workload).make_config({**arm.fixed, "seed": spec.seeds[0]})
        words = f"{cfg.steps} steps"
        batch = getattr(cfg, "batch", None) or getattr(cfg, "batch_size", None)
        if isinstance(batch, int):
            words += f" × batch {batch}"
        budget_s = getattr(cfg, "budget_s", None)
        if isinstance(budget_s, (int, float)) and budget_s > 0:
            words = f"{budget_s:g} s CPU (at most {words})"
        out[arm_name] = f"{words}; {arm.budget}" if arm.budget else words
    return out


def families(spec: ClaimSpec) -> set[str]:
    """The families of the workloads a claim runs."""
    from orchestrator.registry import load

    return {load(arm.workload).family for arm in spec.arms.values()}


def source_commit(path: str | Path) -> str:
    """The git commit a claim file was read at (short hash; ``+dirty`` if the file has local changes)."""
    import subprocess

    folder = str(Path(path).resolve().parent)
    try:
        head = subprocess.run(["git", "-C", folder, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return "not in git"
        dirty = subprocess.run(
            ["git", "-C", folder, "status", "--porcelain", "--", str(Path(path).resolve())],
            capture_output=True, text=True, timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


@dataclass
class ExpectationResult:
    text: str
    holds: bool
    left: float | None
    right: float | None
    problem: str | None = None


@dataclass
class ClaimResult:
    """The evidence of one claim run on one seed set."""

    name: str
    paper: str
    metric: str
    verdict: str  # PASS | FAIL | INCOMPLETE (a failed, timed-out or missing trial)
    values: dict[str, dict[str, list[float]]]  # arm -> metric -> values in seed order (completed seeds only)
    expectations: list[ExpectationResult]
    failed_trials: list[str]
    seconds: float
    sanity: list[ExpectationResult] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    seeds_done: dict[str, list[int]] = field(default_factory=dict)  # arm -> seeds whose trial completed
    seed_set: str = "evaluation"
    reason: str = ""  # why the verdict is not PASS, in one line
    budgets: dict[str, str] = field(default_factory=dict)
    caveats: list[str] = field(default_factory=list)
    spec_hash: str = ""
    commit: str = ""
    parent_run_id: str | None = None
    tracking_uri: str = ""
    arm_order: list[str] = field(default_factory=list)
    holdout: "ClaimResult | None" = None

    def summary(self, arm: str) -> tuple[float, float, int] | None:
        series = self.values.get(arm, {}).get(self.metric, [])
        if not series:
            return None
        if not all(math.isfinite(x) for x in series):  # a diverged seed; statistics.stdev raises on NaN/inf
            return math.nan, math.nan, len(series)
        try:
            std = statistics.stdev(series) if len(series) > 1 else 0.0
            return statistics.fmean(series), std, len(series)
        except OverflowError:  # values near the float limit: as good as diverged
            return math.nan, math.nan, len(series)

    def per_seed(self, arm: str) -> list[tuple[int, float]]:
        """(seed, value of the claim's metric) for each completed seed of ``arm``."""
        return list(zip(self.seeds_done.get(arm, []), self.values.get(arm, {}).get(self.metric, [])))

    def as_dict(self) -> dict[str, Any]:
        out = {
            "name": self.name, "paper": self.paper, "metric": self.metric, "verdict": self.verdict,
            "reason": self.reason, "seed_set": self.seed_set, "seeds": self.seeds, "seeds_done": self.seeds_done,
            "values": self.values, "seconds": round(self.seconds, 1), "failed_trials": self.failed_trials,
            "budgets": self.budgets, "caveats": self.caveats, "spec_hash": self.spec_hash, "commit": self.commit,
            "expectations": [e.__dict__ for e in self.expectations], "sanity": [e.__dict__ for e in self.sanity],
        }
        if self.holdout is not None:
            out["holdout"] = self.holdout.as_dict()
        return out

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)


def judge(
    spec: ClaimSpec,
    values: dict[str, dict[str, list[float]]],
    failed: list[str],
    seconds: float,
    *,
    seeds: list[int] | None = None,
    seeds_done: dict[str, list[int]] | None = None,
    seed_set: str = "evaluation",
) -> ClaimResult:
    """The verdict: PASS only if every arm ran every seed and every expectation and sanity check holds.

    A failed, timed-out or missing trial makes the claim INCOMPLETE whatever its numbers say:
    a claim must not pass on the seeds that happened to finish.
    """
    seeds = list(seeds if seeds is not None else spec.seeds)
    if seeds_done is None:  # callers that pass bare values: the first n seeds completed
        seeds_done = {arm: seeds[: len(values.get(arm, {}).get(spec.metric, []))] for arm in spec.arms}

    def run_checks(exps: list[Expectation]) -> list[ExpectationResult]:
        out = []
        for exp in exps:
            holds, left, right, problem = check(exp, values, spec.metric)
            out.append(ExpectationResult(exp.text, holds, left, right, problem))
        return out

    expectations, sanity = run_checks(spec.expectations()), run_checks(spec.sanity_checks())
    missing = [
        f"{arm}: {len(seeds_done.get(arm, []))}/{len(seeds)} seeds" for arm in spec.arms if len(seeds_done.get(arm, [])) < len(seeds)
    ]
    if failed or missing:
        verdict, reason = "INCOMPLETE", "; ".join(failed or missing)
    elif not all(r.holds for r in expectations):
        verdict = "FAIL"
        reason = "claim does not hold: " + "; ".join(r.text for r in expectations if not r.holds)
    elif not all(r.holds for r in sanity):
        verdict, reason = "FAIL", "sanity check fails: " + "; ".join(r.text for r in sanity if not r.holds)
    else:
        verdict, reason = "PASS", ""
    return ClaimResult(
        spec.name, spec.paper, spec.metric, verdict, values, expectations, failed, seconds,
        sanity=sanity, seeds=seeds, seeds_done=seeds_done, seed_set=seed_set, reason=reason,
        caveats=list(spec.caveats), arm_order=list(spec.arms),
    )


def discover(folder: Path) -> list[Path]:
    """Claim files in ``folder``, sorted by name."""
    return sorted(p for p in folder.glob("*.yaml") if p.is_file())
