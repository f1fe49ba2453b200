"""Starting the in-process Ray: a start-up timeout (a loaded machine) is retried, anything else is not."""

from __future__ import annotations

import pytest

from orchestrator import sweep

STARTUP_TIMEOUT = "The current node timed out during startup. This could happen because some of the raylet failed"


@pytest.fixture
def fake_init(monkeypatch):
    """Replace ray.init with one that raises the given errors in turn (Ray itself is not started)."""
    import ray

    calls: list[dict] = []

    def install(*errors: Exception):
        pending = list(errors)

        def init(**kwargs):
            calls.append(kwargs)
            if pending:
                raise pending.pop(0)

        monkeypatch.setattr(ray, "init", init)
        monkeypatch.setattr(ray, "shutdown", lambda: None)
        return calls

    return install


def test_a_startup_timeout_is_retried_and_then_succeeds(fake_init, caplog):
    calls = fake_init(Exception(STARTUP_TIMEOUT))
    sweep._start_local_ray(num_cpus=2)
    assert len(calls) == 2 and all(c["address"] == "local" and c["num_cpus"] == 2 for c in calls)
    assert "Ray start-up timed out (attempt 1 of 3" in caplog.text


def test_repeated_startup_timeouts_give_up_with_rays_message(fake_init):
    calls = fake_init(*[Exception(STARTUP_TIMEOUT)] * sweep.STARTUP_ATTEMPTS)
    with pytest.raises(Exception, match="timed out during startup"):
        sweep._start_local_ray(num_cpus=1)
    assert len(calls) == sweep.STARTUP_ATTEMPTS


def test_other_startup_errors_are_raised_at_once(fake_init):
    calls = fake_init(ValueError("num_cpus must be a non-negative integer"))
    with pytest.raises(ValueError, match="num_cpus"):
        sweep._start_local_ray(num_cpus=-1)
    assert len(calls) == 1
