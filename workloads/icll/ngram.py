"""In-context n-gram statistics: the hard-wired n-gram head and the in-context n-gram model.

For a context length k, position t's statistics count the tokens that followed each earlier
occurrence (inside the same prompt) of the last k tokens x_{t−k+1..t}:

    c_k[t] = Σ_{j ≤ t} [x_{j−k..j−1} = x_{t−k+1..t}] · onehot(x_j).

Normalised, c_k[t] is what an n-gram head (Akyürek et al. 2024, §6) computes: attend uniformly
to the positions whose preceding k tokens match the current ones, and copy the token found there.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def ngram_counts(tokens: torch.Tensor, k: int, n_tokens: int) -> torch.Tensor:
    """``(B, T)`` token ids -> ``(B, T, n_tokens)`` counts of continuations of the last ``k`` tokens."""
    B, T = tokens.shape
    match = torch.ones(B, T, T, dtype=torch.bool)  # match[b, t, j]: x_{j-1-i} == x_{t-i} for i < k
    for i in range(k):
        cur = torch.full((B, T), -1, dtype=tokens.dtype)
        cur[:, i:] = tokens[:, : T - i]  # cur[t] = x_{t-i}; -1 where t-i < 0
        prev = torch.full((B, T), -2, dtype=tokens.dtype)
        prev[:, i + 1 :] = tokens[:, : T - i - 1]  # prev[j] = x_{j-1-i}; -2 where j-1-i < 0
        match &= cur[:, :, None] == prev[:, None, :]
    match &= torch.ones(T, T, dtype=torch.bool).tril()  # only j <= t (x_j already seen)
    onehot = F.one_hot(tokens, n_tokens).float()  # (B, T, n_tokens)
    return match.float() @ onehot  # (B, T, T) @ (B, T, n) -> (B, T, n)


def ngram_features(tokens: torch.Tensor, max_k: int, n_tokens: int) -> torch.Tensor:
    """Normalised counts for k = 1 … max_k plus a 'seen' flag each: ``(B, T, max_k · (n_tokens + 1))``."""
    feats = []
    for k in range(1, max_k + 1):
        c = ngram_counts(tokens, k, n_tokens)
        total = c.sum(-1, keepdim=True)
        feats += [c / total.clamp(min=1), (total > 0).float()]
    return torch.cat(feats, dim=-1)


def backoff_ngram_probs(tokens: torch.Tensor, k: int, n_tokens: int, alpha: float = 0.1) -> torch.Tensor:
    """The in-context (k+1)-gram model with back-off: ``(B, T, n_tokens)`` next-token probabilities.

    Uses the longest context (k, k−1, …, 1) seen before in the prompt, else the prompt's unigram
    counts; add-``alpha`` smoothing on the counts it uses.
    """
    probs = None
    for j in range(0, k + 1):  # j = 0: unigram counts of the tokens seen so far
        if j == 0:
            onehot = F.one_hot(tokens, n_tokens).float()
            c = onehot.cumsum(1)  # (B, T, n)
        else:
            c = ngram_counts(tokens, j, n_tokens)
        p = (c + alpha) / (c + alpha).sum(-1, keepdim=True)
        seen = c.sum(-1, keepdim=True) > 0
        probs = p if probs is None else torch.where(seen, p, probs)
    return probs
