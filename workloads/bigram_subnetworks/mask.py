"""Continuous sparsification (Savarese et al. 2020) over a model's non-embedding parameters.

Each maskable tensor W gets a logit tensor s of its shape; the soft mask is sigmoid(beta * s)
and beta is annealed upward so the mask hardens; the final binary mask is ``s > 0``. The
masked model is run with ``torch.func.functional_call`` on ``W * mask``, leaving the
model's own parameters untouched. Embeddings, the (tied) unembedding and the layer norms are
never masked, as in the paper's loader.
"""

from __future__ import annotations

import torch
from torch import nn


def maskable_names(model: nn.Module) -> list[str]:
    """Parameters of the attention and MLP linears inside the blocks (weights and biases)."""
    return [n for n, _ in model.named_parameters() if n.startswith("blocks.") and ".ln" not in n]


def group_of(name: str) -> str:
    """'blocks.0.mlp.2.weight' -> 'blocks.0.mlp'; the unit the location claim counts in."""
    return ".".join(name.split(".")[:3])


def init_logits(model: nn.Module, names: list[str], init: float) -> dict[str, torch.Tensor]:
    """One trainable logit tensor per maskable parameter, all starting at ``init``."""
    params = dict(model.named_parameters())
    return {n: torch.full_like(params[n], init, requires_grad=True) for n in names}


def soft(logits: dict[str, torch.Tensor], beta: float) -> dict[str, torch.Tensor]:
    """sigmoid(beta * s) for every tensor."""
    return {n: torch.sigmoid(beta * s) for n, s in logits.items()}


def hard(logits: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The binary mask s > 0 (as floats)."""
    return {n: (s.detach() > 0).float() for n, s in logits.items()}


def density(mask: dict[str, torch.Tensor]) -> float:
    """Fraction of maskable entries kept."""
    kept = sum(float(m.sum()) for m in mask.values())
    return kept / sum(m.numel() for m in mask.values())


def random_like(mask: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
    """A uniformly random binary mask with exactly as many kept entries as ``mask``."""
    sizes = [m.numel() for m in mask.values()]
    kept = int(sum(float(m.sum()) for m in mask.values()))
    flat = torch.zeros(sum(sizes))
    flat[torch.randperm(flat.numel(), generator=generator)[:kept]] = 1.0
    parts = flat.split(sizes)
    return {n: p.view_as(m) for (n, m), p in zip(mask.items(), parts)}


def masked_forward(model: nn.Module, mask: dict[str, torch.Tensor], tokens: torch.Tensor) -> torch.Tensor:
    """Logits of ``model`` with each masked parameter W replaced by W * mask."""
    params = dict(model.named_parameters())
    swapped = {n: params[n] * m for n, m in mask.items()}
    return torch.func.functional_call(model, swapped, (tokens,))
