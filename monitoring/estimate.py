"""Performance estimated without labels (confidence-based performance estimation, CBPE).

With calibrated probabilities p, a row is a case with probability p and a non-case with 1 - p.
Weighting each row by p as a positive and by 1 - p as a negative, the AUROC of those weights is
the AUROC the model is expected to reach (the expected ROC curve swept over all thresholds).
Calibration first: as NannyML's CBPE does, the probabilities are recalibrated on the labelled
reference (isotonic), so a small miscalibration already present there is not read as change; and
within a segment whose reference holds enough events, a logit intercept and slope refitted on
that segment's reference rows (a segment's spread of risk can differ from the population's, and
the expected AUROC depends on it).

Assumption (stated in monitor.json and monitor.html): the model stays calibrated in the segment,
i.e. P(outcome | inputs) has not changed. The estimate sees changes in who is admitted (the mix
of inputs) but it cannot see a change in the outcome given the inputs, such as a care market
tightening at a site: only the labels show that (`monitoring.realised`).

The expected calibration error has no labels to compare with; it is the reference's calibration
gap per score bin, weighted by how many recent rows fall in each bin: it rises when recent scores
move where the model was poorly calibrated on the reference.

Intervals: Poisson bootstrap (each row drawn Poisson(1) times per replicate), percentile 95%.
A segment larger than `BOOTSTRAP_ROWS` is bootstrapped on a random subset of that size and the
spread of its replicates around their centre shrunk by sqrt(subset / n) (the spread of a mean-like
statistic falls as one over the square root of n): the same interval to a few per cent, at a
fixed cost however many spells there are.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.isotonic import IsotonicRegression

BOOTSTRAP_ROWS = 8_000
ASSUMPTION = (
    "Estimated performance assumes the model stays calibrated in each segment: that the chance "
    "of the outcome given the inputs has not changed. It sees changes in who is admitted, not a "
    "change in outcomes for the same patients (e.g. fewer care-home places): realised figures "
    "on arriving labels are needed for that."
)


def weighted_auroc(score: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """AUROC of rows weighted as positives by `pos` and as negatives by `neg` ((k, n) each, one
    replicate per row), ties counted as half; NaN when a replicate has no weight on a side."""
    order = np.argsort(score, kind="stable")
    s, wp, wn = score[order], pos[:, order], neg[:, order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    if len(starts) < len(s):
        wp, wn = np.add.reduceat(wp, starts, axis=1), np.add.reduceat(wn, starts, axis=1)
    below = np.cumsum(wn, axis=1) - wn
    pairs = wp.sum(axis=1) * wn.sum(axis=1)
    wins = (wp * (below + 0.5 * wn)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, wins / np.where(pairs > 0, pairs, 1), np.nan)


class Bootstrap:
    """Poisson(1) draw counts for `replicates` bootstrap replicates, drawn once for
    `BOOTSTRAP_ROWS` rows and shared by every segment of a run (each segment's interval uses
    its own rows; that replicates line up across segments does not matter)."""

    def __init__(self, replicates: int, rng: np.random.Generator) -> None:
        self.replicates, self.rng = replicates, rng
        self._counts = rng.poisson(1.0, size=(replicates, BOOTSTRAP_ROWS)).astype(float)

    def weights(self, n: int) -> np.ndarray:
        """(replicates, n) draw counts, n <= `BOOTSTRAP_ROWS`."""
        return self._counts[:, :n]


def interval(replicates: np.ndarray) -> list[float | None]:
    """Percentile 95% interval of the finite replicates; [None, None] when too few."""
    finite = replicates[np.isfinite(replicates)]
    if len(finite) < max(10, len(replicates) // 2):
        return [None, None]
    lo, hi = np.percentile(finite, [2.5, 97.5])
    return [float(lo), float(hi)]


class Recalibrator:
    """Isotonic map from a model's probabilities to the reference's observed rates."""

    def fit(self, p: np.ndarray, y: np.ndarray) -> Recalibrator:
        """Fit on labelled reference rows; fewer than 2 classes leaves p as it is."""
        self.iso_: IsotonicRegression | None = None
        if len(np.unique(y)) == 2:
            self.iso_ = IsotonicRegression(y_min=1e-6, y_max=1 - 1e-6, out_of_bounds="clip")
            self.iso_.fit(p, y)
        return self

    def transform(self, p: np.ndarray) -> np.ndarray:
        """Recalibrated probabilities."""
        if self.iso_ is None:
            return np.asarray(p, dtype=float)
        return np.asarray(self.iso_.predict(p), dtype=float)


def segment_recalibration(q: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Intercept and slope of logit P(y) on logit q in one segment's labelled reference rows
    (logistic regression by Newton steps): how a segment's spread of risk differs from the
    whole population's, which its expected AUROC depends on."""
    x = np.log(q / (1 - q))
    beta = np.array([0.0, 1.0])
    design = np.column_stack([np.ones_like(x), x])
    for _ in range(25):
        mu = 1 / (1 + np.exp(-(design @ beta)))
        hessian = design.T @ (design * (mu * (1 - mu))[:, None]) + 1e-6 * np.eye(2)
        step = np.linalg.solve(hessian, design.T @ (y - mu))
        beta = beta + step
        if np.abs(step).max() < 1e-8:
            break
    return float(beta[0]), float(beta[1])


def apply_recalibration(q: np.ndarray, coef: tuple[float, float]) -> np.ndarray:
    """Probabilities `q` moved by a segment's (intercept, slope) on the logit scale."""
    x = np.log(q / (1 - q))
    return 1 / (1 + np.exp(-(coef[0] + coef[1] * x)))


def bootstrap_interval(
    statistic: Callable[[np.ndarray, np.ndarray], np.ndarray],
    n: int,
    point: float,
    boot: Bootstrap | None,
) -> list[float | None]:
    """95% interval of `statistic(rows, weights)` (one value per row of `weights`) around
    `point`, on at most `BOOTSTRAP_ROWS` rows (then rescaled, see the module doc)."""
    if boot is None or boot.replicates <= 0 or n < 2 or not np.isfinite(point):
        return [None, None]
    rows = np.arange(n)
    if n > BOOTSTRAP_ROWS:
        rows = boot.rng.choice(n, BOOTSTRAP_ROWS, replace=False)
    values = statistic(rows, boot.weights(len(rows)))
    lo, hi = interval(values)
    if lo is None or hi is None:
        return [None, None]
    if len(rows) == n:
        return [lo, hi]
    centre, scale = float(np.nanmedian(values)), np.sqrt(len(rows) / n)
    return [point - (centre - lo) * scale, point + (hi - centre) * scale]


def expected_auroc(
    p: np.ndarray, score: np.ndarray, boot: Bootstrap | None = None
) -> tuple[float, list[float | None]]:
    """CBPE AUROC of calibrated probabilities `p` for a model ranking by `score`, with its
    bootstrap interval (none without `boot`)."""
    point = float(weighted_auroc(score, p[None, :], 1 - p[None, :])[0])

    def statistic(rows: np.ndarray, w: np.ndarray) -> np.ndarray:
        return weighted_auroc(score[rows], w * p[rows], w * (1 - p[rows]))

    return point, bootstrap_interval(statistic, len(p), point, boot)


def calibration_gaps(p: np.ndarray, y: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Reference quantile-bin edges of p and |observed - predicted| in each bin."""
    edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)[1:-1]))
    idx = np.searchsorted(edges, p, side="right")
    k = len(edges) + 1
    n = np.bincount(idx, minlength=k)
    obs = np.bincount(idx, weights=y, minlength=k)
    pred = np.bincount(idx, weights=p, minlength=k)
    gaps = np.abs(obs - pred) / np.maximum(n, 1)
    return edges, gaps


def expected_calibration_error(p: np.ndarray, edges: np.ndarray, gaps: np.ndarray) -> float:
    """The reference's per-bin calibration gap, weighted by the recent rows in each bin."""
    if not len(p):
        return float("nan")
    idx = np.searchsorted(edges, p, side="right")
    return float(np.mean(gaps[idx]))
