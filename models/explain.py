"""Global explanations of one model: SHAP values of a sample of rows, summarised for reports.

Values come from LightGBM's own tree SHAP (`Booster.predict(pred_contrib=True)`, via
`ModelBundle.contributions`): exact path-dependent Shapley values in the booster's log-odds space,
correct for native categorical splits. They are multiplied by the Platt slope, as for the
per-admission reasons, so they are in the calibrated log-odds space of the reported probability.
No `shap` import here: this module sits beside the scoring path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.bundle import ModelBundle
from models.vocabulary import feature_label, field_label


@dataclass
class GlobalExplanation:
    """SHAP values of a sample of rows for one target (`contributions`: rows x features)."""

    target: str
    features: list[str]
    fields: list[str]
    categorical: list[str]
    values: np.ndarray
    contributions: np.ndarray
    expected_value: float
    levels: dict[str, list[str]] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        """Rows in the sample."""
        return int(self.contributions.shape[0])

    def labels(self) -> list[str]:
        """Readable name of every model column."""
        return [feature_label(f) for f in self.features]

    def feature_importance(self) -> dict[str, float]:
        """Mean |SHAP| per model column, largest first."""
        mean_abs = np.abs(self.contributions).mean(axis=0) if self.n_rows else np.zeros(0)
        order = np.argsort(-mean_abs, kind="stable")
        return {self.features[j]: float(mean_abs[j]) for j in order}

    def field_contributions(self) -> tuple[list[str], np.ndarray]:
        """Contributions summed over the columns of each source field (rows x fields), as the
        per-admission reasons group them."""
        unique = list(dict.fromkeys(self.fields))
        out = np.zeros((self.n_rows, len(unique)))
        for j, f in enumerate(self.fields):
            out[:, unique.index(f)] += self.contributions[:, j]
        return unique, out

    def field_importance(self) -> dict[str, float]:
        """Mean |summed SHAP| per source field, largest first."""
        fields, per_field = self.field_contributions()
        mean_abs = np.abs(per_field).mean(axis=0) if self.n_rows else np.zeros(len(fields))
        order = np.argsort(-mean_abs, kind="stable")
        return {fields[j]: float(mean_abs[j]) for j in order}

    def top_features(self, k: int) -> list[str]:
        """The `k` model columns with the largest mean |SHAP|."""
        return list(self.feature_importance())[:k]

    def column(self, feature: str) -> tuple[np.ndarray, np.ndarray]:
        """(encoded values, SHAP values) of one model column."""
        j = self.features.index(feature)
        return self.values[:, j], self.contributions[:, j]

    def to_dict(self) -> dict[str, Any]:
        """Summary for JSON: importance by column and by field, in calibrated log-odds."""
        return {
            "target": self.target,
            "rows": self.n_rows,
            "space": "calibrated log-odds (LightGBM tree SHAP x Platt slope)",
            "expected_value": self.expected_value if np.isfinite(self.expected_value) else None,
            "feature_importance": self.feature_importance(),
            "field_importance": {
                f: {"label": field_label(f), "mean_abs_contribution": v}
                for f, v in self.field_importance().items()
            },
        }


def sample_rows(n: int, size: int, seed: int) -> np.ndarray:
    """Sorted row positions of a seeded sample of at most `size` rows out of `n`."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def global_explanation(
    bundle: ModelBundle, x: np.ndarray, sample: int = 2000, seed: int = 42
) -> GlobalExplanation:
    """SHAP values of (a seeded sample of) the encoded rows `x`, e.g. the test period."""
    x = np.asarray(x, dtype=float)
    rows = x[sample_rows(len(x), sample, seed)]
    contrib = bundle.contributions(rows) if len(rows) else np.zeros((0, x.shape[1] + 1))
    slope = float(bundle.calibrator.slope_)
    features = bundle.feature_names
    categorical = list(bundle.spec.categorical)
    return GlobalExplanation(
        target=bundle.target,
        features=features,
        fields=[bundle.spec.source_of(c) for c in features],
        categorical=categorical,
        values=rows,
        contributions=contrib[:, :-1] * slope,
        expected_value=float(contrib[0, -1]) if len(contrib) else float("nan"),
        levels={c: list(bundle.encoder.levels_.get(c, [])) for c in categorical},
    )
