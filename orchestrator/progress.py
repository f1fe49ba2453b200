"""Live progress of a run: a one-line table on a terminal, plain lines in logs and CI."""

from __future__ import annotations

import sys
import time
from typing import Any


class Progress:
    """Context manager whose ``update(counts)`` redraws the trial tally and the best value."""

    def __init__(self, title: str, metric: str | None, mode: str | None) -> None:
        self.title, self.metric, self.mode = title, metric, mode
        self._live: Any = None
        self._last_line = ""
        self._tty = sys.stdout.isatty()

    def __enter__(self) -> "Progress":
        if self._tty:
            from rich.live import Live

            self._live = Live(self._render(None), refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def _text(self, counts: Any) -> str:
        if counts is None:
            return f"{self.title}: starting Ray"
        elapsed = time.monotonic() - counts.started
        done = counts.completed + counts.pruned + counts.failed
        best = ""
        if self.metric and counts.best is not None:
            best = f" | best {self.metric} = {counts.best:.4g} ({counts.best_trial})"
        return (
            f"{self.title}: {done}/{counts.total} done | running {counts.running} | completed {counts.completed}"
            f" | pruned {counts.pruned} | failed {counts.failed}{best} | {elapsed:.0f} s"
        )

    def _render(self, counts: Any):
        from rich.text import Text

        return Text(self._text(counts))

    def update(self, counts: Any) -> None:
        if self._live is not None:
            self._live.update(self._render(counts))
            return
        line = self._text(counts)
        core = line.rsplit(" | ", 1)[0]  # print again only when something but the clock changed
        if core != self._last_line:
            self._last_line = core
            print(line, flush=True)
