"""One training run: train the LM on filler + list episodes, then probe repeat surprisal."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

from workloads.tasks import nouns
from workloads.training import load_training_state, optimiser_step, training_state
from workloads.verbatim_memory.model import make_model

EVAL_N = 10  # list length of every probe (the paper's headline n)
DELAYS = (4, 16, 48)  # k = 48 lies beyond the training delays


def _lr_factor(step: int, total: int, warmup: int = 50) -> float:
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))


class VerbatimRun:
    def __init__(self, cfg, device: str) -> None:
        self.cfg, self.device = cfg, device
        torch.manual_seed(cfg.seed)
        self.world = nouns.make_world(np.random.default_rng([cfg.seed, 0]), cfg.n_filler, cfg.n_nouns)
        self.model = make_model(cfg, self.world.vocab).to(device)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=0.01)
        self.probes = self._make_probes()

    def _make_probes(self) -> dict[tuple[int, str], tuple[torch.Tensor, np.ndarray, np.ndarray]]:
        """Fixed probe sets, drawn from a stream separate from training batches."""
        rng = np.random.default_rng([self.cfg.seed, 1])
        cells = [(k, "repeat") for k in DELAYS] + [(16, "shuffled"), (16, "novel")]
        out = {}
        for k, cond in cells:
            tokens, pos1, pos2 = nouns.test_episodes(self.world, rng, self.cfg.eval_lists, EVAL_N, k, cond)
            out[(k, cond)] = (torch.as_tensor(tokens, device=self.device), pos1, pos2)
        return out

    def train_step(self, step: int) -> dict[str, float]:
        cfg = self.cfg
        rng = np.random.default_rng([cfg.seed, 2, step])  # the batch depends on (seed, step) only
        docs = nouns.training_batch(
            self.world, rng, cfg.batch, cfg.doc_len, cfg.p_episode,
            k_range=(0, cfg.max_delay), max_episodes=cfg.episodes_per_doc,
        )
        tokens = torch.as_tensor(docs, device=self.device)  # (B, L)
        for group in self.opt.param_groups:
            group["lr"] = cfg.lr * _lr_factor(step, cfg.steps)
        self.model.train()
        logits = self.model(tokens[:, :-1])  # (B, L-1, V)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))
        return {"loss": optimiser_step(loss, self.model, self.opt)}

    @torch.no_grad()
    def surprisal(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, L) tokens -> (B, L) surprisal in nats of each token given its prefix (0 at t=0)."""
        self.model.eval()
        logp = F.log_softmax(self.model(tokens[:, :-1]), dim=-1)  # (B, L-1, V)
        s = -logp.gather(-1, tokens[:, 1:, None])[..., 0]  # (B, L-1)
        return F.pad(s, (1, 0))

    def evaluate(self) -> dict[str, float]:
        names = {(16, "repeat"): "rs", (4, "repeat"): "rs_k4", (48, "repeat"): "rs_k48",
                 (16, "shuffled"): "rs_shuffled", (16, "novel"): "rs_novel"}
        out: dict[str, float] = {}
        for cell, (tokens, pos1, pos2) in self.probes.items():
            s = self.surprisal(tokens).double().cpu().numpy()
            s1, s2 = s[:, pos1].mean(0), s[:, pos2].mean(0)  # (n,) mean over lists per position
            out[f"val/{names[cell]}"] = float(100.0 * s2.mean() / s1.mean())
            if cell == (16, "repeat"):
                # where along the list the reduction sits: positions 1-2 vs positions 3-10
                out["val/rs_early"] = float(100.0 * s2[:2].mean() / s1[:2].mean())
                out["val/rs_late"] = float(100.0 * s2[2:].mean() / s1[2:].mean())
                out["val/first_list_surprisal"] = float(s1.mean())
        return out

    def state_dict(self) -> dict:
        return training_state(self.model, self.opt)

    def load_state_dict(self, state: dict) -> None:
        load_training_state(state, self.model, self.opt)
