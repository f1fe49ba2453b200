"""Sequence-mixing kernels: one folder per op with a naive oracle, a chunked PyTorch path and Triton."""
