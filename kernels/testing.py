"""Comparison helpers for kernel tests and benchmarks (after fla's relative-RMS checks)."""

from __future__ import annotations


def rel_rms(ref, out) -> float:
    """‖ref − out‖ / ‖ref‖ over all elements (0 when both are zero); float64 accumulation."""
    ref64, out64 = ref.detach().double(), out.detach().double()
    denom = ref64.norm().item()
    err = (ref64 - out64).norm().item()
    return err if denom == 0.0 else err / denom


def assert_close(name: str, ref, out, budget: float) -> None:
    """Fail with the tensor's name and its error when the relative RMS exceeds ``budget``."""
    assert ref.shape == out.shape, f"{name}: shape {tuple(out.shape)} != reference {tuple(ref.shape)}"
    err = rel_rms(ref, out)
    assert err == err, f"{name}: NaN in output (did a kernel read unwritten memory?)"
    assert err <= budget, f"{name}: relative RMS error {err:.2e} exceeds {budget:.1e}"


def triton_refusal_without_interpreter(op: str, call: str) -> str:
    """Run ``call`` (one expression using ``torch`` and ``op``'s public function, with
    ``backend='triton'``) on CPU in a fresh interpreter without ``TRITON_INTERPRET``, and return
    the ``BackendUnavailable`` message it raised ('' if it raised none). A subprocess, because
    triton reads the variable once, at import."""
    import os
    import subprocess
    import sys

    code = (
        f"import torch\nfrom kernels.{op} import {op}\nfrom kernels.dispatch import BackendUnavailable\n"
        f"try:\n    {call}\nexcept BackendUnavailable as e:\n    print('RAISED', e)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout.partition("RAISED ")[2].strip()
