"""The one feature path: admission-time fields and history -> model input columns.

`derive_features` is pure (no I/O, no globals, never mutates its input) and is shared verbatim by
training, batch scoring and the HTTP service. What is learned from data (category levels, column
order) lives in `features.encoder.FeatureEncoder`, saved inside each registered model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.history import with_history
from los.config import FeaturesConfig
from los.schema import CARE_HOME_CODES, HISTORY_COLUMNS, LABEL_COLUMNS

BASE_NUMERIC: tuple[str, ...] = (
    "age",
    "imd_decile",
    "frailty_score",
    "comorbidity_count",
    "from_care_home",
    "admission_hour",
    "admission_weekday",
    "admission_month",
    *HISTORY_COLUMNS,
)
BASE_CATEGORICAL: tuple[str, ...] = (
    "sex",
    "admission_group",
    "admission_method",
    "admission_source",
    "specialty",
    "site",
    "diagnosis_chapter",
)

# Which source field of the admissions table each model column comes from (for reasons).
FEATURE_SOURCES: dict[str, str] = {
    "age": "age",
    "imd_decile": "imd_decile",
    "frailty_score": "frailty_score",
    "comorbidity_count": "comorbidity_count",
    "from_care_home": "admission_source",
    "admission_hour": "admission_datetime",
    "admission_weekday": "admission_datetime",
    "admission_month": "admission_datetime",
    "prior_admissions_365d": "prior_admissions_365d",
    "prior_emergency_admissions_365d": "prior_emergency_admissions_365d",
    "prior_bed_days_365d": "prior_bed_days_365d",
    "days_since_last_discharge": "days_since_last_discharge",
    "sex": "sex",
    "admission_group": "admission_method",
    "admission_method": "admission_method",
    "admission_source": "admission_source",
    "specialty": "specialty",
    "site": "site",
    "diagnosis_chapter": "primary_diagnosis",
    "ethnic_category": "ethnic_category",
}


@dataclass(frozen=True)
class FeatureSpec:
    """The model's input columns, split by kind, in a fixed order."""

    numeric: tuple[str, ...] = BASE_NUMERIC
    categorical: tuple[str, ...] = BASE_CATEGORICAL
    extra_sources: dict[str, str] = field(default_factory=dict)

    @property
    def columns(self) -> tuple[str, ...]:
        """All model columns: numeric first, then categorical."""
        return (*self.numeric, *self.categorical)

    def source_of(self, column: str) -> str:
        """The admissions-table field a model column is derived from."""
        return self.extra_sources.get(column, FEATURE_SOURCES.get(column, column))

    @classmethod
    def from_config(cls, config: FeaturesConfig) -> FeatureSpec:
        """Base features plus configured extras; ethnicity only when explicitly asked for."""
        categorical = list(BASE_CATEGORICAL) + list(config.extra_categorical)
        if config.include_ethnicity:
            categorical.append("ethnic_category")
        forbidden = set(LABEL_COLUMNS) & (set(config.extra_numeric) | set(categorical))
        if forbidden:
            raise ValueError(f"label columns cannot be features: {sorted(forbidden)}")
        return cls(
            numeric=(*BASE_NUMERIC, *config.extra_numeric),
            categorical=tuple(categorical),
        )


def _code(series: pd.Series) -> pd.Series:
    """Normalise a code column to stripped strings with missing as NaN."""
    out = series.astype("string").str.strip()
    return out.mask(out == "", pd.NA).astype(object).where(lambda s: s.notna(), np.nan)


def _diagnosis_chapter(diagnosis: pd.Series) -> pd.Series:
    """ICD-10 chapter letter (A-Z) of the primary diagnosis, NaN when missing."""
    letter = diagnosis.astype("string").str.strip().str[:1].str.upper()
    return letter.where(letter.str.match(r"^[A-Z]$").fillna(False).astype(bool)).astype(object)


def derive_features(
    admissions: pd.DataFrame,
    spec: FeatureSpec | None = None,
    history: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Build the model columns (`spec.columns`) for each admission; same index as the input.

    History columns are taken from the input when supplied (e.g. by an API caller) and computed
    from `history` (default: the admissions table itself) otherwise. Label columns are never read.
    """
    spec = spec or FeatureSpec()
    frame = admissions.drop(columns=[c for c in LABEL_COLUMNS if c in admissions], errors="ignore")
    hist_source: pd.DataFrame | None = history
    if hist_source is None and "discharge_datetime" in admissions:
        hist_source = admissions
    if hist_source is None:
        frame = frame.assign(
            **{c: frame.get(c, 0.0) for c in HISTORY_COLUMNS[:3]},
            days_since_last_discharge=frame.get("days_since_last_discharge", np.nan),
        )
    else:
        frame = with_history(frame, hist_source)

    admitted = pd.to_datetime(frame["admission_datetime"])
    method = _code(frame["admission_method"])
    empty = pd.Series(np.nan, index=frame.index)
    source = _code(frame.get("admission_source", empty))
    derived = pd.DataFrame(index=frame.index)
    for col in ("age", "imd_decile", "frailty_score", "comorbidity_count", *HISTORY_COLUMNS):
        derived[col] = pd.to_numeric(frame.get(col, empty), errors="coerce").astype(float)
    derived["from_care_home"] = source.isin(CARE_HOME_CODES).astype(float)
    derived["admission_hour"] = admitted.dt.hour.astype(float)
    derived["admission_weekday"] = admitted.dt.dayofweek.astype(float)
    derived["admission_month"] = admitted.dt.month.astype(float)
    derived["sex"] = _code(frame["sex"])
    derived["admission_group"] = method.str[:1].map(
        {"1": "elective", "2": "emergency", "3": "maternity", "8": "other"}
    )
    derived["admission_method"] = method
    derived["admission_source"] = source
    for col in ("specialty", "site", "ethnic_category"):
        derived[col] = _code(frame.get(col, empty))
    derived["diagnosis_chapter"] = _diagnosis_chapter(frame.get("primary_diagnosis", empty))
    for col in spec.columns:
        if col not in derived:
            derived[col] = frame.get(col, empty)
    return derived[list(spec.columns)]
