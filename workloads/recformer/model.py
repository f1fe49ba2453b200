"""Recformer (Li et al. 2023, arXiv 2305.13731) at toy scale: items as key-value text, no item IDs.

Reading order: :func:`item_token_table` turns each item's attributes into a "sentence"
``category c brand b colour k title w1 w2 w3`` (one token per key and per value); the
:class:`Recformer` encoder reads ``[CLS]`` followed by the history's items, most recent first,
and sums four embeddings per token (paper eq. 1):

    E_w = LayerNorm(A_token + B_token_position + C_token_type + D_item_position)

with token types CLS / key / value and item positions 0 (CLS), 1 (most recent item), 2, ...
Its [CLS] output is the sequence's representation h_s; the same encoder applied to
``[CLS] item`` alone gives the item's representation h_i; the score is cos(h_s, h_i) / τ.
About 100 tokens fit full bidirectional attention, so no Longformer windows are needed.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

PAD, CLS, MASK = 0, 1, 2
KEYS = ("category", "brand", "colour", "title")  # key tokens 3, 4, 5, 6
N_SPECIAL = 3 + len(KEYS)
TYPE_CLS, TYPE_KEY, TYPE_VALUE = 0, 1, 2


def item_token_table(catalogue) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Every item's sentence: token ids ``(I, P)``, token types ``(P,)``, and the vocabulary size.

    Values live in disjoint id ranges after the specials: categories, brands, colours, title words.
    """
    cat = catalogue
    base_brand = N_SPECIAL + cat.n_categories
    base_colour = base_brand + cat.n_brands
    base_word = base_colour + cat.n_colours
    vocab = base_word + cat.n_words
    I, W = cat.title.shape
    key = lambda k: torch.full((I, 1), N_SPECIAL - len(KEYS) + KEYS.index(k))  # noqa: E731
    col = lambda a: torch.as_tensor(a).long().view(I, -1)  # noqa: E731
    tokens = torch.cat(
        [
            key("category"), col(N_SPECIAL + cat.category),
            key("brand"), col(base_brand + cat.brand),
            key("colour"), col(base_colour + cat.colour),
            key("title"), col(base_word + cat.title),
        ],
        dim=1,
    )  # (I, P) with P = 7 + W
    types = torch.tensor([TYPE_KEY, TYPE_VALUE] * 3 + [TYPE_KEY] + [TYPE_VALUE] * W)  # (P,)
    return tokens, types, vocab


class EncoderBlock(nn.Module):
    """Pre-norm bidirectional block whose attention skips padding (``keep`` False)."""

    def __init__(self, d_model: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.ln1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """(B, T, C) states, (B, T) bool keep mask -> (B, T, C)."""
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=-1)
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=keep[:, None, None, :])  # (B, nh, T, hs)
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, nh, T, hs) -> (B, T, C)
        x = x + self.drop(self.out(y))
        return x + self.drop(self.mlp(self.ln2(x)))


class Recformer(nn.Module):
    """The text encoder of sequences and items.

    Args:
        item_tokens: ``(I, P)`` token ids of every item's sentence (from :func:`item_token_table`).
        item_types: ``(P,)`` token types of an item's sentence.
        vocab: vocabulary size.
        d_model, n_layers, n_heads: encoder size.
        max_items: most history items a sequence holds.
        dropout: dropout inside the blocks.
    """

    def __init__(
        self,
        item_tokens: torch.Tensor,
        item_types: torch.Tensor,
        vocab: int,
        d_model: int,
        n_layers: int,
        n_heads: int,
        max_items: int,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.register_buffer("item_tokens", item_tokens, persistent=False)
        self.register_buffer("item_types", item_types, persistent=False)
        P = item_tokens.shape[1]
        self.max_items = max_items
        self.tok = nn.Embedding(vocab, d_model)
        self.tok_pos = nn.Embedding(1 + max_items * P, d_model)
        self.tok_type = nn.Embedding(3, d_model)
        self.item_pos = nn.Embedding(1 + max_items, d_model)
        self.ln_in = nn.LayerNorm(d_model)
        self.blocks = nn.ModuleList(EncoderBlock(d_model, n_heads, dropout) for _ in range(n_layers))
        self.ln_f = nn.LayerNorm(d_model)
        for table in (self.tok_pos, self.tok_type, self.item_pos):  # start with token identity dominating the sum:
            nn.init.normal_(table.weight, std=0.1)  # at N(0, 1) each, 3 of 4 terms are shared noise and training stalls

    def tokenize(self, history: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Histories ``(B, K)`` of item ids, most recent first, -1 padded -> token ids, token types,
        item positions and keep mask, each ``(B, 1 + K·P)``."""
        B, K = history.shape
        P = self.item_tokens.shape[1]
        real = history >= 0  # (B, K)
        tokens = self.item_tokens[history.clamp(min=0)]  # (B, K, P)
        tokens = torch.where(real[..., None], tokens, PAD).reshape(B, K * P)  # (B, K, P) -> (B, K·P)
        types = self.item_types.repeat(K).expand(B, K * P)  # (B, K·P)
        item_pos = torch.arange(1, K + 1, device=history.device).repeat_interleave(P).expand(B, K * P)  # (B, K·P)
        keep = real.repeat_interleave(P, dim=1)  # (B, K·P)
        col = lambda v, dt: torch.full((B, 1), v, dtype=dt, device=history.device)  # noqa: E731
        return (
            torch.cat([col(CLS, torch.long), tokens], 1),
            torch.cat([col(TYPE_CLS, torch.long), types], 1),
            torch.cat([col(0, torch.long), item_pos], 1),
            torch.cat([col(True, torch.bool), keep], 1),
        )

    def hidden(self, tokens, types, item_pos, keep) -> torch.Tensor:
        """Token states ``(B, T, C)`` of a tokenized batch (eq. 1, then the blocks)."""
        T = tokens.shape[1]
        x = self.tok(tokens) + self.tok_pos(torch.arange(T, device=tokens.device)) + self.tok_type(types) + self.item_pos(item_pos)
        x = self.ln_in(x)  # (B, T, C)
        for block in self.blocks:
            x = block(x, keep)
        return self.ln_f(x)

    def encode(self, history: torch.Tensor) -> torch.Tensor:
        """Unit-norm [CLS] representations ``(B, C)`` of histories ``(B, K)`` (most recent first)."""
        h = self.hidden(*self.tokenize(history))[:, 0]  # (B, C)
        return F.normalize(h, dim=-1)

    def encode_items(self, items: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
        """Unit-norm representations ``(N, C)`` of items ``(N,)``, each read alone as ``[CLS] item``."""
        parts = [self.encode(items[i : i + chunk, None]) for i in range(0, len(items), chunk)]  # (n, 1) histories
        return torch.cat(parts)

    def mlm_loss(self, history: torch.Tensor, mask_prob: float, generator: torch.Generator) -> torch.Tensor:
        """Masked-language-model loss on the value tokens of histories ``(B, K)``: a ``mask_prob``
        share of them is replaced by [MASK] and predicted through the tied token embeddings."""
        tokens, types, item_pos, keep = self.tokenize(history)
        draw = torch.rand(tokens.shape, generator=generator).to(tokens.device)
        masked = (draw < mask_prob) & (types == TYPE_VALUE) & keep  # (B, T)
        if not masked.any():
            return tokens.new_zeros((), dtype=torch.float32)
        h = self.hidden(torch.where(masked, MASK, tokens), types, item_pos, keep)  # (B, T, C)
        logits = h[masked] @ self.tok.weight.T  # (n_masked, V)
        return F.cross_entropy(logits, tokens[masked])
