"""History features: prior admissions and bed days of the same patient in the previous 365 days.

Only spells that ended (discharge) strictly before the admission being scored count, so no
future information can reach a feature.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from los.schema import DAYS_SINCE_LAST_DISCHARGE, HISTORY_COLUMNS, HISTORY_COUNT_COLUMNS

WINDOW_DAYS = 365
# The fields of an earlier spell that history reads.
SOURCE_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "admission_datetime",
    "discharge_datetime",
    "admission_method",
)
# The history of a spell with no earlier spell that counts: no admissions and no bed days (0),
# no last discharge (NaN). Used wherever history is not supplied and cannot be looked up.
NO_HISTORY: dict[str, float] = {
    **dict.fromkeys(HISTORY_COUNT_COLUMNS, 0.0),
    DAYS_SINCE_LAST_DISCHARGE: np.nan,
}


def no_history(n: int) -> dict[str, np.ndarray]:
    """`NO_HISTORY` for `n` spells, one float array per history column."""
    return {c: np.full(n, NO_HISTORY[c]) for c in HISTORY_COLUMNS}


def compute_history(spells: pd.DataFrame, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the history columns for each row of `spells` (same index, same order).

    `spells` needs `patient_id` and `admission_datetime`. `history` holds the earlier spells to
    look in (`patient_id`, `admission_datetime`, `discharge_datetime`, `admission_method`); by
    default the spells table itself. Spells without a discharge never count.
    """
    source = spells if history is None else history
    values = no_history(len(spells))
    if len(spells) == 0 or len(source) == 0:
        return pd.DataFrame(values, index=spells.index)

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
        return pd.DataFrame(values, index=spells.index)

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
    found = {
        "prior_admissions_365d": "n",
        "prior_emergency_admissions_365d": "n_emerg",
        "prior_bed_days_365d": "bed_days",
        DAYS_SINCE_LAST_DISCHARGE: "since",
    }
    for column, aggregate in found.items():
        values[column][pos] = grouped[aggregate].to_numpy(dtype=float)
    return pd.DataFrame(values, index=spells.index)


def with_history(spells: pd.DataFrame, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return `spells` with the history columns; columns already supplied are kept as given."""
    missing = [c for c in HISTORY_COLUMNS if c not in spells.columns]
    if not missing:
        return spells
    computed = compute_history(spells, history)
    return spells.assign(**{c: computed[c] for c in missing})
