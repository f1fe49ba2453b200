"""Layers shared by workloads, as free functions and small modules."""
