"""Claim commands (claim, claims), added onto the main CLI.

Light at import (Typer and the standard library). The protocol they follow is in
:mod:`orchestrator.claims`: ``--calibrate`` runs a claim's calibration seeds (for setting task
sizes and thresholds, never written to a board), the default runs its evaluation seeds, and
``--holdout`` also runs its holdout seeds and reports that verdict beside the first.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from orchestrator.yamlio import SpecError


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"seqlab: {message}", err=True)
    raise typer.Exit(code)


def _seed_list(text: str | None, option: str) -> list[int] | None:
    if text is None:
        return None
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        _fail(f"{option} takes comma-separated integers, got {text!r}")
    if not seeds or len(set(seeds)) != len(seeds):
        _fail(f"{option} must list distinct seeds, got {text!r}")
    return seeds


def _unseen(spec, seeds: list[int] | None, option: str) -> None:
    """Holdout seeds given on the command line must be new to the claim."""
    if seeds is None:
        return
    shared = sorted(set(seeds) & set(spec.calibration_seeds + spec.seeds))
    if shared:
        _fail(f"{option} {','.join(map(str, seeds))}: seed(s) {shared} are {spec.name}'s calibration or "
              "evaluation seeds; a holdout run needs unseen seeds")


def _run_one(spec, text, path: Path, *, runs_dir: Path, num_cpus, holdout: bool = False, seeds=None,
             calibrate: bool = False, resume: bool = False):
    """One claim (and its holdout) in this process, with a live progress line."""
    from orchestrator.claim_run import run_claim
    from orchestrator.claim_run import run_with_holdout
    from orchestrator.progress import Progress

    with Progress(f"claim {spec.name}", None, None) as progress:
        def holdout_label() -> None:
            progress.title = f"claim {spec.name} (holdout)"

        try:
            if calibrate:
                progress.title = f"claim {spec.name} (calibration)"
                return run_claim(spec, text, runs_dir=runs_dir, fresh=True, on_change=progress.update,
                                 num_cpus=num_cpus, seed_set="calibration", source=path, resume=resume)  # fmt: skip
            return run_with_holdout(spec, text, path, runs_dir=runs_dir, num_cpus=num_cpus, holdout=holdout,
                                    holdout_seeds=seeds, on_change=progress.update, on_holdout=holdout_label,
                                    resume=resume)  # fmt: skip
        except BaseException:
            progress.stop()
            raise


def register(app, quiet_libraries) -> None:
    """Add ``claim`` and ``claims`` to the ``seqlab`` Typer app."""
    runs_option = typer.Option(Path("seqlab-runs"), "--runs-dir", help="Where runs, Tune state and the SQLite MLflow store live.")
    cpus_option = typer.Option(None, "--num-cpus", help="CPUs for the in-process Ray (default: all).")

    @app.command()
    def claim(
        file: Path = typer.Argument(..., help="Claim YAML (sweeps/claims/<paper>.yaml)."),
        runs_dir: Path = runs_option,
        num_cpus: Optional[int] = cpus_option,
        calibrate: bool = typer.Option(False, "--calibrate", help="Run the calibration seeds instead (for setting sizes and thresholds)."),
        holdout: bool = typer.Option(False, "--holdout", help="Also run the holdout seeds and report that verdict."),
        holdout_seeds: Optional[str] = typer.Option(None, "--holdout-seeds", help="Comma-separated unseen seeds for --holdout (default: the file's holdout_seeds)."),
        resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run of this claim (finished trials are kept); without one, start it."),
    ) -> None:
        """Run a claim's arms over its seeds and print PASS or FAIL with the evidence (exit 0 or 1)."""
        from orchestrator.claims import load_claim

        try:
            spec, text = load_claim(file)
        except SpecError as err:
            _fail(str(err))
        if calibrate and (holdout or holdout_seeds):
            _fail("--calibrate runs the calibration seeds only; it does not combine with --holdout")
        extra = _seed_list(holdout_seeds, "--holdout-seeds")
        _unseen(spec, extra, "--holdout-seeds")
        quiet_libraries()
        from orchestrator.report import print_claim

        try:
            result = _run_one(spec, text, file, runs_dir=runs_dir, num_cpus=num_cpus, holdout=holdout, seeds=extra,
                              calibrate=calibrate, resume=resume)
        except SpecError as err:
            _fail(str(err))
        print_claim(result)
        if result.verdict != "PASS":
            raise typer.Exit(1)

    @app.command()
    def claims(
        folder: Path = typer.Option(Path("sweeps/claims"), "--dir", help="Folder of claim files."),
        family: Optional[str] = typer.Option(None, "--family", help="Only claims whose workloads are of this family (comma-separated for several)."),
        report: Optional[Path] = typer.Option(None, "--report", help="Write the board (Markdown) here."),
        runs_dir: Path = runs_option,
        num_cpus: Optional[int] = cpus_option,
        only: Optional[str] = typer.Option(None, "--only", help="Comma-separated claim file names (stems) to run."),
        update: bool = typer.Option(False, "--update", help="Keep the report's other rows; replace only those re-run."),
        holdout: bool = typer.Option(False, "--holdout", help="Also run each claim's holdout seeds; the board gains their verdict."),
        holdout_seeds: Optional[str] = typer.Option(None, "--holdout-seeds", help="Comma-separated unseen seeds for --holdout (default: each file's holdout_seeds)."),
        parallel: Optional[int] = typer.Option(None, "--parallel", min=1, help="Claims run at once, fanned out over the cluster (default: as many as its CPUs hold at each claim's max_concurrent; 1 runs them one after another)."),
    ) -> None:
        """Run every claim (of a family) on its evaluation seeds and print/write the board; exit 1 if any is not PASS."""
        from orchestrator.board import board_markdown, merge_board
        from orchestrator.claims import discover, families, load_claim

        if update and report is None:
            _fail("--update needs --report FILE (the board whose rows it keeps)")
        extra = _seed_list(holdout_seeds, "--holdout-seeds")
        paths = discover(folder)
        if only:
            wanted = [name.strip() for name in only.split(",") if name.strip()]
            unknown = sorted(set(wanted) - {p.stem for p in paths})
            if unknown:
                _fail(f"--only names no claim file in {folder}: {', '.join(unknown)} "
                      f"(have: {', '.join(p.stem for p in paths)})")
            paths = [p for p in paths if p.stem in wanted]
        wanted_families = {name.strip() for name in family.split(",")} if family else None
        chosen = []
        for path in paths:
            try:
                spec, text = load_claim(path)
            except SpecError as err:
                _fail(str(err))
            _unseen(spec, extra, "--holdout-seeds")
            if wanted_families is None or wanted_families & families(spec):
                chosen.append((path, spec, text))
        if not chosen:
            _fail(f"no claims{' of family ' + family if family else ''} in {folder}")
        quiet_libraries()
        from orchestrator.report import print_claim

        from orchestrator.machine import describe, load

        machine_before = describe()
        from orchestrator.claim_run import auto_parallel
        from orchestrator.sweep import ensure_ray

        ensure_ray(num_cpus)
        at_once = parallel or auto_parallel([spec for _, spec, _ in chosen])
        rows = []
        if at_once == 1:
            for path, spec, text in chosen:
                try:
                    result = _run_one(spec, text, path, runs_dir=runs_dir, num_cpus=num_cpus, holdout=holdout, seeds=extra)
                except Exception as err:  # one broken claim does not hide the others' results
                    rows.append((None, path, f"{type(err).__name__}: {err}"))
                    continue
                rows.append((result, path, ""))
                print_claim(result)
        else:
            rows = _fanned(chosen, runs_dir=runs_dir, parallel=at_once, holdout=holdout, seeds=extra)
        board = board_markdown(rows)
        typer.echo(board)
        if report:
            stamp = time.strftime("%Y-%m-%d %H:%M")
            title = f"# Claims board{' (' + family + ')' if family else ''}, {stamp}\n\n"
            title += f"Machine: {machine_before} at the start; load average {load()} at the end.\n\n"
            if at_once > 1:
                title += (f"Claims ran {at_once} at a time over the cluster: each claim's seconds include "
                          "waiting for CPUs its neighbours held.\n\n")
            if update and report.exists():
                old = report.read_text()
                notes = [line for line in old.splitlines() if line.startswith("Rows re-run at ")]
                names = ", ".join(path.stem for _, path, _ in rows)
                notes.append(f"Rows re-run at {stamp}: {names}; the others are kept from the earlier board.")
                title += "\n".join(notes) + "\n\n"
                board = merge_board(old, board)
            report.parent.mkdir(parents=True, exist_ok=True)
            report.write_text(title + board)
            typer.echo(f"board written to {report}")
        if any(r is None or r.verdict != "PASS" for r, _, _ in rows):
            raise typer.Exit(1)


def _fanned(chosen, *, runs_dir: Path, parallel: int, holdout: bool, seeds) -> list:
    """Claims fanned out ``parallel`` at a time; each one's result printed as it ends."""
    from orchestrator.bridge import Counts
    from orchestrator.claim_run import fan_out
    from orchestrator.progress import Progress
    from orchestrator.report import print_claim

    counts = Counts(total=len(chosen), running=min(parallel, len(chosen)))
    with Progress(f"claims, {parallel} at a time", None, None) as progress:
        progress.update(counts)

        def done(row, running: int) -> None:
            result, path, problem = row
            counts.running = running
            if result is not None and result.verdict == "PASS":
                counts.completed += 1
            else:
                counts.failed += 1
            if result is not None:
                print_claim(result)
            else:
                typer.echo(f"{path.stem}: {problem}", err=True)
            progress.update(counts)

        return fan_out(chosen, runs_dir=runs_dir, parallel=parallel, holdout=holdout, holdout_seeds=seeds,
                       on_done=done)  # fmt: skip
