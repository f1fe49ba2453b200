"""Train Recformer (or a SASRec baseline) on synthetic attributed items; rank all items for each
held-out user's last item, split by warm and cold targets.

Only the items that occur in the run's training sequences (``known``) exist while training:
they are the negatives of every loss. Cold items, and items the low-resource subset never shows,
enter at evaluation only: Recformer encodes them from their text, SASRec-ID scores them with
their untrained ID rows, SASRec-attr with its attribute embeddings.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from workloads.nn.ranking import recall_at_k
from workloads.nn.sasrec import SASRec, gather_last
from workloads.recformer.model import Recformer, item_token_table
from workloads.recformer.task import Users, category_chain, make_catalogue, sample_users
from workloads.training import load_training_state, optimiser_step, training_state


class AttributeItems(nn.Module):
    """Item vectors as summed attribute embeddings (category + brand + colour + mean title word): (I, C)."""

    def __init__(self, catalogue, d_model: int) -> None:
        super().__init__()
        cat = catalogue
        for name in ("category", "brand", "colour", "title"):
            self.register_buffer(name, torch.as_tensor(getattr(cat, name)).long(), persistent=False)
        self.e_cat = nn.Embedding(cat.n_categories, d_model)
        self.e_brand = nn.Embedding(cat.n_brands, d_model)
        self.e_colour = nn.Embedding(cat.n_colours, d_model)
        self.e_word = nn.Embedding(cat.n_words, d_model)

    def forward(self) -> torch.Tensor:
        return self.e_cat(self.category) + self.e_brand(self.brand) + self.e_colour(self.colour) + self.e_word(self.title).mean(1)


def ndcg_one_target(scores: np.ndarray, target: np.ndarray, k: int = 10) -> np.ndarray:
    """NDCG@k ``(N,)`` of one relevant item per row: 1 / log2(rank + 2) where rank (0 = top) counts
    the items scoring strictly higher than ``target``, 0 beyond rank k. Equals
    ``workloads.nn.ranking.ndcg_at_k`` without ties, at a fraction of its cost (no per-row sklearn call)."""
    rows = np.arange(len(target))
    rank = (scores > scores[rows, target][:, None]).sum(1)  # (N,)
    return np.where(rank < k, 1.0 / np.log2(rank + 2.0), 0.0)


class RecRun:
    """One run: ``cfg.model`` trained on ``train_frac`` of ``n_train`` users, scored on validation and test users."""

    def __init__(self, cfg, device: str) -> None:
        self.cfg, self.device = cfg, device
        rng = np.random.default_rng([cfg.seed, 0])  # one catalogue and user set per seed, whatever the arm
        self.cat = make_catalogue(
            rng, cfg.n_items, n_categories=cfg.n_categories, n_brands=cfg.n_brands, n_colours=cfg.n_colours,
            words_per_category=cfg.words_per_category, title_len=cfg.title_len, cold_frac=cfg.cold_frac,
            quality_std=cfg.quality_std,
        )
        chain = category_chain(rng, cfg.n_categories)
        kw = dict(length=(cfg.len_min, cfg.len_max), n_fav_brands=cfg.n_fav_brands, fav_boost=cfg.fav_boost,
                  brand_weight=cfg.brand_weight, colour_weight=cfg.colour_weight)
        train = sample_users(rng, self.cat, chain, cfg.n_train, allow_cold=False, **kw)
        self.splits = {s: sample_users(rng, self.cat, chain, cfg.n_eval, allow_cold=True, **kw) for s in ("val", "test")}
        self.train = train.subset(np.arange(round(cfg.train_frac * cfg.n_train)))
        seen = self.train.items[self.train.items >= 0]
        self.known = torch.zeros(cfg.n_items, dtype=torch.bool, device=device)
        self.known[torch.as_tensor(np.unique(seen), device=device)] = True

        torch.manual_seed(cfg.seed)
        if cfg.model == "recformer":
            tokens, types, vocab = item_token_table(self.cat)
            self.model = Recformer(tokens, types, vocab, cfg.d_model, cfg.n_layers, cfg.n_heads, cfg.max_items, cfg.dropout)
        else:
            items = nn.Embedding(cfg.n_items, cfg.d_model) if cfg.model == "sasrec_id" else AttributeItems(self.cat, cfg.d_model)
            for p in items.parameters():  # Xavier-normal, as SASRec's reference code (N(0, 1) rows swamp the scores)
                nn.init.xavier_normal_(p)
            self.model = nn.ModuleDict({"item_table": items, "sasrec": SASRec(cfg.d_model, cfg.n_layers, cfg.n_heads, cfg.len_max, cfg.dropout)})
        self.model.to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.matrix: torch.Tensor | None = None  # Recformer's stale item matrix (I, C), refreshed every refresh_every steps

    # -- helpers ---------------------------------------------------------------------------
    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.long, device=self.device)

    def _history(self, users: Users, rows: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Items before position ``target`` of each row, most recent first, up to max_items: (B, K), -1 padded."""
        idx = target[:, None] - 1 - np.arange(self.cfg.max_items)[None, :]  # (B, K)
        return np.where(idx >= 0, users.items[rows[:, None], idx.clip(min=0)], -1)

    def _item_table(self) -> torch.Tensor:
        """SASRec's item vectors (I, C): ID rows or summed attributes."""
        items = self.model["item_table"]
        return items.weight if isinstance(items, nn.Embedding) else items()

    # -- training --------------------------------------------------------------------------
    def train_step(self, step: int) -> dict[str, float]:
        """One Adam step on ``cfg.batch`` training users drawn from (seed, step)."""
        cfg = self.cfg
        rng = np.random.default_rng([cfg.seed, 1, step])
        rows = rng.integers(0, len(self.train), size=cfg.batch)
        torch.manual_seed(int(rng.integers(2**62)))  # dropout masks from (seed, step) too, so a restored run repeats them
        self.model.train()
        if cfg.model != "recformer":
            seq = self._tensor(self.train.items[rows])  # (B, L), -1 padded
            table = self._item_table()  # (I, C)
            h = self.model["sasrec"](table[seq[:, :-1].clamp(min=0)])  # (B, L-1, C)
            logits = (h @ table.T).masked_fill(~self.known, float("-inf"))  # (B, L-1, I): known items only
            loss = F.cross_entropy(logits.reshape(-1, cfg.n_items), seq[:, 1:].reshape(-1), ignore_index=-1)  # (B·(L-1), I)
            return {"loss": optimiser_step(loss, self.model, self.opt)}
        # Recformer: one random cut per user, target = the item at the cut
        target = rng.integers(1, self.train.lengths[rows])
        history = self._tensor(self._history(self.train, rows, target))  # (B, K)
        y = self._tensor(self.train.items[rows, target])  # (B,)
        if self.matrix is None or step % cfg.refresh_every == 0:
            self._refresh()
        h_s = self.model.encode(history)  # (B, C)
        # item-matrix loss (the paper's fine-tuning): every known item, encoded at the last refresh,
        # no gradient through the matrix; the encoder learns items through the shared weights
        logits = (h_s @ self.matrix.T / cfg.tau).masked_fill(~self.known, float("-inf"))  # (B, I)
        matrix_loss = F.cross_entropy(logits, y)
        # in-batch loss: the batch's distinct targets encoded now (gradient through both sides)
        unique, y_idx = torch.unique(y, return_inverse=True)
        in_batch = F.cross_entropy(h_s @ self.model.encode_items(unique).T / cfg.tau, y_idx)  # (B, U) logits
        loss = matrix_loss + in_batch
        out = {"matrix_loss": float(matrix_loss.detach()), "in_batch_loss": float(in_batch.detach())}
        if cfg.mlm_weight > 0:
            mlm = self.model.mlm_loss(history, cfg.mask_prob, torch.Generator().manual_seed(int(rng.integers(2**62))))
            loss = loss + cfg.mlm_weight * mlm
            out["mlm"] = float(mlm.detach())
        return {"loss": optimiser_step(loss, self.model, self.opt), **out}

    @torch.no_grad()
    def _refresh(self) -> None:
        """Re-encode every item into the (detached) item matrix, in eval mode."""
        self.model.eval()
        self.matrix = self.model.encode_items(torch.arange(self.cfg.n_items, device=self.device))
        self.model.train()

    # -- evaluation ------------------------------------------------------------------------
    @torch.no_grad()
    def _scores(self, users: Users) -> np.ndarray:
        """Scores (U, I) of every item as each user's last item, from the items before it."""
        self.model.eval()
        rows = np.arange(len(users))
        last = users.lengths - 1
        history = self._history(users, rows, last)  # (U, K), most recent first
        if self.cfg.model == "recformer":
            h_s = self.model.encode(self._tensor(history))  # (U, C)
            items = self.model.encode_items(torch.arange(self.cfg.n_items, device=self.device))  # (I, C)
            return (h_s @ items.T).cpu().numpy()
        oldest_first = history[:, ::-1]  # (U, K), -1 padding now on the left
        right_padded = np.take_along_axis(oldest_first, np.argsort(oldest_first < 0, axis=1, kind="stable"), 1)
        chronological = self._tensor(right_padded)  # (U, K) oldest first, -1 padding on the right
        n = (chronological >= 0).sum(1)
        table = self._item_table()
        h = gather_last(self.model["sasrec"](table[chronological.clamp(min=0)]), n)  # (U, C)
        return (h @ table.T).cpu().numpy()

    def evaluate(self) -> dict[str, float]:
        """Recall@10 and NDCG@10 over all items for each held-out user's last item, overall and on
        warm / cold targets, on validation (``val/``) and test (``test/``) users; the target's mean rank
        as a share of the catalogue (``rank_pct``, 0 = top; 0.5 = random); chance Recall@10 = 10 / I."""
        out: dict[str, float] = {}
        for split, users in self.splits.items():
            rows = np.arange(len(users))
            y = users.items[rows, users.lengths - 1]
            relevant = np.zeros((len(users), self.cfg.n_items), dtype=bool)
            relevant[rows, y] = True
            scores = self._scores(users)
            recall, ndcg = recall_at_k(scores, relevant), ndcg_one_target(scores, y)
            cold = self.cat.cold[y]
            for name, keep in (("", slice(None)), ("_warm", ~cold), ("_cold", cold)):
                out[f"{split}/recall10{name}"] = float(recall[keep].mean())
                out[f"{split}/ndcg10{name}"] = float(ndcg[keep].mean())
            rank = (scores > scores[rows, y][:, None]).sum(1)  # (U,) items ranked above the target
            out[f"{split}/rank_pct"] = float(rank.mean() / self.cfg.n_items)
            out[f"{split}/cold_targets"] = float(cold.mean())
        out["val/chance_recall10"] = 10.0 / self.cfg.n_items
        out["known_items"] = float(self.known.float().mean())
        return out

    def state_dict(self) -> dict:
        """Model, optimiser and Recformer's stale item matrix."""
        return training_state(self.model, self.opt, matrix=self.matrix)

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` saved."""
        self.matrix = load_training_state(state, self.model, self.opt)["matrix"]
