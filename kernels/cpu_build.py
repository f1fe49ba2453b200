"""Build a kernel's C++ source into a shared library once per machine, and load it with ctypes.

The compiled CPU kernels (``kernels/<op>/*.cpp``) use no PyTorch headers: plain loops over raw
pointers, built with the system C++ compiler in about a second and cached under
``$SEQLAB_KERNEL_CACHE`` (default ``~/.cache/seqlab/kernels``). Sources may include
``cpu_common.h`` (helpers shared by the kernels; ``kernels/`` is on the include path). The cache
key covers the source, that header, the flags, the compiler's version and this CPU's instruction-set flags, so a home
directory shared by unlike nodes never loads a library built for another CPU. Concurrent
builders (several Ray workers starting at once) serialise on a file lock and the library is
moved into place atomically.

``-ffast-math`` is given to the compile step only: GCC before 13 links ``crtfastmath.o`` into a
shared library built with it, which would switch the whole process to flush-denormals-to-zero.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

COMPILE_FLAGS = ("-O3", "-std=c++17", "-fPIC", "-march=native", "-ffast-math", "-pthread")
LINK_FLAGS = ("-shared", "-pthread")
LIBS = ("-lm",)
INCLUDE_DIR = Path(__file__).resolve().parent
COMMON_HEADER = INCLUDE_DIR / "cpu_common.h"


class CompilerUnavailable(RuntimeError):
    """No C++ compiler, or the build failed; the message says which and how to fix it."""


def compiler() -> str:
    """The C++ compiler to use: ``$CXX``, else ``c++`` or ``g++`` on PATH."""
    named = os.environ.get("CXX")
    if named:
        found = shutil.which(named)
        if not found:
            raise CompilerUnavailable(f"CXX={named!r} is not an executable on PATH")
        return found
    found = shutil.which("c++") or shutil.which("g++")
    if not found:
        raise CompilerUnavailable("no C++ compiler found (set CXX, or install g++: apt-get install g++)")
    return found


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line
    except OSError:
        pass
    return platform.processor()


def _cache_dir() -> Path:
    """``$SEQLAB_KERNEL_CACHE``, else ``~/.cache/seqlab/kernels``, else a per-user folder in /tmp."""
    if os.environ.get("SEQLAB_KERNEL_CACHE"):
        return Path(os.environ["SEQLAB_KERNEL_CACHE"])
    try:
        return Path.home() / ".cache" / "seqlab" / "kernels"
    except RuntimeError:  # no HOME and no password entry (some containers)
        return Path(tempfile.gettempdir()) / f"seqlab-kernels-{os.getuid()}"


def _build_key(source: bytes, cxx: str) -> str:
    version = subprocess.run([cxx, "--version"], capture_output=True, text=True, timeout=60).stdout
    parts = [source, COMMON_HEADER.read_bytes(), " ".join(COMPILE_FLAGS + LINK_FLAGS).encode(), version.encode(),
             _cpu_flags().encode(), platform.machine().encode()]
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:16]


def _compile(src: Path, target: Path, cxx: str) -> None:
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        obj, lib = Path(tmp) / "kernel.o", Path(tmp) / target.name
        for cmd in ([cxx, *COMPILE_FLAGS, f"-I{INCLUDE_DIR}", "-c", str(src), "-o", str(obj)], [cxx, *LINK_FLAGS, str(obj), "-o", str(lib), *LIBS]):
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            if res.returncode != 0:
                raise CompilerUnavailable(f"building {src.name} failed: {' '.join(cmd)}\n{res.stderr[-3000:]}")
        os.replace(lib, target)


STALE_AFTER_S = 30 * 24 * 3600
"""A cached build unused for this long (by its modification time, refreshed on every load) is
removed when a new build of the same source is made: edits of a kernel leave no pile behind,
while builds for other CPUs sharing the cache, used within the month, are kept."""


def prune_stale(cache: Path, prefix: str, *, keep: Path, now: float | None = None) -> list[Path]:
    """Remove ``prefix*.so`` libraries (and their lock files) in ``cache`` unused for
    ``STALE_AFTER_S``, except ``keep``; returns what was removed. Best effort: a file another
    process removes first, or one that cannot be removed, is skipped."""
    import time

    now = time.time() if now is None else now
    removed = []
    for lib in cache.glob(f"{prefix}*.so"):
        try:
            if lib == keep or now - lib.stat().st_mtime < STALE_AFTER_S:
                continue
            lib.unlink()
            lib.with_name(lib.name + ".lock").unlink(missing_ok=True)
        except OSError:
            continue
        removed.append(lib)
    return removed


_DTYPE_SUFFIX = {"torch.float32": "f32", "torch.float64": "f64"}


def entry(source: Path, name: str, dtype) -> ctypes._CFuncPtr:
    """The function ``<name>_f32`` or ``<name>_f64`` (by ``dtype``, float32 or float64) of the
    library built from ``source``; every kernel exports one instantiation per dtype."""
    return getattr(load_library(source), f"{name}_{_DTYPE_SUFFIX[str(dtype)]}")


def ptr(t) -> ctypes.c_void_p:
    """A tensor's data pointer as a ctypes argument (the tensor must stay alive for the call)."""
    return ctypes.c_void_p(t.data_ptr())


@functools.lru_cache(maxsize=None)
def load_library(source: Path) -> ctypes.CDLL:
    """The shared library built from ``source`` (a .cpp file), compiling it on first use."""
    try:
        import fcntl
    except ImportError as exc:  # Windows
        raise CompilerUnavailable("compiled CPU kernels need a POSIX system (no fcntl here)") from exc
    cxx = compiler()
    try:
        key = _build_key(source.read_bytes(), cxx)
        cache = _cache_dir()
        cache.mkdir(parents=True, exist_ok=True)
        target = cache / f"{source.parent.name}-{source.stem}-{key}.so"  # e.g. delta_rule-recurrence-<key>.so
        if not target.exists():
            with open(cache / f"{target.name}.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not target.exists():
                    _compile(source, target, cxx)
                    prune_stale(cache, f"{source.parent.name}-{source.stem}-", keep=target)
        os.utime(target)  # "last used": builds other nodes still use stay fresh
    except (OSError, subprocess.SubprocessError) as exc:  # unwritable cache, compiler timed out, ...
        raise CompilerUnavailable(f"building {source.name} failed: {type(exc).__name__}: {exc}") from exc
    return ctypes.CDLL(str(target))
