"""Operations commands (up, down, submit, status, logs, stop, compare), added onto the main CLI."""

from __future__ import annotations


def register(app) -> None:
    """Add the operations commands to the ``seqlab`` Typer app."""
