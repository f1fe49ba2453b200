"""Seqlab's workload plugins: one folder per paper, the contract in :mod:`workloads.api`."""
