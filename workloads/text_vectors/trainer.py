"""One text-vectors run: draw the LDA corpus, train the chosen coder, score precision@k.

bpv / pv_real train a code table (one row per training document) and the word decoder jointly;
the autoencoder trains its encoder and the same decoder; lsh has nothing to train (its codes are
drawn at build). Every trained model sees the same batches: ``batch`` training documents drawn
from ``(seed, step)``.
"""

from __future__ import annotations

import numpy as np
import torch

from workloads.text_vectors.corpus import sample_corpus, split
from workloads.text_vectors.model import AutoEncoder, Decoder, binarize, infer_codes, word_loss
from workloads.text_vectors.retrieval import chance_precision, cosine_distance, hamming, lsh_codes, precision_at_k
from workloads.training import cosine_schedule, load_training_state, optimiser_step, training_state


def _torch_generator(*key: int) -> torch.Generator:
    """A torch Generator seeded from a numpy SeedSequence of ``key`` (e.g. (seed, step))."""
    gen = torch.Generator()
    gen.manual_seed(int(np.random.default_rng(list(key)).integers(2**62)))
    return gen


class TextVectors:
    """``model`` in bpv, pv_real, autoencoder, lsh; ``evaluate`` gives ``val/p10`` (at ``top_k``)."""

    def __init__(self, cfg, device: str) -> None:
        self.cfg = cfg
        corpus = sample_corpus(
            np.random.default_rng([cfg.seed, 0]), cfg.n_docs, cfg.n_topics, cfg.vocab, cfg.doc_len,
            cfg.alpha, cfg.beta, cfg.min_dominant,
        )
        self.train, self.test = split(corpus, cfg.n_test)
        self.train_counts = torch.from_numpy(self.train.counts).float()  # (N, V)
        self.test_counts = torch.from_numpy(self.test.counts).float()  # (Q, V)
        unigram = self.train.counts.sum(0).astype(np.float64) ** 0.75
        self.noise_dist = unigram / unigram.sum()  # (V,) negative-sampling distribution
        torch.manual_seed(cfg.seed)
        if cfg.model == "lsh":
            self.lsh = lsh_codes(self.train.counts, self.test.counts, cfg.bits, np.random.default_rng([cfg.seed, 1]))
            return
        if cfg.model == "autoencoder":
            self.model = AutoEncoder(cfg.vocab, cfg.hidden, cfg.bits)
            groups = [{"params": self.model.parameters(), "lr": cfg.lr}]
        else:
            self.model = torch.nn.ModuleDict({"decoder": Decoder(cfg.bits, cfg.vocab)})
            self.model.codes = torch.nn.Parameter(0.01 * torch.randn(len(self.train.labels), cfg.bits))  # (N, B)
            groups = [
                {"params": self.model["decoder"].parameters(), "lr": cfg.lr},
                {"params": [self.model.codes], "lr": cfg.code_lr},
            ]
        self.opt = torch.optim.Adam(groups)
        self.sched = cosine_schedule(self.opt, cfg.steps, floor=0.1)

    # -- training ----------------------------------------------------------------------------
    def _decoder(self) -> Decoder:
        return self.model.decoder if self.cfg.model == "autoencoder" else self.model["decoder"]

    def _bits(self, pre: torch.Tensor, step: int) -> torch.Tensor:
        """Training-time codes from pre-activations: real for pv_real, else the binariser."""
        if self.cfg.model == "pv_real":
            return pre
        return binarize(pre, self.cfg.binarize, self.cfg.noise_scale, _torch_generator(self.cfg.seed, step, 1))

    def train_step(self, step: int) -> dict[str, float]:
        """One Adam step on ``batch`` training documents drawn from (seed, step)."""
        cfg = self.cfg
        if cfg.model == "lsh":
            return {"loss": 0.0}
        rng = np.random.default_rng([cfg.seed, step, 0])
        idx = rng.choice(len(self.train.labels), size=min(cfg.batch, len(self.train.labels)), replace=False)
        counts = self.train_counts[idx]  # (D, V)
        neg = None
        if cfg.negatives > 0:
            neg = torch.from_numpy(rng.multinomial(cfg.negatives * cfg.doc_len, self.noise_dist, size=len(idx))).float()  # (D, V)
        if cfg.model == "autoencoder":
            pre = self.model.encode(counts)  # (D, B)
        else:
            pre = self.model.codes[torch.from_numpy(idx)]  # (D, B)
        loss = word_loss(self._decoder()(self._bits(pre, step)), counts, neg)
        return {"loss": optimiser_step(loss, self.model, self.opt, self.sched, clip=None)}

    # -- evaluation --------------------------------------------------------------------------
    def _codes(self) -> tuple[np.ndarray, np.ndarray, float]:
        """(training codes, test codes, test word loss per token); bits except for pv_real."""
        cfg = self.cfg
        with torch.no_grad():
            if cfg.model == "autoencoder":
                train_pre = self.model.encode(self.train_counts)
                test_pre = self.model.encode(self.test_counts)
        if cfg.model != "autoencoder":
            train_pre = self.model.codes.detach()
            mode = "real" if cfg.model == "pv_real" else cfg.binarize
            test_pre = infer_codes(
                self._decoder(), self.test_counts, mode, cfg.infer_steps, cfg.code_lr,
                _torch_generator(cfg.seed, 2), cfg.noise_scale,
            )
        if cfg.model == "pv_real":
            train, test = train_pre, test_pre
        else:
            train, test = binarize(train_pre, "round"), binarize(test_pre, "round")
        with torch.no_grad():
            test_loss = float(word_loss(self._decoder()(test), self.test_counts))
        return train.numpy(), test.numpy(), test_loss

    def evaluate(self) -> dict[str, float]:
        """``val/p10`` (precision at ``top_k`` of the test queries against the training set),
        ``val/chance`` (a random ranking's), ``val/bit_balance`` (mean over bits of 2·min(p, 1 − p),
        p the share of training codes with the bit set; 1 = balanced, 0 = a constant bit) and, for
        trained models, ``val/test_loss`` (word loss per token of the test documents from their codes)."""
        cfg = self.cfg
        out = {"val/chance": chance_precision(self.test.labels, self.train.labels)}
        if cfg.model == "lsh":
            train, test = self.lsh
        else:
            train, test, out["val/test_loss"] = self._codes()
        if cfg.model == "pv_real":
            dist = cosine_distance(test, train)
        else:
            dist = hamming(test, train)
            share = train.astype(np.float64).mean(0)  # (B,)
            out["val/bit_balance"] = float((2 * np.minimum(share, 1 - share)).mean())
        out["val/p10"] = precision_at_k(dist, self.test.labels, self.train.labels, cfg.top_k)
        return out

    def state_dict(self) -> dict:
        """Model, optimiser and schedule (lsh: nothing; its codes are redrawn by build)."""
        return {} if self.cfg.model == "lsh" else training_state(self.model, self.opt, self.sched)

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` saved."""
        if self.cfg.model != "lsh":
            load_training_state(state, self.model, self.opt, self.sched)
