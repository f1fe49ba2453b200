"""A discrete hidden Markov model fitted by Baum-Welch (scaled forward-backward), in numpy.

Vectorised over a padded batch of traces; ``predict_next`` gives the filtered next-event
distribution p(x_{t+1} | x_{≤t}) at every position of every trace.
"""

from __future__ import annotations

import numpy as np


class HMM:
    """``n_states`` hidden states over ``n_symbols`` events, random Dirichlet init from ``rng``."""

    def __init__(self, n_states: int, n_symbols: int, rng: np.random.Generator) -> None:
        self.pi = rng.dirichlet(np.ones(n_states))  # (S,)
        self.trans = rng.dirichlet(np.ones(n_states), size=n_states)  # (S, S)
        self.emit = rng.dirichlet(np.ones(n_symbols), size=n_states)  # (S, V)

    def _forward(self, x: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scaled filtered posteriors ``alpha (N, T, S)`` and per-step scales ``c (N, T)``."""
        N, T = x.shape
        alpha = np.zeros((N, T, self.pi.size))
        c = np.ones((N, T))
        a = self.pi[None] * self.emit[:, x[:, 0]].T  # (N, S)
        for t in range(T):
            if t > 0:
                a_new = (alpha[:, t - 1] @ self.trans) * self.emit[:, x[:, t]].T
                a = np.where(mask[:, t, None], a_new, alpha[:, t - 1])
            c[:, t] = np.where(mask[:, t], a.sum(-1), 1.0)
            alpha[:, t] = a / c[:, t, None]
        return alpha, c

    def em_step(self, x: np.ndarray, mask: np.ndarray) -> float:
        """One Baum-Welch iteration on padded ``x (N, T)`` with validity ``mask``; returns NLL per event before it."""
        N, T = x.shape
        alpha, c = self._forward(x, mask)
        beta = np.ones_like(alpha)
        for t in range(T - 2, -1, -1):
            b_new = (self.emit[:, x[:, t + 1]].T * beta[:, t + 1]) @ self.trans.T / c[:, t + 1, None]
            beta[:, t] = np.where(mask[:, t + 1, None], b_new, 1.0)
        gamma = alpha * beta  # (N, T, S)
        gamma /= gamma.sum(-1, keepdims=True)
        gamma *= mask[..., None]
        # xi summed over traces and steps: alpha_t(i) A_ij B_j(x_{t+1}) beta_{t+1}(j) / c_{t+1}
        xi = np.zeros_like(self.trans)
        for t in range(T - 1):
            w = (self.emit[:, x[:, t + 1]].T * beta[:, t + 1] / c[:, t + 1, None]) * mask[:, t + 1, None]  # (N, S)
            xi += self.trans * (alpha[:, t].T @ w)
        self.pi = gamma[:, 0].sum(0) / N
        self.trans = xi / xi.sum(-1, keepdims=True)
        emit = np.zeros_like(self.emit)
        np.add.at(emit.T, x[mask], gamma[mask])  # (V, S) += posteriors of each observed symbol
        self.emit = (emit + 1e-6) / (emit + 1e-6).sum(-1, keepdims=True)
        return float(np.log(c)[mask].sum() * -1 / mask.sum())

    def predict_next(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """``(N, T, V)``: p(x_{t+1} | x_{≤t}) from the filtered state at t."""
        alpha, _ = self._forward(x, mask)
        return alpha @ self.trans @ self.emit
