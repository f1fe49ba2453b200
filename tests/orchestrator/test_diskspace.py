"""The free-space floor of the runs folder (the disk-full fault itself is in tests/chaos/test_disk_full.py)."""

from __future__ import annotations

import pytest

from orchestrator.diskspace import check_space, min_free_mb, shortage
from orchestrator.runs import prepare_folder
from orchestrator.yamlio import SpecError


def test_a_folder_with_room_has_no_shortage(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQLAB_MIN_FREE_MB", "1")
    assert shortage(tmp_path) is None
    check_space(tmp_path / "not-made-yet")  # measured on the nearest folder that exists


def test_a_floor_above_the_free_space_names_the_folder_and_the_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQLAB_MIN_FREE_MB", "1e12")
    reason = shortage(tmp_path / "runs")
    assert reason is not None and reason.startswith("disk full: ")
    assert str((tmp_path / "runs").resolve()) in reason and "SEQLAB_MIN_FREE_MB = 1e+12" in reason
    with pytest.raises(SpecError, match="free space there"):
        prepare_folder(tmp_path / "runs", "sweep", resume=False, fresh=False, digest="abc")
    assert not (tmp_path / "runs").exists()  # refused before anything was written


@pytest.mark.parametrize("raw", ["lots", "-5"])
def test_a_bad_floor_is_an_error_naming_the_variable(raw, monkeypatch):
    monkeypatch.setenv("SEQLAB_MIN_FREE_MB", raw)
    with pytest.raises(SpecError, match="SEQLAB_MIN_FREE_MB"):
        min_free_mb()


def test_the_default_floor_is_64_mb(monkeypatch):
    monkeypatch.delenv("SEQLAB_MIN_FREE_MB", raising=False)
    assert min_free_mb() == 64.0
