"""kernels.inventory: what can run here and what runs by default, including without a compiler."""

from __future__ import annotations

import os
import subprocess
import sys

from kernels.inventory import inspect, ops


def test_every_op_folder_is_listed_and_its_backends_reported():
    assert ops() == ["delta_rule", "gated_linear_attention", "prefix_attention", "s4d_kernel", "selective_scan"]
    found = inspect("s4d_kernel")
    assert found.backends == {"naive": "yes", "chunk": "yes", "cpp": "—", "triton": "—"}
    assert found.auto_cpu == "chunk"


def test_without_a_compiler_the_compiled_kernels_say_why_and_the_default_is_chunk(tmp_path):
    code = "from kernels.inventory import inspect; f = inspect('delta_rule'); print(f.backends['cpp']); print(f.auto_cpu)"
    env = {**os.environ, "CXX": "/nonexistent-compiler", "SEQLAB_KERNEL_CACHE": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    reason, default = proc.stdout.splitlines()
    assert reason == "CXX='/nonexistent-compiler' is not an executable on PATH"
    assert default == "chunk"
