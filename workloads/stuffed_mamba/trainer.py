"""Train a tiny Mamba char-LM at a short length; per-position loss and state norm far beyond it."""

from __future__ import annotations


import numpy as np
import torch
from torch.nn import functional as F

from workloads.nn.ssm import MambaLM
from workloads.tasks import passkey as pk
from workloads.tasks.stdlib_text import VOCAB, split, windows
from workloads.training import cosine_schedule, load_training_state, optimiser_step, training_state


def set_mitigation(model: MambaLM, *, window: int = 0, delta_scale: float = 1.0) -> None:
    """Set the training-free mitigation on every Mamba block (window 0, scale 1.0: none)."""
    for layer in model.layers:
        layer.mixer.window, layer.mixer.delta_scale = window, delta_scale


def state_norm(model: MambaLM, tokens: torch.Tensor) -> float:
    """Largest per-sequence Frobenius norm of any layer's state after the last token, mean over the batch."""
    for layer in model.layers:
        layer.mixer.keep_state = True
    model(tokens)
    norms = torch.stack([layer.mixer.last_state.flatten(1).norm(dim=1) for layer in model.layers])  # (layers, B)
    for layer in model.layers:
        layer.mixer.keep_state, layer.mixer.last_state = False, None
    return float(norms.max(0).values.mean())


class StuffedMambaRun:
    """One run: MambaLM on stdlib source text (or passkey retrieval), trained at ``train_len``.

    ``task: lm`` evaluates per-position loss up to ``eval_len``; ``task: passkey`` evaluates
    retrieval at each of ``passkey_lengths``.
    """

    def __init__(self, cfg, device: str = "cpu") -> None:
        self.cfg, self.device = cfg, device
        torch.manual_seed(cfg.seed)
        vocab = VOCAB if cfg.task == "lm" else pk.vocab_size(cfg.n_filler)
        self.model = MambaLM(
            vocab, cfg.d_model, cfg.n_layers, d_state=cfg.d_state, expand=cfg.expand, heads=cfg.heads,
            chunk_size=cfg.chunk_size, dt_min=cfg.dt_min, dt_max=cfg.dt_max,
        ).to(device)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=0.0)
        self.sched = cosine_schedule(self.opt, cfg.steps, floor=0.1)
        if cfg.task == "passkey":
            self.passkey_sets = {
                L: self.passkey_batch(np.random.default_rng([cfg.seed, 10**6 + L]), cfg.eval_batch, L)
                for L in cfg.passkey_lengths
            }
            return
        self.train_data, held_out = split()
        seqs = windows(np.random.default_rng([cfg.seed, 10**6]), held_out, cfg.eval_batch, cfg.eval_len)
        self.eval_seqs = torch.from_numpy(seqs).to(device)  # (eval_batch, eval_len + 1)
        short = windows(np.random.default_rng([cfg.seed, 10**6 + 1]), held_out, cfg.short_batch, cfg.short_len)
        self.short_seqs = torch.from_numpy(short).to(device)  # (short_batch, short_len + 1)

    def passkey_batch(self, rng: np.random.Generator, size: int, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Passkey (tokens, targets), both (size, length), on the run's device."""
        x, y = pk.passkey(rng, size, length, self.cfg.n_digits, self.cfg.n_filler)
        return x.to(self.device), y.to(self.device)

    def train_step(self, step: int) -> dict[str, float]:
        """One AdamW step on ``batch`` sequences of ``train_len`` drawn from (seed, step)."""
        cfg = self.cfg
        rng = np.random.default_rng([cfg.seed, step])
        if cfg.task == "passkey":
            x, y = self.passkey_batch(rng, cfg.batch, cfg.train_len)
            logits = self.model(x)  # (B, T, V)
            loss = F.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=pk.IGNORE)  # (B, T, V) -> (B·T, V)
        else:
            seqs = torch.from_numpy(windows(rng, self.train_data, cfg.batch, cfg.train_len)).to(self.device)
            logits = self.model(seqs[:, :-1])  # (B, T, V)
            loss = F.cross_entropy(logits.flatten(0, 1), seqs[:, 1:].flatten())  # (B, T, V) -> (B·T, V)
        return {"loss": optimiser_step(loss, self.model, self.opt, self.sched)}

    def position_losses(self, seqs: torch.Tensor) -> torch.Tensor:
        """Per-position next-token loss on (B, T + 1) held-out sequences, mean over the batch: (T,)."""
        x, y = seqs[:, :-1], seqs[:, 1:]
        logits = self.model(x)  # (B, T, V)
        return F.cross_entropy(logits.transpose(1, 2), y, reduction="none").mean(0)  # (B, V, T) -> (B, T) -> (T,)

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Short- and long-position loss, their ratio with and without each mitigation, and state growth.

        ``val/loss``: positions < short_len, over ``short_batch`` held-out windows of short_len
        (as many tokens as the long region, so that text content averages out);
        ``val/loss_long``: positions ≥ long_from of the eval_len sequences;
        ``val/ratio``: long / short; ``val/ratio_window`` and ``val/ratio_dscale``: long loss
        under the state window or Δ scaling / the unmitigated short loss;
        ``val/state_growth``: state norm after eval_len tokens / after short_len tokens.
        Passkey: ``val/acc_<L>`` (all digits right) per length, ``val/capacity`` the longest L
        with ≥ 90 % (0 if none), ``val/loss`` on the digits at train_len.
        """
        cfg = self.cfg
        self.model.eval()
        if cfg.task == "passkey":
            out = self.evaluate_passkey()
            self.model.train()
            return out
        long_from = slice(cfg.long_from, cfg.eval_len)
        base = self.position_losses(self.eval_seqs)
        out = {"val/loss": float(self.position_losses(self.short_seqs).mean()), "val/loss_long": float(base[long_from].mean())}
        out["val/ratio"] = out["val/loss_long"] / out["val/loss"]
        for name, kw in (("window", {"window": cfg.window}), ("dscale", {"delta_scale": cfg.delta_scale})):
            set_mitigation(self.model, **kw)
            mitigated = self.position_losses(self.eval_seqs)
            out[f"val/loss_long_{name}"] = float(mitigated[long_from].mean())
            out[f"val/ratio_{name}"] = out[f"val/loss_long_{name}"] / out["val/loss"]
            if name == "window":
                out["val/state_norm_window"] = state_norm(self.model, self.eval_seqs[:, :-1])
            set_mitigation(self.model)
        out["val/state_norm_short"] = state_norm(self.model, self.eval_seqs[:, : cfg.short_len])
        out["val/state_norm_long"] = state_norm(self.model, self.eval_seqs[:, :-1])
        out["val/state_growth"] = out["val/state_norm_long"] / out["val/state_norm_short"]
        self.model.train()
        return out

    def evaluate_passkey(self) -> dict[str, float]:
        """Retrieval accuracy (every digit right, teacher-forced) at each length; capacity; digit loss."""
        cfg, out, capacity, holding = self.cfg, {}, 0, True
        for L, (x, y) in sorted(self.passkey_sets.items()):
            logits = self.model(x)  # (B, L, V)
            mask = y != pk.IGNORE
            right = (logits.argmax(-1) == y) | ~mask
            out[f"val/acc_{L}"] = float(right.all(1).float().mean())
            if L == min(cfg.passkey_lengths):
                out["val/loss"] = float(F.cross_entropy(logits[mask], y[mask]))
            holding = holding and out[f"val/acc_{L}"] >= 0.9  # capacity: every length up to L retrieves
            if holding:
                capacity = L
        out["val/capacity"] = float(capacity)
        return out

    def state_dict(self) -> dict:
        """Model, optimiser and schedule."""
        return training_state(self.model, self.opt, self.sched)

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` saved."""
        load_training_state(state, self.model, self.opt, self.sched)
