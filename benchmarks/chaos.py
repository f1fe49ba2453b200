"""The chaos table: every fault of the chaos suite, what was injected and what it cost.

Runs ``pytest -m chaos tests/chaos`` (the fast tier and the slow one) with ``SEQLAB_CHAOS_RECORD``
set: each test appends one row after its own checks pass, and times the same work run without
the fault. A failing test is listed under the table with its pytest line. The time ratio is the
faulted run's wall time (all its drivers together) over the uninterrupted run, from the same
test; Ray Tune's restore bar is 1.5x. Run on a quiet machine (it takes about 15 minutes):

    python benchmarks/chaos.py [--out benchmarks/results/chaos.md] [-k EXPR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def table(rows: list[dict]) -> str:
    lines = ["| fault | times injected | trials finished | duplicated rows | lost rows | faulted run (s) "
             "| uninterrupted (s) | ratio | resources free after (s) |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        base = r["baseline_s"]
        ratio = f"{r['seconds'] / base:.2f}x" if base else "n/a"
        lines.append(f"| {r['fault']} | {r['injected']} | {r['finished']} | {r['duplicates']} | {r['lost']} "
                     f"| {r['seconds']:.1f} | {base if base is not None else 'n/a'} | {ratio} | {r['free_s']:.1f} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="Append the table to this markdown file.")
    parser.add_argument("-k", default=None, help="Only the chaos tests matching this pytest -k expression.")
    args = parser.parse_args()

    machine_before = describe()
    with tempfile.TemporaryDirectory(prefix="seqlab-chaos-") as tmp:
        record = Path(tmp) / "rows.jsonl"
        cmd = [sys.executable, "-m", "pytest", "-m", "chaos", "tests/chaos", "-q", "-p", "no:cacheprovider", "-rf"]
        if args.k:
            cmd += ["-k", args.k]
        started = time.monotonic()
        run = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "SEQLAB_CHAOS_RECORD": str(record)},
                             capture_output=True, text=True)  # fmt: skip
        wall = time.monotonic() - started
        rows = [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []
    failed = [line for line in run.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    summary = (run.stdout.strip().splitlines() or ["(no pytest output)"])[-1]
    text = (
        "### Chaos suite: faults injected and what they cost\n\n"
        f"Machine at start: {machine_before}\n\nMachine at end: {describe()}\n\n"
        + table(rows)
        + f"\npytest: {summary} ({wall:.0f} s in all)\n"
        + "".join(f"\n- {line}" for line in failed)
        + ("\n" if failed else "")
    )
    print(text)
    if run.returncode != 0:
        print(run.stdout[-4000:], file=sys.stderr)
    if args.out:
        with args.out.open("a") as fh:
            fh.write("\n" + text)
    sys.exit(run.returncode)


if __name__ == "__main__":
    main()
