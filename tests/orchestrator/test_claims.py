"""The claims protocol without Ray: seed sets, verdicts, the board, and every shipped claim file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestrator.board import board_markdown, merge_board
from orchestrator.claims import ClaimResult, budgets, discover, judge, load_claim
from orchestrator.yamlio import SpecError

CLAIMS = Path(__file__).resolve().parents[2] / "sweeps" / "claims"

CLAIM = """\
name: probe
paper: "probe paper"
metric: val/loss
calibration_seeds: [100, 101]
seeds: [0, 1, 2]
arms:
  heavy: {workload: quadratic, fixed: {momentum: 0.9, steps: 30}}
  plain: {workload: quadratic, fixed: {lr: 0.001, steps: 20}, budget: "a fifth of the paper's"}
expect:
  - "mean(heavy) < mean(plain)"
sanity:
  - "min(plain) > 0"
caveats:
  - "a toy bowl"
"""


def spec(tmp_path: Path, text: str = CLAIM):
    path = tmp_path / "claim.yaml"
    path.write_text(text)
    return load_claim(path)[0]


VALUES = {"heavy": {"val/loss": [0.1, 0.2, 0.3]}, "plain": {"val/loss": [5.0, 6.0, 7.0]}}


def test_all_seeds_and_all_checks_holding_is_pass(tmp_path):
    result = judge(spec(tmp_path), VALUES, [], 1.0)
    assert result.verdict == "PASS" and result.reason == ""
    assert result.seeds_done == {"heavy": [0, 1, 2], "plain": [0, 1, 2]}


def test_a_failed_seed_makes_the_claim_incomplete_even_when_the_numbers_hold(tmp_path):
    values = {"heavy": {"val/loss": [0.1, 0.3]}, "plain": VALUES["plain"]}
    result = judge(spec(tmp_path), values, ["heavy seed 1: failed"], 1.0,
                   seeds=[0, 1, 2], seeds_done={"heavy": [0, 2], "plain": [0, 1, 2]})
    assert all(e.holds for e in result.expectations)  # the two seeds that ran would pass
    assert result.verdict == "INCOMPLETE"
    assert "heavy seed 1: failed" in result.reason


def test_a_missing_trial_makes_the_claim_incomplete(tmp_path):
    values = {"heavy": {"val/loss": [0.1]}, "plain": VALUES["plain"]}
    result = judge(spec(tmp_path), values, [], 1.0)
    assert result.verdict == "INCOMPLETE"
    assert result.reason == "heavy: 1/3 seeds"


def test_a_failing_sanity_check_fails_the_claim_and_says_so(tmp_path):
    values = {"heavy": VALUES["heavy"], "plain": {"val/loss": [-1.0, 6.0, 7.0]}}
    result = judge(spec(tmp_path), values, [], 1.0)
    assert [e.holds for e in result.expectations] == [True]
    assert result.verdict == "FAIL" and result.reason == "sanity check fails: min(plain) > 0"


@pytest.mark.parametrize("extra,message", [
    ("seeds: [0, 1, 100]", "calibration_seeds and seeds share seed(s) [100]"),
    ("holdout_seeds: [2, 200]", "seeds and holdout_seeds share seed(s) [2]"),
])
def test_overlapping_seed_sets_are_refused(tmp_path, extra, message):
    text = CLAIM.replace("seeds: [0, 1, 2]", extra) if extra.startswith("seeds") else CLAIM + extra + "\n"
    with pytest.raises(SpecError, match=re.escape(message)):
        spec(tmp_path, text)


def test_sanity_naming_an_unknown_arm_is_refused(tmp_path):
    with pytest.raises(SpecError, match="sanity: expectation .* names unknown arm\\(s\\) plian"):
        spec(tmp_path, CLAIM.replace("min(plain) > 0", "min(plian) > 0"))


def test_seed_sets_default_to_the_protocol(tmp_path):
    text = CLAIM.replace("calibration_seeds: [100, 101]\n", "").replace("seeds: [0, 1, 2]\n", "")
    loaded = spec(tmp_path, text)
    assert (loaded.calibration_seeds, loaded.seeds, loaded.holdout_seeds) == ([100, 101, 102], [0, 1, 2], [200, 201, 202])


def test_budgets_come_from_each_arms_config_and_its_note(tmp_path):
    assert budgets(spec(tmp_path)) == {"heavy": "30 steps", "plain": "20 steps; a fifth of the paper's"}


def _result(tmp_path, values=VALUES, seed_set="evaluation", seeds=(0, 1, 2)) -> ClaimResult:
    loaded = spec(tmp_path)
    result = judge(loaded, values, [], 12.0, seeds=list(seeds), seed_set=seed_set)
    result.budgets, result.spec_hash, result.commit = budgets(loaded), "abc123", "9468c59"
    return result


def test_the_board_shows_per_seed_values_budgets_claim_and_sanity_apart_caveats_holdout_and_provenance(tmp_path):
    result = _result(tmp_path)
    result.holdout = _result(tmp_path, {"heavy": {"val/loss": [9.0, 9.0, 9.0]}, "plain": VALUES["plain"]}, "holdout", (200, 201, 202))
    board = board_markdown([(result, Path("probe.yaml"), "")])
    summary = next(line for line in board.splitlines() if line.startswith("| [probe]"))
    assert [cell.strip() for cell in summary.split("|")[2:4]] == ["PASS", "FAIL"]  # evaluation, holdout
    assert "6/6; holdout 6/6" in summary and "`abc123` @ 9468c59" in summary
    heavy = next(line for line in board.splitlines() if line.startswith("| heavy |"))
    assert "30 steps" in heavy and "3/3" in heavy and "0: 0.1, 1: 0.2, 2: 0.3" in heavy and "200: 9" in heavy
    claim_at, sanity_at = board.index("The paper's claim (`expect`):"), board.index("Sanity checks (the setup, not the claim):")
    assert claim_at < board.index("`mean(heavy) < mean(plain)`") < sanity_at < board.index("`min(plain) > 0`")
    assert "holdout ✗ 9 vs 6" in board
    assert "Caveats:\n- a toy bowl" in board


def test_merge_keeps_the_claims_not_rerun_with_their_sections(tmp_path):
    old = board_markdown([(_result(tmp_path), Path("a.yaml"), ""), (_result(tmp_path), Path("b.yaml"), "")])
    failing = _result(tmp_path, {"heavy": {"val/loss": [9.0, 9.0, 9.0]}, "plain": VALUES["plain"]})
    merged = merge_board(old, board_markdown([(failing, Path("b.yaml"), "")]))
    rows = [line for line in merged.splitlines() if line.startswith("| [")]
    assert [row.split("|")[2].strip() for row in rows] == ["PASS", "FAIL"]
    assert merged.count("## a\n") == 1 and merged.count("## b\n") == 1
    assert "0: 9, 1: 9, 2: 9" in merged.split("## b\n")[1]


@pytest.mark.parametrize("path", discover(CLAIMS), ids=lambda p: p.stem)
def test_every_shipped_claim_file_is_valid_against_its_workloads(path):
    claim, _ = load_claim(path)  # schema, expectations, and each arm's fixed values against its Config
    assert set(claim.seeds).isdisjoint(claim.calibration_seeds)
    assert "calibration_seeds:" in path.read_text(), f"{path.name} must name its calibration seeds"
