"""Prepare a training table: ended spells, one derived feature frame, periods, fitted encoder."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.build import FeatureSpec, derive_features
from features.encoder import FeatureEncoder
from features.memory import release_unused_memory
from los.config import TrainingConfig
from los.errors import DataQualityError
from training.split import SplitBoundaries, assign_periods, split_boundaries


@dataclass
class PreparedData:
    """Ended spells with their encoded matrix and temporal period (the derived feature frame is
    not kept: the encoder's matrix holds the same values, and at a million spells the frame is
    a few hundred MB)."""

    admissions: pd.DataFrame
    x: np.ndarray
    period: pd.Series
    encoder: FeatureEncoder
    boundaries: SplitBoundaries
    rows_in_hospital: int

    def mask(self, name: str) -> np.ndarray:
        """Boolean mask of one period."""
        return (self.period == name).to_numpy()


def prepare(admissions: pd.DataFrame, config: TrainingConfig) -> PreparedData:
    """Derive features once (history from the whole table), keep ended spells, split by time."""
    spec = FeatureSpec.from_config(config.features)
    ended = admissions["discharge_datetime"].notna().to_numpy()
    if not ended.any():
        raise DataQualityError("no spell has ended (no discharge_datetime): nothing to train on")
    features = derive_features(admissions, spec).loc[ended].reset_index(drop=True)
    spells = admissions.loc[ended].reset_index(drop=True)
    bounds = split_boundaries(spells["admission_datetime"], config.split)
    period = assign_periods(spells["admission_datetime"], bounds)
    encoder = FeatureEncoder(spec).fit(features.loc[(period == "train").to_numpy()])
    x = encoder.transform(features)
    del features
    release_unused_memory(len(spells))
    return PreparedData(
        admissions=spells,
        x=x,
        period=period,
        encoder=encoder,
        boundaries=bounds,
        rows_in_hospital=int((~ended).sum()),
    )
