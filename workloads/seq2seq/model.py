"""The seq2seq run: LSTM encoder (optionally reading the source reversed) and LSTM decoder.

The batch of step k is drawn from ``default_rng([seed, k])``: one sentence length per batch,
so no padding is needed. Evaluation uses a held-out set drawn from its own stream, with
``eval_per_length`` sentences at each length, decoded greedily and with beam search.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from workloads.nn.decoding import beam_search, greedy_decode
from workloads.nn.rnn import (
    LSTMDecoder,
    LSTMEncoder,
    lstm_state,
    lstm_step,
    uniform_init_,
)
from workloads.tasks.translation import BOS, EOS, SPECIALS, decoder_io, make_lexicon, translation_batch
from workloads.training import load_training_state, training_state


class Seq2Seq(nn.Module):
    """Encoder and decoder, separate deep LSTMs as in the paper."""

    def __init__(self, vocab: int, emb: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.encoder = LSTMEncoder(hidden, layers, vocab=vocab, emb=emb)
        self.decoder = LSTMDecoder(hidden, layers, vocab, vocab=vocab, emb=emb)
        uniform_init_(self)

    def forward(self, src: torch.Tensor, y_in: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits ``(B, T, V)`` for sources ``(B, S)`` and decoder inputs ``(B, T)``."""
        _, hc = self.encoder(src)
        logits, _ = self.decoder(y_in, hc)
        return logits


class Seq2SeqRun:
    """One seq2seq training run (the workload's Trainable)."""

    def __init__(self, cfg, device: str) -> None:
        if cfg.min_len > cfg.max_len:
            raise ValueError(f"min_len {cfg.min_len} > max_len {cfg.max_len}")
        self.cfg, self.device = cfg, device
        torch.manual_seed(cfg.seed)
        self.vocab = SPECIALS + cfg.words
        self.lexicon = make_lexicon(cfg.words, cfg.lexicon_seed)
        self.model = Seq2Seq(self.vocab, cfg.emb, cfg.hidden, cfg.layers).to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        rng = np.random.default_rng([cfg.seed, 0, 1])  # eval stream, apart from every [seed, step]
        self.eval_set = [
            translation_batch(rng, cfg.eval_per_length, L, cfg.words, self.lexicon, swap_pairs=cfg.swap_pairs)
            for L in range(cfg.min_len, cfg.max_len + 1)
        ]

    def _source(self, src: np.ndarray) -> torch.Tensor:
        src = src[:, ::-1] if self.cfg.reverse else src  # (B, S), read last word first
        return torch.as_tensor(np.ascontiguousarray(src), device=self.device)

    def train_step(self, step: int) -> dict[str, float]:
        cfg = self.cfg
        rng = np.random.default_rng([cfg.seed, step])
        length = int(rng.integers(cfg.min_len, cfg.max_len + 1))
        src, tgt = translation_batch(rng, cfg.batch, length, cfg.words, self.lexicon, swap_pairs=cfg.swap_pairs)
        y_in, y_out = (torch.as_tensor(a, device=self.device) for a in decoder_io(tgt))
        self.model.train()
        logits = self.model(self._source(src), y_in)  # (B, T, V)
        loss = F.cross_entropy(logits.reshape(-1, self.vocab), y_out.reshape(-1))  # (B*T, V) vs (B*T,)
        self.opt.zero_grad()
        loss.backward()
        grad_norm = nn.utils.clip_grad_norm_(self.model.parameters(), cfg.clip)
        self.opt.step()
        return {"loss": loss.item(), "grad_norm": float(grad_norm)}

    def decode(self, src: np.ndarray, beam: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Decoded ids ``(B, S+1)`` (the target length plus EOS) and their log-probabilities ``(B,)``."""
        with torch.no_grad():
            self.model.eval()
            _, hc = self.model.encoder(self._source(src))
            step, state = lstm_step(self.model.decoder), lstm_state(hc)
            start = torch.full((src.shape[0],), BOS, device=self.device)
            if beam == 1:
                tokens, logp = greedy_decode(step, state, start, src.shape[1] + 1, eos=EOS)
            else:
                tokens, logp = beam_search(step, state, start, src.shape[1] + 1, beam, eos=EOS)
                tokens, logp = tokens[:, 0], logp[:, 0]  # best hypothesis
        return tokens.cpu().numpy(), logp.cpu().numpy()

    def evaluate(self) -> dict[str, float]:
        """Token accuracy, exact match and log-probability, greedy and beam, plus accuracy per length."""
        out: dict[str, float] = {}
        for name, beam in (("", 1), ("_beam", self.cfg.beam)):
            hits = exact = count = rows = 0
            logps = []
            for src, tgt in self.eval_set:
                pred, logp = self.decode(src, beam)
                L = tgt.shape[1]
                match = pred[:, :L] == tgt  # (B, L)
                whole = match.all(axis=1) & (pred[:, L] == EOS)
                hits, count = hits + match.sum(), count + match.size
                exact, rows = exact + whole.sum(), rows + len(whole)
                logps.append(logp)
                if beam == 1:
                    out[f"val/token_acc_len{L}"] = float(match.mean())
            out[f"val/token_acc{name}"] = float(hits / count)
            out[f"val/exact{name}"] = float(exact / rows)
            out[f"val/logp{name}"] = float(np.mean(np.concatenate(logps)))
        return out

    def state_dict(self) -> dict:
        return training_state(self.model, self.opt)

    def load_state_dict(self, state: dict) -> None:
        load_training_state(state, self.model, self.opt)
