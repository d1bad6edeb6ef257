"""Temporal split by admission date: train | validation | calibration | test."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from los.config import SplitConfig

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


def class_counts(period: pd.Series, y: pd.Series) -> dict[str, tuple[int, int]]:
    """Labelled negatives and positives in each period, in `PERIODS` order (unlabelled rows,
    NaN in `y`, are not counted)."""
    out = {}
    for name in PERIODS:
        labels = y[(period == name).to_numpy() & y.notna().to_numpy()]
        positives = int((labels == 1).sum())
        out[name] = (len(labels) - positives, positives)
    return out
