"""Train a language model on prompts from random DFAs; score legality and TVD on unseen DFAs."""

from __future__ import annotations

import numpy as np
import torch

from workloads.icll.models import build_model, n_params
from workloads.icll.ngram import backoff_ngram_probs
from workloads.nn.transformer import sequence_cross_entropy
from workloads.tasks.dfa import random_dfas, sample_prompts
from workloads.training import load_training_state, optimiser_step, training_state


def legality_and_tvd(probs_model: torch.Tensor, probs_true: torch.Tensor) -> tuple[float, float]:
    """Fraction of positions whose argmax has positive true probability, and mean total variation.

    Both ``(B, T, V)``; position t is the prediction of token t+1 (the last position is dropped).
    """
    pm, pt = probs_model[:, :-1], probs_true[:, :-1]
    greedy = pm.argmax(-1, keepdim=True)  # (B, T-1, 1)
    legal = (pt.gather(-1, greedy) > 0).float().mean()
    tvd = 0.5 * (pm - pt).abs().sum(-1).mean()
    return float(legal), float(tvd)


class ICLL:
    """One run of one architecture; evaluation also reports the in-context 3-gram reference."""

    def __init__(self, cfg) -> None:
        self.cfg = cfg
        self.n_tokens = cfg.vocab + 1  # symbols + separator
        torch.manual_seed(cfg.seed)
        self.model = build_model(cfg, self.n_tokens)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        rng = np.random.default_rng([cfg.seed, 10**6])  # unseen test DFAs, fixed per seed
        tokens, probs = self._prompts(rng, cfg.eval_prompts)
        self.eval_tokens, self.eval_probs = tokens, probs
        ref = backoff_ngram_probs(tokens, 2, self.n_tokens)
        self.ngram3 = legality_and_tvd(ref, probs)

    def _prompts(self, rng: np.random.Generator, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.cfg
        dfas = random_dfas(
            rng, batch, vocab=cfg.vocab, states=(cfg.min_states, cfg.max_states),
            symbols=(cfg.min_symbols, cfg.max_symbols),
            min_out=cfg.min_out, max_out=cfg.max_out,
        )
        tokens, probs = sample_prompts(rng, dfas, cfg.seq_len, min_len=cfg.min_len, max_len=cfg.max_len)
        return torch.from_numpy(tokens), torch.from_numpy(probs)

    def train_step(self, step: int) -> dict[str, float]:
        """One Adam step of next-token cross-entropy on fresh DFAs drawn from (seed, step)."""
        tokens, _ = self._prompts(np.random.default_rng([self.cfg.seed, step]), self.cfg.batch)
        logits = self.model(tokens[:, :-1])  # (B, T-1, V)
        loss = sequence_cross_entropy(logits, tokens[:, 1:])
        return {"loss": optimiser_step(loss, self.model, self.opt)}

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Legality (``val/acc``) and TVD on the test DFAs, with the 3-gram reference and the size."""
        self.model.eval()
        probs = self.model(self.eval_tokens).softmax(-1)
        self.model.train()
        acc, tvd = legality_and_tvd(probs, self.eval_probs)
        return {
            "val/acc": acc,
            "val/tvd": tvd,
            "val/ngram3_acc": self.ngram3[0],
            "val/ngram3_tvd": self.ngram3[1],
            "val/params": float(n_params(self.model)),
        }

    def state_dict(self) -> dict:
        """Model and optimiser state."""
        return training_state(self.model, self.opt)

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` saved."""
        load_training_state(state, self.model, self.opt)
