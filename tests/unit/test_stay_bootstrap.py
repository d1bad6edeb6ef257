"""The stay distribution's bootstrap sums: the dense count matrix's figures without the matrix."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation.bootstrap import bootstrap_sums


def _dense_counts(n: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """How often each replicate draws each row, from one (n_boot, n) draw: the definition."""
    draws = rng.integers(0, n, size=(n_boot, n))
    return np.stack([np.bincount(row, minlength=n) for row in draws]).astype(float)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 300),
    n_boot=st.integers(1, 25),
    k=st.integers(1, 4),
    block_cells=st.sampled_from([1, 7, 64, 1000, 1 << 18]),
    seed=st.integers(0, 2**32 - 1),
)
def test_sums_equal_the_dense_count_matrix_times_the_columns(
    n: int, n_boot: int, k: int, block_cells: int, seed: int
) -> None:
    columns = np.random.default_rng(seed + 1).normal(size=(n, k))
    dense_rng, block_rng = np.random.default_rng(seed), np.random.default_rng(seed)
    expected = _dense_counts(n, n_boot, dense_rng) @ columns
    got = bootstrap_sums(columns, n_boot, block_rng, block_cells=block_cells)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    # the generator is left where one call leaves it: the next figure draws the same rows
    assert dense_rng.integers(0, 1 << 30) == block_rng.integers(0, 1 << 30)


def test_memory_stays_within_a_block_whatever_the_rows() -> None:
    n, n_boot = 200_000, 50
    columns = np.ones((n, 2))
    tracemalloc.start()
    sums = bootstrap_sums(columns, n_boot, np.random.default_rng(0), block_cells=1 << 18)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert sums[:, 0] == pytest.approx(n)  # each replicate draws n rows
    dense_bytes = n_boot * n * 8
    assert peak < dense_bytes / 4, (peak, dense_bytes)
