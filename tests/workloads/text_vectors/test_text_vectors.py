import numpy as np
import torch

from workloads.testing import WorkloadTestCase
from workloads.text_vectors.corpus import sample_corpus, split
from workloads.text_vectors.model import binarize
from workloads.text_vectors.retrieval import hamming, precision_at_k

TINY = {"n_docs": 300, "n_test": 40, "vocab": 100, "n_topics": 4, "doc_len": 30, "bits": 8, "batch": 20,
        "infer_steps": 10, "steps": 4, "eval_every": 2}


class TestBPV(WorkloadTestCase):
    name = "text_vectors"
    tiny = TINY
    objective_probe = "val/test_loss"


class TestAutoencoderNoise(WorkloadTestCase):
    name = "text_vectors"
    tiny = {**TINY, "model": "autoencoder", "binarize": "noise"}
    objective_probe = "val/test_loss"


def test_kept_documents_are_mostly_about_their_label_topic() -> None:
    corpus = sample_corpus(np.random.default_rng(0), 400, n_topics=5, vocab=200, doc_len=60, beta=0.01)
    best = (corpus.counts @ np.log(corpus.topics.T + 1e-12)).argmax(1)  # topic that explains the words best
    assert (best == corpus.labels).mean() > 0.9
    train, test = split(corpus, 50)
    assert len(test.labels) == 50 and len(train.labels) == len(corpus.labels) - 50


def test_straight_through_rounds_forward_and_passes_the_sigmoid_gradient() -> None:
    h = torch.tensor([-2.0, 0.5, 3.0], requires_grad=True)
    bits = binarize(h, "ste")
    assert bits.tolist() == [0.0, 1.0, 1.0]
    bits.sum().backward()
    sig = torch.sigmoid(h.detach())
    torch.testing.assert_close(h.grad, sig * (1 - sig))


def test_hamming_precision_finds_identical_codes() -> None:
    db = np.array([[0, 0, 1], [1, 1, 0], [0, 0, 1], [1, 1, 1]])
    dist = hamming(np.array([[0, 0, 1]]), db)
    assert dist.tolist() == [[0.0, 3.0, 0.0, 2.0]]
    assert precision_at_k(dist, np.array([1]), np.array([1, 0, 1, 0]), k=2) == 1.0


def test_bpv_codes_retrieve_far_above_chance() -> None:
    from orchestrator.registry import load

    wl = load("text_vectors")
    inst = wl.build(wl.make_config({**TINY, "n_docs": 800, "steps": 150, "binarize": "noise", "infer_steps": 50}), "cpu")
    for step in range(150):
        inst.train_step(step)
    out = inst.evaluate()
    assert out["val/p10"] > 2 * out["val/chance"]
