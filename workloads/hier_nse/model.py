"""Hierarchical Neural Semantic Encoder summariser and the flat bi-LSTM copy baseline.

Read, Highlight and Summarize (Ambati, Bandyopadhyay and Mitra, 2019) builds on the NSE
(Munkhdalai & Yu, 2017). An NSE keeps a memory M (L slots of width d) initialised with the token embeddings, and per step:

    o_t = LSTM_r(x_t)                         read
    z_t = softmax(o_t Mᵀ),  m_t = z_t M        address and retrieve
    c_t = tanh(W_c [o_t; m_t])                compose
    h_t = LSTM_w(c_t)                         write
    M  <- M ⊙ (1 − z_t 1ᵀ) + z_t ⊗ h_t        erase, then write at the attended slots

Hierarchical NSE (:class:`HierNSE`): each sentence has its own memory, and a document memory D
(one slot per sentence: the mean of its sentence memory) is read alongside it, so compose sees
[o_t; m_t; m^D_t; D_own] (D_own: the sentence's own document slot, which holds its cue from the
first step). A document-level LSTM over the sentences' final write states, in order, adds each
sentence's place in the document to its slots. All sentences of a batch run in parallel, so
the loop is ``sent_len`` long. The decoder reads each slot as its final memory plus the write
LSTM's output at that position (the NSE's per-token output). The decoder is an NSE over the concatenated sentence memories whose address z_t (additive
attention) is also the copy distribution of a pointer-generator output (See et al., 2017):

    p(w) = p_gen · softmax(W_o tanh(W [h_t; m_t]))_w + (1 − p_gen) · Σ_{j: src_j = w} z_tj

Reading order: :class:`TokenEmbedding` (factored or not), :func:`copy_log_probs`,
:class:`HierNSE`, :class:`FlatCopySeq2Seq`. Both models expose ``loss(docs, targets)`` and
``step_fn()/init_state(docs)`` for :func:`workloads.nn.decoding.greedy_decode`.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from workloads.hier_nse.task import BOS
from workloads.nn.rnn import AdditiveAttention, LSTMDecoder, LSTMEncoder


class TokenEmbedding(nn.Module):
    """Token ids ``(...)`` -> ``(..., d)``.

    Unfactored: one vector per word type. Factored (the paper's extra input features):
    [word (d/2); lemma (d/4); inflection (d/8); POS (d/8)]. As with a vocabulary built from the
    training text, a word type marked unknown (:meth:`set_known`) or dropped (``drop``) gets the
    UNK word vector; its lemma, inflection and POS parts stay, so in the factored embedding a word
    type never seen in training is still described by trained parts.
    """

    def __init__(self, factors: tuple, d: int, factored: bool) -> None:
        super().__init__()
        lemma, infl, pos = (torch.as_tensor(f, dtype=torch.long) for f in factors)
        self.factored = factored
        vocab = lemma.numel()
        self.unk = vocab  # the word table's extra last row
        self.register_buffer("known", torch.ones(vocab, dtype=torch.bool), persistent=False)
        self.register_buffer("lemma_of", lemma, persistent=False)
        self.register_buffer("infl_of", infl, persistent=False)
        self.register_buffer("pos_of", pos, persistent=False)
        self.word = nn.Embedding(vocab + 1, d // 2 if factored else d)
        if factored:
            self.lemma = nn.Embedding(int(lemma.max()) + 1, d // 4)
            self.infl = nn.Embedding(int(infl.max()) + 1, d // 8)
            self.pos = nn.Embedding(int(pos.max()) + 1, d - d // 2 - d // 4 - d // 8)

    def set_known(self, known: torch.Tensor) -> None:
        """``known (V,)`` bool: the word types with their own vector (the training vocabulary)."""
        self.known.copy_(known)

    def forward(self, ids: torch.Tensor, drop: torch.Tensor | None = None) -> torch.Tensor:
        """``drop`` (same shape as ``ids``, bool) replaces those words by UNK (word dropout)."""
        unknown = ~self.known[ids] if drop is None else ~self.known[ids] | drop
        word = self.word(ids.masked_fill(unknown, self.unk))
        if not self.factored:
            return word
        parts = [word, self.lemma(self.lemma_of[ids]), self.infl(self.infl_of[ids]), self.pos(self.pos_of[ids])]
        return torch.cat(parts, dim=-1)


def copy_log_probs(logits: torch.Tensor, attn: torch.Tensor, src: torch.Tensor, p_gen: torch.Tensor | None) -> torch.Tensor:
    """Pointer-generator mixture, in log space: ``logits (..., V)``, copy weights ``attn (..., L)``
    over source ids ``src (..., L)``, gate ``p_gen (..., 1)`` (None: no copy) -> ``(..., V)``."""
    if p_gen is None:
        return F.log_softmax(logits, dim=-1)
    probs = p_gen * logits.softmax(dim=-1)
    probs = probs.scatter_add(-1, src, (1.0 - p_gen) * attn)
    return torch.log(probs.clamp_min(1e-9))


class HierNSE(nn.Module):
    """Sentence NSEs with a shared document memory (encoder), and an NSE decoder with copy.

    Args:
        embed: the token embedding (``d`` wide).
        vocab: output vocabulary V.
        d: memory and LSTM width.
        copy: pointer-generator output (else vocabulary softmax only).
    """

    def __init__(self, embed: TokenEmbedding, vocab: int, d: int, copy: bool = True) -> None:
        super().__init__()
        self.embed, self.copy = embed, copy
        self.enc_read, self.enc_write = nn.LSTMCell(d, d), nn.LSTMCell(d, d)
        self.enc_compose = nn.Linear(4 * d, d)
        self.doc = LSTMEncoder(d, in_features=d, emb=d)  # document level: over the sentences, in order
        self.dec_read, self.dec_write = nn.LSTMCell(d, d), nn.LSTMCell(d, d)
        self.dec_compose = nn.Linear(2 * d, d)
        self.attn = AdditiveAttention(d, d, d)
        self.hidden = nn.Linear(2 * d, d)
        self.out = nn.Linear(d, vocab)
        self.gate = nn.Linear(3 * d, 1)

    def encode(self, docs: torch.Tensor, drop: torch.Tensor | None = None) -> tuple:
        """Docs ``(B, S, T)`` (``drop``: words to replace by UNK) -> the decoder's initial state."""
        B, S, T = docs.shape
        e = self.embed(docs, drop).view(B * S, T, -1)  # (B, S, T, d) -> (B*S, T, d): one row per sentence
        d = e.shape[-1]
        M = e  # sentence memories, initialised with the embeddings
        zeros = e.new_zeros(B * S, d)
        read, write = (zeros, zeros), (zeros, zeros)
        written = []
        for t in range(T):
            read = self.enc_read(e[:, t], read)
            o = read[0]  # (B*S, d)
            z = torch.softmax(torch.einsum("nd,ntd->nt", o, M), dim=-1)  # address own sentence (B*S, T)
            m = torch.einsum("nt,ntd->nd", z, M)  # (B*S, d)
            D = M.view(B, S, T, d).mean(2)  # document memory: one slot per sentence (B, S, d)
            zd = torch.softmax(torch.einsum("bsd,bkd->bsk", o.view(B, S, d), D), dim=-1)  # (B, S, S)
            md = torch.einsum("bsk,bkd->bsd", zd, D).reshape(B * S, d)  # (B, S, d) -> (B*S, d)
            own = D.reshape(B * S, d)  # each sentence's own document slot (B, S, d) -> (B*S, d)
            c = torch.tanh(self.enc_compose(torch.cat([o, m, md, own], dim=-1)))
            write = self.enc_write(c, write)
            h = write[0]
            written.append(h)
            M = M * (1.0 - z.unsqueeze(-1)) + z.unsqueeze(-1) * h.unsqueeze(1)  # erase, then write
        # each slot as the decoder reads it: the final memory plus the write LSTM's output at that
        # position (the NSE's per-token output); soft writes alone leave a slot without a clean
        # trace of its position, and the decoder then cannot copy in order (loss 2.2 vs 0.85
        # after 300 steps on seed 100)
        M = M + torch.stack(written, dim=1)  # T x (B*S, d) -> (B*S, T, d)
        # document level: an LSTM over the sentences' final write states, in document order, adds
        # each sentence's place in the document to its slots (the parallel sentence NSEs and the
        # mean-slot document memory are order-free: without it the decoder swaps the highlights)
        sent_out, (h_doc, c_doc) = self.doc(write[0].view(B, S, d))  # (B*S, d) -> (B, S, d) -> (B, S, d)
        M = M + sent_out.reshape(B * S, 1, d)  # (B, S, d) -> (B*S, 1, d), broadcast over T
        memory = M.reshape(B, S * T, d)  # (B*S, T, d) -> (B, S*T, d): concatenated sentence memories
        h0, c0 = h_doc[-1], c_doc[-1]  # (B, d) each
        return (h0, c0, h0, c0, memory, docs.reshape(B, S * T))

    def step(self, tokens: torch.Tensor, state: tuple) -> tuple[torch.Tensor, tuple]:
        """One decoder step: previous tokens ``(B,)`` -> log-probabilities ``(B, V)``, new state."""
        hr, cr, hw, cw, M, src = state
        x = self.embed(tokens)  # (B, d)
        hr, cr = self.dec_read(x, (hr, cr))
        z = self.attn(hr.unsqueeze(1), self.attn.keys(M)).squeeze(1).softmax(dim=-1)  # (B, 1, L) -> (B, L)
        m = torch.einsum("bl,bld->bd", z, M)
        c = torch.tanh(self.dec_compose(torch.cat([hr, m], dim=-1)))
        hw, cw = self.dec_write(c, (hw, cw))
        M = M * (1.0 - z.unsqueeze(-1)) + z.unsqueeze(-1) * hw.unsqueeze(1)
        feat = torch.cat([hw, m], dim=-1)
        logits = self.out(torch.tanh(self.hidden(feat)))
        p_gen = torch.sigmoid(self.gate(torch.cat([feat, x], dim=-1))) if self.copy else None
        return copy_log_probs(logits, z, src, p_gen), (hr, cr, hw, cw, M, src)

    def init_state(self, docs: torch.Tensor) -> tuple:
        return self.encode(docs)

    def step_fn(self):
        return self.step

    def loss(self, docs: torch.Tensor, targets: torch.Tensor, drop: torch.Tensor | None = None) -> torch.Tensor:
        """Mean teacher-forced NLL per target token; ``targets (B, Y)`` end in EOS."""
        state = self.encode(docs, drop)
        prev = torch.full_like(targets[:, 0], BOS)
        nll = []
        for t in range(targets.shape[1]):
            logp, state = self.step(prev, state)
            nll.append(-logp.gather(1, targets[:, t : t + 1]).squeeze(1))
            prev = targets[:, t]
        return torch.stack(nll, dim=1).mean()


class FlatCopySeq2Seq(nn.Module):
    """The baseline: a bi-LSTM over the flattened document and an LSTM decoder with additive
    attention and the same pointer-generator output (``workloads.nn.rnn`` pieces).

    The encoder runs two :class:`LSTMEncoder` (forward, and on the reversed document: all
    documents have the same length, so no padding), width ``d`` each; the decoder is an
    :class:`LSTMDecoder` of width ``d`` attending over the ``2d``-wide outputs.
    """

    def __init__(self, embed: TokenEmbedding, vocab: int, d: int, copy: bool = True) -> None:
        super().__init__()
        self.embed, self.copy = embed, copy
        self.fwd = LSTMEncoder(d, in_features=d, emb=d)
        self.bwd = LSTMEncoder(d, in_features=d, emb=d)
        self.bridge = nn.Linear(2 * d, 2 * d)
        self.decoder = LSTMDecoder(d, 1, vocab, in_features=d, emb=d, attention=True, memory_dim=2 * d)
        self.gate = nn.Linear(d + 2 * d + d, 1)

    def init_state(self, docs: torch.Tensor, drop: torch.Tensor | None = None) -> tuple:
        """Docs ``(B, S, T)`` -> (h, c) each ``(B, d)``, memory ``(B, L, 2d)``, its keys, source ids."""
        B = docs.shape[0]
        src = docs.reshape(B, -1)  # (B, S, T) -> (B, L)
        e = self.embed(src, None if drop is None else drop.reshape(B, -1))  # (B, L, d)
        out_f, (h_f, _) = self.fwd(e)
        out_b, (h_b, _) = self.bwd(e.flip(1))
        memory = torch.cat([out_f, out_b.flip(1)], dim=-1)  # (B, L, 2d)
        h0, c0 = torch.tanh(self.bridge(torch.cat([h_f[-1], h_b[-1]], dim=-1))).chunk(2, dim=-1)  # (B, d) each
        return (h0, c0, memory, self.decoder.attn.keys(memory), src)

    def _output(self, x: torch.Tensor, hc: tuple, memory, keys, src) -> tuple[torch.Tensor, tuple]:
        """Inputs ``x (B, Y, d)`` -> log-probabilities ``(B, Y, V)`` and the LSTM's (h, c)."""
        dec = self.decoder
        q, hc = dec.run(x, hc)  # (B, Y, d)
        weights = dec.attn(q, keys).softmax(dim=-1)  # (B, Y, L)
        context = weights @ memory  # (B, Y, L) @ (B, L, 2d) -> (B, Y, 2d)
        feat = torch.tanh(dec.combine(torch.cat([q, context], dim=-1)))  # (B, Y, d)
        logits = dec.out(feat)
        p_gen = torch.sigmoid(self.gate(torch.cat([feat, context, dec.embed(x)], dim=-1))) if self.copy else None
        src_y = src.unsqueeze(1).expand(-1, x.shape[1], -1)  # (B, L) -> (B, Y, L)
        return copy_log_probs(logits, weights, src_y, p_gen), hc

    def step_fn(self):
        def step(tokens: torch.Tensor, state: tuple) -> tuple[torch.Tensor, tuple]:
            h, c, memory, keys, src = state
            hc = (h.unsqueeze(0), c.unsqueeze(0))  # (B, d) -> (1, B, d), as nn.LSTM wants
            logp, (h, c) = self._output(self.embed(tokens).unsqueeze(1), hc, memory, keys, src)
            return logp.squeeze(1), (h.squeeze(0), c.squeeze(0), memory, keys, src)

        return step

    def loss(self, docs: torch.Tensor, targets: torch.Tensor, drop: torch.Tensor | None = None) -> torch.Tensor:
        """Mean teacher-forced NLL per target token, the whole target in one LSTM call."""
        h, c, memory, keys, src = self.init_state(docs, drop)
        prev = torch.cat([torch.full_like(targets[:, :1], BOS), targets[:, :-1]], dim=1)  # (B, Y)
        logp, _ = self._output(self.embed(prev), (h.unsqueeze(0), c.unsqueeze(0)), memory, keys, src)
        return -logp.gather(2, targets.unsqueeze(-1)).mean()
