"""Plain-language reasons from per-feature SHAP contributions, grouped by source field.

Contributions come from LightGBM's tree SHAP (`pred_contrib`) in the booster's log-odds space;
they are multiplied by the Platt slope so they are in the calibrated log-odds space the reported
probability lives in. Model columns derived from one field (e.g. hour, weekday and month of the
admission time) are summed into one reason for that field.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from features.build import Columns
from models.vocabulary import describe_field

MIN_CONTRIBUTION = 0.02  # log-odds; smaller effects are noise to a reader


@dataclass(frozen=True)
class Reason:
    """One driver of a score."""

    field: str
    feature: str
    value: str | float | None
    contribution: float
    text: str

    def to_dict(self) -> dict[str, object]:
        """For JSON responses."""
        value = self.value
        if isinstance(value, float) and math.isnan(value):
            value = None
        return {
            "feature": self.feature,
            "field": self.field,
            "value": value,
            "contribution": round(self.contribution, 4),
            "text": self.text,
        }


def _direction(contribution: float) -> str:
    return "raises risk" if contribution > 0 else "lowers risk"


def build_reasons(
    contributions: np.ndarray,
    features: Columns,
    columns: list[str],
    source_of: Callable[[str], str],
    scale: float = 1.0,
    top_k: int = 3,
) -> list[list[Reason]]:
    """Top `top_k` reasons per row, strongest absolute effect first.

    `contributions` is `pred_contrib` output (n_rows x (n_columns + 1), last column the expected
    value); `features` the derived (unencoded) feature columns (frame or dict of arrays).
    """
    fields = [source_of(c) for c in columns]
    unique_fields = list(dict.fromkeys(fields))
    field_index = np.array([unique_fields.index(f) for f in fields])
    membership = np.zeros((len(columns), len(unique_fields)))
    membership[np.arange(len(columns)), field_index] = scale  # column -> its field, scaled
    per_field = contributions[:, : len(columns)] @ membership
    lead_column = {f: columns[fields.index(f)] for f in unique_fields}
    # plain numpy columns: far cheaper than DataFrame.to_dict for one row or a million
    values = {str(c): np.asarray(features[str(c)], dtype=object) for c in features}
    order = np.argsort(-np.abs(per_field), axis=1, kind="stable")[:, :top_k]
    out: list[list[Reason]] = []
    for i in range(per_field.shape[0]):
        row: dict[str, Any] | None = None
        reasons = []
        for j in order[i]:
            c = float(per_field[i, j])
            if abs(c) < MIN_CONTRIBUTION:
                continue
            if row is None:
                row = {name: column[i] for name, column in values.items()}
            field = unique_fields[j]
            label, value = describe_field(field, row)
            reasons.append(
                Reason(field, lead_column[field], value, c, f"{label} ({_direction(c)})")
            )
        out.append(reasons)
    return out


def reasons_text(reasons: list[Reason]) -> str:
    """Reasons joined for a CSV cell or a list line."""
    return "; ".join(r.text for r in reasons)
