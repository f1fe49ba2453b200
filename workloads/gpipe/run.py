"""gpipe as an ordinary single-process workload: the layer list chained, trained with Adam.

``train_step`` splits the mini-batch into ``cfg.micro_batches`` micro-batches and accumulates
their gradients (each micro-batch loss scaled by 1/m) before one synchronous update: exactly
what the pipeline does across stages, so this is the reference the 2-stage job is compared to.
"""

from __future__ import annotations

import torch

from workloads.gpipe.data import eval_batch, train_batch
from workloads.gpipe.model import build_sequential, layer_specs, lm_loss
from workloads.training import load_training_state, training_state


class GPipeRun:
    """One single-process run of the gpipe LM (a :class:`workloads.api.Trainable`)."""

    def __init__(self, cfg, device: str) -> None:
        self.cfg, self.device = cfg, device
        self.model = build_sequential(layer_specs(cfg)).to(device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self._eval = tuple(t.to(device) for t in eval_batch(cfg))

    def train_step(self, step: int) -> dict[str, float]:
        """One update from the micro-batches of step ``step``'s mini-batch; returns the mean loss."""
        cfg = self.cfg
        inputs, labels = (t.to(self.device) for t in train_batch(cfg, step))  # (B, T) each
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for x, y in zip(inputs.chunk(cfg.micro_batches), labels.chunk(cfg.micro_batches)):
            loss = lm_loss(self.model(x), y)
            (loss / cfg.micro_batches).backward()
            total += loss.item()
        self.optimizer.step()
        return {"loss": total / cfg.micro_batches}

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Held-out loss and accuracy, the language's entropy floor, and the schedule's bubble."""
        from workloads.gpipe.data import language
        from workloads.gpipe.schedule import idle_fraction, predicted_bubble
        from workloads.tasks.markov_language import entropy_floor

        cfg = self.cfg
        self.model.eval()
        inputs, labels = self._eval
        logits = self.model(inputs)  # (N, T, V)
        lang = language(cfg.vocab, cfg.order, cfg.branching, cfg.seed)
        visible = labels[:, cfg.order - 1 :]  # positions that see a full context
        return {
            "val/loss": lm_loss(logits, labels).item(),
            "val/loss_in_context": lm_loss(logits[:, cfg.order - 1 :], visible).item(),
            "val/acc": (logits.argmax(-1) == labels).float().mean().item(),
            "val/entropy_floor": entropy_floor(lang),
            "schedule/idle_fraction": idle_fraction(cfg.schedule_stages, cfg.micro_batches),
            "schedule/bubble_predicted": predicted_bubble(cfg.schedule_stages, cfg.micro_batches),
        }

    def state_dict(self) -> dict:
        return training_state(self.model, self.optimizer)

    def load_state_dict(self, state: dict) -> None:
        load_training_state(state, self.model, self.optimizer)
