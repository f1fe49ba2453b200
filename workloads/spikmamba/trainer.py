"""Train SpikMamba-lite, its ANN twin or a spiking CNN on synthetic event gestures."""

from __future__ import annotations


import numpy as np
import torch
from torch.nn import functional as F

from workloads.nn.spiking import firing_rate
from workloads.spikmamba import gestures
from workloads.spikmamba.model import SpikingCNN, SpikMamba
from workloads.tasks import event_gestures
from workloads.training import cosine_schedule, load_training_state, optimiser_step, training_state


class EventRun:
    """One run: model, AdamW with cosine decay, a fixed held-out set of event clips."""

    def __init__(self, cfg, device: str = "cpu") -> None:
        self.cfg, self.device = cfg, device
        torch.manual_seed(cfg.seed)
        lif = {"tau": cfg.tau, "v_th": cfg.v_th, "alpha": cfg.alpha, "surrogate": cfg.surrogate}
        if cfg.model == "scnn":
            self.model = SpikingCNN(gestures.N_CLASSES, cfg.stem_channels, cfg.d_model, cfg.size, lif)
        else:
            self.model = SpikMamba(
                gestures.N_CLASSES, cfg.stem_channels, cfg.d_model, cfg.layers, cfg.d_state, cfg.model == "spikmamba", lif
            )
        self.model.to(device)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=0.01)
        self.sched = cosine_schedule(self.opt, cfg.steps, floor=0.05)
        self.eval_set = self.batch(np.random.default_rng([cfg.seed, 10**6]), cfg.eval_batch)

    def batch(self, rng: np.random.Generator, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``size`` clips: frames (size, T, 2, S, S) and labels (size,)."""
        c = self.cfg
        if c.task == "turns":
            x, y = gestures.event_frames(
                rng, size, c.frames, c.size, noise=c.noise, contrast=c.contrast, distractors=c.distractors
            )
        else:
            x, y = event_gestures.event_frames(rng, size, c.frames, c.size, noise=c.noise)
        return torch.from_numpy(x).to(self.device), torch.from_numpy(y).to(self.device)

    def train_step(self, step: int) -> dict[str, float]:
        """One AdamW step of cross-entropy on the batch drawn from (seed, step)."""
        x, y = self.batch(np.random.default_rng([self.cfg.seed, step]), self.cfg.batch)
        logits, spikes = self.model(x)
        loss = F.cross_entropy(logits, y)
        return {"loss": optimiser_step(loss, self.model, self.opt, self.sched), "firing_rate": firing_rate(spikes)}

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """``val/acc`` (in %), ``val/loss`` and ``val/firing_rate`` (0 for the ANN) on the held-out clips."""
        self.model.eval()
        x, y = self.eval_set
        logits, spikes = self.model(x)
        self.model.train()
        return {
            "val/acc": 100.0 * float((logits.argmax(-1) == y).float().mean()),
            "val/loss": float(F.cross_entropy(logits, y)),
            "val/firing_rate": firing_rate(spikes),
            "val/params": float(sum(p.numel() for p in self.model.parameters())),
        }

    def state_dict(self) -> dict:
        """Model (with BatchNorm statistics), optimiser and schedule."""
        return training_state(self.model, self.opt, self.sched)

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` saved."""
        load_training_state(state, self.model, self.opt, self.sched)
