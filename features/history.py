"""History features: prior admissions and bed days of the same patient in the previous 365 days.

Only spells that ended (discharge) strictly before the admission being scored count, so no
future information can reach a feature.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from los.schema import HISTORY_COLUMNS

WINDOW_DAYS = 365


def compute_history(spells: pd.DataFrame, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the history columns for each row of `spells` (same index, same order).

    `spells` needs `patient_id` and `admission_datetime`. `history` holds the earlier spells to
    look in (`patient_id`, `admission_datetime`, `discharge_datetime`, `admission_method`); by
    default the spells table itself. Spells without a discharge never count.
    """
    source = spells if history is None else history
    out = pd.DataFrame(
        {
            "prior_admissions_365d": 0.0,
            "prior_emergency_admissions_365d": 0.0,
            "prior_bed_days_365d": 0.0,
            "days_since_last_discharge": np.nan,
        },
        index=spells.index,
    )
    if len(spells) == 0 or len(source) == 0:
        return out[list(HISTORY_COLUMNS)]

    left = pd.DataFrame(
        {
            "_pos": np.arange(len(spells)),
            "patient_id": spells["patient_id"].to_numpy(),
            "adm": pd.to_datetime(spells["admission_datetime"]).to_numpy("datetime64[ns]"),
        }
    )
    ended = source["discharge_datetime"].notna()
    method = source.get("admission_method", pd.Series(np.nan, index=source.index))
    right = pd.DataFrame(
        {
            "patient_id": source.loc[ended, "patient_id"].to_numpy(),
            "h_adm": pd.to_datetime(source.loc[ended, "admission_datetime"]).to_numpy(
                "datetime64[ns]"
            ),
            "h_dis": pd.to_datetime(source.loc[ended, "discharge_datetime"]).to_numpy(
                "datetime64[ns]"
            ),
            "h_emerg": method[ended].astype("string").str.startswith("2").fillna(False).to_numpy(),
        }
    )
    pairs = left.merge(right, on="patient_id", how="inner")
    window_start = pairs["adm"] - pd.Timedelta(days=WINDOW_DAYS)
    keep = (pairs["h_dis"] < pairs["adm"]) & (pairs["h_dis"] >= window_start)
    pairs = pairs.loc[keep]
    if pairs.empty:
        return out[list(HISTORY_COLUMNS)]

    pairs = pairs.assign(
        bed_days=(pairs["h_dis"] - pairs["h_adm"]).dt.total_seconds() / 86400.0,
        since=(pairs["adm"] - pairs["h_dis"]).dt.total_seconds() / 86400.0,
    )
    grouped = pairs.groupby("_pos").agg(
        n=("bed_days", "size"),
        n_emerg=("h_emerg", "sum"),
        bed_days=("bed_days", "sum"),
        since=("since", "min"),
    )
    pos = grouped.index.to_numpy()
    out.iloc[pos, 0] = grouped["n"].to_numpy(dtype=float)
    out.iloc[pos, 1] = grouped["n_emerg"].to_numpy(dtype=float)
    out.iloc[pos, 2] = grouped["bed_days"].to_numpy(dtype=float)
    out.iloc[pos, 3] = grouped["since"].to_numpy(dtype=float)
    return out[list(HISTORY_COLUMNS)]


def with_history(spells: pd.DataFrame, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return `spells` with the history columns; columns already supplied are kept as given."""
    missing = [c for c in HISTORY_COLUMNS if c not in spells.columns]
    if not missing:
        return spells
    computed = compute_history(spells, history)
    return spells.assign(**{c: computed[c] for c in missing})
