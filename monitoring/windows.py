"""Which spells are the reference and which are recent (`los monitor`)."""

from __future__ import annotations

import pandas as pd

from los.errors import LosError
from models.registry import LoadedModel


class WindowError(LosError):
    """The windows to compare cannot be formed from the data given."""


def model_window(models: dict[str, LoadedModel]) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The champions' test period: from the latest test start to the latest data end."""
    windows = [m.bundle.metadata.get("data_window", {}) for m in models.values()]
    starts = [pd.Timestamp(w["test_start"]) for w in windows if w.get("test_start")]
    ends = [pd.Timestamp(w["data_end"]) for w in windows if w.get("data_end")]
    if not starts or not ends:
        raise WindowError("the models record no test period: give --reference")
    return max(starts), max(ends)


def split_windows(
    data: pd.DataFrame, reference: pd.DataFrame | None, models: dict[str, LoadedModel]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(reference, recent): `reference` and all of `data` when a reference is given; otherwise
    the rows of `data` in the models' test period, and those admitted after it."""
    if reference is not None:
        recent = data
        overlap = reference["spell_id"].isin(set(recent["spell_id"]))
        reference = reference.loc[~overlap]  # a spell in both is a recent one
    else:
        start, end = model_window(models)
        admitted = pd.to_datetime(data["admission_datetime"])
        reference = data.loc[(admitted >= start) & (admitted <= end)]
        recent = data.loc[admitted > end]
        if recent.empty:
            raise WindowError(
                f"no spells admitted after the models' data window (to {end:%Y-%m-%d}): "
                "give newer --data, or --reference"
            )
    if reference.empty:
        raise WindowError("the reference window holds no spells")
    if recent.empty:
        raise WindowError("the recent window holds no spells")
    return reference.reset_index(drop=True), recent.reset_index(drop=True)
