"""Stationary AR(p) series and their lag windows (AR-Net, and any paper that needs an AR process).

An AR(p) process is y_t = Σ_{i=1..p} w*_i · y_{t−i} + ε_t with ε_t ~ N(0, σ²). The series is
drawn with numpy from a seed, after a burn-in long enough for the start-up transient to die out.
"""

from __future__ import annotations

import numpy as np


def ar_series(coeffs: np.ndarray, n: int, *, noise: float = 1.0, seed: int = 0, burn_in: int = 500) -> np.ndarray:
    """``n`` points of the AR process with lag-1-first coefficients ``coeffs``; shape ``(n,)``.

    Raises ValueError when the process is not stationary (a characteristic root on or outside
    the unit circle), since such a series explodes and no estimator could be compared on it.
    """
    coeffs = np.asarray(coeffs, dtype=np.float64)
    roots = np.roots(np.concatenate([[1.0], -coeffs]))  # z^p − w1 z^{p−1} − … − wp
    if roots.size and np.max(np.abs(roots)) >= 1.0:
        raise ValueError(f"AR coefficients {coeffs.tolist()} are not stationary (max |root| = {np.max(np.abs(roots)):.3f})")
    p = coeffs.size
    rng = np.random.default_rng(seed)
    eps = noise * rng.standard_normal(n + burn_in + p)
    y = np.zeros(n + burn_in + p)
    for t in range(p, y.size):
        y[t] = coeffs @ y[t - p : t][::-1] + eps[t]  # y[t-1], y[t-2], ..., y[t-p]
    return y[-n:]


def lag_windows(y: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets for one-step prediction: ``X[k] = (y_{t−1}, …, y_{t−order})``, ``Y[k] = y_t``.

    Returns ``X`` of shape ``(len(y) − order, order)`` (lag 1 first) and ``Y`` of shape
    ``(len(y) − order,)``.
    """
    if len(y) <= order:
        raise ValueError(f"series of length {len(y)} is too short for order {order}")
    n = len(y) - order
    # column i holds lag i+1: y[order-1-i : order-1-i+n]
    X = np.stack([y[order - 1 - i : order - 1 - i + n] for i in range(order)], axis=1)  # (n, order)
    return X, y[order:]


def ols_ar(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares AR fit with an intercept: returns (coefficients ``(order,)``, intercept)."""
    A = np.concatenate([X, np.ones((X.shape[0], 1))], axis=1)  # (n, order + 1)
    sol, *_ = np.linalg.lstsq(A, Y, rcond=None)
    return sol[:-1], float(sol[-1])


def stpe(w: np.ndarray, w_true: np.ndarray) -> float:
    """Symmetric total percentage error, 100·Σ|w − w*| / Σ(|w| + |w*|) (AR-Net's metric).

    ``w_true`` is zero-padded (or ``w`` is) to the longer of the two.
    """
    size = max(len(w), len(w_true))
    a = np.zeros(size)
    b = np.zeros(size)
    a[: len(w)] = w
    b[: len(w_true)] = w_true
    denom = np.sum(np.abs(a) + np.abs(b))
    return float(100.0 * np.sum(np.abs(a - b)) / denom) if denom > 0 else 0.0
