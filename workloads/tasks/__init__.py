"""Synthetic data generators shared by workloads (seeded, nothing downloaded)."""
