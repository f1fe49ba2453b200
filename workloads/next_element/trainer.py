"""Fit one next-element predictor (or all count-based ones) on a synthetic log; score the test log."""

from __future__ import annotations

import numpy as np

from workloads.next_element.counting import Alergia, MarkovBackoff, PrefixTree
from workloads.next_element.hmm import HMM
from workloads.tasks.process_logs import F, G, Log, pad, sample_log
from workloads.training import load_training_state, optimiser_step, training_state

#: decision accuracy is also reported on traces whose loop is longer than this (the largest Markov order)
LONG_LOOP = 3


def score(log: Log, preds: list[np.ndarray], f_minus_g: np.ndarray) -> dict[str, float]:
    """Accuracy over every position 1 … end of every trace, and the F/G decision accuracy.

    ``preds[n][i − 1]`` is the prediction of ``log.traces[n][i]``. ``f_minus_g[n]`` is the
    model's score of F minus its score of G just before trace n's decision event: when the loop
    ends is random (no model can know it), so the decision is scored as the binary choice the
    long-range dependency fixes, F versus G (a tie earns 1/2). ``acc_decision_long`` keeps only
    traces whose loop is longer than ``LONG_LOOP`` (= the largest Markov order).
    """
    hits = np.concatenate([p == t[1:] for p, t in zip(preds, log.traces)])
    is_f = np.array([t[d] == F for t, d in zip(log.traces, log.decision)])
    dec = np.where(f_minus_g == 0, 0.5, (f_minus_g > 0) == is_f)
    long = log.loop_len > LONG_LOOP
    return {"acc": float(hits.mean()), "acc_decision": float(dec.mean()), "acc_decision_long": float(dec[long].mean())}


def score_count_model(model, log: Log) -> dict[str, float]:
    """``score`` for a model with ``counts(prefix)`` and ``predict(prefix)``."""
    preds = [np.array([model.predict(t[:i].tolist()) for i in range(1, len(t))]) for t in log.traces]
    f_minus_g = np.array([_f_minus_g(model.counts(t[:d].tolist())) for t, d in zip(log.traces, log.decision)], dtype=float)
    return score(log, preds, f_minus_g)


def _f_minus_g(counts) -> float:
    total = sum(counts.values()) or 1
    return (counts[F] - counts[G]) / total


class NextElement:
    """``model='gru'`` trains a GRU; ``'hmm'`` runs one Baum-Welch iteration per step; ``'baselines'``
    fits every count-based model at build and the HMM step by step, and reports them all."""

    def __init__(self, cfg) -> None:
        self.cfg = cfg
        kw = dict(loop_mean=cfg.loop_mean, noise=cfg.noise, n_activities=cfg.n_activities)
        self.train_log = sample_log(np.random.default_rng([cfg.seed, 0]), cfg.n_train, **kw)
        self.test_log = sample_log(np.random.default_rng([cfg.seed, 1]), cfg.n_test, **kw)
        self.valid_log = sample_log(np.random.default_rng([cfg.seed, 3]), cfg.n_test, **kw)  # picks the best baseline
        self.n_symbols = cfg.n_activities + 1  # activities + END
        self.pad_id = self.n_symbols
        self.train_x = pad(self.train_log.traces, self.pad_id)  # (N, L)
        self.test_x = pad(self.test_log.traces, self.pad_id)
        if cfg.model == "gru":
            import torch

            from workloads.next_element.gru import GRUPredictor

            torch.manual_seed(cfg.seed)
            self.gru = GRUPredictor(self.n_symbols + 1, cfg.hidden)
            self.opt = torch.optim.Adam(self.gru.parameters(), lr=cfg.lr)
            self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lambda s: 0.5 * (1 + np.cos(np.pi * min(s, cfg.steps) / cfg.steps)))
            return
        self.hmm = HMM(cfg.hmm_states, self.n_symbols, np.random.default_rng([cfg.seed, 2]))
        self.counting: dict[str, object] = {}
        if cfg.model == "baselines":
            traces = self.train_log.traces
            for k in (1, 2, 3):
                self.counting[f"markov{k}"] = MarkovBackoff(traces, k)
            self.counting["prefix_tree"] = PrefixTree(traces, self.counting["markov3"])
            self.counting["alergia"] = Alergia(traces, cfg.alergia_alpha, self.counting["markov1"])
            self.count_scores = {name: score_count_model(m, self.test_log) for name, m in self.counting.items()}
            self.count_valid_acc = {name: score_count_model(m, self.valid_log)["acc"] for name, m in self.counting.items()}

    def train_step(self, step: int) -> dict[str, float]:
        """GRU: one Adam step on a minibatch drawn from (seed, step). HMM: one Baum-Welch iteration."""
        if self.cfg.model != "gru":
            mask = self.train_x != self.pad_id
            x = np.where(mask, self.train_x, 0)
            return {"loss": self.hmm.em_step(x, mask)}
        import torch

        rng = np.random.default_rng([self.cfg.seed, step])
        idx = rng.integers(0, len(self.train_log.traces), size=self.cfg.batch)
        batch = torch.from_numpy(self.train_x[idx])  # (B, L)
        width = int((batch != self.pad_id).sum(1).max())
        batch = batch[:, :width]
        loss = self.gru.loss(batch, self.pad_id)
        return {"loss": optimiser_step(loss, self.gru, self.opt, self.sched, clip=None)}

    def _score_table(self, scores: np.ndarray, log: Log) -> dict[str, float]:
        """``score`` from next-event scores ``(N, L', V)`` where [n, i − 1] scores trace n's event i."""
        best = scores[..., : self.n_symbols].argmax(-1)
        preds = [best[n, : len(t) - 1] for n, t in enumerate(log.traces)]
        at = scores[np.arange(len(log.traces)), log.decision - 1]  # (N, V)
        return score(log, preds, at[:, F] - at[:, G])

    def _gru_scores(self) -> dict[str, float]:
        import torch

        with torch.no_grad():
            logits = self.gru(torch.from_numpy(self.test_x[:, :-1]))  # (N, L-1, V)
        return self._score_table(logits.numpy(), self.test_log)

    def _hmm_scores(self, log: Log) -> dict[str, float]:
        x = pad(log.traces, self.pad_id)
        mask = x != self.pad_id
        return self._score_table(self.hmm.predict_next(np.where(mask, x, 0), mask), log)  # (N, L, V)

    def evaluate(self) -> dict[str, float]:
        """``val/acc``, ``val/acc_decision``, ``val/acc_decision_long`` of the model; for 'baselines',
        every model's figures as ``val/<name>_<metric>`` and, as the plain names, those of the model
        with the best overall accuracy on a separate validation log (no selection on the test log)."""
        if self.cfg.model == "gru":
            return {f"val/{k}": v for k, v in self._gru_scores().items()}
        scores = {"hmm": self._hmm_scores(self.test_log), **getattr(self, "count_scores", {})}
        if self.cfg.model == "hmm":
            return {f"val/{k}": v for k, v in scores["hmm"].items()}
        out = {f"val/{name}_{k}": v for name, s in scores.items() for k, v in s.items()}
        valid = {"hmm": self._hmm_scores(self.valid_log)["acc"], **self.count_valid_acc}
        best = max(sorted(valid), key=lambda name: valid[name])  # the strongest baseline on the validation log
        out.update({f"val/{k}": v for k, v in scores[best].items()})
        out["val/best_index"] = float(sorted(scores).index(best))
        return out

    def state_dict(self) -> dict:
        """GRU and optimiser state, or the HMM's parameters (count models are refitted by build)."""
        if self.cfg.model == "gru":
            return training_state(self.gru, self.opt, self.sched)
        return {"hmm": (self.hmm.pi.copy(), self.hmm.trans.copy(), self.hmm.emit.copy())}

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` saved."""
        if self.cfg.model == "gru":
            load_training_state(state, self.gru, self.opt, self.sched)
        else:
            self.hmm.pi, self.hmm.trans, self.hmm.emit = (np.array(a) for a in state["hmm"])
