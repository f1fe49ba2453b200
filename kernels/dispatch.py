"""Backend choice shared by every op: Triton on CUDA (where measured faster), the compiled CPU
kernel on CPU where an op has one and it builds here, chunked PyTorch elsewhere, naive on request.

An op's public function calls :func:`pick_backend` with the backend the caller asked for
(``None`` for automatic) and the tensors it got. Automatic choice is logged once per op; an
explicit request for a backend that cannot run here raises :class:`BackendUnavailable`
instead of quietly falling back.
"""

from __future__ import annotations

import logging
import os
from typing import Callable, Literal

Backend = Literal["naive", "chunk", "cpp", "triton"]
BACKENDS: tuple[str, ...] = ("naive", "chunk", "cpp", "triton")

log = logging.getLogger("seqlab.kernels")
_announced: set[str] = set()

#: Ops whose Triton path the automatic choice takes on CUDA: only those measured faster than the
#: chunked path there and passing the GPU test tier (benchmarks/results/kernels-gpu.md, H200,
#: 2026-11-27). gated_linear_attention's Triton ran 3.1x slower than chunk; delta_rule's Triton
#: backward ran out of shared memory at D=64 (fixed since by a two-deep pipeline, checked by
#: compiling for sm_90 in CI, not yet timed on a GPU). Both stay reachable with backend="triton".
TRITON_BY_DEFAULT: frozenset[str] = frozenset({"selective_scan"})


def lazy_backends(package: str, modules: dict[str, str]) -> Callable[[str], object]:
    """A module-level ``__getattr__`` for an op package: ``modules`` maps a backend function's name
    to the module defining it, imported on first use (so importing the op does not import triton)."""

    def __getattr__(name: str) -> object:
        if name in modules:
            import importlib

            return getattr(importlib.import_module(modules[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


class BackendUnavailable(RuntimeError):
    """An explicitly requested backend cannot run with these tensors on this machine."""


def triton_available() -> bool:
    """True when triton imports (on CPU it then runs only under TRITON_INTERPRET=1)."""
    try:
        import triton  # noqa: F401
    except Exception:  # ImportError, or a broken install raising at import
        return False
    return True


def triton_can_run(device_type: str) -> bool:
    """Triton runs on CUDA tensors, and on CPU tensors only in interpreter mode."""
    if not triton_available():
        return False
    return device_type == "cuda" or os.environ.get("TRITON_INTERPRET") == "1"


def _compiled_ready(op: str, compiled_cpu: Callable[[], object]) -> str | None:
    """None when the op's compiled CPU kernel loads (building it on first use), else why not."""
    from kernels.cpu_build import CompilerUnavailable

    try:
        compiled_cpu()
    except (CompilerUnavailable, OSError) as exc:
        return str(exc)
    return None


def pick_backend(
    op: str, requested: str | None, device_type: str, *, compiled_cpu: Callable[[], object] | None = None
) -> str:
    """The backend ``op`` should run: ``requested`` if it can run, else an error; or automatic.

    ``compiled_cpu`` loads the op's compiled CPU kernel (raising CompilerUnavailable when it
    cannot be built); None for ops without one.
    """
    if requested is not None:
        if requested not in BACKENDS:
            raise ValueError(f"{op}: backend must be one of {', '.join(BACKENDS)}, got {requested!r}")
        if requested == "triton" and not triton_can_run(device_type):
            why = "triton is not installed" if not triton_available() else (
                f"tensors are on {device_type}; Triton needs CUDA (or TRITON_INTERPRET=1 set before import)"
            )
            raise BackendUnavailable(f"{op}: backend='triton' requested but {why}")
        if requested == "cpp":
            if compiled_cpu is None:
                why = f"{op} has no compiled CPU kernel"
            elif device_type != "cpu":
                why = f"tensors are on {device_type}; the compiled kernel runs on the CPU"
            else:
                why = _compiled_ready(op, compiled_cpu)
            if why:
                raise BackendUnavailable(f"{op}: backend='cpp' requested but {why}")
        return requested
    if device_type == "cuda" and op in TRITON_BY_DEFAULT and triton_available():
        choice = "triton"
    elif device_type == "cpu" and compiled_cpu is not None and _cpu_kernel_loads(op, compiled_cpu):
        choice = "cpp"
    else:
        choice = "chunk"
    if op not in _announced:
        _announced.add(op)
        log.info("%s: using the %s backend on %s", op, choice, device_type)
    return choice


_cpu_kernel_state: dict[str, bool] = {}


def _cpu_kernel_loads(op: str, compiled_cpu: Callable[[], object]) -> bool:
    """Whether the automatic choice may take the compiled kernel (tried once per op per process)."""
    if op not in _cpu_kernel_state:
        why = _compiled_ready(op, compiled_cpu)
        if why:
            log.warning("%s: compiled CPU kernel unavailable, using the chunk backend: %s", op, why)
        _cpu_kernel_state[op] = why is None
    return _cpu_kernel_state[op]
