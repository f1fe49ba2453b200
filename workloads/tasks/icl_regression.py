"""Random linear-regression prompts for in-context learning (Garg et al. 2022; Zhang et al. 2023).

A prompt is N labelled points and one query from a task w ~ N(0, I_d):
x_i ~ N(0, Λ), y_i = wᵀx_i, and the query's label is the target. Shifts test what a trained
in-context learner has learned: scale the task (w × c), only the query (x_q × c), or every x in
the prompt (covariate shift, x × c).
"""

from __future__ import annotations

import numpy as np


def regression_prompts(
    rng: np.random.Generator,
    batch: int,
    d: int,
    n_ctx: int,
    *,
    lam: np.ndarray | None = None,
    task_scale: float = 1.0,
    query_scale: float = 1.0,
    covariate_scale: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``batch`` prompts: ``x (B, N, d)``, ``y (B, N)``, ``x_q (B, d)``, ``y_q (B,)``, float32.

    ``lam`` is the diagonal of the covariance Λ (default: ones). ``covariate_scale`` multiplies
    every x (context and query); ``query_scale`` multiplies the query only; ``task_scale``
    multiplies w.
    """
    lam = np.ones(d) if lam is None else np.asarray(lam, dtype=np.float64)
    std = np.sqrt(lam) * covariate_scale  # (d,)
    x = rng.standard_normal((batch, n_ctx, d)) * std  # (B, N, d)
    x_q = rng.standard_normal((batch, d)) * std * query_scale  # (B, d)
    w = rng.standard_normal((batch, d)) * task_scale  # (B, d)
    y = np.einsum("bnd,bd->bn", x, w)
    y_q = np.einsum("bd,bd->b", x_q, w)
    return tuple(a.astype(np.float32) for a in (x, y, x_q, y_q))  # type: ignore[return-value]


def target_variance(lam: np.ndarray, *, task_scale: float = 1.0, query_scale: float = 1.0, covariate_scale: float = 1.0) -> float:
    """E[y_q²] = task² · query² · covariate² · tr(Λ): the denominator of the relative MSE."""
    return float(task_scale**2 * query_scale**2 * covariate_scale**2 * np.sum(lam))


def optimal_lsa_matrix(lam: np.ndarray, n_ctx: int) -> np.ndarray:
    """Γ⁻¹ with Γ = (1 + 1/N) Λ + tr(Λ)/N · I: the global minimum's effective matrix (d, d).

    At that minimum a single linear self-attention layer predicts
    ŷ = x_qᵀ Γ⁻¹ (1/N Σ_i y_i x_i) (Zhang, Frei and Bartlett 2023, Theorem 1).
    """
    lam = np.asarray(lam, dtype=np.float64)
    gamma = (1.0 + 1.0 / n_ctx) * np.diag(lam) + np.sum(lam) / n_ctx * np.eye(lam.size)
    return np.linalg.inv(gamma)
