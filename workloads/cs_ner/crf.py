"""A linear-chain CRF over tag emissions: learned transitions, forward-algorithm NLL, Viterbi.

For emissions e_t(y) ``(B, T, K)`` and a mask of valid positions, a tag path y_1..y_n scores

    s(y) = start[y_1] + Σ_t e_t(y_t) + Σ_{t>1} trans[y_{t-1}, y_t] + end[y_n]

and p(y | x) = exp s(y) / Z with log Z from the forward recursion
α_t(j) = logsumexp_i(α_{t-1}(i) + trans[i, j]) + e_t(j). Viterbi replaces logsumexp by max.
Padding sits at the end of each row (mask is a prefix of True); every row has length ≥ 1.
No transition is forbidden: the model must learn that O → I-X is wrong.
"""

from __future__ import annotations

import torch
from torch import nn


class CRF(nn.Module):
    """``n_tags`` tags; ``trans[i, j]`` scores tag i followed by tag j."""

    def __init__(self, n_tags: int) -> None:
        super().__init__()
        self.trans = nn.Parameter(torch.zeros(n_tags, n_tags))
        self.start = nn.Parameter(torch.zeros(n_tags))
        self.end = nn.Parameter(torch.zeros(n_tags))

    def path_score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """s(y) ``(B,)`` of the given tag paths ``(B, T)``."""
        B, T, _ = emissions.shape
        m = mask.float()
        emit = emissions.gather(2, tags.unsqueeze(-1)).squeeze(-1)  # (B, T, 1) -> (B, T)
        score = self.start[tags[:, 0]] + (emit * m).sum(1)
        score = score + (self.trans[tags[:, :-1], tags[:, 1:]] * m[:, 1:]).sum(1)  # (B, T-1)
        last = tags.gather(1, (mask.sum(1) - 1).unsqueeze(1)).squeeze(1)  # (B,)
        return score + self.end[last]

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """log Z ``(B,)`` by the forward algorithm."""
        alpha = self.start + emissions[:, 0]  # (B, K)
        for t in range(1, emissions.shape[1]):
            # (B, K, 1) + (K, K) -> (B, K, K), summed over the previous tag
            step = torch.logsumexp(alpha.unsqueeze(2) + self.trans, dim=1) + emissions[:, t]
            alpha = torch.where(mask[:, t].unsqueeze(1), step, alpha)
        return torch.logsumexp(alpha + self.end, dim=1)

    def nll(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood −log p(tags | x) over the batch."""
        return (self.log_partition(emissions, mask) - self.path_score(emissions, tags, mask)).mean()

    @torch.no_grad()
    def viterbi(self, emissions: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
        """The best tag path of each row, as lists of its valid length."""
        score = self.start + emissions[:, 0]  # (B, K)
        back = []
        for t in range(1, emissions.shape[1]):
            best, arg = (score.unsqueeze(2) + self.trans).max(dim=1)  # (B, K, K) -> (B, K)
            step = best + emissions[:, t]
            keep = mask[:, t].unsqueeze(1)
            score = torch.where(keep, step, score)
            # a padded step points each tag back to itself, so backtracking passes through it
            back.append(torch.where(keep, arg, torch.arange(score.shape[1]).expand_as(arg)))
        tag = (score + self.end).argmax(1)  # (B,)
        path = [tag]
        for arg in reversed(back):
            tag = arg.gather(1, tag.unsqueeze(1)).squeeze(1)
            path.append(tag)
        full = torch.stack(path[::-1], dim=1)  # (B, T)
        lengths = mask.sum(1).tolist()
        return [row[:n] for row, n in zip(full.tolist(), lengths)]
