"""Train IDNP (or the no-time SASRec) on synthetic drifting interests; rank all items for each
held-out user's last session."""

from __future__ import annotations

import numpy as np
import torch

from workloads.nn.ranking import hits_at_k, ndcg_at_k, recall_at_k
from workloads.nn.sasrec import SASRec, gather_last, next_item_loss
from workloads.tasks.interest_dynamics import Sessions, sample_sessions
from workloads.training import load_training_state, optimiser_step, training_state

#: query gaps below this (the median of the 0.2-3 gap law) are "short", the rest "long"
SHORT_GAP = 1.6


class InterestRun:
    """One run: ``cfg.model`` trained on ``cfg.n_train`` users, scored on the validation and test users."""

    def __init__(self, cfg, device: str) -> None:
        self.cfg, self.device = cfg, device
        data = sample_sessions(
            np.random.default_rng([cfg.seed, 0]),
            cfg.n_train + 2 * cfg.n_eval,
            n_items=cfg.n_items,
            n_genres=cfg.n_genres,
            sessions=(cfg.sessions_min, cfg.sessions_max),
            session_len=cfg.session_len,
            amplitude=cfg.amplitude,
            omega=(0.3, cfg.omega_max),
        )
        n, e = cfg.n_train, cfg.n_eval
        self.train = data.subset(np.arange(n))
        self.splits = {"val": data.subset(np.arange(n, n + e)), "test": data.subset(np.arange(n + e, n + 2 * e))}
        seen = self.train.items[self.train.items >= 0]
        self.popularity = np.bincount(seen, minlength=cfg.n_items).astype(float)

        torch.manual_seed(cfg.seed)
        if cfg.model == "idnp":
            from workloads.idnp.model import IDNP

            self.model = IDNP(cfg.n_items, cfg.d_model, cfg.z_dim, cfg.n_scales, cfg.time_encoding == "learned", cfg.n_heads)
        else:
            self.items = torch.nn.Embedding(cfg.n_items + 1, cfg.d_model, padding_idx=cfg.n_items)
            self.sasrec = SASRec(cfg.d_model, cfg.sasrec_layers, cfg.n_heads, cfg.sessions_max * cfg.session_len)
            self.model = torch.nn.ModuleDict({"item_table": self.items, "sasrec": self.sasrec})
        self.model.to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lambda s: 1.0)  # constant, as the catalogue's Adam 1e-3

    # -- batches ---------------------------------------------------------------------------
    def _context(self, data: Sessions, users: np.ndarray, target: np.ndarray):
        """Sessions before ``target`` of each user, padded, as tensors: items (B, S, L), times (B, S),
        n_ctx (B,), query time (B,), target items (B, L)."""
        pad = self.cfg.n_items
        S = data.items.shape[1]
        before = np.arange(S)[None, :] < target[:, None]  # (B, S)
        items = np.where(before[..., None], data.items[users], pad)
        if self.cfg.time_input == "timestamp":
            times, t_query = data.times[users], data.times[users, target]
        else:  # session indices: order without timestamps
            times, t_query = np.broadcast_to(np.arange(S, dtype=float), before.shape), target.astype(float)
        times = np.where(before, times, 0.0)
        as_t = lambda a, dt: torch.as_tensor(np.ascontiguousarray(a), dtype=dt, device=self.device)  # noqa: E731
        return (
            as_t(items, torch.long),
            as_t(times, torch.float32),
            as_t(target, torch.long),
            as_t(t_query, torch.float32),
            as_t(data.items[users, target], torch.long),
        )

    def _flat(self, data: Sessions, users: np.ndarray, n_sessions: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """The first ``n_sessions`` sessions of each user as one item sequence (B, S·L), pad = n_items, and lengths."""
        S, L = data.items.shape[1:]
        keep = np.arange(S)[None, :] < n_sessions[:, None]  # (B, S)
        seq = np.where(keep[..., None], data.items[users], self.cfg.n_items).reshape(len(users), S * L)  # (B, S, L) -> (B, S·L)
        return torch.as_tensor(seq, device=self.device), torch.as_tensor(n_sessions * L, device=self.device)

    def train_step(self, step: int) -> dict[str, float]:
        """One Adam step on ``cfg.batch`` users drawn from (seed, step)."""
        cfg = self.cfg
        rng = np.random.default_rng([cfg.seed, 1, step])
        users = rng.integers(0, len(self.train), size=cfg.batch)
        self.model.train()
        if cfg.model == "sasrec":
            seq, _ = self._flat(self.train, users, self.train.n_sessions[users])
            h = self.sasrec(self.items(seq[:, :-1]))  # (B, T-1, C)
            targets = torch.where(seq[:, 1:] == cfg.n_items, -1, seq[:, 1:])
            loss = next_item_loss(h, self.items.weight[: cfg.n_items], targets)
            return {"loss": optimiser_step(loss, self.model, self.opt, self.sched)}
        n = self.train.n_sessions[users]
        target = rng.integers(cfg.min_context, n)  # a randomly placed target session, ≥ min_context before it
        items, times, n_ctx, t_query, y = self._context(self.train, users, target)
        gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        eps = torch.randn(cfg.batch, cfg.z_dim, generator=gen).to(self.device)
        loss, nll, kl = self.model(items, times, n_ctx, t_query, target=y, eps=eps, beta=cfg.beta)
        return {"loss": optimiser_step(loss, self.model, self.opt, self.sched), "nll": float(nll.detach()), "kl": float(kl.detach())}

    # -- evaluation ------------------------------------------------------------------------
    @torch.no_grad()
    def _scores(self, data: Sessions) -> np.ndarray:
        """Item scores (U, I) for each user's last session from all sessions before it."""
        users = np.arange(len(data))
        last = data.n_sessions - 1
        self.model.eval()
        if self.cfg.model == "sasrec":
            seq, lengths = self._flat(data, users, last)
            h = gather_last(self.sasrec(self.items(seq)), lengths)  # (U, C)
            return (h @ self.items.weight[: self.cfg.n_items].T).cpu().numpy()
        items, times, n_ctx, t_query, _ = self._context(data, users, last)
        return self.model(items, times, n_ctx, t_query).cpu().numpy()

    def evaluate(self) -> dict[str, float]:
        """NDCG@10, HR@10 and Recall@10 against the last session's items, on validation (``val/``) and
        test (``test/``) users; NDCG@10 split by the query gap; the popularity floor."""
        out: dict[str, float] = {}
        for split, data in self.splits.items():
            users = np.arange(len(data))
            last = data.n_sessions - 1
            relevant = np.zeros((len(data), self.cfg.n_items), dtype=bool)
            relevant[users[:, None], data.items[users, last]] = True
            scores = self._scores(data)
            ndcg = ndcg_at_k(scores, relevant)
            gap = data.times[users, last] - data.times[users, last - 1]
            out[f"{split}/ndcg10"] = float(ndcg.mean())
            out[f"{split}/hr10"] = float(hits_at_k(scores, relevant).mean())
            out[f"{split}/recall10"] = float(recall_at_k(scores, relevant).mean())
            out[f"{split}/ndcg10_short_gap"] = float(ndcg[gap < SHORT_GAP].mean())
            out[f"{split}/ndcg10_long_gap"] = float(ndcg[gap >= SHORT_GAP].mean())
            out[f"{split}/popularity_ndcg10"] = float(ndcg_at_k(np.tile(self.popularity, (len(data), 1)), relevant).mean())
        return out

    def state_dict(self) -> dict:
        """Model, optimiser and schedule."""
        return training_state(self.model, self.opt, self.sched)

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` saved."""
        load_training_state(state, self.model, self.opt, self.sched)
