"""The CONTRACT §7 columns of a scored spell, from the stay distribution model: `los_p10_days`,
`los_median_days`, `los_p90_days` (quantiles of the stay from admission, days),
`expected_discharge_date` (admission plus the median, ISO date) and `nctr_expected_days`.

A current inpatient (no `discharge_datetime`) scored at `as_of` has stayed `as_of - admission`
days: its quantiles are those days plus the quantiles of the stay still to come
(`StayCurves.quantile` given the days stayed), so never fewer than the days already stayed.
Without `as_of` (the service scores admissions as they arrive) or for an ended spell, the curve
from admission is used. `as_of` for `los score` is `data_as_of`: the latest admission time not
after now (UTC), the same moment for every row of an extract.

`los_reasons` (`los score` with reasons for every row): the flag models' SHAP reasons
(`models.reasons`) applied to the hazard's calibrated log-odds on day 0, negated
(`models.stay_model.stay_contributions`), so "raises risk" reads "raises the risk of a longer
stay". Day 0 is the hazard every spell has; the reasons explain the start of the curve, which
moves the whole curve since the trees share their splits across days.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from features.build import Columns
from los.targets import STAY_DISTRIBUTION
from models.bundle import ModelBundle
from models.reasons import build_reasons, reasons_text
from models.registry import LoadedModel
from models.stay_model import nctr_days, stay_contributions, stay_curves

STAY_COLUMNS = (
    "los_p10_days",
    "los_median_days",
    "los_p90_days",
    "expected_discharge_date",
    "nctr_expected_days",
)
_DAY = pd.Timedelta(days=1)


def is_stay_model(model: LoadedModel) -> bool:
    """Whether a loaded model is the stay distribution (not a flag)."""
    return model.bundle.label_target.kind == STAY_DISTRIBUTION


def data_as_of(admissions: Columns) -> pd.Timestamp | None:
    """The latest admission time not after now (UTC, naive as the table's times are)."""
    admitted = pd.to_datetime(pd.Series(np.asarray(admissions["admission_datetime"])))
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    known = admitted[admitted.notna() & (admitted <= now)]
    return None if known.empty else pd.Timestamp(known.max())


def days_stayed(admissions: Columns, as_of: pd.Timestamp | None) -> np.ndarray:
    """Days each current inpatient has stayed at `as_of` (0 for ended spells, and for all
    without `as_of`)."""
    if as_of is None or "discharge_datetime" not in admissions:  # the service: every request
        return np.zeros(len(admissions["admission_datetime"]))
    admitted = pd.to_datetime(pd.Series(np.asarray(admissions["admission_datetime"])))
    discharged = pd.Series(np.asarray(admissions["discharge_datetime"]))
    inpatient = pd.to_datetime(discharged, errors="coerce").isna().to_numpy()
    stayed = ((as_of - admitted) / _DAY).to_numpy(float)
    return np.where(inpatient & np.isfinite(stayed), np.clip(stayed, 0.0, None), 0.0)


def stay_columns(
    bundle: ModelBundle,
    admissions: Columns,
    x: np.ndarray,
    p_nctr: np.ndarray | None = None,
    as_of: pd.Timestamp | None = None,
) -> dict[str, list[object]]:
    """The §7 columns per row of `admissions` (encoded as `x` by the bundle's encoder);
    `p_nctr` is the NCTR flag model's probability (None: no NCTR model, days left blank)."""
    curves = stay_curves(bundle, x)
    stayed = days_stayed(admissions, as_of)
    p10, median, p90 = (stayed + curves.quantile(q, stayed) for q in (0.1, 0.5, 0.9))
    nctr = nctr_days(bundle, curves, p_nctr)
    return {
        "los_p10_days": np.round(p10, 2).tolist(),
        "los_median_days": np.round(median, 2).tolist(),
        "los_p90_days": np.round(p90, 2).tolist(),
        "expected_discharge_date": discharge_dates(admissions["admission_datetime"], median),
        "nctr_expected_days": [None if not np.isfinite(v) else round(float(v), 2) for v in nctr],
    }


def discharge_dates(admitted: object, median: np.ndarray) -> list[str | None]:
    """Admission plus the median stay, as ISO dates (None where the time is not known).

    The days become nanoseconds as pandas converts them (`to_timedelta`). Admission times that
    are already `datetime64[ns]` (the service's columns, a loaded table's) are added in NumPy:
    the same dates without pandas' index layer (to_datetime, DatetimeIndex: about an eighth of the
    stay columns' time for one admission, cProfile). Anything else (text, time zones) takes the
    pandas index as before.
    """
    delta = pd.to_timedelta(median, unit="D")
    times = np.asarray(admitted)
    if times.dtype != np.dtype("datetime64[ns]"):
        index = pd.DatetimeIndex(pd.to_datetime(times)) + delta
        return [None if pd.isna(d) else d.isoformat() for d in index.date]
    days = (times + delta.to_numpy()).astype("datetime64[D]")
    return [None if np.isnat(d) else str(d) for d in days]


def stay_reasons(
    bundle: ModelBundle, features: Columns, x: np.ndarray, top_k: int = 3
) -> list[str]:
    """The reasons text per row for a longer stay (see the module doc)."""
    contrib = stay_contributions(bundle, x)
    names, source = bundle.feature_names, bundle.spec.source_of
    return [reasons_text(r) for r in build_reasons(contrib, features, names, source, top_k=top_k)]


def stay_rows(columns: Mapping[str, list[object]], n: int) -> list[dict[str, object]]:
    """The columns as one dict per row (every key None when there is no stay model)."""
    return [{c: (columns[c][i] if columns else None) for c in STAY_COLUMNS} for i in range(n)]
