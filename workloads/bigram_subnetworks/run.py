"""One run: language modelling for ``lm_steps``, then bigram-mask training; evaluation compares masks."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

from workloads.bigram_subnetworks import mask as M
from workloads.nn.transformer import TinyTransformer
from workloads.tasks import bigram_copy
from workloads.training import load_training_state, optimiser_step, training_state


def _kl_to_bigram(logits: torch.Tensor, tokens: torch.Tensor, table: torch.Tensor) -> float:
    """Mean over positions of KL(P_bigram(. | x_t) || q(. | x_<=t)) in nats."""
    logq = F.log_softmax(logits, dim=-1)  # (B, T, V)
    p = table[tokens]  # (B, T, V)
    return float((p * (p.log() - logq)).sum(-1).mean())


def _lm_loss(logits: torch.Tensor, tokens: torch.Tensor) -> float:
    return float(F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1)))


class BigramSubnetworkRun:
    def __init__(self, cfg, device: str) -> None:
        self.cfg, self.device = cfg, device
        torch.manual_seed(cfg.seed)
        self.chain = bigram_copy.make_chain(np.random.default_rng([cfg.seed, 0]), cfg.vocab, cfg.concentration)
        corpus = self._docs(np.random.default_rng([cfg.seed, 1]), 2000)
        self.table = torch.as_tensor(bigram_copy.bigram_table(corpus, cfg.vocab), dtype=torch.float32, device=device)
        self.eval_tokens = torch.as_tensor(self._docs(np.random.default_rng([cfg.seed, 2]), cfg.eval_docs), device=device)
        self.model = TinyTransformer(cfg.vocab, cfg.d_model, cfg.n_layers, cfg.n_heads, max_len=cfg.seq_len).to(device)
        for table in (self.model.embed, self.model.pos):
            torch.nn.init.normal_(table.weight, std=0.1)
        if cfg.tied:
            self.model.head.weight = self.model.embed.weight  # GPT-2 style: unembedding = embeddingᵀ
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=0.01)
        self.names = M.maskable_names(self.model)
        self.logits = M.init_logits(self.model, self.names, cfg.mask_init)
        self.mask_opt = torch.optim.Adam(self.logits.values(), lr=cfg.mask_lr)

    def _docs(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return bigram_copy.documents(self.chain, rng, n, self.cfg.seq_len, self.cfg.copy_frac)

    def _batch(self, step: int) -> torch.Tensor:
        rng = np.random.default_rng([self.cfg.seed, 3, step])  # depends on (seed, step) only
        return torch.as_tensor(self._docs(rng, self.cfg.batch), device=self.device)

    def beta(self, step: int) -> float:
        """Temperature of mask step ``step``: geometric from 1 to beta_final."""
        total = max(1, self.cfg.steps - self.cfg.lm_steps - 1)
        frac = min(1.0, max(0, step - self.cfg.lm_steps) / total)
        return self.cfg.beta_final**frac

    def train_step(self, step: int) -> dict[str, float]:
        cfg = self.cfg
        tokens = self._batch(step)  # (B, T)
        if step < cfg.lm_steps:
            warm = min(1.0, (step + 1) / 50) * 0.5 * (1 + math.cos(math.pi * step / max(1, cfg.lm_steps)))
            for group in self.opt.param_groups:
                group["lr"] = cfg.lr * warm
            self.model.train()
            loss = F.cross_entropy(self.model(tokens[:, :-1]).reshape(-1, cfg.vocab), tokens[:, 1:].reshape(-1))
            return {"loss": optimiser_step(loss, self.model, self.opt)}
        self.model.eval()
        self.model.requires_grad_(False)
        soft = M.soft(self.logits, self.beta(step))
        logq = F.log_softmax(M.masked_forward(self.model, soft, tokens), dim=-1)  # (B, T, V)
        xent = -(self.table[tokens] * logq).sum(-1).mean()  # cross-entropy to the bigram rows
        kept = sum(m.sum() for m in soft.values()) / sum(m.numel() for m in soft.values())
        loss = xent + cfg.sparsity * kept
        self.mask_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.mask_opt.step()
        self.model.requires_grad_(True)
        return {"loss": float(loss.detach()), "mask/soft_density": float(kept.detach())}

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        self.model.eval()
        tokens = self.eval_tokens
        learned = M.hard(self.logits)
        rand = M.random_like(learned, torch.Generator().manual_seed(self.cfg.seed))
        empty = {n: torch.zeros_like(m) for n, m in learned.items()}
        full_logits = self.model(tokens)
        lm_full = _lm_loss(full_logits, tokens)
        out = {
            "val/kl": _kl_to_bigram(M.masked_forward(self.model, learned, tokens), tokens, self.table),
            "val/kl_random": _kl_to_bigram(M.masked_forward(self.model, rand, tokens), tokens, self.table),
            "val/kl_empty": _kl_to_bigram(M.masked_forward(self.model, empty, tokens), tokens, self.table),
            "val/kl_full": _kl_to_bigram(full_logits, tokens, self.table),
            "val/mask_density": M.density(learned),
            "val/lm_loss": lm_full,
        }
        # necessity: zero the subnetwork (keep its complement) vs zero a random same-size set
        drop = {n: 1.0 - m for n, m in learned.items()}
        drop_rand = {n: 1.0 - m for n, m in rand.items()}
        rise = _lm_loss(M.masked_forward(self.model, drop, tokens), tokens) - lm_full
        rise_rand = _lm_loss(M.masked_forward(self.model, drop_rand, tokens), tokens) - lm_full
        out["val/ablate_rise"] = rise
        out["val/ablate_rise_random"] = rise_rand
        out["val/ablate_ratio"] = rise / max(rise_rand, 1e-3)
        # location: share of kept entries per group (attention / MLP of each block)
        kept = {}
        for n, m in learned.items():
            kept[M.group_of(n)] = kept.get(M.group_of(n), 0.0) + float(m.sum())
        total = max(1.0, sum(kept.values()))
        share = {g: k / total for g, k in kept.items()}
        first = share.get("blocks.0.mlp", 0.0)
        out["val/first_mlp_share"] = first
        out["val/first_mlp_margin"] = first - max(v for g, v in share.items() if g != "blocks.0.mlp")
        return out

    def state_dict(self) -> dict:
        logits = {n: s.detach().clone() for n, s in self.logits.items()}
        return training_state(self.model, self.opt, logits=logits, mask_opt=self.mask_opt)

    def load_state_dict(self, state: dict) -> None:
        logits = load_training_state(state, self.model, self.opt, mask_opt=self.mask_opt)["logits"]
        with torch.no_grad():
            for n, s in self.logits.items():
                s.copy_(logits[n])
