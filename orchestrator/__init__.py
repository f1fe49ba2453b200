"""Seqlab's orchestrator: sweep spec, registry, search, Tune sweep, MLflow tracking, claims, CLI."""

__version__ = "0.1.0"
