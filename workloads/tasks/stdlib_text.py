"""A character corpus from Python's own standard-library source: text that ships with Python.

Nothing is downloaded: the corpus is the source of a fixed list of pure-Python stdlib modules,
read as bytes, with every byte ≥ 128 mapped to ``?`` so the vocabulary is the 128 ASCII codes.
The text (and so every figure trained on it) depends on the Python version; the module list is
fixed here so that it does not depend on what else is installed.

:func:`corpus` returns the token array; :func:`windows` draws a batch of random windows from a
slice of it with a numpy Generator (seed it from ``(seed, step)``).
"""

from __future__ import annotations

import functools
import importlib.util

import numpy as np

VOCAB = 128

#: pure-Python stdlib modules, in this order (about 1.8 MB of source on Python 3.11)
MODULES = (
    "argparse", "ast", "calendar", "collections", "configparser", "csv", "dataclasses", "datetime",
    "difflib", "email.message", "enum", "fractions", "functools", "gettext", "heapq", "inspect",
    "json.decoder", "json.encoder", "logging", "optparse", "pathlib", "pprint", "random", "shutil",
    "statistics", "string", "subprocess", "tarfile", "textwrap", "threading", "typing", "zipfile",
)


@functools.lru_cache(maxsize=1)
def corpus() -> np.ndarray:
    """The concatenated module sources as int64 token ids in [0, 128); cached per process."""
    parts = []
    for name in MODULES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        with open(spec.origin, "rb") as f:
            parts.append(np.frombuffer(f.read(), dtype=np.uint8))
    data = np.concatenate(parts).astype(np.int64)
    data[data >= VOCAB] = ord("?")
    return data


def split(held_out: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) slices: the last ``held_out`` fraction of the corpus is held out."""
    data = corpus()
    cut = int(len(data) * (1 - held_out))
    return data[:cut], data[cut:]


def windows(rng: np.random.Generator, data: np.ndarray, batch: int, length: int) -> np.ndarray:
    """``batch`` random windows of ``length + 1`` tokens from ``data``: (batch, length + 1) int64."""
    if length + 1 > len(data):
        raise ValueError(f"windows: length {length} exceeds the data ({len(data)} tokens)")
    starts = rng.integers(0, len(data) - length, size=batch)
    idx = starts[:, None] + np.arange(length + 1)[None, :]  # (batch, length + 1)
    return data[idx]
