"""IDNP: a user's interest as a function of time drawn from a neural process (the paper's model, lite).

Reading order, for sessions S_1..S_n at times t_1..t_n and a query time t*:

1. ``SessionEncoder``: each session's item embeddings -> r_i at up to three scales (item mean,
   n-gram convolution, attention pooling with a learned query via the ``prefix_attention`` kernel),
   summed and projected.
2. ``TimeEncoding``: t -> sinusoidal features at fixed geometric frequencies, or at learned ones.
3. Context encoder: s_i = MLP([r_i; enc(t_i)]); r_C = mean_i s_i (permutation invariant).
4. Stochastic path: q(z | C) = N(μ(r_C), σ(r_C)²); training also encodes C ∪ T for the posterior.
5. Deterministic path: attention from enc(t*) to the context times (keys enc(t_i), values s_i),
   via ``prefix_attention`` read at each user's last context session (so right padding is ignored).
6. Decoder: h_{t*} = MLP([enc(t*); z; r_C; a]); item scores h_{t*}·e_item + b_item.
7. ELBO: E_q(z|C∪T)[log p(Y_T | t*, z, r_C)] − β KL(q(z|C∪T) ‖ q(z|C)).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from kernels.prefix_attention import prefix_attention

SCALES = ("mean", "conv", "attn")


def _chunk(T: int) -> int:
    """The smallest power of two ≥ T: one chunk per sequence (these are 6-8 long; the default 64 pads)."""
    return 1 << max(T - 1, 0).bit_length()


def mlp(d_in: int, d_out: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.GELU(), nn.Linear(hidden, d_out))


class TimeEncoding(nn.Module):
    """t (any shape) -> (..., d) features [sin(f t), cos(f t)]; f fixed geometric in [0.05, 5] or learned."""

    def __init__(self, d: int, learned: bool) -> None:
        super().__init__()
        freqs = torch.exp(torch.linspace(math.log(0.05), math.log(5.0), d // 2))
        self.freqs = nn.Parameter(freqs, requires_grad=learned)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        ang = t.unsqueeze(-1) * self.freqs  # (..., d/2)
        return torch.cat([ang.sin(), ang.cos()], dim=-1)  # (..., d)


class SessionEncoder(nn.Module):
    """(B, S, L) item embeddings (B, S, L, C) -> (B, S, C): the sum of ``n_scales`` poolings, projected."""

    def __init__(self, d: int, n_scales: int, n_heads: int = 2) -> None:
        super().__init__()
        self.scales = SCALES[:n_scales]
        self.conv = nn.Conv1d(d, d, kernel_size=3, padding=1)
        self.n_heads = n_heads
        self.query = nn.Parameter(torch.randn(n_heads, d // n_heads) * 0.1)  # learned pooling query (H, K)
        self.key = nn.Linear(d, d)
        self.proj = nn.Linear(d, d)

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        B, S, L, C = e.shape
        flat = e.reshape(B * S, L, C)  # (B, S, L, C) -> (B·S, L, C)
        pooled = torch.zeros(B * S, C, dtype=e.dtype, device=e.device)
        if "mean" in self.scales:
            pooled = pooled + flat.mean(1)
        if "conv" in self.scales:  # 3-gram features of the session, mean over positions
            pooled = pooled + F.gelu(self.conv(flat.transpose(1, 2))).mean(-1)  # (B·S, C, L) -> (B·S, C)
        if "attn" in self.scales:
            H, K = self.query.shape
            k = self.key(flat).view(B * S, L, H, K)  # (B·S, L, C) -> (B·S, L, H, K)
            v = flat.view(B * S, L, H, C // H)  # (B·S, L, C) -> (B·S, L, H, C/H)
            o, _ = prefix_attention(self.query.expand(B * S, -1, -1), k, v, chunk_size=_chunk(L))  # (B·S, L, H, C/H)
            pooled = pooled + o[:, -1].reshape(B * S, C)  # the prefix of the whole session
        return self.proj(pooled).view(B, S, C)  # (B·S, C) -> (B, S, C)


class IDNP(nn.Module):
    """The neural-process recommender; see the module docstring for the reading order."""

    def __init__(self, n_items: int, d: int, z_dim: int, n_scales: int, learned_time: bool, n_heads: int = 2) -> None:
        super().__init__()
        self.n_items, self.n_heads = n_items, n_heads
        self.items = nn.Embedding(n_items + 1, d, padding_idx=n_items)  # last row: padding
        self.item_bias = nn.Parameter(torch.zeros(n_items))
        self.session = SessionEncoder(d, n_scales, n_heads)
        self.time = TimeEncoding(d, learned_time)
        self.context = mlp(2 * d, d, 2 * d)
        self.latent = mlp(d, 2 * z_dim, 2 * d)
        self.q_proj = nn.Linear(d, d)
        self.k_proj = nn.Linear(d, d)
        self.decoder = mlp(3 * d + z_dim, d, 2 * d)

    def encode(self, items: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        """(B, S, L) item ids (n_items = pad) and (B, S) times -> (B, S, d) context points s_i."""
        r = self.session(self.items(items))  # (B, S, d)
        return self.context(torch.cat([r, self.time(times)], dim=-1))

    def q_z(self, s: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Mean-aggregate points (B, S, d) over mask (B, S) -> (r (B, d), μ (B, z), σ (B, z))."""
        w = mask.float().unsqueeze(-1)
        r = (s * w).sum(1) / w.sum(1).clamp(min=1.0)
        mu, raw = self.latent(r).chunk(2, dim=-1)
        return r, mu, 0.05 + 0.95 * torch.sigmoid(raw)

    def attend(self, s: torch.Tensor, times: torch.Tensor, n_ctx: torch.Tensor, t_query: torch.Tensor) -> torch.Tensor:
        """Deterministic path: softmax attention from enc(t*) over context points 0..n_ctx−1 -> (B, d)."""
        B, S, d = s.shape
        H = self.n_heads
        q = self.q_proj(self.time(t_query)).view(B, H, d // H)  # (B, d) -> (B, H, K)
        k = self.k_proj(self.time(times)).view(B, S, H, d // H)  # (B, S, d) -> (B, S, H, K)
        o, _ = prefix_attention(q, k, s.view(B, S, H, d // H), chunk_size=_chunk(S))  # (B, S, H, d/H)
        idx = (n_ctx - 1).view(B, 1, 1, 1).expand(-1, 1, H, d // H)
        return o.gather(1, idx).reshape(B, d)  # (B, 1, H, d/H) -> (B, d)

    def scores(self, z: torch.Tensor, r: torch.Tensor, a: torch.Tensor, t_query: torch.Tensor) -> torch.Tensor:
        """Decode h_{t*} and score every item: -> (B, n_items)."""
        h = self.decoder(torch.cat([self.time(t_query), z, r, a], dim=-1))  # (B, d)
        return h @ self.items.weight[: self.n_items].T + self.item_bias

    def forward(self, items, times, n_ctx, t_query, target=None, eps=None, beta: float = 1.0):
        """Context sessions ``items`` (B, S, L), ``times`` (B, S), ``n_ctx`` (B,) of them, query time
        ``t_query`` (B,). With ``target`` (B, L) item ids: returns (loss, nll, kl) of the ELBO, z
        sampled from the posterior with
        standard-normal noise ``eps`` (B, z) (drawn by the caller, so a batch is a function of its step). Without: item scores (B, n_items) at z = μ(C)."""
        S = items.shape[1]
        ctx = torch.arange(S, device=items.device)[None, :] < n_ctx[:, None]  # (B, S)
        s = self.encode(items, times)
        r, mu, sigma = self.q_z(s, ctx)
        a = self.attend(s, times, n_ctx, t_query)
        if target is None:
            return self.scores(mu, r, a, t_query)
        s_t = self.encode(target.unsqueeze(1), t_query.unsqueeze(1))  # (B, 1, d): the target as a point
        _, mu_p, sigma_p = self.q_z(torch.cat([s, s_t], 1), torch.cat([ctx, torch.ones_like(ctx[:, :1])], 1))
        z = mu_p + sigma_p * eps
        logp = self.scores(z, r, a, t_query).log_softmax(-1)  # (B, I)
        nll = -logp.gather(1, target).mean()  # target items of each session, averaged over B·L
        kl = torch.distributions.kl_divergence(torch.distributions.Normal(mu_p, sigma_p), torch.distributions.Normal(mu, sigma))
        kl = kl.sum(-1).mean() / target.shape[1]  # per target item, like the nll
        return nll + beta * kl, nll, kl
