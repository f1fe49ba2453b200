"""Shared fixtures: token auth on before Ray is imported; one real local Ray per module."""

from __future__ import annotations

import os

os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
os.environ.setdefault("PYTHONHASHSEED", "0")

from orchestrator import auth  # noqa: E402

auth.enable()

import pytest  # noqa: E402


@pytest.fixture(scope="module")
def ray_local():
    """A real local Ray with 2 CPUs, shared by the tests of one module."""
    import ray

    from orchestrator.sweep import ensure_ray

    ensure_ray(num_cpus=2)
    yield ray
    ray.shutdown()
