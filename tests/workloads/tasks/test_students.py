import numpy as np

from workloads.tasks.students import sample_bank, sample_students


def test_students_follow_the_generating_model() -> None:
    rng = np.random.default_rng(0)
    bank = sample_bank(rng, 200, 10)
    assert set(bank.tags.sum(1).tolist()) <= {1, 2} and bank.tags.sum(1).min() == 1
    log = sample_students(rng, bank, 3000, 30)
    assert abs(log.correct.mean() - log.p_correct.mean()) < 0.01
    assert log.correct[:, -10:].mean() > log.correct[:, :10].mean()  # practice raises skills


def test_students_are_seeded_and_tags_are_distinct() -> None:
    bank = sample_bank(np.random.default_rng(3), 50, 4)
    a = sample_students(np.random.default_rng(4), bank, 10, 12)
    b = sample_students(np.random.default_rng(4), bank, 10, 12)
    assert np.array_equal(a.correct, b.correct) and np.array_equal(a.questions, b.questions)
    assert bank.tags.any(1).all()
