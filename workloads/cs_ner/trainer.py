"""The cs_ner run: a BiLSTM tagger (softmax or CRF, with or without char-CNN), or the gazetteer.

Data are three corpora drawn from ``cfg.seed``: training sentences (seen names only), a test set
where each mention is a held-out name with probability ``unseen_frac``, and an unseen test set
where every mention is held out. Entity F1 is seqeval's micro F1 over exact spans.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from workloads.cs_ner.task import TAG_ID, TAGS, TEMPLATES, Sentence, invalid_transitions, make_lexicon, sample_corpus
from workloads.training import load_training_state, training_state

PAD, UNK = 0, 1
MAX_CHARS = 16


class Gazetteer:
    """Exact lexicon match: the longest span of training-entity words, left to right, gets its type."""

    def __init__(self, train: list[Sentence]) -> None:
        self.spans: dict[tuple[str, ...], str] = {}
        for s in train:
            for start, end, kind in _spans(s.tags):
                self.spans[tuple(s.words[start:end])] = kind
        self.longest = max(len(k) for k in self.spans)

    def tag(self, words: list[str]) -> list[str]:
        out, i = ["O"] * len(words), 0
        while i < len(words):
            for n in range(min(self.longest, len(words) - i), 0, -1):
                kind = self.spans.get(tuple(words[i : i + n]))
                if kind is not None:
                    out[i : i + n] = [f"B-{kind}"] + [f"I-{kind}"] * (n - 1)
                    i += n
                    break
            else:
                i += 1
        return out


def _spans(tags: list[str]) -> list[tuple[int, int, str]]:
    """(start, end, type) of each gold entity in a well-formed BIO sequence."""
    out = []
    for i, tag in enumerate(tags):
        if tag.startswith("B-"):
            end = i + 1
            while end < len(tags) and tags[end] == f"I-{tag[2:]}":
                end += 1
            out.append((i, end, tag[2:]))
    return out


def entity_scores(gold: list[list[str]], pred: list[list[str]]) -> dict[str, float]:
    """seqeval micro precision, recall and F1 over entity spans."""
    from seqeval.metrics import f1_score, precision_score, recall_score

    return {"f1": float(f1_score(gold, pred)), "precision": float(precision_score(gold, pred)),
            "recall": float(recall_score(gold, pred))}


class CsNer:
    """One run; ``cfg.model`` is 'tagger' (trained step by step) or 'gazetteer' (fitted at build)."""

    def __init__(self, cfg, device: str) -> None:
        self.cfg, self.device = cfg, device
        rng = np.random.default_rng([cfg.seed, 0])
        lex = make_lexicon(rng, cfg.names_per_type, cfg.held_out)
        templates = TEMPLATES[: cfg.templates]
        self.train = sample_corpus(rng, lex, templates, cfg.n_train, 0.0)
        self.test = sample_corpus(np.random.default_rng([cfg.seed, 1]), lex, templates, cfg.n_test, cfg.unseen_frac)
        self.test_unseen = sample_corpus(np.random.default_rng([cfg.seed, 2]), lex, templates, cfg.n_test, 1.0)
        if cfg.model == "gazetteer":
            self.gazetteer = Gazetteer(self.train)
            return
        import torch

        from workloads.cs_ner.model import Tagger

        counts = Counter(w for s in self.train for w in s.words)
        self.words = {w: i + 2 for i, w in enumerate(sorted(counts))}
        self.singleton = np.zeros(len(self.words) + 2, dtype=bool)
        self.singleton[[self.words[w] for w, c in counts.items() if c == 1]] = True
        chars = sorted({c for w in counts for c in w})
        self.chars = {c: i + 2 for i, c in enumerate(chars)}
        self.train_arrays = self._encode(self.train)
        self.test_arrays = self._encode(self.test)
        self.unseen_arrays = self._encode(self.test_unseen)
        torch.manual_seed(cfg.seed)
        self.model = Tagger(len(self.words) + 2, len(self.chars) + 2, len(TAGS), emb=cfg.emb, hidden=cfg.hidden,
                            dropout=cfg.dropout, chars=cfg.chars, crf=cfg.crf).to(device)
        crf = [p for n, p in self.model.named_parameters() if n.startswith("crf.")]
        rest = [p for n, p in self.model.named_parameters() if not n.startswith("crf.")]
        # the CRF's few global scores get a larger step: at the network's rate they stay near 0 for
        # hundreds of steps, and a near-zero O -> I-X score does not stop invalid paths
        self.opt = torch.optim.Adam([{"params": rest}, {"params": crf, "lr": cfg.lr * cfg.crf_lr_scale}], lr=cfg.lr)

    def _encode(self, corpus: list[Sentence]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Word ids ``(N, T)``, char ids ``(N, T, MAX_CHARS)`` and tag ids ``(N, T)``, zero-padded."""
        T = max(len(s.words) for s in corpus)
        words = np.zeros((len(corpus), T), dtype=np.int64)
        chars = np.zeros((len(corpus), T, MAX_CHARS), dtype=np.int64)
        tags = np.zeros((len(corpus), T), dtype=np.int64)
        for n, s in enumerate(corpus):
            words[n, : len(s.words)] = [self.words.get(w, UNK) for w in s.words]
            tags[n, : len(s.tags)] = [TAG_ID[t] for t in s.tags]
            for t, w in enumerate(s.words):
                ids = [self.chars.get(c, UNK) for c in w[:MAX_CHARS]]
                chars[n, t, : len(ids)] = ids
        return words, chars, tags

    def _tensors(self, arrays, idx: np.ndarray):
        import torch

        words, chars, tags = (a[idx] for a in arrays)
        width = int((words != PAD).sum(1).max())
        return tuple(torch.as_tensor(a[:, :width], device=self.device) for a in (words, chars, tags))

    def train_step(self, step: int) -> dict[str, float]:
        """One Adam step on ``batch`` training sentences drawn from (seed, step); singleton words
        become UNK with probability ``word_dropout`` so the UNK embedding is trained."""
        if self.cfg.model == "gazetteer":
            return {"loss": 0.0}
        import torch

        from workloads.training import optimiser_step

        rng = np.random.default_rng([self.cfg.seed, step])
        idx = rng.integers(0, len(self.train), size=self.cfg.batch)
        words, chars, tags = self._tensors(self.train_arrays, idx)
        drop = self.singleton[words.cpu().numpy()] & (rng.random(tuple(words.shape)) < self.cfg.word_dropout)
        words = words.masked_fill(_as_tensor(drop, words.device), UNK)
        torch.manual_seed(int(rng.integers(2**31)))  # dropout masks depend on (seed, step) only
        self.model.train()
        loss = self.model.loss(words, chars if self.cfg.chars else None, tags)
        return {"loss": optimiser_step(loss, self.model, self.opt, clip=self.cfg.clip)}

    def _predict(self, corpus: list[Sentence], arrays) -> list[list[str]]:
        if self.cfg.model == "gazetteer":
            return [self.gazetteer.tag(s.words) for s in corpus]
        self.model.eval()
        out: list[list[str]] = []
        for start in range(0, len(corpus), 256):
            words, chars, _ = self._tensors(arrays, np.arange(start, min(start + 256, len(corpus))))
            out.extend([TAGS[t] for t in row] for row in self.model.predict(words, chars if self.cfg.chars else None))
        return out

    def evaluate(self) -> dict[str, float]:
        """Entity P/R/F1 on the test set and on the all-unseen test set, and BIO violations in both."""
        out: dict[str, float] = {}
        invalid = 0
        for name, corpus, arrays in (("", self.test, getattr(self, "test_arrays", None)),
                                     ("_unseen", self.test_unseen, getattr(self, "unseen_arrays", None))):
            pred = self._predict(corpus, arrays)
            for k, v in entity_scores([s.tags for s in corpus], pred).items():
                out[f"val/{k}{name}"] = v
            invalid += invalid_transitions(pred)
        out["val/invalid_transitions"] = float(invalid)
        return out

    def state_dict(self) -> dict:
        """Model and optimiser (the gazetteer is refitted by build)."""
        if self.cfg.model == "gazetteer":
            return {}
        return training_state(self.model, self.opt)

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` saved."""
        if self.cfg.model != "gazetteer":
            load_training_state(state, self.model, self.opt)


def _as_tensor(a: np.ndarray, device):
    import torch

    return torch.as_tensor(a, device=device)
