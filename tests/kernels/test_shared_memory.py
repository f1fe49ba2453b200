"""Every Triton launch fits an H100/H200's shared memory per block, checked by compiling for sm_90
here (no GPU needed); and the check catches the launch that failed on the lent H200."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("triton")

SCRIPT = """
from kernels.shared_memory import LIMITS, Launch, launches, main, shared_bytes
from kernels.triton_launch import STATE_LOOP_STAGES
assert main(["--capability", "90"]) == 0
bwd = next(l for l in launches() if l.kernel == "_delta_rule_bwd_state_kernel")
assert bwd.num_stages == STATE_LOOP_STAGES == 2
three_deep = Launch(bwd.op, bwd.kernel, bwd.constexprs, bwd.num_warps, 3)
need = shared_bytes(three_deep, 90)
print("three-deep backward state kernel needs", need)
assert need > LIMITS[90], need
"""


def test_every_launch_fits_sm90_and_the_three_deep_backward_would_not():
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env.setdefault("TRITON_DEFAULT_FP_FUSION", "1")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ") and "| 90 |" in line]
    assert len(rows) == 10 and all(row.endswith("| yes |") for row in rows), proc.stdout
