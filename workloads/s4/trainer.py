"""Train S4 / Transformer / LSTM on sequential glyph digits for a fixed number of steps."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from workloads.nn.rnn import LastStateLSTM, lstm_gate_bias_
from workloads.nn.s4 import SSMModel, ssm_param_groups
from workloads.nn.transformer import TinyTransformer
from workloads.tasks.glyph_digits import glyph_digits
from workloads.training import cosine_schedule, load_training_state, optimiser_step, training_state

LEVELS = 16  # grey levels: the Transformer reads quantised pixels as tokens


class PixelTransformer(nn.Module):
    """Bidirectional TinyTransformer over quantised pixels, mean-pooled: (B, T, 1) -> (B, 10)."""

    def __init__(self, d_model: int, layers: int, heads: int, T: int) -> None:
        super().__init__()
        self.body = TinyTransformer(LEVELS, d_model, layers, heads, max_len=T, causal=False, n_out=1)
        self.head = nn.Linear(d_model, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = (x[..., 0].clamp(0, 1) * (LEVELS - 1)).round().long()  # (B, T, 1) -> (B, T)
        return self.head(self.body.hidden(tokens).mean(1))


class DigitsRun:
    """One run: model, AdamW with cosine decay over ``steps``, a fixed held-out set."""

    def __init__(self, cfg, device: str = "cpu") -> None:
        self.cfg, self.device = cfg, device
        torch.manual_seed(cfg.seed)
        T = cfg.side**2
        if cfg.model in ("s4", "s4d"):
            self.model = SSMModel(1, 10, cfg.H, cfg.N, cfg.layers, kind=cfg.model, pool="mean")
            groups = ssm_param_groups(self.model, cfg.lr, cfg.ssm_lr)
        else:
            if cfg.model == "transformer":
                self.model = PixelTransformer(cfg.d_model, cfg.layers, cfg.n_heads, T)
            else:
                self.model = LastStateLSTM(1, cfg.lstm_hidden, cfg.layers, 10)
                lstm_gate_bias_(self.model.lstm, cfg.lstm_init, T)
            groups = [{"params": list(self.model.parameters()), "lr": cfg.lr}]
        self.model.to(device)
        self.opt = torch.optim.AdamW(groups, weight_decay=0.0)
        self.sched = cosine_schedule(self.opt, cfg.steps)
        x, y = glyph_digits(np.random.default_rng([cfg.seed, 10**6]), cfg.eval_batch, cfg.side, cfg.noise)
        self.eval_set = (torch.from_numpy(x)[..., None].to(device), torch.from_numpy(y).to(device))  # (B, T) -> (B, T, 1)

    def train_step(self, step: int) -> dict[str, float]:
        """One AdamW step (clipped gradient norm) on the batch drawn by (seed, step)."""
        x, y = glyph_digits(np.random.default_rng([self.cfg.seed, step]), self.cfg.batch, self.cfg.side, self.cfg.noise)
        x, y = torch.from_numpy(x)[..., None].to(self.device), torch.from_numpy(y).to(self.device)  # (B, T) -> (B, T, 1)
        loss = F.cross_entropy(self.model(x), y)
        return {"loss": optimiser_step(loss, self.model, self.opt, self.sched, clip=self.cfg.clip)}

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """``val/acc`` on held-out images; S4/S4D: ``val/mode_gap`` (conv vs recurrent, relative)."""
        self.model.eval()
        x, y = self.eval_set
        acc = sum(float((self.model(xb).argmax(-1) == yb).sum()) for xb, yb in zip(x.split(100), y.split(100))) / len(y)
        out = {"val/acc": acc}
        if self.cfg.model in ("s4", "s4d") and self.cfg.check_modes:
            block = self.model.blocks[0]
            u = block.norm(self.model.encoder(x[:2]))
            conv, rec = block.ssm(u), block.ssm.recurrent(u)
            out["val/mode_gap"] = float((conv - rec).abs().max() / conv.abs().max())
        self.model.train()
        return out

    def state_dict(self) -> dict:
        """Model, optimiser and schedule."""
        return training_state(self.model, self.opt, self.sched)

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` saved."""
        load_training_state(state, self.model, self.opt, self.sched)
