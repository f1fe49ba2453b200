"""Sequence to Sequence Learning with Neural Networks (Sutskever, Vinyals, Le 2014).

A deep LSTM encoder reads the source (reversed, the paper's trick) into its final (h, c); a
deep LSTM decoder started from that state emits the target, with no attention. Trained with
teacher forcing; decoded greedily and with left-to-right beam search.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from workloads import checks
from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    steps: int = Field(1000, ge=1, description="Adam steps (batches).")
    eval_every: int = Field(500, ge=1, description="Evaluate every this many steps.")
    reverse: bool = Field(True, description="Feed the source to the encoder reversed (the paper's trick).")
    words: int = Field(30, ge=2, description="Word vocabulary of source and target (plus PAD/BOS/EOS).")
    min_len: int = Field(4, ge=1, description="Shortest source sentence.")
    max_len: int = Field(8, ge=1, description="Longest source sentence.")
    swap_pairs: bool = Field(True, description="Target swaps adjacent word pairs (local reordering).")
    lexicon_seed: int = Field(0, description="Seeds the word-for-word lexicon (the task; fixed across run seeds).")
    layers: int = Field(2, ge=1, description="LSTM layers in encoder and decoder.")
    hidden: int = Field(128, ge=1, description="LSTM width.")
    emb: int = Field(64, ge=1, description="Word embedding width.")
    lr: float = Field(3.0e-3, gt=0, description="Adam learning rate.")
    batch: int = Field(64, ge=1, description="Sentence pairs per step (one length per batch).")
    clip: float = Field(5.0, gt=0, description="Gradient-norm clipping threshold (paper: 5).")
    beam: int = Field(2, ge=1, description="Beam width for the beam-search metrics.")
    eval_per_length: int = Field(64, ge=1, description="Held-out sentences per source length.")

    @model_validator(mode="after")
    def _lengths_ordered(self) -> "Config":
        checks.at_most(self, "min_len", "max_len", why="source lengths are drawn from [min_len, max_len]")
        return self


def build(cfg: Config, device: str):
    from workloads.seq2seq.model import Seq2SeqRun

    return Seq2SeqRun(cfg, device)


WORKLOAD = WorkloadDef(
    name="seq2seq",
    title="Sequence to Sequence Learning with Neural Networks",
    arxiv="1409.3215",
    family="foundation",
    config=Config,
    build=build,
    metric="val/token_acc",
    mode="max",
    summary="Deep LSTM encoder-decoder without attention; reversing the source on a toy translation task.",
)
