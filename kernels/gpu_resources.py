"""What each Triton kernel needs of an NVIDIA card (shared memory per block, registers and spills
per thread), found without the card.

A launch whose kernel needs more shared memory than the card allows fails with
``OutOfResources``, and only on the card; a kernel that runs out of registers spills to local
memory and runs slowly, which shows only in timings on the card. Compiling ahead of time for a
target (``triton.compile(..., target=GPUTarget("cuda", capability, 32))``) runs Triton's whole
NVIDIA pipeline, ptxas included (it ships in the triton wheel), on a CPU-only machine; the
compiled kernel's metadata gives its shared memory and ptxas's own log (``-v``) its registers and
spill traffic, so both are checked in CI. Compile with ``TRITON_INTERPRET`` unset: under the
interpreter ``@triton.jit`` gives functions that cannot be compiled.

Run: python -m kernels.gpu_resources [--capability 90 80] [--size 64]
Prints one row per kernel launch of every op at the benchmark size (D = 64, chunk 64 for the
linear-attention ops; P = 64, N = 16 for the selective scan) and exits 1 if any launch needs
more shared memory than its card has or spills more than ``SPILL_LIMIT`` bytes.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field

LIMITS = {90: 232_448, 80: 166_912, 89: 101_376}
"""Shared memory per block (opt-in maximum, bytes): sm_90 (H100/H200), sm_80 (A100), sm_89 (L4)."""

DEFAULT_STAGES = 3  # Triton's num_stages on NVIDIA when a launch does not set it

SPILL_LIMIT = 16_384
"""Most spill traffic (stores + loads, bytes per thread, as ptxas counts them) a launch may have.

Until 2026-11-28 the state-carrying kernels of delta_rule and GLA made their float32 ``tl.dot``
in "ieee" precision (FMA, no tensor cores); compiled for sm_90, ptxas kept them to 32 registers
and spilled 21–75 KB per thread. With "tf32x3" they spill 0.2–8.5 KB at chunk 64. The limit
catches a return of the first case without tracking each ptxas version's exact figures."""


@dataclass(frozen=True)
class Launch:
    """One kernel launch as the op's autograd function makes it."""

    op: str
    kernel: str  # attribute name in kernels/<op>/triton.py
    constexprs: dict = field(default_factory=dict)
    num_warps: int = 4
    num_stages: int = DEFAULT_STAGES


def launches(size: int = 64, chunk: int = 64) -> list[Launch]:
    """Every Triton launch of the ops at head size ``size`` (K = V = P) in float32."""
    import torch

    from kernels.gated_linear_attention.triton import SUB_BLOCK, SUB_BLOCK_WARPS
    from kernels.selective_scan.triton import _blocks
    from kernels.triton_launch import STATE_LOOP_STAGES, chunk_launch_meta

    meta = chunk_launch_meta(torch.empty(0), size, size, chunk)
    warps = meta.pop("num_warps")
    state = dict(num_warps=warps, num_stages=STATE_LOOP_STAGES)
    block_p, block_n = _blocks(size, 16)
    scan = dict(CHUNK=32, BLOCK_P=block_p, BLOCK_N=block_n)
    return [
        Launch("delta_rule", "_wy_fwd_kernel", meta, warps),
        Launch("delta_rule", "_delta_rule_fwd_kernel", {**meta, "HAS_H0": True}, **state),
        Launch("delta_rule", "_delta_rule_bwd_state_kernel", {**meta, "HAS_DHT": True}, **state),
        Launch("delta_rule", "_wy_bwd_kernel", meta, warps),
        Launch("gated_linear_attention", "_gla_intra_fwd_kernel", {**meta, "BC": SUB_BLOCK}, SUB_BLOCK_WARPS),
        Launch("gated_linear_attention", "_gla_fwd_kernel", {**meta, "HAS_H0": True}, **state),
        Launch("gated_linear_attention", "_gla_bwd_state_kernel", {**meta, "HAS_DHT": True}, **state),
        Launch("gated_linear_attention", "_gla_intra_bwd_kernel", {**meta, "BC": SUB_BLOCK}, SUB_BLOCK_WARPS),
        Launch("selective_scan", "_fwd_kernel", {**scan, "HAS_H0": True}, 2),
        Launch("selective_scan", "_bwd_kernel", {**scan, "HAS_GHT": True}, 2),
    ]


@dataclass(frozen=True)
class Resources:
    """What one compiled launch needs: shared memory per block; registers, spills and stack per thread."""

    shared: int
    registers: int
    spill_stores: int
    spill_loads: int
    stack: int

    @property
    def spills(self) -> int:
        return self.spill_stores + self.spill_loads


def _ptxas_figures(log: str) -> tuple[int, int, int, int]:
    """(registers, spill stores, spill loads, stack frame) from ptxas's ``-v`` log of one kernel."""
    import re

    def grab(pattern: str) -> int:
        found = re.search(pattern, log)
        return int(found.group(1)) if found else 0

    return (grab(r"Used (\d+) registers"), grab(r"(\d+) bytes spill stores"), grab(r"(\d+) bytes spill loads"),
            grab(r"(\d+) bytes stack frame"))


def resources(launch: Launch, capability: int) -> Resources:
    """Compile ``launch`` for ``sm_<capability>`` and return what it needs.

    Pointer arguments (``*_ptr``) are float32, ``scale`` is float32, other runtime arguments
    int32; constexprs the kernel does not take are dropped.
    """
    import contextlib
    import importlib
    import io

    import triton
    from triton import knobs
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    fn = getattr(importlib.import_module(f"kernels.{launch.op}.triton"), launch.kernel)
    signature, constexprs = {}, {}
    for i, name in enumerate(fn.arg_names):
        if name in launch.constexprs:
            signature[name] = "constexpr"
            constexprs[(i,)] = launch.constexprs[name]
        else:
            signature[name] = "*fp32" if name.endswith("_ptr") else "fp32" if name == "scale" else "i32"
    source = ASTSource(fn=fn, signature=signature, constexprs=constexprs)
    options = dict(num_warps=launch.num_warps, num_stages=launch.num_stages)
    log = io.StringIO()
    # Triton prints ptxas's -v log when asked; a cached kernel skips ptxas, so always compile afresh.
    with knobs.nvidia.scope(), knobs.compilation.scope(), contextlib.redirect_stdout(log):
        knobs.nvidia.dump_ptxas_log = True
        knobs.compilation.always_compile = True
        compiled = triton.compile(source, target=GPUTarget("cuda", capability, 32), options=options)
    return Resources(compiled.metadata.shared, *_ptxas_figures(log.getvalue()))


def shared_bytes(launch: Launch, capability: int) -> int:
    """Shared memory per block of ``launch`` compiled for ``sm_<capability>``, in bytes."""
    return resources(launch, capability).shared


def main(argv: list[str] | None = None) -> int:
    """Print the table; return 1 if a launch needs more shared memory than its card allows or
    spills more than SPILL_LIMIT."""
    import os

    if os.environ.get("TRITON_INTERPRET") == "1":
        raise SystemExit("unset TRITON_INTERPRET: interpreted kernels cannot be compiled for a GPU")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capability", type=int, nargs="+", default=[90], choices=sorted(LIMITS))
    parser.add_argument("--size", type=int, default=64, help="Head size K = V = P.")
    args = parser.parse_args(argv)
    bad = 0
    print("| op | kernel | warps | stages | sm | shared (B) | limit (B) | registers | spills (B) | stack (B) | fits |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for launch in launches(args.size):
        for cap in args.capability:
            need = resources(launch, cap)
            ok = need.shared <= LIMITS[cap] and need.spills <= SPILL_LIMIT
            bad += not ok
            print(f"| {launch.op} | {launch.kernel} | {launch.num_warps} | {launch.num_stages} | {cap} "
                  f"| {need.shared:,} | {LIMITS[cap]:,} | {need.registers} | {need.spills:,} | {need.stack:,} "
                  f"| {'yes' if ok else '**no**'} |", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
