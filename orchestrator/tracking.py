"""MLflow tracking, written by one process (the driver) from a background thread.

One parent run per sweep (or claim), one nested child run per trial. Calls are queued and a
single writer thread sends them, batching metrics with ``log_batch`` (the stock per-metric
logger manages about 7 results/s on SQLite; batching keeps up with Tune). Nothing here imports
Ray: :mod:`orchestrator.sweep` forwards Tune's trial events to :class:`Recorder`.
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import orchestrator

DEFAULT_RUNS_DIR = Path("seqlab-runs")


def default_uri(runs_dir: Path = DEFAULT_RUNS_DIR) -> str:
    """``MLFLOW_TRACKING_URI`` if set, else a SQLite store in ``./seqlab-runs/mlflow.db``."""
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    return f"sqlite:///{(runs_dir / 'mlflow.db').resolve()}"


def git_commit(path: Path | None = None) -> str | None:
    """The git commit of the working tree, if there is one."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def client_for(uri: str):
    """An ``MlflowClient`` for ``uri`` (imports mlflow)."""
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def ensure_experiment(client, name: str, artifact_root: Path | None) -> str:
    """The id of experiment ``name``, created (with a local artifact root) if missing."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    remote = client.tracking_uri.startswith(("http://", "https://"))
    # A tracking server keeps (or proxies) artifacts itself; a local store keeps them beside it.
    location = artifact_root.resolve().as_uri() if artifact_root and not remote else None
    return client.create_experiment(name, artifact_location=location)


@dataclass
class ParentInfo:
    run_id: str
    experiment_id: str
    uri: str


class Recorder:
    """Queue-backed MLflow writer for one sweep: a parent run and a child run per trial.

    Args:
        uri: MLflow tracking URI.
        experiment: experiment name.
        run_name: the parent run's name (the sweep's name).
        tags: the parent run's tags.
        artifacts: text artifacts for the parent run, file name -> content.
        resume_key: a tag value that identifies this sweep's parent run, so a resumed sweep
            keeps writing to the same parent and the same child runs.
        artifact_root: where a new experiment keeps artifacts (SQLite stores are local).
    """

    def __init__(
        self,
        uri: str,
        experiment: str,
        run_name: str,
        *,
        tags: Mapping[str, str],
        artifacts: Mapping[str, str] | None = None,
        resume_key: str,
        artifact_root: Path | None = None,
    ) -> None:
        self.uri = uri
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._pending_metrics: dict[str, list[tuple[str, float, int, int]]] = {}
        self._child: dict[str, str] = {}
        self._errors: list[str] = []
        self._ready = threading.Event()
        self.parent: ParentInfo | None = None
        self._thread = threading.Thread(target=self._work, name="seqlab-mlflow", daemon=True)
        self._thread.start()
        self._queue.put(lambda: self._open(experiment, run_name, dict(tags), dict(artifacts or {}), resume_key, artifact_root))

    # -- writer thread ---------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                self._flush_metrics()
                return
            try:
                job()
            except Exception as err:  # a tracking hiccup must not take the sweep down
                self._errors.append(f"{type(err).__name__}: {err}")
            if self._queue.empty():
                self._flush_metrics()

    def _open(self, experiment, run_name, tags, artifacts, resume_key, artifact_root) -> None:
        try:
            self.client = client_for(self.uri)
            exp_id = ensure_experiment(self.client, experiment, artifact_root)
            existing = self.client.search_runs(
                [exp_id], filter_string=f"tags.`seqlab.resume_key` = '{resume_key}'", max_results=1
            )
            if existing:
                run_id = existing[0].info.run_id
                self.client.update_run(run_id, status="RUNNING")
                for child in self.client.search_runs(
                    [exp_id], filter_string=f"tags.`mlflow.parentRunId` = '{run_id}'", max_results=10000
                ):
                    trial_id = child.data.tags.get("seqlab.trial_id")
                    if trial_id:
                        self._child[trial_id] = child.info.run_id
            else:
                run = self.client.create_run(exp_id, run_name=run_name, tags={**tags, "seqlab.resume_key": resume_key})
                run_id = run.info.run_id
                for name, text in artifacts.items():
                    self.client.log_text(run_id, text, name)
            self.parent = ParentInfo(run_id=run_id, experiment_id=exp_id, uri=self.uri)
        finally:
            self._ready.set()

    def _flush_metrics(self) -> None:
        from mlflow.entities import Metric

        for trial_id, rows in list(self._pending_metrics.items()):
            run_id = self._child.get(trial_id)
            if not rows or run_id is None:
                continue
            self._pending_metrics[trial_id] = []
            for start in range(0, len(rows), 1000):
                chunk = rows[start : start + 1000]
                metrics = [Metric(key, value, ts, step) for key, value, ts, step in chunk]
                try:
                    self.client.log_batch(run_id, metrics=metrics)
                except Exception as err:
                    self._errors.append(f"log_batch: {err}")

    # -- events (called from the driver's Tune thread; never block on MLflow) --------------
    def trial_started(self, trial_id: str, name: str, params: Mapping[str, Any], tags: Mapping[str, str] | None = None) -> None:
        def job() -> None:
            if self.parent is None:
                return
            if trial_id in self._child:
                self.client.update_run(self._child[trial_id], status="RUNNING")
                return
            from mlflow.entities import Param, RunTag

            run = self.client.create_run(
                self.parent.experiment_id,
                run_name=name,
                tags={"mlflow.parentRunId": self.parent.run_id, "seqlab.trial_id": trial_id, **(tags or {})},
            )
            self._child[trial_id] = run.info.run_id
            self.client.log_batch(
                run.info.run_id,
                params=[Param(k, str(v)[:6000]) for k, v in params.items()],
                tags=[RunTag("seqlab.status", "running")],
            )

        self._queue.put(job)

    def trial_result(self, trial_id: str, metrics: Mapping[str, float], step: int) -> None:
        self.trial_results(trial_id, [(step, metrics)])

    def trial_results(self, trial_id: str, points: Iterable[tuple[int, Mapping[str, float]]]) -> None:
        """Metrics at several steps (a report's training curve), queued as one batch."""
        now = int(time.time() * 1000)
        rows = [(k, float(v), now, step) for step, metrics in points for k, v in metrics.items()]
        self._queue.put(lambda: self._pending_metrics.setdefault(trial_id, []).extend(rows))

    def trial_finished(self, trial_id: str, outcome: str, error: str | None = None) -> None:
        """``outcome``: completed, pruned, failed or timeout; ``error`` becomes traceback.txt."""

        def job() -> None:
            run_id = self._child.get(trial_id)
            if run_id is None:
                return
            self._flush_metrics()
            if error:
                self.client.log_text(run_id, error, "traceback.txt")
            self.client.set_tag(run_id, "seqlab.status", outcome)
            status = "FINISHED" if outcome in ("completed", "pruned") else "FAILED"
            self.client.set_terminated(run_id, status=status)

        self._queue.put(job)

    def trial_tags(self, trial_id: str, tags: Mapping[str, str]) -> None:
        """Set tags on a trial's child run (e.g. the device it trained on)."""

        def job() -> None:
            run_id = self._child.get(trial_id)
            if run_id is not None:
                for key, value in tags.items():
                    self.client.set_tag(run_id, key, value)

        self._queue.put(job)

    def trial_checkpoint(self, trial_id: str, folder: str, limit_mb: float = 200.0) -> str:
        """Log a trial's checkpoint folder as its child run's ``checkpoint/`` artifacts.

        Above ``limit_mb`` only its path is recorded (tag ``seqlab.checkpoint``). Returns where
        it went: ``mlflow`` or ``path``.
        """
        size = sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file()) / 2**20
        where = "mlflow" if size <= limit_mb else "path"

        def job() -> None:
            run_id = self._child.get(trial_id)
            if run_id is None:
                return
            self.client.set_tag(run_id, "seqlab.checkpoint", folder)
            if where == "mlflow":
                self.client.log_artifacts(run_id, folder, "checkpoint")

        self._queue.put(job)
        return where

    def finish(self, status: str, tags: Mapping[str, str] | None = None, artifacts: Mapping[str, str] | None = None) -> ParentInfo | None:
        """Close the parent run (FINISHED/FAILED/KILLED), wait for every write, return the parent."""

        def job() -> None:
            if self.parent is None:
                return
            for key, value in (tags or {}).items():
                self.client.set_tag(self.parent.run_id, key, value)
            for name, text in (artifacts or {}).items():
                self.client.log_text(self.parent.run_id, text, name)
            self.client.set_terminated(self.parent.run_id, status=status)

        self._queue.put(job)
        self._queue.put(None)
        self._thread.join()
        return self.parent

    def wait_ready(self, timeout: float = 60.0) -> ParentInfo | None:
        self._ready.wait(timeout)
        return self.parent

    def parent_metrics(self, metrics: Mapping[str, float]) -> None:
        """Log summary metrics (best value, counts) on the parent run."""

        def job() -> None:
            if self.parent is None:
                return
            from mlflow.entities import Metric

            now = int(time.time() * 1000)
            self.client.log_batch(self.parent.run_id, metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()])

        self._queue.put(job)

    @property
    def errors(self) -> list[str]:
        return list(self._errors)


def run_tags(kind: str, name: str, workload: str, digest: str) -> dict[str, str]:
    """Tags every parent run carries: what it is, the spec hash, git commit, Seqlab version."""
    tags = {
        "seqlab.kind": kind,
        "seqlab.sweep": name,
        "seqlab.workload": workload,
        "seqlab.spec_hash": digest,
        "seqlab.version": orchestrator.__version__,
    }
    commit = git_commit()
    if commit:
        tags["mlflow.source.git.commit"] = commit
    return tags
