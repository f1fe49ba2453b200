"""Every Triton launch fits an H100/H200's shared memory per block and does not spill heavily,
checked by compiling for sm_90 here (no GPU needed); and the checks catch the two problems they
were written for: the three-deep launch that failed on the lent H200, and the "ieee" float32 dots
that left the state kernels at 32 registers and tens of KB of spills."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("triton")

SCRIPT = """
from dataclasses import replace
from kernels.gpu_resources import LIMITS, SPILL_LIMIT, launches, main, resources
from kernels.triton_launch import STATE_LOOP_STAGES
assert main(["--capability", "90"]) == 0
every = {l.kernel: l for l in launches()}
bwd = every["_delta_rule_bwd_state_kernel"]
assert bwd.num_stages == STATE_LOOP_STAGES == 2
need = resources(replace(bwd, num_stages=3), 90).shared
print("three-deep backward state kernel needs", need)
assert need > LIMITS[90], need
fwd = every["_gla_fwd_kernel"]
assert fwd.constexprs["PREC"] == "tf32x3"
ieee = resources(replace(fwd, constexprs={**fwd.constexprs, "PREC": "ieee"}), 90)
print("GLA forward state kernel with ieee dots:", ieee)
assert ieee.spills > SPILL_LIMIT, ieee
"""


def test_every_launch_fits_sm90_and_the_checks_catch_what_they_were_written_for():
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env.setdefault("TRITON_DEFAULT_FP_FUSION", "1")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ") and "| 90 |" in line]
    assert len(rows) == 10 and all(row.endswith("| yes |") for row in rows), proc.stdout


def test_ptxas_figures_are_read_from_its_log():
    from kernels.gpu_resources import _ptxas_figures

    log = (
        "ptxas info    : Function properties for k\n"
        "    6784 bytes stack frame, 8928 bytes spill stores, 13060 bytes spill loads\n"
        "ptxas info    : Used 32 registers, used 1 barriers, 6784 bytes cumulative stack size\n"
    )
    assert _ptxas_figures(log) == (32, 8928, 13060, 6784)
