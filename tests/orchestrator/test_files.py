"""One place tells a sweep, a job and a claim file apart and loads each."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.files import kind_of, load_any, workload_of
from orchestrator.yamlio import SpecError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("data,kind", [
    ({"kind": "job", "name": "j"}, "job"),
    ({"arms": {}, "name": "c"}, "claim"),
    ({"name": "s", "workload": "quadratic"}, "sweep"),
    (["not", "a", "mapping"], "sweep"),
])  # fmt: skip
def test_kind_from_the_top_level_keys(data, kind):
    assert kind_of(data) == kind


@pytest.mark.parametrize("path,kind,workload", [
    ("sweeps/quickstart.yaml", "sweep", "ar_net"),
    ("sweeps/jobs/gpipe.yaml", "job", "gpipe"),
    ("sweeps/claims/cs_ner.yaml", "claim", "cs_ner"),
])  # fmt: skip
def test_shipped_files_load_as_their_kind(path, kind, workload):
    got, spec, text = load_any(ROOT / path, check=False)
    assert got == kind and workload_of(got, spec) == workload
    assert text == (ROOT / path).read_text()


def test_a_missing_file_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError, match="no such file"):
        load_any(tmp_path / "nope.yaml")
