"""Train NPA, DKT or the logistic baseline on synthetic students; score new students by AUC.

Every model predicts every step t = 0 .. T−1 of every test student from steps < t. ``val/auc``
is scikit-learn's ``roc_auc_score`` over all test predictions; ``val/auc_new`` keeps the
predictions with at most ``new_user_max`` prior interactions (the "new users").
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import log_loss, roc_auc_score
from torch.nn import functional as F

from workloads.pedagogical_agent.baselines import Logistic, logistic_features, user_running_mean
from workloads.pedagogical_agent.model import DKT, NPA, history_windows
from workloads.tasks.students import Interactions, sample_bank, sample_students
from workloads.training import cosine_schedule, load_training_state, optimiser_step, training_state

#: test students per chunk at evaluation (bounds the memory of NPA's windows)
EVAL_CHUNK = 100


def shifted(log: Interactions, n_questions: int) -> dict[str, torch.Tensor]:
    """Model inputs: history ``q_in, r_in`` (position t = interaction t − 1, BOS at 0), targets
    ``q_tgt`` and labels ``y``, each ``(N, T)``."""
    q = torch.from_numpy(log.questions)
    r = torch.from_numpy(log.correct)
    bos_q, bos_r = torch.full_like(q[:, :1], n_questions), torch.full_like(r[:, :1], 2)
    return {
        "q_in": torch.cat([bos_q, q[:, :-1]], dim=1),
        "r_in": torch.cat([bos_r, r[:, :-1]], dim=1),
        "q_tgt": q,
        "y": r.float(),
    }


class PedagogicalAgent:
    """One run: ``cfg.model`` in {npa, dkt, logistic}; the logistic run also reports the per-user mean."""

    def __init__(self, cfg, device: str = "cpu") -> None:
        self.cfg = cfg
        self.bank = sample_bank(np.random.default_rng([cfg.seed, 0]), cfg.n_questions, cfg.n_skills)
        kw = dict(length=cfg.length, eta_low=cfg.eta_low, eta_high=cfg.eta_high)
        self.train_log = sample_students(np.random.default_rng([cfg.seed, 1]), self.bank, cfg.n_train, **kw)
        self.test_log = sample_students(np.random.default_rng([cfg.seed, 2]), self.bank, cfg.n_test, **kw)
        self.train = shifted(self.train_log, cfg.n_questions)
        self.test = shifted(self.test_log, cfg.n_questions)
        self.window = min(cfg.history_window, cfg.length)
        torch.manual_seed(cfg.seed)
        tags = torch.from_numpy(self.bank.tags)
        if cfg.model == "npa":
            self.model = NPA(tags, cfg.hidden, cfg.bidirectional, cfg.attention, cfg.use_tags)
        elif cfg.model == "dkt":
            self.model = DKT(tags, cfg.hidden, cfg.use_tags)
        else:
            self.train["f"] = torch.from_numpy(logistic_features(self.train_log, self.bank))  # (N, T, 2K)
            self.test["f"] = torch.from_numpy(logistic_features(self.test_log, self.bank))
            self.model = Logistic(cfg.n_questions, self.train["f"].shape[-1])
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.sched = cosine_schedule(self.opt, cfg.steps)

    def _logits(self, data: dict[str, torch.Tensor], rows: torch.Tensor) -> torch.Tensor:
        """Logits ``(b, T)`` for students ``rows`` of ``data`` (every step of each)."""
        if self.cfg.model == "logistic":
            return self.model(data["q_tgt"][rows], data["f"][rows])
        return self.model(data["q_in"][rows], data["r_in"][rows], data["q_tgt"][rows], self.window)

    def train_step(self, step: int) -> dict[str, float]:
        """One Adam step on ``batch`` students drawn from (seed, step): every step of each for DKT
        and logistic, ``targets_per_student`` random steps of each for NPA (its cost is per target)."""
        rng = np.random.default_rng([self.cfg.seed, 10, step])
        rows = torch.from_numpy(rng.integers(0, self.cfg.n_train, size=self.cfg.batch))
        self.model.train()
        if self.cfg.model == "npa":
            B, S = self.cfg.batch, min(self.cfg.targets_per_student, self.cfg.length)
            cols = torch.from_numpy(np.argsort(rng.random((B, self.cfg.length)), axis=1)[:, :S])  # (B, S) distinct steps
            q_hist, r_hist = history_windows(self.train["q_in"][rows], self.train["r_in"][rows], self.window, self.model.pad_q, self.model.pad_r)
            pick = torch.arange(B).unsqueeze(1)  # (B, 1), broadcast against cols (B, S)
            q_hist, r_hist = q_hist[pick, cols].flatten(0, 1), r_hist[pick, cols].flatten(0, 1)  # (B, T, W) -> (B·S, W)
            logits, _ = self.model.encode(q_hist, r_hist, self.train["q_tgt"][rows][pick, cols].flatten())
            y = self.train["y"][rows][pick, cols].flatten()  # (B·S,)
        else:
            logits, y = self._logits(self.train, rows), self.train["y"][rows]  # (B, T)
        loss = F.binary_cross_entropy_with_logits(logits, y)
        return {"loss": optimiser_step(loss, self.model, self.opt, self.sched, clip=self.cfg.clip)}

    @torch.no_grad()
    def _test_probs(self) -> tuple[np.ndarray, dict[str, float]]:
        """P(correct) ``(N, T)`` for every test step, and NPA's review figures (attention runs)."""
        self.model.eval()
        probs, mass, share = [], [], []
        for start in range(0, self.cfg.n_test, EVAL_CHUNK):
            rows = torch.arange(start, min(start + EVAL_CHUNK, self.cfg.n_test))
            if self.cfg.model == "npa" and self.cfg.attention:
                logits, m, s = self._npa_with_review(rows)
                mass.append(m)
                share.append(s)
            else:
                logits = self._logits(self.test, rows)
            probs.append(torch.sigmoid(logits).numpy())
        review = {}
        if mass:
            m, s = np.concatenate(mass), np.concatenate(share)
            keep = (s > 0) & (s < 1)  # targets whose window holds both related and unrelated items
            review = {"review_mass": float(m[keep].mean()), "review_share": float(s[keep].mean())}
        return np.concatenate(probs), review

    def _npa_with_review(self, rows: torch.Tensor) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
        """NPA logits ``(b, T)``; per target, the attention mass on history items sharing a tag with
        the target question, and the fraction of valid history items that do (uniform attention's mass)."""
        q_hist, r_hist = history_windows(self.test["q_in"][rows], self.test["r_in"][rows], self.window, self.model.pad_q, self.model.pad_r)
        b, T, W = q_hist.shape
        q_hist, r_hist, q_tgt = q_hist.reshape(b * T, W), r_hist.reshape(b * T, W), self.test["q_tgt"][rows].reshape(b * T)
        logits, alpha = self.model.encode(q_hist, r_hist, q_tgt)  # (b·T,), (b·T, W)
        tagw = self.model.embed.tag_weights  # (Q + 2, K), zero rows for BOS and PAD
        related = ((tagw[q_hist] > 0) & (tagw[q_tgt].unsqueeze(1) > 0)).any(-1)  # (b·T, W)
        valid = (q_hist != self.model.pad_q) & (q_hist != self.cfg.n_questions)  # real interactions only
        mass = (alpha * related).sum(-1).numpy()
        share = (related.sum(-1) / valid.sum(-1).clamp(min=1)).numpy()
        share[valid.sum(-1).numpy() == 0] = 0.0
        return logits.view(b, T), mass, share  # (b·T,) -> (b, T)

    def evaluate(self) -> dict[str, float]:
        """AUC overall, for new users (≤ new_user_max prior interactions) and for the rest; test
        BCE; the oracle AUCs from the true probabilities; NPA's review figures; the logistic run
        also reports the per-user running mean as ``val/user_mean_*``."""
        probs, review = self._test_probs()
        y, oracle = self.test_log.correct, self.test_log.p_correct
        new = np.zeros_like(y, dtype=bool)
        new[:, : self.cfg.new_user_max + 1] = True  # step t has t prior interactions
        out = {
            **_aucs("val/", y, probs, new),
            **_aucs("val/oracle_", y, oracle, new),
            "val/loss": float(log_loss(y.ravel(), probs.ravel().astype(np.float64), labels=[0, 1])),
            **{f"val/{k}": v for k, v in review.items()},
        }
        if self.cfg.model == "logistic":
            out.update(_aucs("val/user_mean_", y, user_running_mean(self.test_log), new))
        return out

    def state_dict(self) -> dict:
        """Model, optimiser and schedule."""
        return training_state(self.model, self.opt, self.sched)

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` saved."""
        load_training_state(state, self.model, self.opt, self.sched)


def _aucs(prefix: str, y: np.ndarray, scores: np.ndarray, new: np.ndarray) -> dict[str, float]:
    """``auc``, ``auc_new`` and ``auc_old`` of ``scores`` against labels ``y`` (both ``(N, T)``)."""
    return {
        f"{prefix}auc": float(roc_auc_score(y.ravel(), scores.ravel())),
        f"{prefix}auc_new": float(roc_auc_score(y[new], scores[new])),
        f"{prefix}auc_old": float(roc_auc_score(y[~new], scores[~new])),
    }
