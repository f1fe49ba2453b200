"""The GPipe toy model: a causal Transformer LM written as a list of layers (embedding, N blocks, head).

A pipeline cuts this list into stages (DeepSpeed's ``PipelineModule`` builds each stage's slice
from the same list), and a single process chains the whole list; both give the same network
because every layer draws its initial weights from its own seed, ``(cfg.seed, layer index)``,
whatever process builds it and whatever was built before it.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn

from workloads.nn.transformer import Block, sequence_cross_entropy


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run the block with torch's CPU generator seeded to ``seed``, then put the old state back."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def layer_seed(seed: int, index: int) -> int:
    """The init seed of layer ``index`` of a model seeded ``seed`` (distinct per layer and seed)."""
    return seed * 1_000 + index


class Embedding(nn.Module):
    """Token + learned position embedding: (B, T) ids -> (B, T, d_model)."""

    def __init__(self, vocab: int, d_model: int, max_len: int, init_seed: int) -> None:
        super().__init__()
        with seeded(init_seed):
            self.tokens = nn.Embedding(vocab, d_model)
            self.positions = nn.Embedding(max_len, d_model)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        T = ids.shape[1]
        return self.tokens(ids) + self.positions(torch.arange(T, device=ids.device))  # (B, T, C)


class TransformerBlock(nn.Module):
    """One pre-norm causal block (the shared ``workloads.nn`` Block): (B, T, C) -> (B, T, C)."""

    def __init__(self, d_model: int, n_heads: int, init_seed: int) -> None:
        super().__init__()
        with seeded(init_seed):
            self.block = Block(d_model, n_heads, causal=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class Head(nn.Module):
    """Final LayerNorm and the vocabulary projection: (B, T, C) -> (B, T, vocab) logits."""

    def __init__(self, d_model: int, vocab: int, init_seed: int) -> None:
        super().__init__()
        with seeded(init_seed):
            self.norm = nn.LayerNorm(d_model)
            self.out = nn.Linear(d_model, vocab)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.norm(x))


def layer_specs(cfg) -> list[tuple[type[nn.Module], dict]]:
    """The model as ``[(layer class, kwargs), ...]``: embedding, ``cfg.n_layers`` blocks, head."""
    specs: list[tuple[type[nn.Module], dict]] = [
        (Embedding, {"vocab": cfg.vocab, "d_model": cfg.d_model, "max_len": cfg.seq_len, "init_seed": layer_seed(cfg.seed, 0)})
    ]
    for i in range(cfg.n_layers):
        specs.append((TransformerBlock, {"d_model": cfg.d_model, "n_heads": cfg.n_heads, "init_seed": layer_seed(cfg.seed, i + 1)}))
    specs.append((Head, {"d_model": cfg.d_model, "vocab": cfg.vocab, "init_seed": layer_seed(cfg.seed, cfg.n_layers + 1)}))
    return specs


def build_sequential(specs: list[tuple[type[nn.Module], dict]]) -> nn.Sequential:
    """All layers chained in one process (the single-process reference)."""
    return nn.Sequential(*(cls(**kwargs) for cls, kwargs in specs))


def lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy of (B, T, V) logits against (B, T) labels."""
    return sequence_cross_entropy(logits, labels)
