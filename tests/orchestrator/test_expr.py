"""The claim expression grammar: parsing, evaluation, and errors that say what is wrong."""

from __future__ import annotations

import pytest

from orchestrator.expr import ExprError, check, parse

VALUES = {
    "s6": {"val/acc": [0.9, 0.95, 1.0], "val/loss": [0.3, 0.2, 0.1]},
    "lti": {"val/acc": [0.5, 0.6, 0.4]},
}


@pytest.mark.parametrize(
    "text,holds,left",
    [
        ("mean(s6) >= 0.9", True, 0.95),
        ("mean(s6) - mean(lti) >= 0.3", True, 0.45),
        ("mean(lti) <= 0.60", True, 0.5),
        ("std(lti) < 0.05", False, 0.1),
        ("min(s6) >= 0.9", True, 0.9),
        ("max(lti) == 0.6", True, 0.6),
        ("mean(s6, 'val/loss') < 0.25", True, 0.2),
        ('abs(mean(s6) - mean(lti)) * 2 / 3 > 0.2', True, 0.3),
        ("-mean(lti) + 1 > 0.4", True, 0.5),
        ("(mean(s6) + mean(lti)) / 2 >= 1e-1", True, 0.725),
    ],
)
def test_expectations_evaluate(text, holds, left):
    ok, lhs, _, problem = check(parse(text), VALUES, "val/acc")
    assert problem is None
    assert ok is holds
    assert lhs == pytest.approx(left)


@pytest.mark.parametrize(
    "text,message",
    [
        ("mean(s6)", "needs one comparison"),
        ("mean(s6) >= 0.9 >= 0.1", "unexpected"),
        ("__import__('os') > 1", "cannot read|unknown name"),
        ("mean(s6 >= 1", "expected \\)"),
        ("median(s6) > 1", "unknown name 'median'"),
        ("mean(s6) > ", "ends early"),
    ],
)
def test_bad_expressions_are_errors(text, message):
    with pytest.raises(ExprError, match=message):
        parse(text)


def test_missing_results_fail_the_expectation_with_a_reason():
    ok, _, _, problem = check(parse("mean(gone) > 0"), VALUES, "val/acc")
    assert not ok
    assert "arm 'gone' has no results" in problem


def test_names_are_never_evaluated_as_python():
    exp = parse("mean(os) > 0")
    ok, _, _, problem = check(exp, {"os": {"m": [1.0]}}, "m")
    assert ok and problem is None
