"""Is the label-free estimate accurate? Estimated against realised AUROC, judged where labels allow.

The realised AUROC of a segment is itself noisy: its labels are draws from each spell's chance
of the outcome, so the same spells with other draws would give another AUROC. Given the rows and
calibrated probabilities q, that spread is the label noise: the standard deviation `s` of the
AUROC over labels simulated as Bernoulli(q) (`label_noise_sd`). The CBPE estimate is the mean of
those draws, so estimated - realised = the estimate's own error + noise of spread s.

The claim "estimated within `tolerance` (0.02) of realised" can only be judged where noise alone
rarely breaks it: a segment is judged when z x s <= tolerance, z = the normal quantile of
1 - level / (2 K) for the K segment x target pairs assessed in the run (Bonferroni), so that
noise alone takes any judged segment of a run outside the tolerance with chance at most `level`
(0.05). Label noise falls as one over the square root of the events, so this is a minimum
segment size in events; docs/monitoring.md gives the figures. A segment below it keeps its
figures and intervals, marked "too small to judge estimate accuracy", never dropped.

Like with like: both sides are computed on the recent rows whose labels have arrived. While many
spells of the window are still in hospital, the labelled ones are the shorter stays, selected by
the outcome itself, and no comparison on them is fair: the check waits until at most
`OPEN_SHARE` of the segment's spells are still open.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import norm

from monitoring.estimate import BOOTSTRAP_ROWS, weighted_auroc

OPEN_SHARE = 0.01  # share of a segment's recent spells still in hospital the check allows
TOO_SMALL = "too small to judge estimate accuracy"
LABELS_PENDING = "labels still arriving: estimate accuracy not judged yet"
NO_REALISED = "too few labelled events for a realised AUROC: " + TOO_SMALL


def label_noise_sd(score: np.ndarray, q: np.ndarray, draws: int, rng: np.random.Generator) -> float:
    """Standard deviation of the AUROC of `score` over `draws` label sets drawn as
    Bernoulli(`q`), on at most `BOOTSTRAP_ROWS` rows (then scaled by sqrt(rows / n), as the
    spread of a mean-like statistic falls)."""
    n = len(score)
    if n < 2 or draws < 2:
        return float("nan")
    rows = np.arange(n) if n <= BOOTSTRAP_ROWS else rng.choice(n, BOOTSTRAP_ROWS, replace=False)
    labels = (rng.random((draws, len(rows))) < q[rows]).astype(float)
    values = weighted_auroc(score[rows], labels, 1 - labels)
    sd = float(np.nanstd(values, ddof=1))
    return sd * float(np.sqrt(len(rows) / n))


def critical_z(level: float, tests: int) -> float:
    """Two-sided normal quantile at family-wise `level` over `tests` comparisons (Bonferroni)."""
    return float(norm.isf(level / (2 * max(1, tests))))


@dataclass(frozen=True)
class EstimateCheck:
    """One segment's estimated-against-realised AUROC and whether it can be judged."""

    estimated: float | None  # CBPE on the labelled rows
    realised: float | None
    sampling_sd: float | None  # label noise of the realised AUROC
    open_share: float
    judged: bool
    within: bool | None  # |difference| <= tolerance, where judged
    note: str | None

    @property
    def difference(self) -> float | None:
        if self.estimated is None or self.realised is None:
            return None
        return self.estimated - self.realised

    def to_dict(self) -> dict[str, Any]:
        """Rounded, for monitor.json."""

        def r(x: float | None) -> float | None:
            return None if x is None or not np.isfinite(x) else round(float(x), 4)

        return {
            "estimated_on_labelled": r(self.estimated),
            "realised": r(self.realised),
            "difference": r(self.difference),
            "sampling_sd": r(self.sampling_sd),
            "open_share": round(self.open_share, 4),
            "judged": self.judged,
            "within_tolerance": self.within,
            "note": self.note,
        }


def check_estimate(
    estimated: float | None,
    realised: float | None,
    sampling_sd: float | None,
    open_share: float,
    tolerance: float,
    z: float,
) -> EstimateCheck:
    """Judge |estimated - realised| <= `tolerance` where label noise (z x sd) allows it."""
    if realised is None or estimated is None:
        return EstimateCheck(estimated, realised, sampling_sd, open_share, False, None, NO_REALISED)
    if open_share > OPEN_SHARE:
        return EstimateCheck(
            estimated, realised, sampling_sd, open_share, False, None, LABELS_PENDING
        )
    if sampling_sd is None or not np.isfinite(sampling_sd) or z * sampling_sd > tolerance:
        return EstimateCheck(estimated, realised, sampling_sd, open_share, False, None, TOO_SMALL)
    within = bool(abs(estimated - realised) <= tolerance)
    return EstimateCheck(estimated, realised, sampling_sd, open_share, True, within, None)


def summary(checks: list[EstimateCheck], tolerance: float, z: float) -> dict[str, Any]:
    """The run's line for monitor.json: how many pairs were judged and how many held."""
    judged = [c for c in checks if c.judged]
    return {
        "tolerance": tolerance,
        "z": round(z, 3),
        "largest_sampling_sd_judged": round(tolerance / z, 5),
        "pairs": len(checks),
        "judged": len(judged),
        "within_tolerance": sum(bool(c.within) for c in judged),
        "not_judged": {
            note: sum(c.note == note for c in checks)
            for note in (TOO_SMALL, LABELS_PENDING, NO_REALISED)
        },
    }
