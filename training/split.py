"""Temporal split by admission date: train | validation | calibration | test."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from los.config import SplitConfig
from los.errors import DataQualityError

PERIODS: tuple[str, ...] = ("train", "validation", "calibration", "test")


@dataclass(frozen=True)
class SplitBoundaries:
    """Start of each period after the first (admissions before `validation_start` train)."""

    data_start: pd.Timestamp
    validation_start: pd.Timestamp
    calibration_start: pd.Timestamp
    test_start: pd.Timestamp
    data_end: pd.Timestamp

    def as_dict(self) -> dict[str, str]:
        """ISO dates, for run metadata and reports."""
        return {k: v.isoformat() for k, v in self.__dict__.items()}


def split_boundaries(admitted: pd.Series, config: SplitConfig) -> SplitBoundaries:
    """Period boundaries from configured dates, or from fractions of the admission-time range."""
    times = pd.to_datetime(admitted)
    start, end = times.min(), times.max()
    if config.train_end is not None:
        assert config.validation_end is not None and config.calibration_end is not None
        cuts = [
            pd.Timestamp(d)
            for d in (config.train_end, config.validation_end, config.calibration_end)
        ]
    else:
        cum = np.cumsum(config.fractions)[:3]
        cuts = [start + (end - start) * float(f) for f in cum]
        cuts = [c.normalize() for c in cuts]
    return SplitBoundaries(start, cuts[0], cuts[1], cuts[2], end)


def assign_periods(admitted: pd.Series, bounds: SplitBoundaries) -> pd.Series:
    """Label each row with its period; every row gets exactly one period."""
    times = pd.to_datetime(admitted)
    period = np.select(
        [
            times < bounds.validation_start,
            times < bounds.calibration_start,
            times < bounds.test_start,
        ],
        ["train", "validation", "calibration"],
        default="test",
    )
    return pd.Series(period, index=admitted.index, name="period")


def check_periods(period: pd.Series, y: pd.Series, target: str) -> None:
    """Every period needs labelled rows of both classes, or training cannot go on."""
    for name in PERIODS:
        labels = y[(period == name) & y.notna()]
        if len(labels) == 0 or labels.nunique() < 2:
            raise DataQualityError(
                f"{target}: the {name} period has {len(labels)} labelled spells and "
                f"{labels.nunique()} class(es); widen the data window or change the split dates"
            )
