"""The monitor's statistics on hand-built data with known answers (issue 14)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from monitoring.drift import compare_counts, drift, fit_binning
from monitoring.estimate import (
    Bootstrap,
    Recalibrator,
    apply_recalibration,
    expected_auroc,
    segment_recalibration,
    weighted_auroc,
)
from monitoring.realised import CensoringBaseline, observed_expected


def test_weighted_auroc_with_zero_one_weights_is_the_auroc() -> None:
    rng = np.random.default_rng(0)
    y = rng.random(500) < 0.3
    s = np.round(rng.random(500) + 0.4 * y, 2)  # ties included
    got = weighted_auroc(s, y[None, :].astype(float), (~y)[None, :].astype(float))[0]
    assert got == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_expected_auroc_of_calibrated_probabilities_matches_the_realised() -> None:
    rng = np.random.default_rng(1)
    p = rng.beta(0.8, 5, 40_000)
    y = rng.random(p.size) < p  # outcomes drawn from p: calibrated by construction
    est, (lo, hi) = expected_auroc(p, p, Bootstrap(50, rng))
    assert abs(est - roc_auc_score(y, p)) < 0.01
    assert lo is not None and hi is not None and lo < est < hi


def test_recalibration_on_the_reference_removes_a_known_miscalibration() -> None:
    rng = np.random.default_rng(2)
    truth = rng.beta(1, 6, 30_000)
    y = rng.random(truth.size) < truth
    shown = np.clip(truth * 1.8, 0, 1)  # a model that doubles every risk
    fixed = Recalibrator().fit(shown, y).transform(shown)
    assert abs(fixed.mean() - y.mean()) < 0.005
    plain, _ = expected_auroc(shown, shown)
    recal, _ = expected_auroc(fixed, shown)
    realised = roc_auc_score(y, shown)
    assert abs(recal - realised) < abs(plain - realised)


def test_psi_is_small_and_insignificant_for_one_distribution_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(3)
    ref = rng.normal(5, 2, 20_000)
    b = fit_binning(ref, "number", 10)
    same, moved = rng.normal(5, 2, 2_000), rng.normal(3, 1, 2_000)
    calm = drift(b, b.codes(ref), b.codes(same), ref, same)
    shifted = drift(b, b.codes(ref), b.codes(moved), ref, moved)
    assert calm.psi < 0.02 and calm.p_value > 1e-3
    assert shifted.psi > 0.5 and shifted.p_value < 1e-12 and shifted.distance > 0.8


def test_missing_values_and_unseen_levels_have_bins_of_their_own() -> None:
    b = fit_binning(np.array(["a", "b", "a", None, "b"], dtype=object), "category")
    codes = b.codes(np.array(["a", "zz", None, "b"], dtype=object))
    assert b.levels == ("a", "b") and list(codes) == [0, 2, 3, 1]
    n = fit_binning(np.array([1.0, 2, 3, np.nan]), "number", 2)
    assert n.codes(np.array([np.nan]))[0] == n.size - 1
    # a field that stops being recorded drifts
    ref = np.r_[np.ones(900), np.full(100, np.nan)]
    psi, p = compare_counts(
        np.bincount(n.codes(ref), minlength=n.size),
        np.bincount(n.codes(np.full(300, np.nan)), minlength=n.size),
    )
    assert psi > 1 and p < 1e-10


def test_small_segments_rarely_drift_by_chance() -> None:
    """PSI over the threshold alone fires often at n = 100; with the significance check at a
    per-test level it fires at about that level."""
    rng = np.random.default_rng(4)
    ref = rng.normal(0, 1, 50_000)
    b = fit_binning(ref, "number", 10)
    ref_codes = b.codes(ref)
    psi_only = flagged = 0
    for _ in range(400):
        d = drift(b, ref_codes, b.codes(rng.normal(0, 1, 100)))
        psi_only += d.psi >= 0.1
        flagged += d.psi >= 0.1 and d.p_value < 0.01
    assert psi_only > 100 and flagged <= 12


def _stays(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spells whose outcome lengthens the stay (as NCTR does): p, label, stay in days."""
    p = rng.beta(1, 8, n)
    y = (rng.random(n) < p).astype(float)
    stay = rng.exponential(np.where(y == 1, 14.0, 4.0))
    return p, y, stay


def test_censoring_matched_expectation_keeps_observed_expected_at_one() -> None:
    rng = np.random.default_rng(5)
    p_ref, y_ref, stay_ref = _stays(rng, 60_000)
    p, y, stay = _stays(rng, 20_000)
    age = rng.uniform(0, 28, p.size)  # admitted up to 4 weeks before the extract ends
    labelled = stay < age
    naive = observed_expected(y[labelled], p[labelled])
    k = CensoringBaseline.fit(stay_ref, y_ref, p_ref).ratio(age[labelled])
    matched = observed_expected(y[labelled], p[labelled] * k)
    assert naive.ratio is not None and naive.ratio < 0.75  # ended spells are the short ones
    assert matched.ratio == pytest.approx(1.0, abs=0.08) and matched.p_value > 0.001


def test_observed_expected_flags_twice_the_events() -> None:
    rng = np.random.default_rng(6)
    p = rng.beta(1, 10, 3_000)
    y = rng.random(p.size) < np.minimum(2 * p, 1)
    oe = observed_expected(y.astype(float), p)
    assert oe.ratio is not None and 1.7 < oe.ratio < 2.3 and oe.p_value < 1e-10


def test_a_segment_baseline_is_shrunk_towards_the_whole_reference() -> None:
    whole = CensoringBaseline.fit(np.array([1.0, 2, 3]), np.array([1.0, 0, 1]), np.full(3, 0.5))
    tiny = CensoringBaseline.fit(np.array([1.0]), np.array([1.0]), np.array([0.01]))
    k = tiny.ratio(np.array([10.0]), prior=whole)
    assert 1.0 < k[0] < 1.5  # the tiny segment's own ratio (100) barely moves it
    assert pd.notna(k).all()


def test_segment_recalibration_corrects_a_segment_whose_risks_are_too_spread() -> None:
    """Within a segment the model's risks spread twice as wide as the truth: the plain estimate
    overstates its AUROC; refitted on the segment's reference it matches the realised one."""
    rng = np.random.default_rng(7)
    logit = rng.normal(-2, 1.2, 60_000)
    q = 1 / (1 + np.exp(-logit))
    truth = 1 / (1 + np.exp(-(-1.8 + 0.5 * logit)))
    y = (rng.random(q.size) < truth).astype(float)
    ref, new = slice(0, 30_000), slice(30_000, None)
    coef = segment_recalibration(q[ref], y[ref])
    assert coef[1] == pytest.approx(0.5, abs=0.05)
    realised = roc_auc_score(y[new], q[new])
    plain, _ = expected_auroc(q[new], q[new])
    fitted, _ = expected_auroc(apply_recalibration(q[new], coef), q[new])
    assert plain - realised > 0.05
    assert abs(fitted - realised) < 0.02  # the realised AUROC itself has sd ~0.006 here
