"""Kernel tests run Triton in its CPU interpreter when there is no GPU (TRITON_INTERPRET=1, set
before triton is imported; on a GPU machine the real kernels run), and with NaN-poisoned
allocations, so a kernel that reads memory it never wrote produces NaN and fails its check."""

from __future__ import annotations

import os

import pytest
import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

_FACTORIES = ("empty", "empty_like")


@pytest.fixture(autouse=True)
def poison_uninitialised_memory(monkeypatch):
    """torch.empty / empty_like return NaN-filled (or extreme-valued) tensors inside kernel tests."""
    for name in _FACTORIES:
        original = getattr(torch, name)

        def poisoned(*args, __original=original, **kwargs):
            out = __original(*args, **kwargs)
            if out.is_floating_point():
                out.fill_(float("nan"))
            elif out.dtype != torch.bool:
                out.fill_(torch.iinfo(out.dtype).max)
            return out

        monkeypatch.setattr(torch, name, poisoned)
    yield


@pytest.fixture(autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def has_cuda() -> bool:
    return torch.cuda.is_available()
