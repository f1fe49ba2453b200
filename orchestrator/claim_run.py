"""Running claims: one claim as a Tune run, a claim with its holdout, a board fanned out.

``run_claim`` runs every arm × seed of one seed set as one Tune run under an MLflow parent
tagged with the verdict (judged by :func:`orchestrator.claims.judge`). A board's claims run
one after another, or fanned out over the cluster. Fanned out, every
claim's Tune driver runs as a Ray task on the driver's node (where the runs folder and the
SQLite store live) and asks for no CPU itself; its trials ask the cluster for theirs, so Ray
bounds the concurrency by what is free, and a board on a cluster of many nodes takes about as
long as its longest claim instead of the sum of all of them.

How many claims run at once (``auto_parallel``): as many as the cluster can hold at their own
trial concurrency (CPUs ÷ the largest claim's ``max_concurrent`` × ``resources.cpu``). On a
2-core machine that is one, which keeps each claim's seconds on the board its own.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable

from orchestrator.claims import SEED_SETS, ClaimResult, ClaimSpec, budgets, judge, source_commit
from orchestrator.spec import spec_hash
from orchestrator.yamlio import SpecError

Row = tuple[ClaimResult | None, Path, str]  # (result or None, claim file, the problem if it broke)
Chosen = tuple[Path, ClaimSpec, str]  # (claim file, its spec, its text)


def run_claim(
    spec: ClaimSpec,
    text: str,
    *,
    runs_dir: Path,
    fresh: bool = True,
    on_change: Callable | None = None,
    num_cpus: int | None = None,
    seed_set: str = "evaluation",
    seeds: list[int] | None = None,
    source: str | Path | None = None,
    resume: bool = False,
) -> ClaimResult:
    """Run all arms × seeds of one seed set as one Tune run and judge the claim.

    Args:
        seed_set: ``calibration``, ``evaluation`` or ``holdout``: which of the file's seed lists
            to run; it names the MLflow parent run (``claim-<name>`` for evaluation,
            ``claim-<name>-<seed_set>`` otherwise) and is tagged on it.
        seeds: run these seeds instead of the set's own (still labelled ``seed_set``).
        source: the claim file, to record the git commit it was read at.
        resume: continue this seed set's interrupted run (same folder, same MLflow parent; its
            finished trials are kept, unfinished ones go on from their last checkpoint). Without
            an earlier run of this seed set, it starts one.
    """
    from orchestrator import sweep, tracking
    from orchestrator.runs import MARKER, prepare_folder
    from orchestrator.trial import TrialPlan

    if seed_set not in SEED_SETS:
        raise ValueError(f"seed_set must be one of {', '.join(SEED_SETS)}, got {seed_set!r}")
    seeds = list(seeds or spec.seed_set(seed_set))
    started = time.monotonic()
    digest = spec_hash(text)
    commit = source_commit(source) if source else "unknown"
    sweep.ensure_ray(num_cpus)
    sweep.check_resources(spec.resources.cpu, spec.resources.gpu)
    label = spec.name + ("" if seed_set == "evaluation" else f"-{seed_set}")  # seqlab compare <label>
    name = f"claim-{label}"
    resume = resume and (runs_dir / name / MARKER).exists()
    folder, key = prepare_folder(runs_dir, name, resume=resume, fresh=fresh and not resume, digest=digest)
    workloads = sorted({arm.workload for arm in spec.arms.values()})
    recorder = tracking.Recorder(
        spec.tracking.uri or tracking.default_uri(runs_dir),
        spec.tracking.experiment or "claims",
        name,
        tags={
            **tracking.run_tags("claim", label, ",".join(workloads), digest),
            "seqlab.paper": spec.paper[:250], "seqlab.seed_set": seed_set,
            "seqlab.seeds": ",".join(map(str, seeds)), "seqlab.commit": commit,
        },
        artifacts={"claim.yaml": text},
        resume_key=key,
        artifact_root=runs_dir / "artifacts",
    )
    plan = TrialPlan(
        workload=workloads[0],
        cpus=spec.resources.cpu,
        arms={arm_name: (arm.workload, dict(arm.fixed)) for arm_name, arm in spec.arms.items()},
        log_every=spec.tracking.log_every,
    )
    try:
        outcome = sweep.run_tune(
            name=name,
            plan=plan,
            runs_dir=runs_dir,
            recorder=recorder,
            param_space={"arm": {"grid_search": list(spec.arms)}, "seed": {"grid_search": seeds}},
            max_concurrent=spec.max_concurrent,
            cpu=spec.resources.cpu,
            gpu=spec.resources.gpu,
            on_change=on_change,
            trial_name=lambda number, config: f"{config['arm']}/seed{config['seed']}",
            resume=resume and sweep.can_restore(folder),  # killed before Tune stored anything: start them
        )
    except BaseException:
        recorder.finish("KILLED")
        raise
    if outcome.interrupted:  # Ctrl-C or a full disk: no verdict from a part of the seeds
        recorder.finish("KILLED", tags={"seqlab.stopped": outcome.stopped_reason or "interrupted"})
        where = f"`seqlab claim --resume {source}`" if source else "run_claim(..., resume=True)"
        raise SpecError(f"{outcome.stopped_reason or 'interrupted'}; {where} continues the claim")
    values: dict[str, dict[str, list[float]]] = {arm: {} for arm in spec.arms}
    seeds_done: dict[str, list[int]] = {arm: [] for arm in spec.arms}
    failed = []
    for trial in sorted(outcome.trials, key=lambda t: (str(t.params.get("arm")), t.params.get("seed", 0))):
        arm, seed = trial.params.get("arm"), trial.params.get("seed")
        if trial.outcome != "completed" or spec.metric not in trial.metrics:
            why = trial.outcome if trial.outcome != "completed" else f"no {spec.metric} reported"
            failed.append(f"{arm} seed {seed}: {why}")
            continue
        seeds_done.setdefault(arm, []).append(seed)
        for metric, value in trial.metrics.items():
            values.setdefault(arm, {}).setdefault(metric, []).append(value)
    result = judge(
        spec, values, failed, time.monotonic() - started, seeds=seeds, seeds_done=seeds_done, seed_set=seed_set
    )
    result.budgets, result.spec_hash, result.commit = budgets(spec), digest, commit
    result.tracking_uri = recorder.uri
    metrics = {}
    for arm in spec.arms:
        summary = result.summary(arm)
        if summary:
            metrics[f"{arm}/mean"], metrics[f"{arm}/std"] = summary[0], summary[1]
        metrics[f"{arm}/seeds_done"] = float(len(seeds_done.get(arm, [])))
    recorder.parent_metrics(metrics)
    parent = recorder.finish(
        "FINISHED",
        tags={"seqlab.verdict": result.verdict, "seqlab.verdict_reason": result.reason[:500]},
        artifacts={"claim-result.json": result.to_json()},
    )
    result.parent_run_id = parent.run_id if parent else None
    return result



def run_with_holdout(spec: ClaimSpec, text: str, path: Path, *, runs_dir: Path, num_cpus: int | None = None,
                     holdout: bool = False, holdout_seeds: list[int] | None = None,
                     on_change: Callable | None = None, on_holdout: Callable | None = None,
                     resume: bool = False) -> ClaimResult:
    """A claim on its evaluation seeds and, if asked, its holdout seeds (``result.holdout``)."""
    result = run_claim(spec, text, runs_dir=runs_dir, fresh=True, on_change=on_change, num_cpus=num_cpus,
                       seed_set="evaluation", source=path, resume=resume)  # fmt: skip
    if holdout or holdout_seeds:
        if on_holdout:
            on_holdout()
        result.holdout = run_claim(spec, text, runs_dir=runs_dir, fresh=True, on_change=on_change, num_cpus=num_cpus,
                                   seed_set="holdout", seeds=holdout_seeds, source=path, resume=resume)  # fmt: skip
    return result


def auto_parallel(specs: list[ClaimSpec]) -> int:
    """How many of ``specs`` the connected cluster can run at once at their own concurrency."""
    from orchestrator.sweep import node_capacities

    cpus = sum(node.get("CPU", 0.0) for node in node_capacities())
    widest = max((spec.max_concurrent * max(spec.resources.cpu, 1e-9) for spec in specs), default=1.0)
    return max(1, min(len(specs), math.floor(cpus / widest + 1e-9)))


def fan_out(chosen: list[Chosen], *, runs_dir: Path, parallel: int, holdout: bool = False,
            holdout_seeds: list[int] | None = None, on_done: Callable[[Row, int], None] | None = None) -> list[Row]:
    """Run ``chosen`` claims, ``parallel`` at a time, each as a Ray task on this node.

    Ray must be connected. ``on_done(row, running)`` is called as each claim ends, in the
    order they end; the rows come back in the order of ``chosen``. A claim that raises gives
    a row with its error and does not stop the others.
    """
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    task = ray.remote(num_cpus=0, max_retries=0, scheduling_strategy=here)(_claim_task)
    waiting = list(enumerate(chosen))
    running: dict = {}  # object ref -> index into chosen
    rows: dict[int, Row] = {}
    runs_dir = runs_dir.resolve()
    _open_stores(chosen, runs_dir)
    while waiting or running:
        while waiting and len(running) < parallel:
            index, (path, spec, text) = waiting.pop(0)
            running[task.remote(spec, text, str(path), str(runs_dir), holdout, holdout_seeds)] = index
        [ref], _ = ray.wait(list(running), num_returns=1)
        index = running.pop(ref)
        path = chosen[index][0]
        try:
            rows[index] = (ray.get(ref), path, "")
        except ray.exceptions.RayTaskError as err:
            cause = err.cause if isinstance(getattr(err, "cause", None), BaseException) else err
            rows[index] = (None, path, f"{type(cause).__name__}: {cause}")
        if on_done:
            on_done(rows[index], len(running))
    return [rows[i] for i in range(len(chosen))]


def _open_stores(chosen: list[Chosen], runs_dir: Path) -> None:
    """Create each MLflow store and experiment once, before several claims write to it at once.

    A fresh SQLite store is created by running its migrations; two processes doing that to one
    file at the same moment can collide.
    """
    from orchestrator import tracking

    runs_dir.mkdir(parents=True, exist_ok=True)
    stores = {(spec.tracking.uri or tracking.default_uri(runs_dir), spec.tracking.experiment or "claims")
              for _, spec, _ in chosen}  # fmt: skip
    for uri, experiment in sorted(stores):
        tracking.ensure_experiment(tracking.client_for(uri), experiment, runs_dir / "artifacts")


def _claim_task(spec: ClaimSpec, text: str, path: str, runs_dir: str, holdout: bool,
                holdout_seeds: list[int] | None) -> ClaimResult:
    """One claim (and its holdout) inside a Ray task: a Tune driver of its own."""
    import os

    # As the CLI's driver does: only Tune's JSON log, no per-trial console tables.
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    return run_with_holdout(spec, text, Path(path), runs_dir=Path(runs_dir), holdout=holdout,
                            holdout_seeds=holdout_seeds)  # fmt: skip
