"""Batches of the synthetic Markov language: inputs are tokens 0..T-1, labels tokens 1..T.

The language is drawn from ``cfg.seed``; the batch of step ``s`` depends only on
``(cfg.seed, s)``, so a pipeline stage, a data-parallel rank and the single-process reference
all draw the very same tokens for a step.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from workloads.tasks.markov_language import MarkovLanguage, markov_language, sample

EVAL_SIZE = 256  # held-out sequences in the evaluation batch


@lru_cache(maxsize=8)
def language(vocab: int, order: int, branching: int, seed: int) -> MarkovLanguage:
    """The chain for these settings (cached: every step of a run uses the same one)."""
    return markov_language(vocab, order, branching, seed)


def _split(tokens: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(tokens)  # (B, T + 1)
    return x[:, :-1].contiguous(), x[:, 1:].contiguous()  # (B, T), (B, T)


def train_batch(cfg, step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, labels), each (batch_size, seq_len) int64, for training step ``step``."""
    lang = language(cfg.vocab, cfg.order, cfg.branching, cfg.seed)
    return _split(sample(lang, cfg.batch_size, cfg.seq_len + 1, np.random.default_rng([cfg.seed, 1, step])))


def eval_batch(cfg, size: int = EVAL_SIZE) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed held-out (inputs, labels), each (size, seq_len), disjoint stream from training."""
    lang = language(cfg.vocab, cfg.order, cfg.branching, cfg.seed)
    return _split(sample(lang, size, cfg.seq_len + 1, np.random.default_rng([cfg.seed, 2])))
