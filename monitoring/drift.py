"""Input and score drift: population stability index (PSI) with a significance check.

Each input is cut into bins fixed on the reference: a category's levels (rare ones pooled as
"other"), or a number's reference deciles; missing values are a bin of their own in both, so a
site that stops recording a field drifts too. PSI = sum (r - q) ln(r / q) over the bins, with
half a count added to every bin so an empty bin stays finite. Common reading: < 0.1 stable,
0.1-0.25 some change, > 0.25 a real shift (`MonitoringConfig.psi_threshold`, 0.2 by default).

PSI alone alerts on noise in small segments (its expected value with no change is about
(bins - 1) x (1/n + 1/m)), so a drift counts only when it is also significant: the chi-square
test of homogeneity of the two bin counts, at a family-wise level shared by every test of the
run (Bonferroni). Categories also report the Jensen-Shannon distance and numbers the
Wasserstein distance in reference standard deviations, as plainer sizes of the change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2, wasserstein_distance

# Inputs watched: the at-admission fields the models read (CONTRACT §1) and the history counts.
CATEGORICAL_INPUTS: tuple[str, ...] = (
    "specialty",
    "sex",
    "admission_method",
    "admission_source",
    "diagnosis_chapter",
)
NUMERIC_INPUTS: tuple[str, ...] = (
    "age",
    "imd_decile",
    "frailty_score",
    "comorbidity_count",
    "prior_admissions_365d",
    "prior_bed_days_365d",
)
MIN_LEVEL_SHARE = 0.002  # rarer reference levels are pooled as "other"


def monitored_inputs(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The watched inputs of `frame` (the diagnosis as its ICD-10 chapter letter)."""
    out: dict[str, np.ndarray] = {}
    for name in CATEGORICAL_INPUTS:
        source = "primary_diagnosis" if name == "diagnosis_chapter" else name
        if source in frame:
            values = frame[source].astype("string").str.strip()
            if name == "diagnosis_chapter":
                values = values.str[0]
            out[name] = values.astype(object).to_numpy()
    for name in NUMERIC_INPUTS:
        if name in frame:
            out[name] = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
    return out


@dataclass(frozen=True)
class Binning:
    """Bins of one input, fixed on the reference."""

    kind: str  # "category" or "number"
    levels: tuple[str, ...] = ()
    edges: tuple[float, ...] = ()

    @property
    def size(self) -> int:
        """Number of bins, the missing bin included."""
        return len(self.levels) + 2 if self.kind == "category" else len(self.edges) + 2

    def codes(self, values: np.ndarray) -> np.ndarray:
        """Bin index per value; the last bin holds missing values."""
        if self.kind == "category":
            series = pd.Series(values, dtype=object)
            missing = series.isna().to_numpy()
            lookup = {level: i for i, level in enumerate(self.levels)}
            idx = series.map(lookup).fillna(len(self.levels)).to_numpy(dtype=int)  # other
            return np.where(missing, self.size - 1, idx)
        v = np.asarray(values, dtype=float)
        idx = np.searchsorted(np.asarray(self.edges), v, side="right")
        return np.where(np.isnan(v), self.size - 1, idx)


def fit_binning(values: np.ndarray, kind: str, bins: int = 10) -> Binning:
    """Bins from reference values: levels for a category, deciles (distinct edges) for a number."""
    if kind == "category":
        counts = pd.Series(values, dtype=object).dropna().value_counts()
        keep = counts[counts >= max(1.0, MIN_LEVEL_SHARE * len(values))]
        return Binning(kind, levels=tuple(str(k) for k in sorted(keep.index)))
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if not len(v):
        return Binning(kind, edges=())
    edges = np.unique(np.quantile(v, np.linspace(0, 1, bins + 1)[1:-1]))
    return Binning(kind, edges=tuple(float(e) for e in edges))


@dataclass(frozen=True)
class Drift:
    """One distribution compared with the reference's."""

    psi: float
    p_value: float
    distance: float  # Jensen-Shannon (categories) or Wasserstein / reference sd (numbers)
    n: int

    def to_dict(self) -> dict[str, float | int]:
        """Rounded, for monitor.json."""
        return {
            "psi": round(self.psi, 4),
            "p_value": float(f"{self.p_value:.3g}"),
            "distance": round(self.distance, 4),
            "n": self.n,
        }


def compare_counts(reference: np.ndarray, recent: np.ndarray) -> tuple[float, float]:
    """PSI and the chi-square p-value of two bin-count vectors (bins empty in both dropped)."""
    used = (reference + recent) > 0
    r, q = reference[used].astype(float), recent[used].astype(float)
    if used.sum() < 2 or r.sum() == 0 or q.sum() == 0:
        return 0.0, 1.0
    rs, qs = (r + 0.5) / (r.sum() + 0.5 * len(r)), (q + 0.5) / (q.sum() + 0.5 * len(q))
    psi = float(np.sum((qs - rs) * np.log(qs / rs)))
    total = r + q
    expected_r, expected_q = total * r.sum() / total.sum(), total * q.sum() / total.sum()
    stat = float(np.sum((r - expected_r) ** 2 / expected_r + (q - expected_q) ** 2 / expected_q))
    return psi, float(chi2.sf(stat, len(r) - 1))


def drift(
    binning: Binning,
    ref_codes: np.ndarray,
    codes: np.ndarray,
    ref_values: np.ndarray | None = None,
    values: np.ndarray | None = None,
) -> Drift:
    """Drift of one segment's binned values (`codes`) from the reference's (`ref_codes`)."""
    ref_counts = np.bincount(ref_codes, minlength=binning.size)
    counts = np.bincount(codes, minlength=binning.size)
    psi, p_value = compare_counts(ref_counts, counts)
    if binning.kind == "category" or ref_values is None or values is None:
        distance = float(jensenshannon(ref_counts + 1e-12, counts + 1e-12, base=2))
    else:
        a, b = ref_values[~np.isnan(ref_values)], values[~np.isnan(values)]
        sd = float(np.std(a)) if len(a) else 0.0
        distance = wasserstein_distance(a, b) / sd if len(a) and len(b) and sd > 0 else 0.0
    return Drift(psi, p_value, float(distance), len(codes))
