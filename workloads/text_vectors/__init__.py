"""Binary Paragraph Vectors (Grzegorczyk 2019, ch. 3; Grzegorczyk & Kurdziel 2017) at toy scale.

Each training document owns a code h_d ∈ R^B; a sigmoid pushed to {0, 1} (straight-through
rounding or noise injection) gives the bits s(h_d), which predict the document's words with a
softmax over the vocabulary (PV-DBOW). Codes of unseen documents are inferred with the word
decoder frozen; retrieval ranks the training set by Hamming distance. Baselines at the same
number of bits: a semantic-hashing autoencoder on the bag of words, random-projection LSH of
TF-IDF, and a real-valued PV-DBOW (cosine retrieval; the upper bound). The corpus is synthetic
LDA (:mod:`workloads.text_vectors.corpus`), each document labelled by its dominant topic.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    steps: int = Field(400, ge=1, description="Adam steps of batch `batch` documents (lsh: ignored, no training).")
    eval_every: int = Field(200, ge=1, description="Evaluate and report every this many steps.")
    model: Literal["bpv", "pv_real", "autoencoder", "lsh"] = Field(
        "bpv",
        description="'bpv' binary paragraph vector; 'pv_real' real-valued PV-DBOW; 'autoencoder' semantic-hashing "
        "binary autoencoder on the bag of words; 'lsh' sign of Gaussian projections of TF-IDF.",
    )
    bits: int = Field(32, ge=2, description="Code length B (bits, or real dimensions for pv_real).")
    binarize: Literal["ste", "noise"] = Field(
        "ste",
        description="bpv/autoencoder training: 'ste' rounds sigmoid(h) with a straight-through gradient; 'noise' "
        "adds N(0, noise_scale²) before the sigmoid (Salakhutdinov & Hinton). Evaluation always rounds; pv_real ignores it.",
    )
    noise_scale: float = Field(2.0, ge=0, description="Std of the pre-sigmoid noise when binarize = 'noise'.")
    negatives: int = Field(0, ge=0, description="0: full softmax over the vocabulary; k > 0: k negative words per token (unigram^0.75).")
    hidden: int = Field(256, ge=8, description="Autoencoder encoder width (bag of words -> hidden -> bits).")
    lr: float = Field(1.0e-2, gt=0, description="Adam learning rate of the decoder and encoder.")
    code_lr: float = Field(0.1, gt=0, description="Adam learning rate of the per-document codes (bpv, pv_real).")
    batch: int = Field(100, ge=1, description="Documents per step.")
    infer_steps: int = Field(100, ge=1, description="Adam steps that infer the test documents' codes with the decoder frozen.")
    n_docs: int = Field(6000, ge=50, description="Documents drawn before the dominant-topic filter.")
    n_test: int = Field(500, ge=10, description="Test queries (kept documents held out of training).")
    n_topics: int = Field(20, ge=2, description="LDA topics (= labels).")
    vocab: int = Field(2000, ge=20, description="Vocabulary size.")
    doc_len: int = Field(80, ge=5, description="Words per document.")
    alpha: float = Field(0.1, gt=0, description="Dirichlet concentration of the document-topic mixtures.")
    beta: float = Field(0.1, gt=0, description="Dirichlet concentration of the topic-word distributions.")
    min_dominant: float = Field(0.5, ge=0, lt=1, description="Keep documents whose dominant topic's share exceeds this.")
    top_k: int = Field(10, ge=1, description="Precision@k cut-off.")

    @model_validator(mode="after")
    def _sizes_fit(self) -> "Config":
        if self.n_test >= self.n_docs:
            raise ValueError(f"n_test ({self.n_test}) must be below n_docs ({self.n_docs})")
        return self


def build(cfg: Config, device: str):
    """A text-vectors run on ``device``."""
    from workloads.text_vectors.trainer import TextVectors

    return TextVectors(cfg, device)


WORKLOAD = WorkloadDef(
    name="text_vectors",
    title="Vector representations of text data in deep learning",
    arxiv="1901.01695",
    family="applied",
    config=Config,
    build=build,
    metric="val/p10",
    mode="max",
    summary="Synthetic LDA retrieval at 32 bits: binary paragraph vectors vs binary autoencoder, LSH and real PV-DBOW.",
)
