"""``seqlab compare``: a sweep's or claim's results from MLflow, as tables, a CSV and plots.

Everything is read from MLflow by parent run (tag ``seqlab.sweep``; the child runs carry
``mlflow.parentRunId``), so it works on any tracking server the sweep logged to, and the files
are logged back to the parent run under ``compare/``. The objective, its direction and the
parameters' scales come from the ``sweep.yaml`` / ``claim.yaml`` artifact of the parent run.
"""

from __future__ import annotations

import csv
import math
import re
import statistics
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ARTIFACT_DIR = "compare"


class CompareError(ValueError):
    """Nothing to compare (no such run, no metric): a one-line message."""


@dataclass
class Trial:
    run_id: str
    trial_id: str
    status: str
    params: dict[str, Any]
    metrics: dict[str, float]


@dataclass
class Group:
    key: str
    mean: float
    std: float
    n: int


@dataclass
class Report:
    parent_run_id: str
    name: str
    metric: str
    mode: str
    trials: list[Trial]
    best: list[Trial]
    groups: list[Group]
    folder: Path
    files: list[Path] = field(default_factory=list)
    text: str = ""
    importances: dict[str, float] = field(default_factory=dict)  # searched parameter -> share, largest first
    importance_by: str = ""  # the evaluator, or why there are no importances


def _number(text: str) -> Any:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return text
    return int(value) if value.is_integer() and re.fullmatch(r"-?\d+", str(text).strip()) else value


def find_parent(client, name: str):
    """The newest parent run of sweep/claim ``name`` (or the run whose id is ``name``)."""
    if re.fullmatch(r"[0-9a-f]{32}", name):
        try:
            return client.get_run(name)
        except Exception:
            pass
    experiments = [e.experiment_id for e in client.search_experiments()]
    if not experiments:
        raise CompareError("the MLflow store has no experiments")
    for candidate in (name, name.removeprefix("claim-")):
        runs = client.search_runs(
            experiments, filter_string=f"tags.`seqlab.sweep` = '{candidate}'", order_by=["attributes.start_time DESC"], max_results=1
        )
        if runs:
            return runs[0]
    raise CompareError(f"no sweep or claim named '{name}' in MLflow at {client.tracking_uri}")


def children(client, parent) -> list[Trial]:
    """The parent run's trials (child runs) with their params and final metrics."""
    runs = client.search_runs(
        [parent.info.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'", max_results=10000
    )
    return [
        Trial(
            run_id=r.info.run_id,
            trial_id=r.data.tags.get("seqlab.trial_id", r.info.run_name or r.info.run_id),
            status=r.data.tags.get("seqlab.status", r.info.status.lower()),
            params={k: _number(v) for k, v in r.data.params.items()},
            metrics=dict(r.data.metrics),
        )
        for r in runs
    ]


def spec_of(client, parent) -> dict[str, Any]:
    """The sweep's or claim's YAML as logged on the parent run (empty if absent)."""
    import yaml

    with tempfile.TemporaryDirectory(prefix="seqlab-cmp-") as tmp:
        for name in ("sweep.yaml", "claim.yaml"):
            try:
                path = client.download_artifacts(parent.info.run_id, name, tmp)
            except Exception:
                continue
            data = yaml.safe_load(Path(path).read_text()) or {}
            data["_file"] = name
            return data
    return {}


def _mode_of(metric: str, parent) -> str:
    """A metric's direction: the workload's own when it is its objective, else by its name."""
    for workload in parent.data.tags.get("seqlab.workload", "").split(","):
        try:
            from orchestrator.registry import load

            wl = load(workload)
        except Exception:
            continue
        if wl.metric == metric:
            return wl.mode
    return "max" if re.search(r"acc|reward|score|auc|f1|bleu", metric) else "min"


def objectives(spec: dict[str, Any], parent, metric: str | None) -> list[tuple[str, str]]:
    """[(metric, mode), ...]: ``--metric`` first, then the spec's objectives or claim metric."""
    found: list[tuple[str, str]] = []
    objective = spec.get("objective")
    for item in objective if isinstance(objective, list) else [objective] if objective else []:
        found.append((item["metric"], item.get("mode", "min")))
    if spec.get("_file") == "claim.yaml" and spec.get("metric"):
        found.append((spec["metric"], _mode_of(spec["metric"], parent)))
    if not found:
        workload = parent.data.tags.get("seqlab.workload", "").split(",")[0]
        try:
            from orchestrator.registry import load

            wl = load(workload)
            found.append((wl.metric, wl.mode))
        except Exception:
            pass
    if metric:
        mode = dict(found).get(metric) or _mode_of(metric, parent)
        found = [(metric, mode)] + [f for f in found if f[0] != metric]
    if not found:
        raise CompareError("no objective known for this run: pass --metric")
    return found


def rank(trials: list[Trial], metric: str, mode: str) -> list[Trial]:
    """Trials that reported ``metric``, best first."""
    scored = [t for t in trials if metric in t.metrics and math.isfinite(t.metrics[metric])]
    return sorted(scored, key=lambda t: t.metrics[metric], reverse=(mode == "max"))


def groups(trials: list[Trial], metric: str, workload: str) -> list[Group]:
    """Mean ± std of ``metric`` over seeds: per arm (claims), per configuration, or per workload."""
    buckets: dict[str, list[float]] = {}
    for t in trials:
        if metric not in t.metrics or t.status not in ("completed", "finished"):
            continue
        if "arm" in t.params:
            key = f"arm={t.params['arm']}"
        elif "seed" in t.params:
            key = ", ".join(f"{k}={v}" for k, v in sorted(t.params.items()) if k != "seed") or workload
        else:
            key = f"workload={workload}"
        buckets.setdefault(key, []).append(t.metrics[metric])
    out = []
    for key, values in buckets.items():
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        out.append(Group(key, statistics.fmean(values), std, len(values)))
    return sorted(out, key=lambda g: g.key)


def pareto_front(points: list[tuple[float, float]], modes: tuple[str, str]) -> list[int]:
    """Indices of the points no other point dominates (``modes`` says min or max per axis)."""
    sign = [1.0 if m == "min" else -1.0 for m in modes]
    norm = [(sign[0] * a, sign[1] * b) for a, b in points]  # every axis minimised
    front = []
    for i, (a, b) in enumerate(norm):
        dominated = any((c <= a and d <= b) and (c < a or d < b) for j, (c, d) in enumerate(norm) if j != i)
        if not dominated:
            front.append(i)
    return front


def _table(trials: list[Trial], metric: str, objs: list[tuple[str, str]], params: list[str]) -> str:
    cols = ["trial", "status", *[m for m, _ in objs], *params]
    rows = [[t.trial_id, t.status, *[_fmt(t.metrics.get(m)) for m, _ in objs], *[_fmt(t.params.get(p)) for p in params]] for t in trials]
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.5g}"
    return str(value)


def _plots(client, report: Report, objs: list[tuple[str, str]], spec: dict[str, Any]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    metric, mode = report.metric, report.mode
    # Learning curves of the best trials.
    fig, ax = plt.subplots(figsize=(6, 4))
    for t in report.best:
        history = sorted(client.get_metric_history(t.run_id, metric), key=lambda m: m.step)
        if history:
            ax.plot([m.step for m in history], [m.value for m in history], marker=".", label=t.trial_id)
    ax.set(xlabel="step", ylabel=metric, title=f"{report.name}: top {len(report.best)} trials ({mode} {metric})")
    if report.best:
        ax.legend(fontsize=7)
    files.append(_save(fig, report.folder / "learning_curves.png"))
    # Objective against each parameter.
    scored = rank(report.trials, metric, mode)
    declared = spec.get("parameters") or {}
    for name in sorted({k for t in scored for k in t.params}):
        xs = [t.params.get(name) for t in scored]
        ys = [t.metrics[metric] for t in scored]
        fig, ax = plt.subplots(figsize=(5, 4))
        if all(isinstance(x, (int, float)) for x in xs):
            ax.scatter(xs, ys)
            if isinstance(declared.get(name), dict) and declared[name].get("log"):
                ax.set_xscale("log")
        else:
            labels = sorted({str(x) for x in xs})
            ax.scatter([labels.index(str(x)) for x in xs], ys)
            ax.set_xticks(range(len(labels)), labels, rotation=30)
        ax.set(xlabel=name, ylabel=metric, title=f"{metric} vs {name}")
        files.append(_save(fig, report.folder / f"param_{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.png"))
    # Pareto front of the first two objectives.
    if len(objs) >= 2:
        (m1, d1), (m2, d2) = objs[0], objs[1]
        both = [t for t in report.trials if m1 in t.metrics and m2 in t.metrics]
        points = [(t.metrics[m1], t.metrics[m2]) for t in both]
        front = sorted((points[i] for i in pareto_front(points, (d1, d2))), key=lambda p: p[0])
        fig, ax = plt.subplots(figsize=(5, 4))
        ax.scatter([p[0] for p in points], [p[1] for p in points], alpha=0.5, label="trials")
        if front:
            ax.plot([p[0] for p in front], [p[1] for p in front], "r-o", label="Pareto front")
        ax.set(xlabel=f"{m1} ({d1})", ylabel=f"{m2} ({d2})", title="Pareto front")
        ax.legend(fontsize=7)
        files.append(_save(fig, report.folder / "pareto.png"))
    # Which parameters mattered.
    if report.importances:
        names = list(report.importances)[::-1]  # largest at the top
        fig, ax = plt.subplots(figsize=(5, max(2.5, 0.5 * len(names) + 1)))
        ax.barh(names, [report.importances[n] for n in names])
        ax.set(xlabel=f"importance for {metric}", title=f"{report.name}: {report.importance_by}")
        files.append(_save(fig, report.folder / "importance.png"))
    # Mean ± std per group.
    if report.groups:
        fig, ax = plt.subplots(figsize=(max(4, len(report.groups) * 1.2), 4))
        ax.bar(range(len(report.groups)), [g.mean for g in report.groups], yerr=[g.std for g in report.groups], capsize=4)
        ax.set_xticks(range(len(report.groups)), [g.key for g in report.groups], rotation=20, fontsize=7)
        ax.set(ylabel=metric, title=f"{metric}: mean ± std over seeds")
        files.append(_save(fig, report.folder / "groups.png"))
    return files


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _write_csv(report: Report, objs: list[tuple[str, str]], path: Path) -> Path:
    params = sorted({k for t in report.trials for k in t.params})
    metrics = sorted({k for t in report.trials for k in t.metrics})
    with open(path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["run_id", "trial_id", "status", *[f"param/{p}" for p in params], *metrics])
        for t in report.trials:
            writer.writerow([t.run_id, t.trial_id, t.status, *[t.params.get(p, "") for p in params], *[t.metrics.get(m, "") for m in metrics]])
    return path


def compare(uri: str, name: str, *, metric: str | None = None, top: int = 5, out: Path | None = None, log: bool = True) -> Report:
    """Build the tables, CSV and plots of sweep/claim ``name``; log them to its parent run."""
    import os

    from orchestrator.tracking import client_for

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    client = client_for(uri)
    parent = find_parent(client, name)
    spec = spec_of(client, parent)
    objs = objectives(spec, parent, metric)
    trials = children(client, parent)
    if not trials:
        raise CompareError(f"parent run {parent.info.run_id} has no trial runs")
    chosen, mode = objs[0]
    sweep = parent.data.tags.get("seqlab.sweep", name)
    folder = (out or Path("seqlab-runs") / "compare" / sweep).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    workload = parent.data.tags.get("seqlab.workload", "?")
    report = Report(parent.info.run_id, sweep, chosen, mode, trials, rank(trials, chosen, mode)[:top], groups(trials, chosen, workload), folder)
    if not report.best:
        raise CompareError(f"no trial of '{sweep}' reported {chosen}; metrics seen: {sorted({k for t in trials for k in t.metrics})}")
    params = sorted({k for t in trials for k in t.params})
    lines = [f"{sweep} ({parent.data.tags.get('seqlab.kind', 'sweep')}, {workload}): {len(trials)} trials, ranked by {mode} {chosen}"]
    verdict = parent.data.tags.get("seqlab.verdict")
    if verdict:
        lines[0] += f"; verdict {verdict}"
    lines += ["", "best trials:", _table(report.best, chosen, objs, params), "", f"{chosen}: mean ± std over seeds (per arm, per configuration, or over all trials of the workload)"]
    lines += [f"  {g.key:40} {g.mean:.5g} ± {g.std:.3g} (n={g.n})" for g in report.groups]
    if spec.get("_file") == "sweep.yaml" and spec.get("parameters"):
        from orchestrator.importance import importances

        report.importances, report.importance_by = importances(trials, chosen, mode, spec["parameters"])
        lines += ["", f"parameter importance for {chosen} ({report.importance_by}):" if report.importances
                  else f"parameter importance: none ({report.importance_by})"]  # fmt: skip
        lines += [f"  {name:40} {share:.3f}" for name, share in report.importances.items()]
    report.text = "\n".join(lines)
    (folder / "summary.txt").write_text(report.text + "\n")
    report.files = [folder / "summary.txt", _write_csv(report, objs, folder / "trials.csv"), *_plots(client, report, objs, spec)]
    if log:
        client.log_artifacts(parent.info.run_id, str(folder), artifact_path=ARTIFACT_DIR)
    return report
