"""Sweeps, jobs and claims as Ray Jobs on any cluster: submit, status, logs, stop.

Jobs go through the Ray Jobs API with the token in the ``Authorization`` header. The token is
never put into a job's runtime environment (the dashboard shows those to anyone who can see it).
The cluster itself (``seqlab up``/``down``) is :mod:`orchestrator.cluster`.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from orchestrator import auth
from orchestrator.cluster import EXCLUDES, LOCAL, TERMINAL, ClusterError, read_state
from orchestrator.yamlio import SpecError


def default_address() -> str:
    """``--address`` default: the ``up`` cluster's dashboard, else RAY_ADDRESS (http), else :8265."""
    state = read_state()
    if state:
        return state["ray"]["dashboard"]
    env = os.environ.get("RAY_ADDRESS", "")
    if env.startswith(("http://", "https://")):
        return env
    return f"http://{LOCAL}:8265"


def job_client(address: str):
    """A ``JobSubmissionClient`` for ``address`` that carries the token."""
    auth.enable()
    import logging

    from ray.job_submission import JobSubmissionClient

    for name in ("ray.dashboard.modules.dashboard_sdk", "ray._private.runtime_env.packaging", "ray.dashboard.modules.job.sdk"):
        logging.getLogger(name).setLevel(logging.WARNING)  # package upload chatter

    try:
        return JobSubmissionClient(address, headers=auth.headers())
    except Exception as err:  # connection refused, 401, bad address
        raise ClusterError(_explain(err, address)) from None


def _explain(err: Exception, address: str) -> str:
    text = str(err)
    if any(sign in text for sign in ("401", "403", "nauthori", "Authentication failed", "authentication token")):
        return (f"the Ray dashboard at {address} refused the token in {auth.token_path()}: copy the cluster's "
                "~/.ray/auth_token (or set RAY_AUTH_TOKEN)")  # fmt: skip
    if "onnect" in text or "refused" in text.lower():
        return f"cannot reach the Ray dashboard at {address}: is the cluster up (seqlab up) or the SSH tunnel open?"
    return f"{address}: {text.splitlines()[0] if text else type(err).__name__}"


def submission_id(name: str) -> str:
    """The job id a sweep is submitted under: ``seqlab-<name>`` (Ray's allowed characters)."""
    return "seqlab-" + re.sub(r"[^A-Za-z0-9_.-]", "-", name)


@dataclass
class Submission:
    """What ``seqlab submit`` sends and what it got back."""

    job_id: str
    entrypoint: str
    runtime_env: dict[str, Any]
    metadata: dict[str, str]
    dashboard_url: str = ""
    replaced: list[str] = field(default_factory=list)


def describe_file(path: Path) -> tuple[str, str, str]:
    """(kind, name, workload) of a sweep, job or claim file, validated as ``seqlab run`` would.

    A folder is a board: every claim file in it, validated, named ``board-<folder>``.
    """
    from orchestrator.files import load_any, workload_of

    if path.is_dir():
        from orchestrator.claims import discover, load_claim

        claims = discover(path)
        if not claims:
            raise SpecError(f"{path} is a folder with no claim files (*.yaml) in it")
        workloads = sorted({w for claim in claims for w in workload_of("claim", load_claim(claim)[0]).split(",")})
        return "board", f"board-{path.resolve().name}", ",".join(workloads)
    kind, spec, _ = load_any(path, check=False)
    return kind, spec.name, workload_of(kind, spec)


def _entrypoint(kind: str, name: str, rel: str, mode: str, runs_dir: str) -> str:
    """The job's command line: ``seqlab run``/``claim``/``claims`` as the file's kind needs."""
    if kind == "board":  # the board's Markdown lands in the runs folder beside its runs
        return (f"python -m orchestrator.cli claims --dir {_quote(rel)} --runs-dir {runs_dir} "
                f"--report {runs_dir}/{name}.md")
    command = "claim" if kind == "claim" else "run"
    flags = {"new": "", "resume": " --resume", "fresh": " --fresh" if kind != "claim" else ""}[mode]
    return f"python -m orchestrator.cli {command} {_quote(rel)}{flags} --runs-dir {runs_dir}"


def build_submission(file: Path, *, working_dir: Path, runs_dir: str, mlflow_uri: str | None,
                     mode: str = "new", job_id: str | None = None) -> Submission:
    """Entrypoint, runtime env and metadata for ``file`` (``mode``: new, resume or fresh)."""
    kind, name, workload = describe_file(file)
    working_dir = working_dir.resolve()
    try:
        rel = file.resolve().relative_to(working_dir)
    except ValueError:
        raise SpecError(f"{file} is outside the working directory {working_dir} that the job packages") from None
    if kind in ("claim", "board") and mode == "resume":
        raise SpecError(f"a {kind} cannot be resumed; --force runs it again")
    entrypoint = _entrypoint(kind, name, rel.as_posix(), mode, runs_dir)
    env_vars = {"PYTHONUNBUFFERED": "1", "RAY_AUTH_MODE": "token"}
    if mlflow_uri:
        env_vars["MLFLOW_TRACKING_URI"] = mlflow_uri
    runtime_env = {"working_dir": str(working_dir), "excludes": list(EXCLUDES), "env_vars": env_vars}
    # job_name: the Name column of the Ray dashboard's Jobs list
    metadata = {"job_name": name, "seqlab.sweep": name, "seqlab.workload": workload, "seqlab.kind": kind,
                "seqlab.file": rel.as_posix(), "seqlab.mode": mode}  # fmt: skip
    return Submission(job_id or submission_id(name), entrypoint, runtime_env, metadata)


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def submit(file: Path, *, address: str, working_dir: Path, runs_dir: str | None = None, mlflow_uri: str | None = None,
           force: bool = False, resume: bool = False, agent_wait: float = 90.0) -> Submission:
    """Submit ``file`` as a Ray Job whose id comes from its name; refuses a second copy unless asked.

    Without ``force``/``resume``, an earlier job of the same sweep (running or finished) is an
    error that says what to do. ``resume`` continues the sweep's run folder on the cluster;
    ``force`` starts it over (the old run folder is kept beside it).
    """
    if force and resume:
        raise SpecError("--force and --resume exclude each other")
    state = read_state()
    ours = state is not None and address.rstrip("/") == state["ray"]["dashboard"].rstrip("/")
    if runs_dir is None:
        runs_dir = state["runs_dir"] if ours else "$HOME/seqlab-runs"
    if mlflow_uri is None:
        mlflow_uri = state["mlflow"]["url"] if ours else os.environ.get("MLFLOW_TRACKING_URI")
    mode = "resume" if resume else "fresh" if force else "new"
    sub = build_submission(file, working_dir=working_dir, runs_dir=runs_dir, mlflow_uri=mlflow_uri, mode=mode)
    client = job_client(address)
    earlier = [j for j in _list(client, address) if (j.metadata or {}).get("seqlab.sweep") == sub.metadata["seqlab.sweep"]
               or j.submission_id == sub.job_id]  # fmt: skip
    if earlier and not (force or resume):
        last = max(earlier, key=lambda j: j.start_time or 0)
        status = str(last.status.value if hasattr(last.status, "value") else last.status)
        if status not in TERMINAL:
            raise ClusterError(f"'{sub.metadata['seqlab.sweep']}' is already submitted as {last.submission_id} ({status}): "
                               f"seqlab logs {last.submission_id}; --force submits another copy")  # fmt: skip
        raise ClusterError(f"'{sub.metadata['seqlab.sweep']}' already ran as {last.submission_id} ({status}): "
                           "--resume continues it, --force starts it over")  # fmt: skip
    # A cluster brought up again has no record of the jobs before it, but their run folders
    # remain on this machine: the job would fail at once, so say so now (claims always start anew).
    folder = Path(os.path.expandvars(runs_dir)).expanduser() / sub.metadata["seqlab.sweep"]
    if not earlier and ours and sub.metadata["seqlab.kind"] not in ("claim", "board") and mode == "new" and folder.is_absolute():
        if folder.is_dir() and any(folder.iterdir()):
            raise ClusterError(f"'{sub.metadata['seqlab.sweep']}' already has a run in {folder} (from an earlier cluster): "
                               "--resume continues it, --force starts it over")  # fmt: skip
    if earlier:
        taken = {j.submission_id for j in earlier}
        n = 2
        while f"{sub.job_id}-{mode}{n}" in taken or f"{sub.job_id}-{mode}{n}" == sub.job_id:
            n += 1
        sub.job_id = f"{sub.job_id}-{mode}{n}"
        sub.replaced = sorted(taken)
    deadline = time.monotonic() + agent_wait
    while True:
        try:
            client.submit_job(entrypoint=sub.entrypoint, submission_id=sub.job_id, runtime_env=sub.runtime_env,
                              metadata=sub.metadata)  # fmt: skip
            break
        except Exception as err:
            # A head that has just started may not have its job agent yet: Ray says try later.
            if "No available agent" in str(err) and time.monotonic() < deadline:
                time.sleep(3.0)
                continue
            raise ClusterError(_explain(err, address)) from None
    sub.dashboard_url = f"{address.rstrip('/')}/#/jobs/{sub.job_id}"
    return sub


def failure_reason(message: str, limit: int = 160) -> str:
    """One line from a failed job's message: the last ``seqlab: ...`` error its driver printed,
    else the message's first line."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    ours = [line.removeprefix("seqlab: ") for line in lines if line.startswith("seqlab: ")]
    reason = ours[-1] if ours else (lines[0] if lines else "")
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"


def _list(client, address: str) -> list:
    try:
        return list(client.list_jobs())
    except Exception as err:
        raise ClusterError(_explain(err, address)) from None


def jobs(address: str) -> list[dict[str, Any]]:
    """Every job of the cluster, newest first: id, status, sweep, workload, kind, start, end."""
    rows = []
    for job in _list(job_client(address), address):
        meta = job.metadata or {}
        rows.append({
            "job_id": job.submission_id or job.job_id, "status": _status(job.status),
            "sweep": meta.get("seqlab.sweep", ""), "workload": meta.get("seqlab.workload", ""),
            "kind": meta.get("seqlab.kind", ""), "start": job.start_time, "end": job.end_time,
            "message": job.message or "",
        })  # fmt: skip
    return sorted(rows, key=lambda r: r["start"] or 0, reverse=True)


def _status(status: Any) -> str:
    return str(status.value if hasattr(status, "value") else status)


def job_info(address: str, job_id: str) -> dict[str, Any]:
    """One job's status, message, metadata and entrypoint."""
    client = job_client(address)
    try:
        info = client.get_job_info(job_id)
    except Exception as err:
        raise ClusterError(f"job {job_id}: {_explain(err, address)}") from None
    return {"job_id": job_id, "status": _status(info.status), "message": info.message or "", "metadata": info.metadata or {},
            "entrypoint": info.entrypoint, "start": info.start_time, "end": info.end_time}  # fmt: skip


def logs(address: str, job_id: str) -> str:
    """The job's driver log so far."""
    try:
        return job_client(address).get_job_logs(job_id)
    except ClusterError:
        raise
    except Exception as err:
        raise ClusterError(f"job {job_id}: {_explain(err, address)}") from None


def follow_logs(address: str, job_id: str, write: Callable[[str], None]) -> str:
    """Stream the job's log to ``write`` until the job ends; returns its final status."""
    import asyncio

    client = job_client(address)

    async def tail() -> None:
        async for chunk in client.tail_job_logs(job_id):
            write(chunk)

    try:
        asyncio.run(tail())
    except Exception as err:
        raise ClusterError(f"job {job_id}: {_explain(err, address)}") from None
    return _status(client.get_job_status(job_id))


def stop(address: str, job_id: str) -> bool:
    """Ask Ray to stop the job; True if it was running."""
    try:
        return bool(job_client(address).stop_job(job_id))
    except ClusterError:
        raise
    except Exception as err:
        raise ClusterError(f"job {job_id}: {_explain(err, address)}") from None


def wait(address: str, job_id: str, timeout: float = 600.0, poll: float = 2.0) -> str:
    """Block until the job reaches a terminal status (or ``timeout``); returns the status."""
    client = job_client(address)
    deadline = time.monotonic() + timeout
    while True:
        status = _status(client.get_job_status(job_id))
        if status in TERMINAL or time.monotonic() > deadline:
            return status
        time.sleep(poll)
