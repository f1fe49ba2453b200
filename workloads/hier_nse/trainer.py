"""The hier_nse run: build the corpora and the model, train with teacher forcing, evaluate by
greedy decoding and ROUGE-L (rouge-score) on a test set and on the rare-inflection test split."""

from __future__ import annotations

import numpy as np

from workloads.hier_nse.task import BOS, EOS, N_SPECIAL, make_lexicon, sample_corpus
from workloads.training import cosine_schedule, load_training_state, optimiser_step, training_state


def rouge_l(refs: list[list[int]], preds: list[list[int]]) -> float:
    """Mean ROUGE-L F1 (rouge-score, no stemming) of token-id sequences written as words."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    scores = [scorer.score(" ".join(f"w{t}" for t in r), " ".join(f"w{t}" for t in p))["rougeL"].fmeasure
              for r, p in zip(refs, preds)]
    return float(np.mean(scores))


def strip_eos(row: np.ndarray) -> list[int]:
    """Tokens before the first EOS."""
    hits = np.flatnonzero(row == EOS)
    return row[: hits[0]].tolist() if hits.size else row.tolist()


class HierNse:
    """One run of ``cfg.model`` ('hier_nse' or 'flat'), factored inputs or not."""

    def __init__(self, cfg, device: str) -> None:
        import torch

        from workloads.hier_nse.model import FlatCopySeq2Seq, HierNSE, TokenEmbedding

        self.cfg, self.device = cfg, device
        lex = make_lexicon(np.random.default_rng([cfg.seed, 0]), cfg.n_lemmas, cfg.n_infl)
        shape = (cfg.n_sent, cfg.sent_len, cfg.n_highlights)
        form = {"summary_form": cfg.summary_form}
        self.train = sample_corpus(np.random.default_rng([cfg.seed, 1]), lex, cfg.n_train, *shape, cfg.rare_p_train, False, **form)
        self.test = sample_corpus(np.random.default_rng([cfg.seed, 2]), lex, cfg.n_test, *shape, cfg.rare_p_train, False, **form)
        self.rare = sample_corpus(np.random.default_rng([cfg.seed, 3]), lex, cfg.n_test, *shape, cfg.rare_p_test, True, **form)
        self.unseen_rare = self._unseen_rare_fraction(lex)
        torch.manual_seed(cfg.seed)
        embed = TokenEmbedding(lex.factors(), cfg.d, cfg.factored)
        known = np.zeros(lex.size, dtype=bool)  # the training vocabulary: types in training text
        known[np.unique(self.train.docs)] = known[np.unique(self.train.targets)] = True
        embed.set_known(torch.as_tensor(known))
        model_cls = HierNSE if cfg.model == "hier_nse" else FlatCopySeq2Seq
        self.model = model_cls(embed, lex.size, cfg.d, copy=cfg.use_copy).to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.sched = cosine_schedule(self.opt, cfg.steps, floor=0.1)

    def _unseen_rare_fraction(self, lex) -> float:
        """Share of the rare-inflection words in the rare split's highlights whose word type never
        occurs in training (their lemma and inflection each do)."""
        seen = np.zeros(lex.size, dtype=bool)
        seen[np.unique(self.train.docs)] = True
        words = self.rare.docs[self.rare.highlights]  # (N, S, T) -> (H, T)
        infl = lex.factors()[1][words]
        rare = words[infl == lex.n_infl - 1]
        return float((~seen[rare]).mean()) if rare.size else 0.0

    def _tensor(self, a: np.ndarray):
        import torch

        return torch.as_tensor(a, device=self.device)

    def train_step(self, step: int) -> dict[str, float]:
        """One Adam step on ``batch`` training documents drawn from (seed, step)."""
        rng = np.random.default_rng([self.cfg.seed, 10, step])
        idx = rng.integers(0, len(self.train.docs), size=self.cfg.batch)
        docs = self.train.docs[idx]
        drop = (docs >= N_SPECIAL) & (rng.random(docs.shape) < self.cfg.word_dropout)  # content words only
        self.model.train()
        loss = self.model.loss(self._tensor(docs), self._tensor(self.train.targets[idx]), self._tensor(drop))
        return {"loss": optimiser_step(loss, self.model, self.opt, self.sched, clip=self.cfg.clip)}

    def _decode(self, docs: np.ndarray) -> np.ndarray:
        import torch

        from workloads.nn.decoding import greedy_decode

        out = []
        for start in range(0, len(docs), 250):
            batch = self._tensor(docs[start : start + 250])
            start_tokens = torch.full((batch.shape[0],), BOS, dtype=torch.long, device=self.device)
            max_len = self.cfg.n_highlights * (self.cfg.sent_len - 2) + 1
            tokens, _ = greedy_decode(self.model.step_fn(), self.model.init_state(batch), start_tokens, max_len, eos=EOS)
            out.append(tokens.cpu().numpy())
        return np.concatenate(out)

    def _nll(self, corpus) -> float:
        import torch

        with torch.no_grad():
            return float(self.model.loss(self._tensor(corpus.docs[:250]), self._tensor(corpus.targets[:250])))

    def evaluate(self) -> dict[str, float]:
        """ROUGE-L, exact match and teacher-forced NLL on both test sets; on the rare split, the
        accuracy on words whose form was never seen in training, and that form's share."""
        self.model.eval()
        out: dict[str, float] = {"data/unseen_rare_types": self.unseen_rare}
        decoded = {}
        for name, corpus in (("", self.test), ("_rare", self.rare)):
            decoded[name] = self._decode(corpus.docs)
            pred = [strip_eos(row) for row in decoded[name]]
            refs = [strip_eos(row) for row in corpus.targets]
            out[f"val/rougeL{name}"] = rouge_l(refs, pred)
            out[f"val/exact{name}"] = float(np.mean([p == r for p, r in zip(pred, refs)]))
            out[f"val/nll{name}"] = self._nll(corpus)
        out["val/acc_unseen_forms"] = self._unseen_form_accuracy(self.rare, decoded["_rare"])
        return out

    def _unseen_form_accuracy(self, corpus, decoded: np.ndarray) -> float:
        """Of the summary words whose document form is a word type absent from training, the share
        the model writes right at their position (the rare split's test of factored inputs)."""
        n, words = len(corpus.docs), corpus.targets.shape[1] - 1
        highlight = corpus.docs[corpus.highlights].reshape(n, -1)  # (N, S, T) -> (N, n_highlights * T)
        surface = highlight[highlight >= N_SPECIAL].reshape(n, words)  # content words, summary order
        unseen = ~self.model.embed.known.cpu().numpy()[surface]
        hits = decoded[:, :words] == corpus.targets[:, :words]
        return float(hits[unseen].mean()) if unseen.any() else 0.0

    def state_dict(self) -> dict:
        """Model, optimiser and schedule."""
        return training_state(self.model, self.opt, self.sched)

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` saved."""
        load_training_state(state, self.model, self.opt, self.sched)
