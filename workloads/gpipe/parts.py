"""What ``WORKLOAD.pipeline(cfg)`` returns: the pieces ``orchestrator/job.py`` needs to pipeline gpipe.

A plain frozen dataclass (duck-typed by the job runner, see ``orchestrator.job.PipelineParts``):
the model as layer specs, the loss, the optimiser, and the batches, all drawn from ``cfg``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Iterable


@dataclass(frozen=True)
class GPipeParts:
    """The pipelinable description of one gpipe configuration.

    Args:
        layers: ``[(nn.Module class, kwargs), ...]`` in forward order; the job wraps each in a
            DeepSpeed ``LayerSpec``, the single-process run instantiates them in a chain.
        loss_fn: ``loss_fn(logits, labels) -> scalar`` (the last stage applies it).
        make_optimizer: ``make_optimizer(parameters) -> torch.optim.Optimizer``.
        batch: ``batch(seed, step) -> (inputs, labels)``, the whole mini-batch of a step.
        eval_batch: ``eval_batch() -> (inputs, labels)``, the fixed held-out batch.
        batch_size: sequences per mini-batch (split into micro-batches × data-parallel ranks).
        tokens_per_sample: tokens per sequence (for tokens/s).
    """

    layers: list[tuple[type, dict]]
    loss_fn: Callable[[Any, Any], Any]
    make_optimizer: Callable[[Iterable[Any]], Any]
    batch: Callable[[int, int], tuple[Any, Any]]
    eval_batch: Callable[[], tuple[Any, Any]]
    batch_size: int
    tokens_per_sample: int

    @property
    def num_layers(self) -> int:
        """Layers a pipeline can cut between (embedding + blocks + head)."""
        return len(self.layers)


def _batch(cfg, seed: int, step: int):
    from workloads.gpipe.data import train_batch

    return train_batch(cfg.model_copy(update={"seed": seed}), step)


def _adam(lr: float, parameters):
    import torch

    return torch.optim.Adam(parameters, lr=lr)


def pipeline_parts(cfg) -> GPipeParts:
    """The pipelinable pieces of gpipe for ``cfg`` (imports torch and the model)."""
    from workloads.gpipe.data import eval_batch
    from workloads.gpipe.model import layer_specs, lm_loss

    return GPipeParts(
        layers=layer_specs(cfg),
        loss_fn=lm_loss,
        make_optimizer=partial(_adam, cfg.lr),
        batch=partial(_batch, cfg),
        eval_batch=partial(eval_batch, cfg),
        batch_size=cfg.batch_size,
        tokens_per_sample=cfg.seq_len,
    )
