"""`FeatureEncoder`: learns category levels and column order at training time, reused to score."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from features.build import Columns, FeatureSpec, map_unique, n_rows
from los.errors import NotFittedError


def _code(lookup: dict[str, float], value: object) -> float:
    """A level's code; missing (None), unseen or rare levels are NaN."""
    return np.nan if value is None else lookup.get(str(value), np.nan)


class FeatureEncoder:
    """Turn derived feature columns into LightGBM's float matrix (categoricals as integer codes).

    Levels seen fewer than `min_count` times in training, and levels never seen, become missing
    (NaN), which LightGBM sends down its learned missing-value branch.
    """

    def __init__(self, spec: FeatureSpec | None = None, min_count: int = 20) -> None:
        self.spec = spec
        self.min_count = min_count

    def fit(self, features: pd.DataFrame) -> FeatureEncoder:
        """Learn the category levels of every categorical column."""
        spec = self.spec or FeatureSpec()
        levels: dict[str, list[str]] = {}
        for col in spec.categorical:
            counts = features[col].dropna().astype(str).value_counts()
            levels[col] = sorted(counts[counts >= self.min_count].index.tolist())
        self.spec_ = spec
        self.levels_ = levels
        self.columns_ = list(spec.columns)
        return self

    @property
    def _lookup(self) -> dict[str, dict[str, float]]:
        """level -> code per categorical column (built once, used on every transform)."""
        cached: dict[str, dict[str, float]] | None = getattr(self, "_lookup_cache", None)
        if cached is None:
            cached = {c: {v: float(i) for i, v in enumerate(lv)} for c, lv in self.levels_.items()}
            self._lookup_cache = cached
        return cached

    def _check_fitted(self) -> None:
        if not hasattr(self, "levels_"):
            raise NotFittedError("FeatureEncoder is not fitted: call fit() first")

    @property
    def categorical_indices(self) -> list[int]:
        """Positions of categorical columns in the encoded matrix."""
        self._check_fitted()
        return [self.columns_.index(c) for c in self.spec_.categorical]

    def transform(self, features: Columns) -> np.ndarray:
        """Encode derived features (a frame or a dict of arrays) into a float64 matrix in
        `columns_` order."""
        self._check_fitted()
        n = n_rows(features)
        out = np.empty((n, len(self.columns_)), dtype=np.float64)
        for j, col in enumerate(self.columns_):
            values = np.asarray(features[col])
            if col in self.levels_:
                lookup = self._lookup[col]
                out[:, j] = map_unique(values, partial(_code, lookup)).astype(float)
            elif values.dtype.kind in "fiub":
                out[:, j] = values
            else:
                out[:, j] = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(float)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable state."""
        self._check_fitted()
        return {
            "numeric": list(self.spec_.numeric),
            "categorical": list(self.spec_.categorical),
            "levels": self.levels_,
            "min_count": self.min_count,
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> FeatureEncoder:
        """Rebuild a fitted encoder from `to_dict` output."""
        spec = FeatureSpec(numeric=tuple(state["numeric"]), categorical=tuple(state["categorical"]))
        enc = cls(spec=spec, min_count=int(state["min_count"]))
        enc.spec_ = spec
        enc.levels_ = {k: list(v) for k, v in state["levels"].items()}
        enc.columns_ = list(spec.columns)
        return enc
