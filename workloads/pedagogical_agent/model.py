"""The Neural Pedagogical Agent (Lee et al. 2019) and its DKT baseline (Piech et al. 2015).

Reading order: the interaction embedding both models share, then NPA, then DKT.

Inputs are shifted so that position t holds interaction t − 1 (a BOS interaction at t = 0):
``q_in, r_in`` ``(B, T)`` are the history tokens and ``q_tgt`` ``(B, T)`` the question asked at
step t. Both models predict P(correct at t) from positions ≤ t of the shifted inputs only.

NPA, for one target with history window h_1 .. h_W (the last W interactions, left-padded):

    e_i = Emb_q(q_i) ⊕ Emb_r(r_i)                      (+ mean of the tag embeddings of q_i)
    h_i = BiLSTM(e)_i                                  (2d: both directions, over the window only)
    α_i = softmax_i(Emb_q(q_tgt)ᵀ W h_i)              (padding masked; the attention = "review")
    u   = Σ_i α_i h_i
    P   = σ(MLP([u ; Emb_q(q_tgt)]))

The backward direction must not see interactions after the target, so every target gets its
own window, encoded separately: the cost is O(T·W) per student, DKT's is O(T).
"""

from __future__ import annotations

import torch
from torch import nn


class InteractionEmbedding(nn.Module):
    """Question (+ tags) and response embeddings.

    Ids: questions 0 .. Q−1, BOS = Q, PAD = Q + 1; responses 0, 1, BOS/PAD = 2.
    ``tags`` is the bank's ``(Q, K)`` multi-hot; with ``use_tags`` a question's embedding adds the
    mean of its tags' embeddings (BOS and PAD have no tags).
    """

    def __init__(self, tags: torch.Tensor, dim: int, use_tags: bool) -> None:
        super().__init__()
        n_questions, n_skills = tags.shape
        self.question = nn.Embedding(n_questions + 2, dim)
        self.response = nn.Embedding(3, dim)
        self.tag = nn.Linear(n_skills, dim, bias=False) if use_tags else None
        padded = torch.cat([tags.float(), torch.zeros(2, n_skills)])  # (Q + 2, K): BOS, PAD untagged
        self.register_buffer("tag_weights", padded / padded.sum(1, keepdim=True).clamp(min=1.0))

    def questions(self, q: torch.Tensor) -> torch.Tensor:
        """``(...)`` question ids -> ``(..., dim)``."""
        out = self.question(q)
        if self.tag is not None:
            out = out + self.tag(self.tag_weights[q])  # (..., K) -> (..., dim)
        return out

    def forward(self, q: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        """``(...)`` question and response ids -> ``(..., 2·dim)``."""
        return torch.cat([self.questions(q), self.response(r)], dim=-1)


def history_windows(q_in: torch.Tensor, r_in: torch.Tensor, window: int, pad_q: int, pad_r: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The last ``window`` history tokens before every target: ``(B, T)`` -> ``(B, T, W)`` each.

    Row t of the result ends at ``q_in[:, t]`` (interaction t − 1, or BOS) and is left-padded.
    """
    B = q_in.shape[0]
    q_pad = torch.cat([q_in.new_full((B, window - 1), pad_q), q_in], dim=1)  # (B, W − 1 + T)
    r_pad = torch.cat([r_in.new_full((B, window - 1), pad_r), r_in], dim=1)
    return q_pad.unfold(1, window, 1), r_pad.unfold(1, window, 1)  # (B, T, W) each


class NPA(nn.Module):
    """The Neural Pedagogical Agent over windows of history.

    Args:
        tags: ``(Q, K)`` multi-hot of the question bank.
        dim: embedding width d and LSTM width per direction.
        bidirectional: BiLSTM (the paper) or a forward LSTM.
        attention: target-query attention (the paper), or a masked mean over the window.
        use_tags: add tag embeddings to question embeddings.
    """

    def __init__(self, tags: torch.Tensor, dim: int, bidirectional: bool = True, attention: bool = True, use_tags: bool = True) -> None:
        super().__init__()
        self.pad_q, self.pad_r = tags.shape[0] + 1, 2
        self.embed = InteractionEmbedding(tags, dim, use_tags)
        self.lstm = nn.LSTM(2 * dim, dim, batch_first=True, bidirectional=bidirectional)
        width = dim * (2 if bidirectional else 1)
        self.query = nn.Linear(dim, width, bias=False) if attention else None  # W of q_tgtᵀ W h_i
        self.mlp = nn.Sequential(nn.Linear(width + dim, dim), nn.ReLU(), nn.Linear(dim, 1))

    def encode(self, q_hist: torch.Tensor, r_hist: torch.Tensor, q_tgt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Windows ``(N, W)`` and targets ``(N,)`` -> logits ``(N,)`` and attention ``(N, W)``."""
        h, _ = self.lstm(self.embed(q_hist, r_hist))  # (N, W, width)
        target = self.embed.questions(q_tgt)  # (N, d)
        valid = q_hist != self.pad_q  # (N, W); the BOS or the last interaction is always valid
        if self.query is not None:
            scores = (h @ self.query(target).unsqueeze(-1)).squeeze(-1)  # (N, W, width) @ (N, width, 1) -> (N, W)
            alpha = scores.masked_fill(~valid, float("-inf")).softmax(-1)  # (N, W)
        else:
            alpha = valid.float() / valid.sum(-1, keepdim=True)  # (N, W): masked mean
        u = (alpha.unsqueeze(-1) * h).sum(1)  # (N, width)
        return self.mlp(torch.cat([u, target], dim=-1)).squeeze(-1), alpha

    def forward(self, q_in: torch.Tensor, r_in: torch.Tensor, q_tgt: torch.Tensor, window: int) -> torch.Tensor:
        """Logits ``(B, T)`` for every target of shifted inputs ``(B, T)``."""
        B, T = q_in.shape
        q_hist, r_hist = history_windows(q_in, r_in, window, self.pad_q, self.pad_r)  # (B, T, W)
        logits, _ = self.encode(q_hist.reshape(B * T, -1), r_hist.reshape(B * T, -1), q_tgt.reshape(B * T))
        return logits.view(B, T)  # (B·T,) -> (B, T)


class DKT(nn.Module):
    """Deep Knowledge Tracing: a forward LSTM over interactions, one output per question.

    P(correct at t) = σ(W h_t)[q_t], where h_t has read the history up to interaction t − 1.
    """

    def __init__(self, tags: torch.Tensor, dim: int, use_tags: bool = True) -> None:
        super().__init__()
        self.embed = InteractionEmbedding(tags, dim, use_tags)
        self.lstm = nn.LSTM(2 * dim, dim, batch_first=True)
        self.head = nn.Linear(dim, tags.shape[0])

    def forward(self, q_in: torch.Tensor, r_in: torch.Tensor, q_tgt: torch.Tensor, window: int = 0) -> torch.Tensor:
        """Logits ``(B, T)`` for every target of shifted inputs ``(B, T)`` (``window`` unused)."""
        h, _ = self.lstm(self.embed(q_in, r_in))  # (B, T, d)
        return self.head(h).gather(-1, q_tgt.unsqueeze(-1)).squeeze(-1)  # (B, T, Q) -> (B, T)
