"""kernels.cpu_build: one build per source and machine, clear errors, the process's float mode kept."""

from __future__ import annotations

import ctypes

import pytest
import torch

from kernels import cpu_build

SOURCE = 'extern "C" double seqlab_twice(double v) { return 2 * v; }\n'


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQLAB_KERNEL_CACHE", str(tmp_path / "cache"))
    cpu_build.load_library.cache_clear()
    yield tmp_path / "cache"
    cpu_build.load_library.cache_clear()


def test_a_source_is_built_once_and_reused(cache, tmp_path):
    src = tmp_path / "twice.cpp"
    src.write_text(SOURCE)
    lib = cpu_build.load_library(src)
    lib.seqlab_twice.restype, lib.seqlab_twice.argtypes = ctypes.c_double, [ctypes.c_double]
    assert lib.seqlab_twice(21.0) == 42.0
    (built,) = cache.glob("*-twice-*.so")
    assert built.name.startswith(f"{tmp_path.name}-twice-")  # the op's folder names its library
    inode = built.stat().st_ino  # a rebuild would move a new file into place
    cpu_build.load_library.cache_clear()
    cpu_build.load_library(src)
    assert [p.name for p in cache.glob("*-twice-*.so")] == [built.name] and built.stat().st_ino == inode
    src.write_text(SOURCE.replace("2 * v", "3 * v"))  # a changed source gets a library of its own
    cpu_build.load_library.cache_clear()
    cpu_build.load_library(src)
    assert len(list(cache.glob("*-twice-*.so"))) == 2


def test_a_source_that_does_not_compile_names_the_file_and_the_error(cache, tmp_path):
    src = tmp_path / "broken.cpp"
    src.write_text("this is not C++\n")
    with pytest.raises(cpu_build.CompilerUnavailable, match="building broken.cpp failed") as info:
        cpu_build.load_library(src)
    assert "error" in str(info.value)
    assert not list(cache.glob("broken-*.so"))


def test_a_missing_compiler_is_a_clear_error(cache, tmp_path, monkeypatch):
    monkeypatch.setenv("CXX", "no-such-compiler-xyz")
    src = tmp_path / "twice.cpp"
    src.write_text(SOURCE)
    with pytest.raises(cpu_build.CompilerUnavailable, match="CXX='no-such-compiler-xyz' is not an executable"):
        cpu_build.load_library(src)


def test_loading_a_fast_math_kernel_keeps_denormals_in_the_process():
    """-ffast-math goes to the compile step only: linking with it (GCC < 13) would set
    flush-to-zero for the whole process through crtfastmath.o."""
    from kernels.selective_scan.cpp import library

    library()
    tiny = torch.tensor([1e-40], dtype=torch.float32)  # a float32 denormal
    assert (tiny * 1.0).item() != 0.0


def test_an_unwritable_cache_is_a_clear_error(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should go")
    monkeypatch.setenv("SEQLAB_KERNEL_CACHE", str(blocker / "cache"))
    cpu_build.load_library.cache_clear()
    src = tmp_path / "twice.cpp"
    src.write_text(SOURCE)
    try:
        with pytest.raises(cpu_build.CompilerUnavailable, match="building twice.cpp failed: (FileExistsError|NotADirectoryError)"):
            cpu_build.load_library(src)
    finally:
        cpu_build.load_library.cache_clear()


def test_a_new_build_removes_builds_of_the_same_source_unused_for_a_month(cache, tmp_path):
    import os
    import time

    src = tmp_path / "twice.cpp"
    src.write_text(SOURCE)
    cpu_build.load_library(src)
    (first,) = cache.glob("*-twice-*.so")
    other_cpu = first.with_name(first.name.replace("-twice-", "-twice-0000"))  # another node's build
    other_cpu.write_bytes(b"")
    month_ago = time.time() - cpu_build.STALE_AFTER_S - 60
    os.utime(first, (month_ago, month_ago))
    src.write_text(SOURCE.replace("2 * v", "3 * v"))  # an edit: a new key, a new build
    cpu_build.load_library.cache_clear()
    cpu_build.load_library(src)
    left = sorted(p.name for p in cache.glob("*-twice-*.so"))
    assert first.name not in left and other_cpu.name in left and len(left) == 2
    assert not first.with_name(first.name + ".lock").exists()
