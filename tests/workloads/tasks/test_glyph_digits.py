import numpy as np

from workloads.tasks.glyph_digits import glyph_digits


def test_glyphs_of_one_class_share_more_ink_than_glyphs_of_different_classes():
    x, y = glyph_digits(np.random.default_rng(0), 400, 16, noise=0.0)
    assert x.shape == (400, 256) and set(np.unique(x)) <= {0.0, 1.0}
    ink = x.sum(1)
    assert ink[y == 8].mean() > ink[y == 1].mean()  # 8 lights all seven segments, 1 only two


def test_glyphs_fit_small_images_and_depend_only_on_the_seed():
    a, la = glyph_digits(np.random.default_rng([1, 2]), 8, 8)
    b, lb = glyph_digits(np.random.default_rng([1, 2]), 8, 8)
    assert a.shape == (8, 64) and np.array_equal(a, b) and np.array_equal(la, lb)
