import numpy as np

from workloads.tasks import bigram_copy


def test_bigram_table_recovers_the_chain_without_copies():
    rng = np.random.default_rng(0)
    chain = bigram_copy.make_chain(rng, vocab=8, concentration=1.0)
    docs = bigram_copy.documents(chain, rng, 400, 64, copy_frac=0.0)
    table = bigram_copy.bigram_table(docs, 8, smoothing=0.0)
    assert np.allclose(table.sum(1), 1.0)
    assert np.abs(table - chain).max() < 0.05


def test_copies_repeat_earlier_spans_at_the_requested_rate():
    rng = np.random.default_rng(1)
    chain = bigram_copy.make_chain(rng, vocab=64, concentration=0.1)
    plain = bigram_copy.documents(chain, np.random.default_rng(2), 50, 96, copy_frac=0.0)
    copied = bigram_copy.documents(chain, np.random.default_rng(2), 50, 96, copy_frac=0.3)
    changed = (plain != copied).mean()
    assert 0.1 < changed <= 0.45
