"""One DefSent run: pretrain the small masked LM, fine-tune it on definitions, score toy STS.

Steps ``0 .. pretrain_steps - 1`` are MLM on fresh synthetic sentences; later steps train on
fresh definitions (synonyms and feature order redrawn each time) with the method's objective.
Every batch is drawn from ``(seed, step)``; the lexicon and STS set from ``seed`` alone.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from workloads.defsent_plus.lexicon import definitions, make_lexicon, names_batch, pretraining_batch, sts_benchmark
from workloads.defsent_plus.model import defsent_logits, isotropic, make_plm, mean_pairwise_cosine, mlm_loss, pool
from workloads.training import optimiser_step


def _schedule(opt: torch.optim.Optimizer, steps: int, warmup: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warmup over ``warmup`` steps, then a half cosine from 1 to 0 at ``steps``."""

    def factor(step: int) -> float:
        return min(1.0, (step + 1) / max(1, warmup)) * 0.5 * (1.0 + math.cos(math.pi * min(step, steps) / steps))

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def _generator(*key: int) -> torch.Generator:
    gen = torch.Generator()
    gen.manual_seed(int(np.random.default_rng(list(key)).integers(2**62)))
    return gen


class DefSentRun:
    """``method`` in mean, defsent, defsent_plus; ``evaluate`` gives ``val/spearman``."""

    def __init__(self, cfg) -> None:
        self.cfg = cfg
        self.lex = make_lexicon(
            np.random.default_rng([cfg.seed, 0]), cfg.n_concepts, cfg.n_features, cfg.n_categories,
            cfg.proto_features, cfg.n_synonyms, cfg.multi_share, cfg.n_pieces,
        )
        self.sts = sts_benchmark(np.random.default_rng([cfg.seed, 1]), self.lex, cfg.n_pairs)
        self.probe = torch.from_numpy(pretraining_batch(np.random.default_rng([cfg.seed, 2]), self.lex, 256))  # (256, T)
        self.names = torch.from_numpy(names_batch(self.lex))  # (C, T) every entry's name
        self.single = torch.from_numpy(self.lex.single)  # DefSent's entries
        self.single_tokens = torch.tensor([self.lex.names[i][0] for i in self.lex.single], dtype=torch.long)
        n_cover = max(2, int(round(cfg.coverage * cfg.n_concepts)))
        self.covered = torch.from_numpy(np.sort(np.random.default_rng([cfg.seed, 3]).permutation(cfg.n_concepts)[:n_cover]))
        torch.manual_seed(cfg.seed)
        self.model = make_plm(self.lex.vocab, cfg.d_model, cfg.n_layers, cfg.n_heads, self.lex.max_len)
        self.pre_opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.pretrain_lr)
        self.pre_sched = _schedule(self.pre_opt, max(1, cfg.pretrain_steps if cfg.method != "mean" else cfg.steps), cfg.warmup)
        frozen = {id(self.model.embed.weight), id(self.model.head.bias)} if cfg.method == "defsent" else set()
        tuned = [p for p in self.model.parameters() if id(p) not in frozen]  # DefSent: tied embeddings and head frozen
        ft_steps = max(1, cfg.steps - cfg.pretrain_steps)
        self.ft_opt = torch.optim.AdamW(tuned, lr=cfg.lr)
        self.ft_sched = _schedule(self.ft_opt, ft_steps, cfg.warmup)
        self.entries: torch.Tensor | None = None  # DefSent+: (covered, d) isotropic name encodings

    # -- training ----------------------------------------------------------------------------
    def _entry_embeddings(self) -> torch.Tensor:
        """DefSent+'s Ê: the current encoder's pooled name encodings of the covered entries, isotropic."""
        with torch.no_grad():
            raw = pool(self.model, self.names[self.covered], self.cfg.pooling)  # (E, d)
        return isotropic(raw, self.cfg.isotropy)

    def train_step(self, step: int) -> dict[str, float]:
        """MLM before ``pretrain_steps`` (and always for 'mean'); then one definition step."""
        cfg = self.cfg
        rng = np.random.default_rng([cfg.seed, step, 0])
        if cfg.method == "mean" or step < cfg.pretrain_steps:
            tokens = torch.from_numpy(pretraining_batch(rng, self.lex, cfg.batch))  # (B, T)
            loss = mlm_loss(self.model, tokens, _generator(cfg.seed, step, 1), cfg.mask_rate)
            return {"loss": optimiser_step(loss, self.model, self.pre_opt, self.pre_sched)}
        ft_step = step - cfg.pretrain_steps
        pool_from = self.single if cfg.method == "defsent" else self.covered
        target = torch.from_numpy(rng.choice(len(pool_from), size=min(cfg.batch, len(pool_from)), replace=False))  # (B,)
        tokens = torch.from_numpy(definitions(rng, self.lex, pool_from[target].numpy()))  # (B, T)
        sent = pool(self.model, tokens, cfg.pooling)  # (B, d)
        if cfg.method == "defsent":
            logits = defsent_logits(self.model, sent, self.single_tokens)  # (B, E_single)
        else:
            if self.entries is None or (cfg.refresh_every and ft_step % cfg.refresh_every == 0):
                self.entries = self._entry_embeddings()
            logits = F.normalize(sent, dim=-1) @ self.entries.T / cfg.tau  # (B, E)
        loss = F.cross_entropy(logits, target)
        acc = float((logits.argmax(-1) == target).float().mean())
        return {"loss": optimiser_step(loss, self.model, self.ft_opt, self.ft_sched), "train/def_acc": acc}

    # -- evaluation --------------------------------------------------------------------------
    def evaluate(self) -> dict[str, float]:
        """``val/spearman`` (ρ between the cosine of the two descriptions' embeddings and the gold
        cosine of their features), ``val/entry_anisotropy`` (mean pairwise cosine of the entry
        embeddings the method classifies into: DefSent the tied rows, DefSent+ Ê, mean pooling
        the raw name encodings), ``val/tied_anisotropy``, ``val/sts_anisotropy`` (of the STS
        sentence embeddings) and ``val/mlm_loss`` on a fixed probe batch."""
        from scipy.stats import spearmanr

        cfg = self.cfg
        with torch.no_grad():
            left = pool(self.model, torch.from_numpy(self.sts.left), cfg.pooling)  # (P, d)
            right = pool(self.model, torch.from_numpy(self.sts.right), cfg.pooling)
            cos = F.cosine_similarity(left, right, dim=-1).numpy()
            tied = self.model.embed.weight[self.single_tokens]  # (E_single, d)
            raw_names = pool(self.model, self.names, cfg.pooling)  # (C, d)
            mlm = float(mlm_loss(self.model, self.probe, _generator(cfg.seed, 3)))
        if cfg.method == "defsent":
            entries = tied
        elif cfg.method == "defsent_plus":
            entries = self.entries if self.entries is not None else self._entry_embeddings()
        else:
            entries = raw_names
        rho = spearmanr(cos, self.sts.gold).statistic
        return {
            "val/spearman": float(rho),
            "val/entry_anisotropy": mean_pairwise_cosine(entries),
            "val/tied_anisotropy": mean_pairwise_cosine(tied),
            "val/sts_anisotropy": mean_pairwise_cosine(torch.cat([left, right])),
            "val/mlm_loss": mlm,
        }

    def state_dict(self) -> dict:
        """Model, both optimisers and schedules, and DefSent+'s current entry embeddings."""
        return {
            "model": self.model.state_dict(),
            "pre_opt": self.pre_opt.state_dict(), "pre_sched": self.pre_sched.state_dict(),
            "ft_opt": self.ft_opt.state_dict(), "ft_sched": self.ft_sched.state_dict(),
            "entries": None if self.entries is None else self.entries.clone(),
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` saved."""
        self.model.load_state_dict(state["model"])
        self.pre_opt.load_state_dict(state["pre_opt"])
        self.pre_sched.load_state_dict(state["pre_sched"])
        self.ft_opt.load_state_dict(state["ft_opt"])
        self.ft_sched.load_state_dict(state["ft_sched"])
        self.entries = None if state["entries"] is None else state["entries"].clone()
