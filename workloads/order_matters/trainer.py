"""Sorting and top-k-set tasks for Read-Process-Write and the Ptr-Net; permutation checks."""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from workloads.order_matters.model import SetPointer
from workloads.training import cosine_schedule, load_training_state, optimiser_step, training_state


def make_batch(rng: np.random.Generator, batch: int, n: int, task: str, k: int, order: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs ``(B, n)`` uniform in [0, 1) and pointer targets.

    ``sort``: the ascending order, ``(B, n)``. ``topk``: the indices of the ``k`` largest, ``(B, k)``,
    in descending order of value (``order='fixed'``) or in a fresh random order (``'random'``).
    """
    x = rng.random((batch, n)).astype(np.float32)
    if task == "sort":
        y = np.argsort(x, axis=1)
    else:
        y = np.argsort(-x, axis=1)[:, :k]  # descending: the canonical order
        if order == "random":
            y = np.take_along_axis(y, rng.permuted(np.tile(np.arange(k), (batch, 1)), axis=1), axis=1)
    return torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))


def pointer_nll(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of the sequence negative log-likelihood (summed over pointer steps)."""
    B, T, N = logits.shape
    return F.cross_entropy(logits.reshape(B * T, N), targets.reshape(B * T), reduction="sum") / B  # (B, T, N) -> (B·T, N)


class OrderMatters:
    """One run: a pointer model trained on one task with one output-order policy."""

    def __init__(self, cfg) -> None:
        self.cfg = cfg
        torch.manual_seed(cfg.seed)
        self.model = SetPointer(cfg.hidden, cfg.encoder, cfg.process_steps, cfg.mask_chosen)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.sched = cosine_schedule(self.opt, cfg.steps) if cfg.schedule == "cosine" else None
        self.steps_out = cfg.n if cfg.task == "sort" else cfg.k
        self.eval_x, self.eval_y = make_batch(np.random.default_rng([cfg.seed, 10**6]), cfg.eval_size, cfg.n, cfg.task, cfg.k, cfg.order)

    def train_step(self, step: int) -> dict[str, float]:
        """One Adam step of teacher-forced pointer NLL on a batch drawn from (seed, step)."""
        cfg = self.cfg
        x, y = make_batch(np.random.default_rng([cfg.seed, step]), cfg.batch, cfg.n, cfg.task, cfg.k, cfg.order)
        logits, _ = self.model(x, targets=y)
        loss = pointer_nll(logits, y)
        return {"loss": optimiser_step(loss, self.model, self.opt, self.sched, clip=5.0)}

    @torch.no_grad()
    def permutation_check(self) -> tuple[float, float]:
        """Over ``n_perms`` random permutations of the first ``perm_inputs`` test sets: the largest
        absolute difference of the greedy decoder's logits (mapped back to the original positions),
        and the fraction of inputs whose greedy output (as original indices) changes.

        Runs in float64 on a copy of the model: invariance is exact in real arithmetic, and float64
        keeps summation-order rounding (about 1e-4 on trained float32 logits) out of the figure.
        """
        import copy

        cfg = self.cfg
        model = copy.deepcopy(self.model).double()
        x = self.eval_x[: cfg.perm_inputs].double()
        base_logits, base_out = model(x, steps=self.steps_out)
        rng = np.random.default_rng([cfg.seed, 10**6 + 1])
        max_diff, changed = 0.0, torch.zeros(len(x), dtype=torch.bool)
        for _ in range(cfg.n_perms):
            perm = torch.from_numpy(rng.permuted(np.tile(np.arange(cfg.n), (len(x), 1)), axis=1))  # (B, n)
            logits, out = model(x.gather(1, perm), steps=self.steps_out)
            out_orig = perm.gather(1, out)  # permuted position -> original index
            same = (out_orig == base_out).all(1)
            changed |= ~same
            back = torch.empty_like(logits).scatter_(2, perm.unsqueeze(1).expand_as(logits), logits)  # position j -> perm[j]
            finite = torch.isfinite(base_logits) & torch.isfinite(back)
            if same.any():
                diff = (back - base_logits).abs().where(finite, torch.zeros(())).amax(dim=(1, 2))  # (B,)
                max_diff = max(max_diff, float(diff[same].max()))
        return max_diff, float(changed.float().mean())

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """``val/acc`` (sort: exact sequence; topk: exact set), ``val/nll`` under the trained order,
        the permutation check (``val/perm_max_abs_diff``, ``val/perm_changed_frac``) and, for sort,
        ``val/acc_position`` (fraction of output positions right: not the paper's metric)."""
        self.model.eval()
        logits, _ = self.model(self.eval_x, targets=self.eval_y)
        nll = float(pointer_nll(logits, self.eval_y))
        _, out = self.model(self.eval_x, steps=self.steps_out)
        extra = {}
        if self.cfg.task == "sort":
            acc = (out == self.eval_y).all(1).float().mean()
            extra["val/acc_position"] = float((out == self.eval_y).float().mean())  # for the reader; the claim is exact-sequence
        else:
            acc = (out.sort(1).values == self.eval_y.sort(1).values).all(1).float().mean()
        max_diff, changed = self.permutation_check()
        self.model.train()
        return {"val/acc": float(acc), "val/nll": nll, "val/perm_max_abs_diff": max_diff, "val/perm_changed_frac": changed, **extra}

    def state_dict(self) -> dict:
        """Model, optimiser and (with schedule 'cosine') schedule state."""
        return training_state(self.model, self.opt, self.sched)

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` saved."""
        load_training_state(state, self.model, self.opt, self.sched)
