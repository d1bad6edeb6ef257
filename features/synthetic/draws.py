"""Sampling helpers shared by the synthetic generator's steps."""

from __future__ import annotations

import numpy as np


def categorical(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One draw per row of a (rows, categories) weight matrix."""
    cum = np.cumsum(weights, axis=1)
    return (rng.random(len(cum)) * cum[:, -1] > cum[:, :-1].T).sum(axis=0)


def blank(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """`values` as objects, None where `missing` (not recorded)."""
    out = values.astype(object).copy()
    out[missing] = None
    return out
