import torch

from workloads.icll.ngram import backoff_ngram_probs, ngram_counts
from workloads.icll.trainer import legality_and_tvd
from workloads.testing import WorkloadTestCase


class TestICLL(WorkloadTestCase):
    name = "icll"
    tiny = {"steps": 4, "eval_every": 2, "batch": 8, "seq_len": 24, "eval_prompts": 16, "d_model": 16, "lstm_hidden": 16}


class TestICLLWithNgramHead(TestICLL):
    tiny = {**TestICLL.tiny, "arch": "lstm_ngram"}


def test_ngram_counts_count_continuations_of_the_last_k_tokens() -> None:
    x = torch.tensor([[1, 2, 3, 1, 2, 4, 1, 2]])
    c2 = ngram_counts(x, 2, 5)
    assert c2[0, -1].tolist() == [0, 0, 0, 1, 1]  # (1, 2) was followed by 3 and by 4
    assert c2[0, 4].tolist() == [0, 0, 0, 1, 0]  # at t = 4 only the first (1, 2) -> 3 is past
    assert c2[0, 1].sum() == 0  # (1, 2) not seen before t = 1


def test_ngram_model_is_legal_on_a_repeated_deterministic_string() -> None:
    x = torch.tensor([[0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]])
    truth = torch.zeros(1, 12, 4)
    truth[0, torch.arange(12), (x[0] + 1) % 4] = 1.0  # each symbol is followed by the next
    acc, tvd = legality_and_tvd(backoff_ngram_probs(x, 2, 4), truth)
    assert acc > 0.6  # wrong only before the first repetition
    assert tvd < 0.6


def test_n_gram_head_sees_only_the_past() -> None:
    from workloads.icll.ngram import ngram_features

    x = torch.randint(0, 5, (2, 20), generator=torch.Generator().manual_seed(0))
    y = x.clone()
    y[:, 12:] = (y[:, 12:] + 1) % 5
    torch.testing.assert_close(ngram_features(x, 2, 5)[:, :12], ngram_features(y, 2, 5)[:, :12])
