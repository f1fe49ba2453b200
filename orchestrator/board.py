"""The claims board: a summary table, then one section per claim with all of its evidence.

A reader must be able to trace each verdict: the summary row gives the verdict on the
evaluation seeds, the holdout verdict, the seeds run and the claim file's hash and commit; the
claim's section gives, per arm, its budget, the seeds run (n/N) and the per-seed values of the
claim's metric, then the paper's claim (``expect``) and the ``sanity`` checks apart, and the
caveats. ``merge_board`` keeps an old board's claims that a run did not repeat.
"""

from __future__ import annotations

from pathlib import Path

from orchestrator.claims import ClaimResult, ExpectationResult

SUMMARY_HEADER = [
    "| claim | verdict | holdout | seeds run | run time | claim file |",
    "|---|---|---|---|---|---|",
]


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _seeds_run(result: ClaimResult) -> str:
    done = sum(len(result.seeds_done.get(arm, [])) for arm in result.arm_order)
    return f"{done}/{len(result.seeds) * len(result.arm_order)}"


def _verdict(result: ClaimResult | None) -> str:
    if result is None:
        return "not run"
    return result.verdict if not result.reason or result.verdict == "FAIL" else f"{result.verdict}: {result.reason}"


def summary_row(result: ClaimResult | None, stem: str, problem: str = "") -> str:
    if result is None:
        return f"| {stem} | ERROR | | | | {problem} |"
    seconds = f"{result.seconds:.0f} s" + (f" (+{result.holdout.seconds:.0f} s holdout)" if result.holdout else "")
    seeds = _seeds_run(result) + (f"; holdout {_seeds_run(result.holdout)}" if result.holdout else "")
    return (
        f"| [{stem}](#{stem}) | {_verdict(result)} | {_verdict(result.holdout)} | {seeds} | {seconds} "
        f"| `{result.spec_hash}` @ {result.commit} |"
    )


def _check_lines(checks: list[ExpectationResult], holdout: list[ExpectationResult] | None) -> list[str]:
    lines = []
    for i, check in enumerate(checks):
        line = f"- {'✓' if check.holds else '✗'} `{check.text}`: "
        line += f"{_num(check.left)} vs {_num(check.right)}" if check.left is not None else (check.problem or "")
        if holdout is not None and i < len(holdout):
            other = holdout[i]
            values = f"{_num(other.left)} vs {_num(other.right)}" if other.left is not None else (other.problem or "")
            line += f"; holdout {'✓' if other.holds else '✗'} {values}"
        lines.append(line)
    return lines


def section(result: ClaimResult, stem: str) -> str:
    """One claim's evidence: arms with budgets and per-seed values, claim, sanity, caveats."""
    held = result.holdout
    lines = [f"## {stem}", "", f"{result.paper}. Metric `{result.metric}`; evaluation seeds "
             f"{', '.join(map(str, result.seeds))}" + (f", holdout seeds {', '.join(map(str, held.seeds))}" if held else "") + ".", ""]
    header = "| arm | budget | seeds | per seed | mean ± std |" + (" holdout per seed | holdout mean |" if held else "")
    lines += [header, "|" + "---|" * (header.count("|") - 1)]
    for arm in result.arm_order:
        per_seed = ", ".join(f"{seed}: {value:.3g}" for seed, value in result.per_seed(arm)) or "none"
        summary = result.summary(arm)
        stats = f"{summary[0]:.3g} ± {summary[1]:.2g}" if summary else "n/a"
        row = f"| {arm} | {result.budgets.get(arm, '')} | {len(result.seeds_done.get(arm, []))}/{len(result.seeds)} | {per_seed} | {stats} |"
        if held:
            held_seeds = ", ".join(f"{seed}: {value:.3g}" for seed, value in held.per_seed(arm)) or "none"
            held_summary = held.summary(arm)
            row += f" {held_seeds} | {f'{held_summary[0]:.3g}' if held_summary else 'n/a'} |"
        lines.append(row)
    lines += ["", "The paper's claim (`expect`):"] + _check_lines(result.expectations, held.expectations if held else None)
    if result.sanity:
        lines += ["", "Sanity checks (the setup, not the claim):"] + _check_lines(result.sanity, held.sanity if held else None)
    if result.failed_trials or (held and held.failed_trials):
        failed = result.failed_trials + ([f"holdout {f}" for f in held.failed_trials] if held else [])
        lines += ["", "Trials that did not complete: " + "; ".join(failed)]
    if result.caveats:
        lines += ["", "Caveats:"] + [f"- {caveat}" for caveat in result.caveats]
    return "\n".join(lines) + "\n"


def board_markdown(rows: list[tuple[ClaimResult | None, Path, str]]) -> str:
    """The board: the summary table, then a section per claim that ran."""
    table = SUMMARY_HEADER + [summary_row(result, path.stem, problem) for result, path, problem in rows]
    sections = [section(result, path.stem) for result, path, _ in rows if result is not None]
    return "\n".join(table) + "\n\n" + "\n".join(sections)


def _parse(board: str) -> tuple[dict[str, str], dict[str, str]]:
    """(summary rows, sections), each keyed by the claim file's stem."""
    rows, sections = {}, {}
    head, *parts = board.split("\n## ")
    for line in head.splitlines():
        if line.startswith("| ") and not line.startswith(SUMMARY_HEADER[0]):
            stem = line.split("|")[1].strip()
            rows[stem.split("]")[0].lstrip("[")] = line
    for part in parts:
        stem = part.split("\n", 1)[0].strip()
        sections[stem] = "## " + part.rstrip("\n") + "\n"
    return rows, sections


def merge_board(old: str, new: str) -> str:
    """Board ``new`` with the claims of ``old`` it does not re-run kept, all in claim-name order.

    Text outside the table and the sections in ``old`` is dropped, so the caller writes a fresh
    heading.
    """
    old_rows, old_sections = _parse(old)
    new_rows, new_sections = _parse(new)
    rows, sections = {**old_rows, **new_rows}, {**old_sections, **new_sections}
    for stem in new_rows:  # a claim re-run without a section (an error) drops its old one
        if stem not in new_sections:
            sections.pop(stem, None)
    table = SUMMARY_HEADER + [rows[stem] for stem in sorted(rows)]
    return "\n".join(table) + "\n\n" + "\n".join(sections[stem] for stem in sorted(sections))
