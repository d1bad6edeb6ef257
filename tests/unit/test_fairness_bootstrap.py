"""The fairness bootstrap counted per distinct score level, in blocks of replicates (issue 17,
goal 1): the same intervals as the row-by-row count matrix it replaced, for the same seed."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from evaluation.bootstrap import Levels, bootstrap_auroc
from evaluation.fairness import _calibration_bins, _group_stats
from tests.fairness_sample import TIED_FIXTURE, differences, sample_document


def _dense_replicates(
    y: np.ndarray, p: np.ndarray, flagged: np.ndarray, expected_miss: np.ndarray,
    bins: np.ndarray, n_boot: int, seed: int,
) -> dict[str, np.ndarray]:  # fmt: skip
    """The replicates as the code at a1e7955 computed them: one (n_boot, n) matrix of how often
    each row is drawn, and every statistic a product of that matrix with a per-row vector."""
    rng = np.random.default_rng(seed)
    n = len(y)
    draws = rng.integers(0, n, size=(n_boot, n)) + n * np.arange(n_boot)[:, None]
    counts = np.bincount(draws.ravel(), minlength=n_boot * n).reshape(n_boot, n).astype(float)
    onehot = np.eye(bins.max() + 1)[bins]
    obs, pred = counts @ (onehot * y[:, None]), counts @ (onehot * p[:, None])
    missed = y * ~flagged

    def ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)

    return {
        "auroc": bootstrap_auroc(y, p, counts),
        "fnr": ratio(counts @ missed, counts @ y),
        "smr": ratio(counts @ missed, counts @ expected_miss),
        "oe": ratio(counts @ y, counts @ p),
        "calibration_error": np.abs(obs - pred).sum(axis=1) / counts.sum(axis=1),
    }


def _group(n: int, decimals: int | None, seed: int = 11) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    p = rng.beta(2, 5, n)
    if decimals is not None:
        p = np.round(p, decimals)
    y = (rng.random(n) < p).astype(float)
    flagged = p >= 0.3
    expected_miss = np.where(y == 1, rng.choice([0.2, 0.35, 0.5], n), 0.0)
    bins = _calibration_bins(p, 10, 30)
    return y, p, flagged, expected_miss, bins


@pytest.mark.parametrize(
    ("n", "decimals", "block_cells"),
    [(2_000, 2, 1 << 22), (2_000, 2, 4_999), (1_500, None, 3_000), (60, 1, 100), (1, None, 7)],
)
def test_replicates_equal_the_row_by_row_count_matrix(
    n: int, decimals: int | None, block_cells: int
) -> None:
    """Tied and distinct scores, one block and many blocks (including a block of one
    replicate), down to a one-row group: AUROC and FNR replicates identical (integer counts),
    the others equal to 1e-12."""
    y, p, flagged, expected_miss, bins = _group(n, decimals)
    n_boot = 37
    before = _dense_replicates(y, p, flagged, expected_miss, bins, n_boot, seed=5)
    rng = np.random.default_rng(5)
    _, after = _group_stats(y, p, flagged, expected_miss, bins, n_boot, rng, block_cells)
    for name, expected in before.items():
        got = getattr(after, name)
        assert got.shape == (n_boot,)
        if name in ("auroc", "fnr"):
            np.testing.assert_array_equal(got, expected, err_msg=name)
        else:
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0, err_msg=name)
    # the generator is left where the dense draw left it: the next group draws the same rows
    dense_rng = np.random.default_rng(5)
    dense_rng.integers(0, n, size=(n_boot, n))
    assert rng.integers(0, 1 << 30) == dense_rng.integers(0, 1 << 30)


def test_tied_scores_are_counted_per_level() -> None:
    """2,000 rows with two-decimal scores collapse to far fewer keys, and the key table rebuilds
    every row (so the per-key sums are the per-row sums)."""
    y, p, flagged, expected_miss, bins = _group(2_000, 2)
    levels = Levels.of(y, p, flagged, expected_miss, bins)
    assert len(levels.y) < 400
    np.testing.assert_array_equal(levels.p[levels.key], p)
    np.testing.assert_array_equal(levels.y[levels.key], y)
    np.testing.assert_array_equal(levels.expected_miss[levels.key], expected_miss)
    np.testing.assert_array_equal(levels.bin[levels.key], bins)
    np.testing.assert_array_equal(levels.missed[levels.key], y * ~flagged)
    # negatives' keys first, each class ordered by score, so the running count of negatives
    # below each positive key is a prefix of the negative keys
    neg, pos = slice(0, levels.n_neg), slice(levels.n_neg, None)
    assert np.all(levels.y[neg] == 0) and np.all(levels.y[pos] == 1)
    assert np.all(np.diff(levels.p[neg]) >= 0) and np.all(np.diff(levels.p[pos]) >= 0)
    for k in range(levels.n_neg, len(levels.y)):
        j = k - levels.n_neg
        assert levels.below[j] == np.sum(levels.p[neg] < levels.p[k])
        assert levels.level[j] == np.sum(levels.p[neg] <= levels.p[k])


def test_bins_out_of_score_order_are_refused() -> None:
    """The per-bin sums read each bin as a run of keys in score order: bins that do not rise
    with the score are refused, not summed wrongly."""
    y, p, flagged, expected_miss, bins = _group(200, None)
    with pytest.raises(ValueError, match="rise with the score"):
        Levels.of(y, p, flagged, expected_miss, bins.max() - bins)


def test_metrics_json_with_tied_scores_is_the_dense_bootstraps() -> None:
    """The seeded sample with scores rounded to two decimals: metrics.json equal (1e-9) to the
    one the dense count-matrix bootstrap wrote (tests/fixtures/, written at a1e7955); the
    untied sample is held by test_fairness_types against its own fixture."""
    before: dict[str, Any] = json.loads(TIED_FIXTURE.read_text())
    after = sample_document(decimals=2)
    assert differences(before, after) == []
    cis = [
        row["auroc_ci"]
        for block in after.values()
        for table in block["groups"].values()
        for row in table.values()
        if not row["suppressed"]
    ]
    assert cis and all(lo is not None and lo < hi for lo, hi in cis)


@pytest.mark.parametrize("decimals", [2, None])
def test_point_auroc_from_key_totals_is_sklearns(decimals: int | None) -> None:
    """A group's point AUROC is read from its keys drawn once each (the replicates' formula,
    ties as half): scikit-learn's value to 1e-12, with tied and with distinct scores."""
    y, p, flagged, expected_miss, bins = _group(3_000, decimals)
    stats, _ = _group_stats(y, p, flagged, expected_miss, bins, 5, np.random.default_rng(1))
    assert stats.auroc == pytest.approx(roc_auc_score(y, p), rel=1e-12)
    one_class, _ = _group_stats(
        np.zeros(50), p[:50], flagged[:50], expected_miss[:50] * 0, bins[:50] * 0, 5,
        np.random.default_rng(1),
    )  # fmt: skip
    assert np.isnan(one_class.auroc)
