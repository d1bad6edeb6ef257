"""Metrics of a length-of-stay distribution (issue 13) on spells some of which are still in
hospital: interval coverage, median error, integrated Brier score, calibration at fixed days and
concordance.

A curve is anything with `survival` (n, 61): column d = P(LOS >= d days), and `quantile(q)` in
days (`models.stay_curve.StayCurves`, or the generator's truth as the oracle).

Censoring. The test period ends while some spells are still in hospital: their stay is only
known to exceed the days stayed so far. Censoring here is administrative: a spell admitted `c`
days before the data's end is followed for `c` days, whatever its stay, so the chance of being
followed for at least t days, G(t), is the share of evaluated spells admitted t or more days
before the end, known exactly from admission times. Each metric asks a yes/no question decided by
a known day (is the stay at least d days? is it inside [p10, p90]?); a spell answers it once
followed to min(stay, that day), with chance G(min(stay, day)). Spells that answer are weighted
by 1 / G(min(stay, day)) and the rest are left out (inverse probability of censoring weighting,
IPCW): unbiased while censoring is independent of the stay, which the end of an extract is,
and while the deciding day can be followed to (a test period a few months long follows every
p90 and the 28-day Brier window; a spell never followed that long cannot answer).

- Coverage of [p10, p90]: a stay inside the interval counts 1, outside 0; a spell still in
  hospital beyond its p90 counts as outside (above), one still in hospital before its p90 waits
  (left out, its weight carried by those who answered). Also the shares below p10 and above p90.
- Integrated Brier score: IPCW Brier score of P(LOS >= d) for d = 1..28 days (four weeks, where
  the 7 and 21-day decisions lie and follow-up is long), averaged with equal weight. The
  reference is a constant curve: the evaluated spells' own IPCW share still in at each day.
- Calibration at 3, 7, 14 and 21 days: per decile of predicted P(LOS >= d), mean predicted vs
  IPCW observed share; its error is the size-weighted mean |observed - predicted|.
- Median error: against the true median when the truth is known; against the observed stay
  (capped at the curve's 60 days, IPCW) always, so real extracts get it too.
- Concordance: Harrell's C between the predicted mean stay within 60 days (sum of the curve over
  days 1..60) and the stay: of pairs where one spell ended before the other's observed stay,
  the share where the one that ended first had the shorter prediction (ties count half).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

HORIZON = 60  # days on a curve (`models.stay_curve.HORIZON`)
CALIBRATION_DAYS = (3, 7, 14, 21)
BRIER_DAYS = 28
INTERVAL = (0.1, 0.9)


class StayCurvesLike(Protocol):
    """What the metrics read from a curve (`models.stay_curve.StayCurves` has both)."""

    @property
    def survival(self) -> np.ndarray: ...

    def quantile(self, q: float) -> np.ndarray: ...


@dataclass(frozen=True)
class Stays:
    """Observed stays of the evaluated spells: `days` in hospital (the whole stay if `ended`, else
    so far), and `follow_up`, days from admission to the data's end (the censoring time)."""

    days: np.ndarray
    ended: np.ndarray
    follow_up: np.ndarray

    @classmethod
    def from_admissions(cls, admissions: pd.DataFrame, as_of: pd.Timestamp | None = None) -> Stays:
        """From admission and discharge times; `as_of` is the data's end (default: the latest
        admission or discharge time in `admissions`)."""
        admitted = pd.to_datetime(admissions["admission_datetime"])
        discharged = pd.to_datetime(admissions["discharge_datetime"])
        end = as_of if as_of is not None else max(admitted.max(), discharged.max())
        day = pd.Timedelta(days=1)
        follow_up = ((end - admitted) / day).to_numpy(float)
        ended = discharged.notna().to_numpy()
        days = np.where(ended, ((discharged - admitted) / day).to_numpy(float), follow_up)
        if (follow_up < 0).any() or (days < 0).any():
            raise ValueError(
                "a spell is admitted after the data's end or discharged before admission"
            )
        return cls(days, ended, np.maximum(follow_up, days))

    def followed(self, t: np.ndarray | float) -> np.ndarray:
        """G(t): the share of spells followed for at least t days (t per spell or one for all)."""
        ordered = np.sort(self.follow_up)
        at_least = len(ordered) - np.searchsorted(ordered, np.asarray(t, dtype=float), "left")
        return np.asarray(at_least / max(len(ordered), 1), dtype=float)

    def weights(self, day: np.ndarray | float) -> np.ndarray:
        """IPCW weight of each spell for a question decided by `day`: 1 / G(min(stay, day)) if
        the spell answers it (ended, or still in beyond `day`), else 0."""
        decided_at = np.minimum(self.days, day)
        answers = self.ended | (self.days >= day)
        g = self.followed(decided_at)
        return np.where(answers & (g > 0), 1.0 / np.where(g > 0, g, 1.0), 0.0)


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    """Weighted mean; NaN without weight."""
    total = float(weights.sum())
    return float((values * weights).sum() / total) if total > 0 else float("nan")


@dataclass(frozen=True)
class PerSpell:
    """Per-spell values and IPCW weights a metric averages (groups and bootstrap reuse them)."""

    inside: np.ndarray
    below: np.ndarray
    above: np.ndarray
    coverage_weight: np.ndarray
    error_observed: np.ndarray
    error_observed_weight: np.ndarray
    error_true: np.ndarray | None


def per_spell(
    curves: StayCurvesLike, stays: Stays, true_median: np.ndarray | None = None
) -> PerSpell:
    """Interval membership and median errors per spell, with their weights."""
    lo, hi = (np.asarray(curves.quantile(q), dtype=float) for q in INTERVAL)
    median = np.asarray(curves.quantile(0.5), dtype=float)
    t = stays.days
    below = stays.ended & (t < lo)
    above = (t > hi) | (~stays.ended & (t >= hi))  # still in at its p90: known to be above
    capped = np.minimum(t, HORIZON)
    return PerSpell(
        inside=(~below & ~above).astype(float),
        below=below.astype(float),
        above=above.astype(float),
        coverage_weight=stays.weights(hi),
        error_observed=np.abs(np.minimum(median, HORIZON) - capped),
        error_observed_weight=stays.weights(float(HORIZON)),
        error_true=None if true_median is None else np.abs(median - true_median),
    )


def brier_scores(survival: np.ndarray, stays: Stays, days: range) -> np.ndarray:
    """IPCW Brier score of P(LOS >= d) for each d in `days`."""
    scores = []
    for d in days:
        still_in = (stays.days >= d).astype(float)
        scores.append(weighted_mean((still_in - survival[:, d]) ** 2, stays.weights(float(d))))
    return np.array(scores)


def integrated_brier(survival: np.ndarray, stays: Stays) -> tuple[float, float]:
    """(integrated Brier score of the curves, of the constant reference curve), d = 1..28."""
    days = range(1, BRIER_DAYS + 1)
    marginal = np.array(
        [weighted_mean((stays.days >= d).astype(float), stays.weights(float(d))) for d in days]
    )
    constant = np.ones((len(stays.days), BRIER_DAYS + 1))
    constant[:, 1:] = marginal
    return (
        float(brier_scores(survival, stays, days).mean()),
        float(brier_scores(constant, stays, days).mean()),
    )


@dataclass(frozen=True)
class HorizonCalibration:
    """Calibration of P(LOS >= `day`): overall and per decile of the prediction."""

    day: int
    mean_predicted: float
    observed: float
    calibration_error: float
    points: list[dict[str, float]]

    def to_dict(self) -> dict[str, object]:
        return {
            "mean_predicted": self.mean_predicted,
            "observed": self.observed,
            "calibration_error": self.calibration_error,
            "points": self.points,
        }


def calibration_at(
    survival: np.ndarray, stays: Stays, day: int, bins: int = 10
) -> HorizonCalibration:
    """Predicted P(LOS >= day) against the IPCW observed share, per quantile bin of the
    prediction (spells whose answer is not known yet count through the weights)."""
    p = survival[:, day]
    y = (stays.days >= day).astype(float)
    w = stays.weights(float(day))
    order = np.argsort(p, kind="stable")
    points, error = [], 0.0
    for chunk in np.array_split(order, min(bins, max(len(order), 1))):
        if len(chunk) and w[chunk].sum() > 0:
            predicted, observed = float(p[chunk].mean()), weighted_mean(y[chunk], w[chunk])
            points.append({"predicted": predicted, "observed": observed, "n": len(chunk)})
            error += len(chunk) * abs(observed - predicted)
    return HorizonCalibration(
        day=day,
        mean_predicted=float(p.mean()),
        observed=weighted_mean(y, w),
        calibration_error=error / max(sum(int(pt["n"]) for pt in points), 1),
        points=points,
    )


def predicted_mean_stay(survival: np.ndarray) -> np.ndarray:
    """Mean stay within the curve's 60 days: sum over d = 1..60 of P(LOS >= d)."""
    return survival[:, 1:].sum(axis=1)


def concordance(score: np.ndarray, stays: Stays) -> float:
    """Harrell's C of a predicted stay length against observed stays (censored spells included
    as the longer member of a pair). O(n log n): a Fenwick tree over the ranks of the scores."""
    score = np.asarray(score, dtype=float)
    ranks = np.unique(score, return_inverse=True)[1] + 1
    size = int(ranks.max(initial=0))
    tree = np.zeros(size + 1, dtype=np.int64)

    def add(i: int) -> None:
        while i <= size:
            tree[i] += 1
            i += i & -i

    def at_most(i: int) -> int:
        total = 0
        while i > 0:
            total += int(tree[i])
            i -= i & -i
        return total

    # longest first; spells with the same observed stay enter together, after they are scored
    order = np.argsort(-stays.days, kind="stable")
    days, ended = stays.days[order], stays.ended[order]
    r = ranks[order]
    concordant = tied = pairs = 0.0
    inserted = 0
    starts = np.flatnonzero(np.r_[True, days[1:] != days[:-1]])
    for start, stop in zip(starts, [*starts[1:], len(days)], strict=True):
        for k in range(start, stop):
            if ended[k]:  # pairs with every longer observed stay already in the tree
                below, up_to = at_most(int(r[k]) - 1), at_most(int(r[k]))
                concordant += inserted - up_to
                tied += up_to - below
                pairs += inserted
        for k in range(start, stop):
            add(int(r[k]))
        inserted += stop - start
    return float((concordant + 0.5 * tied) / pairs) if pairs else float("nan")
