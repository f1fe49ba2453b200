"""What Ray and Tune know about trials that ran: their result rows and the node of each process."""

from __future__ import annotations

import json


def trial_rows(outcome) -> dict[str, list[dict]]:
    """Tune's per-trial result.json lines (they carry the trial process's pid)."""
    out = {}
    for path in outcome.path.glob("*/result.json"):
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        if rows:
            out[rows[0]["trial_id"]] = rows
    return out


def node_of_pid() -> dict[int, str]:
    """pid -> node id of every actor the cluster ran, dead or alive (Ray's GCS actor table)."""
    import ray

    table = ray._private.state.actors()  # noqa: SLF001 - the GCS view; no dashboard needed
    return {a["Pid"]: a["Address"]["NodeID"] for a in table.values() if a.get("Pid")}


def trial_actors_on(node_id: str) -> list[dict]:
    """Live Tune trial actors placed on ``node_id``."""
    import ray

    table = ray._private.state.actors()  # noqa: SLF001
    return [a for a in table.values() if a["State"] == "ALIVE" and a["Address"]["NodeID"] == node_id
            and "ImplicitFunc" in a.get("ActorClassName", "") + a.get("Name", "")]  # fmt: skip
