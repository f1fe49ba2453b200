"""A long-lived Ray cluster for Seqlab: ``up``/``down`` locally, sweeps as Ray Jobs anywhere.

``up`` starts a Ray head (``ray start --head --block``, token auth, dashboard on 127.0.0.1) and
an MLflow tracking server (SQLite + a local artifact folder, Host header limited to localhost),
each in its own session, and writes their pids to ``$SEQLAB_HOME/up.json`` (default
``~/.seqlab``). ``down`` ends those process trees and nothing else. The head uses its own Ray
temp folder, so it never becomes the "current cluster" that a plain ``ray.init()`` elsewhere
on the machine would join.

Jobs go through the Ray Jobs API with the token in the ``Authorization`` header. The token is
never put into a job's runtime environment (the dashboard shows those to anyone who can see it).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from orchestrator import auth
from orchestrator.yamlio import SpecError

LOCAL = "127.0.0.1"
STATE_FILE = "up.json"
# Never packaged into a job's working directory: run outputs, environments, caches.
EXCLUDES = [
    "seqlab-runs/", "mlruns/", "mlartifacts/", ".seqlab/", ".venv/", ".ci-venv/", "venv/", ".git/",
    "**/__pycache__/", "*.egg-info/", ".pytest_cache/", "benchmarks/out/", "*.db", "*.pyc",
    "test-artifacts/",
]  # fmt: skip
TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}


class ClusterError(RuntimeError):
    """An operations problem with a one-line message the CLI prints as is."""


def home() -> Path:
    """Where ``up`` keeps its state, logs, Ray temp folder and MLflow store."""
    return Path(os.environ.get("SEQLAB_HOME") or Path.home() / ".seqlab").expanduser().resolve()


# -- up / down ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class UpOptions:
    """How ``seqlab up`` starts the local cluster."""

    host: str = LOCAL
    dashboard_port: int = 8265
    mlflow_port: int = 5000
    ray_port: int = 6379
    client_port: int = 10001
    num_cpus: int | None = None
    num_gpus: int | None = None


def exposure_warning(host: str) -> str | None:
    """A warning when ``host`` is not the loopback address, else None."""
    if host in (LOCAL, "localhost"):
        return None
    return (
        f"WARNING: binding the Ray dashboard and MLflow to {host}, not {LOCAL}: anyone who can reach "
        "this machine can reach them. The Jobs API runs any code it is sent (token required); MLflow "
        "has no authentication. Prefer an SSH tunnel (see docs/cluster.md)."
    )


def _bin(name: str) -> str:
    """A console script of this Python's environment (``ray``, ``mlflow``), else from PATH."""
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else (shutil.which(name) or name)


def up_commands(opts: UpOptions, where: Path) -> dict[str, list[str]]:
    """The two command lines ``up`` runs (shown by ``seqlab up --dry-run``)."""
    ray_cmd = [
        _bin("ray"), "start", "--head", "--block", "--disable-usage-stats",
        f"--node-ip-address={LOCAL}", f"--port={opts.ray_port}",
        f"--dashboard-host={opts.host}", f"--dashboard-port={opts.dashboard_port}",
        f"--ray-client-server-port={opts.client_port}", f"--temp-dir={where / 'ray'}",
        # Internal ports: free ones, so a second Ray on the machine does not collide (Ray's
        # fixed default for the agent, 52365, leaves a head without a Jobs agent).
        f"--dashboard-agent-listen-port={free_port()}", f"--metrics-export-port={free_port()}",
    ]  # fmt: skip
    if opts.num_cpus is not None:
        ray_cmd.append(f"--num-cpus={opts.num_cpus}")
    if opts.num_gpus is not None:
        ray_cmd.append(f"--num-gpus={opts.num_gpus}")
    hosts = ["localhost", LOCAL, f"localhost:{opts.mlflow_port}", f"{LOCAL}:{opts.mlflow_port}"]
    origins = [f"http://localhost:{opts.mlflow_port}", f"http://{LOCAL}:{opts.mlflow_port}"]
    if opts.host not in (LOCAL, "localhost"):  # explicitly exposed: its own name must pass too
        hosts += [opts.host, f"{opts.host}:{opts.mlflow_port}"]
        origins.append(f"http://{opts.host}:{opts.mlflow_port}")
    mlflow_cmd = [
        _bin("mlflow"), "server", "--host", opts.host, "--port", str(opts.mlflow_port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{where / 'mlflow.db'}",
        "--serve-artifacts", "--artifacts-destination", str(where / "mlartifacts"),
        "--allowed-hosts", ",".join(hosts), "--cors-allowed-origins", ",".join(origins),
    ]  # fmt: skip
    return {"ray": ray_cmd, "mlflow": mlflow_cmd}


def _url(host: str, port: int) -> str:
    return f"http://{LOCAL if host in ('0.0.0.0', '::', LOCAL) else host}:{port}"


def _proc_record(proc: subprocess.Popen) -> dict[str, Any]:
    import psutil

    return {"pid": proc.pid, "created": psutil.Process(proc.pid).create_time()}


def _alive(record: dict[str, Any]) -> bool:
    """Whether the process in ``record`` is still the one we started (pid reuse aside)."""
    import psutil

    try:
        proc = psutil.Process(record["pid"])
        return abs(proc.create_time() - record["created"]) < 1.0 and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, KeyError):
        return False


def read_state(where: Path | None = None) -> dict[str, Any] | None:
    """The running ``up`` cluster's state, or None when none is up (stale state is ignored)."""
    path = (where or home()) / STATE_FILE
    if not path.exists():
        return None
    state = json.loads(path.read_text())
    if any(_alive(state[svc]) for svc in ("ray", "mlflow") if svc in state):
        return state
    return None


def free_port() -> int:
    """A TCP port nothing listens on now (the kernel's pick)."""
    with socket.socket() as sock:
        sock.bind((LOCAL, 0))
        return sock.getsockname()[1]


def port_free(port: int, host: str = LOCAL) -> bool:
    """Whether nothing listens on ``host:port``."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _wait_http(url: str, timeout: float, headers: dict[str, str] | None, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise ClusterError(f"{proc.args[0]} exited with code {proc.returncode} while starting; log {log}:\n{tail}")
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=5) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1.0)
    raise ClusterError(f"{url} did not answer within {timeout:.0f} s; see {log}")


def up(opts: UpOptions = UpOptions(), where: Path | None = None, *, timeout: float = 180.0,
       echo: Callable[[str], None] = print) -> tuple[dict[str, Any], bool]:
    """Start the local Ray head and MLflow server; returns (state, started_now).

    A second call while they run returns the existing state with ``started_now`` False.
    """
    where = where or home()
    state = read_state(where)
    if state is not None:
        return state, False
    for port, what in ((opts.dashboard_port, "dashboard"), (opts.mlflow_port, "MLflow"), (opts.ray_port, "Ray GCS"),
                       (opts.client_port, "Ray client server")):
        if not port_free(port):
            raise ClusterError(f"port {port} ({what}) is in use: stop what holds it or pass another port")
    where.mkdir(parents=True, exist_ok=True)
    (where / "logs").mkdir(exist_ok=True)
    token = auth.enable()
    commands = up_commands(opts, where)
    env = {**os.environ, "RAY_AUTH_MODE": "token", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("RAY_ADDRESS", None)
    state: dict[str, Any] = {"host": opts.host, "home": str(where), "token_path": str(auth.token_path()),
                             "options": asdict(opts), "started": time.time()}  # fmt: skip
    procs: list[subprocess.Popen] = []
    try:
        for name in ("ray", "mlflow"):
            log = where / "logs" / f"{name}.log"
            with open(log, "ab") as out:
                proc = subprocess.Popen(commands[name], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        env=env, cwd=where, start_new_session=True)  # fmt: skip
            procs.append(proc)
            state[name] = {**_proc_record(proc), "log": str(log)}
        dashboard = _url(opts.host, opts.dashboard_port)
        mlflow_url = _url(opts.host, opts.mlflow_port)
        state["ray"].update(dashboard=dashboard, address=f"{LOCAL}:{opts.ray_port}")
        state["mlflow"].update(url=mlflow_url, backend=f"sqlite:///{where / 'mlflow.db'}", artifacts=str(where / "mlartifacts"))
        state["runs_dir"] = str(where / "runs")
        (where / STATE_FILE).write_text(json.dumps(state, indent=2))
        _wait_http(f"{dashboard}/api/version", timeout, {"Authorization": f"Bearer {token}"}, procs[0], where / "logs" / "ray.log")
        _wait_http(f"{mlflow_url}/health", timeout, None, procs[1], where / "logs" / "mlflow.log")
    except BaseException:
        for proc in procs:
            _stop_tree(proc.pid)
        (where / STATE_FILE).unlink(missing_ok=True)
        raise
    return state, True


def _stop_tree(pid: int, grace: float = 20.0) -> list[int]:
    """SIGTERM ``pid`` and its descendants, then SIGKILL whatever is left; returns their pids."""
    import psutil

    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return []
    procs = [root, *root.children(recursive=True)]
    for proc in procs:
        try:
            proc.send_signal(signal.SIGTERM)
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=grace)
    for proc in alive:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=5)
    return [p.pid for p in procs]


def down(where: Path | None = None) -> list[str]:
    """Stop what ``up`` started (by recorded pid) and nothing else; returns what was stopped."""
    where = where or home()
    path = where / STATE_FILE
    if not path.exists():
        return []
    state = json.loads(path.read_text())
    stopped = []
    for name in ("mlflow", "ray"):
        record = state.get(name)
        if record and _alive(record):
            pids = _stop_tree(record["pid"])
            stopped.append(f"{name} (pid {record['pid']}, {len(pids)} process(es))")
    path.unlink()
    return stopped


@contextlib.contextmanager
def running(opts: UpOptions, where: Path, timeout: float = 240.0):
    """``up`` for the length of a ``with`` block, then ``down`` (also on error): for tests and notebooks."""
    try:
        state, _ = up(opts, where, timeout=timeout)
        yield state
    finally:
        down(where)


# -- resource shapes of an autoscaling cluster -------------------------------------------------
def autoscaler_config_path() -> Path | None:
    """The cluster-launcher config this cluster scales by, if this machine has it.

    ``SEQLAB_CLUSTER_CONFIG`` names it; on a head launched by ``ray up cluster.yaml`` Ray writes it
    to ``~/ray_bootstrap_config.yaml``.
    """
    env = os.environ.get("SEQLAB_CLUSTER_CONFIG")
    if env:
        return Path(env).expanduser()
    bootstrap = Path.home() / "ray_bootstrap_config.yaml"
    return bootstrap if bootstrap.exists() else None


def node_type_shapes(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Per node type of a cluster-launcher config that may run: name, resources, max count."""
    shapes = []
    head = config.get("head_node_type")
    for name, node_type in (config.get("available_node_types") or {}).items():
        count = 1 if name == head else int(node_type.get("max_workers", config.get("max_workers", 0)) or 0)
        if count > 0:
            shapes.append({"name": name, "resources": dict(node_type.get("resources") or {}), "max": count})
    return shapes


def scalable_node_shapes() -> list[dict[str, float]]:
    """Resources of nodes the cluster may add (autoscaler's node types), beyond those alive now.

    Read from Ray's autoscaler cluster config in the GCS when the autoscaler reports one, else
    from the launcher config file (:func:`autoscaler_config_path`). Empty for a fixed cluster.
    """
    shapes: list[dict[str, float]] = []
    try:
        from orchestrator.ray_private import autoscaler_node_groups

        for group in autoscaler_node_groups():
            if group.max_count != 0:
                shapes.append({k: float(v) for k, v in group.resources.items()})
    except Exception:  # no GCS connection or no autoscaler: fall back to the file
        pass
    path = autoscaler_config_path()
    if not shapes and path is not None and path.exists():
        import yaml

        config = yaml.safe_load(path.read_text()) or {}
        shapes = [{k: float(v) for k, v in s["resources"].items()} for s in node_type_shapes(config)]
    return shapes


# -- Ray Jobs ----------------------------------------------------------------------------------
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
    """(kind, name, workload) of a sweep, job or claim file, validated as ``seqlab run`` would."""
    from orchestrator.files import load_any, workload_of

    kind, spec, _ = load_any(path, check=False)
    return kind, spec.name, workload_of(kind, spec)


def build_submission(file: Path, *, working_dir: Path, runs_dir: str, mlflow_uri: str | None,
                     mode: str = "new", job_id: str | None = None) -> Submission:
    """Entrypoint, runtime env and metadata for ``file`` (``mode``: new, resume or fresh)."""
    kind, name, workload = describe_file(file)
    working_dir = working_dir.resolve()
    try:
        rel = file.resolve().relative_to(working_dir)
    except ValueError:
        raise SpecError(f"{file} is outside the working directory {working_dir} that the job packages") from None
    if kind == "claim" and mode == "resume":
        raise SpecError("a claim cannot be resumed; --force runs it again")
    command = "claim" if kind == "claim" else "run"
    flags = {"new": "", "resume": " --resume", "fresh": " --fresh" if kind != "claim" else ""}[mode]
    entrypoint = f"python -m orchestrator.cli {command} {_quote(rel.as_posix())}{flags} --runs-dir {runs_dir}"
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
    if not earlier and ours and sub.metadata["seqlab.kind"] != "claim" and mode == "new" and folder.is_absolute():
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
