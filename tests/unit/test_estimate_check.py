"""Judging the label-free estimate against the realised AUROC (issue 14, `monitoring.accuracy`).

Hand-built calibrated data with known answers: labels are drawn from the probabilities, so the
CBPE estimate has no error of its own and every gap to the realised AUROC is label noise.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from monitoring.accuracy import (
    LABELS_PENDING,
    NO_REALISED,
    TOO_SMALL,
    check_estimate,
    critical_z,
    label_noise_sd,
    summary,
)
from monitoring.estimate import BOOTSTRAP_ROWS, weighted_auroc

TOLERANCE = 0.02


def _segment(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.beta(0.8, 5, n)  # calibrated probabilities, about 14% events


def test_label_noise_sd_is_the_spread_of_realised_aurocs_over_redrawn_labels() -> None:
    rng = np.random.default_rng(3)
    p = _segment(rng, 2_000)
    redrawn = [roc_auc_score(rng.random(p.size) < p, p) for _ in range(200)]
    assert label_noise_sd(p, p, 200, np.random.default_rng(4)) == pytest.approx(
        np.std(redrawn), rel=0.2
    )


def test_label_noise_sd_of_a_large_segment_is_scaled_from_its_subset() -> None:
    rng = np.random.default_rng(5)
    p = _segment(rng, 3 * BOOTSTRAP_ROWS)
    redrawn = [roc_auc_score(rng.random(p.size) < p, p) for _ in range(100)]
    got = label_noise_sd(p, p, 200, np.random.default_rng(6))
    assert got == pytest.approx(np.std(redrawn), rel=0.2)
    # without the sqrt(rows / n) scaling it would be the subset's spread, sqrt(3) as large
    assert got < 0.75 * label_noise_sd(p[:BOOTSTRAP_ROWS], p[:BOOTSTRAP_ROWS], 200, rng)


def test_critical_z_is_bonferroni() -> None:
    assert critical_z(0.05, 1) == pytest.approx(1.96, abs=0.01)
    assert critical_z(0.05, 75) == pytest.approx(3.40, abs=0.01)


def test_every_judged_segment_holds_and_small_ones_are_marked_not_dropped() -> None:
    """Segments of 200 to 25,000 spells over 20 seeds: the judged ones are all within the
    tolerance; the small ones often miss it by noise alone, and are marked, not dropped."""
    sizes = [200, 500, 1_500, 5_000, 25_000]
    z = critical_z(0.05, len(sizes))
    checks, misses_small = [], 0
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        for n in sizes:
            p = _segment(rng, n)
            y = (rng.random(n) < p).astype(float)
            realised = float(roc_auc_score(y, p))
            estimated = float(weighted_auroc(p, p[None, :], 1 - p[None, :])[0])
            sd = label_noise_sd(p, p, 100, rng)
            check = check_estimate(estimated, realised, sd, 0.0, TOLERANCE, z)
            checks.append(check)
            assert check.difference == pytest.approx(estimated - realised)
            if check.judged:
                assert check.within, (n, check)
            else:
                assert check.note == TOO_SMALL and check.to_dict()["realised"] is not None
                misses_small += abs(estimated - realised) > TOLERANCE
    judged = [c for c in checks if c.judged]
    assert len(judged) >= 20  # the largest size at least: the rule is not vacuous
    assert misses_small >= 10  # and without it the claim would fail
    doc = summary(checks, TOLERANCE, z)
    assert doc["judged"] == doc["within_tolerance"] == len(judged)
    assert doc["not_judged"][TOO_SMALL] == len(checks) - len(judged)


def test_open_spells_or_missing_labels_are_not_judged() -> None:
    pending = check_estimate(0.80, 0.79, 0.001, 0.2, TOLERANCE, 3.0)
    assert not pending.judged and pending.note == LABELS_PENDING and pending.within is None
    none = check_estimate(None, None, None, 0.0, TOLERANCE, 3.0)
    assert not none.judged and none.note == NO_REALISED
    judged = check_estimate(0.80, 0.83, 0.001, 0.0, TOLERANCE, 3.0)
    assert judged.judged and judged.within is False  # a real miss is reported as one
