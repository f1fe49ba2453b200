"""MLflow tracking, written by one process (the driver) from a background thread.

One parent run per sweep (or claim), one nested child run per trial. Calls are queued and a
single writer thread sends them, batching metrics with ``log_batch`` (the stock per-metric
logger manages about 7 results/s on SQLite; batching keeps up with Tune). Nothing here imports
Ray: :mod:`orchestrator.sweep` forwards Tune's trial events to :class:`Recorder`.

When the store is unavailable (a SQLite file locked past MLflow's own busy wait, a tracking
server down), the writer warns once and retries the same write until it lands or
``SEQLAB_TRACKING_RETRY_S`` (default 600 s) has passed; metrics wait in memory meanwhile, so
nothing reported during an outage is dropped. Every write is safe to repeat.
"""

from __future__ import annotations

import logging
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
RETRY_S = 600.0  # how long one write is retried while the store is unavailable (SEQLAB_TRACKING_RETRY_S)
_TRANSIENT_CODES = {"TEMPORARILY_UNAVAILABLE", "INTERNAL_ERROR", "REQUEST_LIMIT_EXCEEDED", "SERVICE_UNDER_MAINTENANCE"}
log = logging.getLogger("seqlab")


def is_transient(err: BaseException) -> bool:
    """Whether a failed MLflow call may succeed when repeated: a locked or unreachable store."""
    if isinstance(err, OSError):  # refused or reset connections (requests' errors are OSErrors)
        return True
    return getattr(err, "error_code", None) in _TRANSIENT_CODES


def _http_retries_short(uri: str) -> None:
    """MLflow's REST client retries an unreachable server for minutes, silently; ours warns first."""
    if uri.startswith(("http://", "https://")):
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")


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
        self._pending_tags: dict[str, dict[str, str]] = {}  # trial id -> tags to send with its next batch
        self._child: dict[str, str] = {}
        self._stored_up_to: dict[str, dict[str, int]] = {}  # reopened trial -> metric -> last step stored before
        self._left_open: set[str] = set()  # reopened trials whose child run a killed driver left RUNNING
        self._errors: list[str] = []
        self._outages: list[str] = []
        self._retry_s = float(os.environ.get("SEQLAB_TRACKING_RETRY_S", RETRY_S))
        self._ready = threading.Event()
        self.parent: ParentInfo | None = None
        _http_retries_short(uri)
        self._thread = threading.Thread(target=self._work, name="seqlab-mlflow", daemon=True)
        self._thread.start()
        self._queue.put(lambda: self._open(experiment, run_name, dict(tags), dict(artifacts or {}), resume_key, artifact_root))

    # -- writer thread ---------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                self._attempt(self._flush_metrics)
                return
            self._attempt(job)
            if self._queue.empty():
                self._attempt(self._flush_metrics)

    def _attempt(self, job: Callable[[], None]) -> None:
        """Run one write; while the store is unavailable, warn once and repeat it (with backoff).

        A write that fails for any other reason, or past the retry window, is reported in
        :attr:`errors`; a tracking hiccup never takes the sweep down.
        """
        started, delay, last = time.monotonic(), 0.5, None
        while True:
            try:
                job()
                break
            except Exception as err:
                last = f"{type(err).__name__}: {_first_line(err)}"
                waited = time.monotonic() - started
                if not is_transient(err) or waited > self._retry_s:
                    self._errors.append(last + (f" (gave up after {waited:.0f} s)" if waited > self._retry_s else ""))
                    self._ready.set()
                    return
                if delay == 0.5:
                    log.warning("MLflow store %s unavailable (%s); retrying, results wait in memory", self.uri, last)
                time.sleep(delay)
                delay = min(2 * delay, 5.0)
        if last is not None:
            waited = time.monotonic() - started
            self._outages.append(f"MLflow store unavailable for {waited:.0f} s ({last}); every write was retried, none lost")
            log.warning("MLflow store back after %.0f s; nothing was dropped", waited)

    def _open(self, experiment, run_name, tags, artifacts, resume_key, artifact_root) -> None:
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
                    # a trial restored from a checkpoint older than what its killed driver had logged
                    # reports those steps again: they are in the store already
                    self._stored_up_to[trial_id] = {m.key: m.step for m in child.data.to_proto().metrics}
                    if child.info.status == "RUNNING":
                        self._left_open.add(trial_id)
        else:
            run = self.client.create_run(exp_id, run_name=run_name, tags={**tags, "seqlab.resume_key": resume_key})
            run_id = run.info.run_id
        self.parent = ParentInfo(run_id=run_id, experiment_id=exp_id, uri=self.uri)
        self._ready.set()
        if not existing:
            for name, text in artifacts.items():  # retried on their own: a retry must not create a second run
                self._attempt(lambda name=name, text=text: self.client.log_text(run_id, text, name))

    def _flush_metrics(self) -> None:
        """Send each trial's queued metrics and tags, one ``log_batch`` per run (≤ 1000 rows each)."""
        from mlflow.entities import Metric, RunTag

        for trial_id in list(set(self._pending_metrics) | set(self._pending_tags)):
            run_id = self._child.get(trial_id)
            rows = self._pending_metrics.setdefault(trial_id, [])
            tags = self._pending_tags.setdefault(trial_id, {})
            if run_id is None:
                continue
            while rows or tags:  # rows leave the queue only once sent: a failed batch is sent again
                metrics = [Metric(key, value, ts, step) for key, value, ts, step in rows[:1000]]
                self.client.log_batch(run_id, metrics=metrics, tags=[RunTag(k, v) for k, v in tags.items()])
                del rows[:1000]
                tags.clear()

    # -- events (called from the driver's Tune thread; never block on MLflow) --------------
    def trial_started(self, trial_id: str, name: str, params: Mapping[str, Any], tags: Mapping[str, str] | None = None) -> None:
        def job() -> None:
            if self.parent is None:
                return
            if trial_id in self._child:
                self.client.update_run(self._child[trial_id], status="RUNNING")
                return
            from mlflow.entities import Param

            run = self.client.create_run(
                self.parent.experiment_id,
                run_name=name,
                tags={"mlflow.parentRunId": self.parent.run_id, "seqlab.trial_id": trial_id,
                      "seqlab.status": "running", **(tags or {})},  # fmt: skip
            )
            self._child[trial_id] = run.info.run_id
            params_batch = [Param(k, str(v)[:6000]) for k, v in params.items()]
            # retried on its own, now (not queued last: the run may finish before the queue drains)
            self._attempt(lambda: self.client.log_batch(run.info.run_id, params=params_batch))

        self._queue.put(job)

    def trial_result(self, trial_id: str, metrics: Mapping[str, float], step: int) -> None:
        self.trial_results(trial_id, [(step, metrics)])

    def trial_results(self, trial_id: str, points: Iterable[tuple[int, Mapping[str, float]]]) -> None:
        """Metrics at several steps (a report's training curve), queued as one batch.

        For a trial of a reopened parent, steps up to the last one stored before are dropped.
        """
        now = int(time.time() * 1000)
        rows = [(k, float(v), now, step) for step, metrics in points for k, v in metrics.items()]

        def job() -> None:
            stored = self._stored_up_to.get(trial_id, {})
            fresh = [row for row in rows if row[3] > stored.get(row[0], -1)]
            self._pending_metrics.setdefault(trial_id, []).extend(fresh)

        self._queue.put(job)

    def trial_finished(self, trial_id: str, outcome: str, error: str | None = None) -> None:
        """``outcome``: completed, pruned, failed or timeout; ``error`` becomes traceback.txt."""

        def job() -> None:
            run_id = self._child.get(trial_id)
            if run_id is None:
                return
            self._pending_tags.setdefault(trial_id, {})["seqlab.status"] = outcome
            self._flush_metrics()  # the last metrics and the status in one batch
            if error:
                self.client.log_text(run_id, error, "traceback.txt")
            status = "FINISHED" if outcome in ("completed", "pruned") else "FAILED"
            self.client.set_terminated(run_id, status=status)

        self._queue.put(job)

    def trial_closed(self, trial_id: str, outcome: str) -> None:
        """A trial that ended while no driver listened (its driver was killed): finish its child
        run if that was left RUNNING; a no-op for any other."""

        def job() -> None:
            if trial_id in self._left_open:
                self._left_open.discard(trial_id)
                self.trial_finished(trial_id, outcome)

        self._queue.put(job)

    def trial_tags(self, trial_id: str, tags: Mapping[str, str]) -> None:
        """Set tags on a trial's child run (e.g. the device it trained on), with its next batch."""
        tags = {key: str(value) for key, value in tags.items()}
        self._queue.put(lambda: self._pending_tags.setdefault(trial_id, {}).update(tags))

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
        """Writes that were lost, then outages that were ridden out (one line each)."""
        return list(self._errors) + list(self._outages)


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0][:200] if lines else ""


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
