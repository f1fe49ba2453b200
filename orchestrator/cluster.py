"""A long-lived Ray cluster for Seqlab: ``up``/``down`` locally (Ray Jobs on it: :mod:`orchestrator.ray_jobs`).

``up`` starts a Ray head (``ray start --head --block``, token auth, dashboard on 127.0.0.1) and
an MLflow tracking server (SQLite + a local artifact folder, Host header limited to localhost),
each in its own session, and writes their pids to ``$SEQLAB_HOME/up.json`` (default
``~/.seqlab``). ``down`` ends those process trees and nothing else. The head uses its own Ray
temp folder, so it never becomes the "current cluster" that a plain ``ray.init()`` elsewhere
on the machine would join.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from orchestrator import auth

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
