"""One run: MLM training on PCFG sentences; evaluation parses the test set and scores it."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

from workloads.structformer.model import StructFormer
from workloads.tasks import pcfg
from workloads.training import load_training_state, optimiser_step, training_state

MASK = pcfg.SPECIALS.index("<mask>")


def _by_length(sentences: list[pcfg.Sentence]) -> dict[int, list[pcfg.Sentence]]:
    groups: dict[int, list[pcfg.Sentence]] = {}
    for s in sentences:
        groups.setdefault(len(s.words), []).append(s)
    return dict(sorted(groups.items()))


class StructFormerRun:
    def __init__(self, cfg, device: str) -> None:
        if cfg.conv_size % 2 == 0:
            raise ValueError(f"conv_size must be odd, got {cfg.conv_size}")
        self.cfg, self.device = cfg, device
        torch.manual_seed(cfg.seed)
        self.train = _by_length(pcfg.corpus(np.random.default_rng([cfg.seed, 0]), cfg.n_train))
        self.test = _by_length(pcfg.corpus(np.random.default_rng([cfg.seed, 1]), cfg.n_test))
        self.lengths = np.array(list(self.train))
        counts = np.array([len(v) for v in self.train.values()], dtype=float)
        self.length_p = counts / counts.sum()
        self.model = StructFormer(
            pcfg.vocab_size(), cfg.d_model, cfg.n_layers, cfg.n_heads, cfg.parser_layers, cfg.conv_size, cfg.dropout
        ).to(device)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=0.01)

    def _batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.cfg.seed, 2, step])  # depends on (seed, step) only
        pool = self.train[int(rng.choice(self.lengths, p=self.length_p))]
        words = np.array([pool[i].words for i in rng.integers(len(pool), size=self.cfg.batch)])  # (B, L)
        masked = rng.random(words.shape) < self.cfg.mask_rate
        masked[np.arange(len(words)), rng.integers(words.shape[1], size=len(words))] = True  # >= 1 per row
        inputs = np.where(masked, MASK, words)
        targets = np.where(masked, words, -100)
        return torch.as_tensor(inputs, device=self.device), torch.as_tensor(targets, device=self.device)

    def train_step(self, step: int) -> dict[str, float]:
        cfg = self.cfg
        inputs, targets = self._batch(step)
        warm = min(1.0, (step + 1) / 100) * 0.5 * (1 + math.cos(math.pi * min(1.0, step / cfg.steps)))
        for group in self.opt.param_groups:
            group["lr"] = cfg.lr * warm
        self.model.train()
        logits = self.model(inputs)  # (B, L, V)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        return {"loss": optimiser_step(loss, self.model, self.opt)}

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        self.model.eval()
        rng = np.random.default_rng([self.cfg.seed, 3])
        f1 = {"f1": [], "f1_rb": [], "f1_lb": [], "f1_random": []}
        uas, uas_rc = [], []
        for n, sentences in self.test.items():
            tokens = torch.as_tensor([s.words for s in sentences], device=self.device)  # (N, n)
            distance, height, parent = self.model.structure(tokens)
            distance, height, parent = distance.cpu().numpy(), height.cpu().numpy(), parent.cpu().numpy()
            for k, s in enumerate(sentences):
                trees = {
                    "f1": pcfg.spans_from_distances(distance[k, : n - 1]),
                    "f1_rb": pcfg.right_branching(n),
                    "f1_lb": pcfg.left_branching(n),
                    "f1_random": pcfg.random_tree(n, rng),
                }
                for key, spans in trees.items():
                    score = pcfg.span_f1(spans, s.spans)
                    if score is not None:
                        f1[key].append(score)
                pred = parent[k].argmax(-1)
                pred[int(height[k].argmax())] = -1  # the highest word is the root
                uas.append(pcfg.uas(pred, s.parents))
                uas_rc.append(pcfg.uas(pcfg.right_chain(n), s.parents))
        out = {f"val/{key}": 100.0 * float(np.mean(v)) for key, v in f1.items()}
        out["val/f1_best_baseline"] = max(out["val/f1_rb"], out["val/f1_lb"], out["val/f1_random"])
        out["val/uas"] = 100.0 * float(np.mean(uas))
        out["val/uas_right_chain"] = 100.0 * float(np.mean(uas_rc))
        return out

    def state_dict(self) -> dict:
        return training_state(self.model, self.opt)

    def load_state_dict(self, state: dict) -> None:
        load_training_state(state, self.model, self.opt)
