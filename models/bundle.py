"""`ModelBundle`: everything needed to score one target, saved as plain files (no pickles).

Files: `booster.txt` (LightGBM text model) and `bundle.json` (encoder levels, calibrator,
threshold, bands, metadata).

Formats: "1" is every bundle without a group recalibration (its `bundle.json` is unchanged, so
older code reads it as before). "2" adds `group_recalibration` (`models.group_recalibration`): its
probabilities need each admission's ethnic category and IMD decile, so code that knows only "1"
refuses it (the registry's format tag) rather than scoring without the adjustment.

Every bundle saved now also holds `definition`: the label its model learnt
(`los.targets.Target.definition`: kind, days, deaths rule, NCTR proxy). It is an added key, so
the format does not change and older code still reads the file. A bundle saved before
definitions were recorded has none: `label_target` then derives it as the code did then (days
from the name or the description, the default rules; `los.targets.Target.derived`) and
`definition_recorded` is False, so the pages and `los evaluate` can say so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.build import Columns, FeatureSpec, derive_features
from features.encoder import FeatureEncoder
from los.targets import Target
from models.calibration import PlattCalibrator, calibrate
from models.group_recalibration import GroupRecalibrator
from models.lightgbm_api import lgb

BOOSTER_FILE = "booster.txt"
BUNDLE_FILE = "bundle.json"
PLAIN_FORMAT = "1"
GROUP_RECALIBRATED_FORMAT = "2"
FORMATS = frozenset({PLAIN_FORMAT, GROUP_RECALIBRATED_FORMAT})
FEW_ROWS = 64
"""Below this many rows LightGBM predicts on one thread: OpenMP's start-up and barriers cost more
than they save for a few rows, and far more when the cores are busy (measured: tree SHAP of one
admission 0.7 ms on one thread, 6-9 ms with two threads on a loaded 2-core machine)."""


@dataclass
class ModelBundle:
    """A fitted model for one target: encoder -> booster -> calibrator -> threshold and bands."""

    target: str
    booster: lgb.Booster
    encoder: FeatureEncoder
    calibrator: PlattCalibrator
    threshold: float
    high_cut: float
    base_rate: float
    metadata: dict[str, Any] = field(default_factory=dict)
    group_recalibrator: GroupRecalibrator | None = None  # a chosen mitigation (format "2")
    target_definition: Target | None = None  # the label learnt; None: saved before it was kept

    def __post_init__(self) -> None:
        if self.target_definition is not None and self.target_definition.name != self.target:
            raise ValueError(
                f"bundle of {self.target} holds the definition of {self.target_definition.name}"
            )

    @property
    def label_target(self) -> Target:
        """The target this model was trained on, with its label definition: as recorded, or
        derived from the name and description for a bundle saved before (see the module doc)."""
        if self.target_definition is not None:
            return self.target_definition
        return Target.derived(self.target, self.metadata.get("description"))

    @property
    def definition_recorded(self) -> bool:
        """Whether the bundle holds its definition (False: derived, see `label_target`)."""
        return self.target_definition is not None

    @property
    def format(self) -> str:
        """The bundle format this model needs (see the module doc)."""
        return PLAIN_FORMAT if self.group_recalibrator is None else GROUP_RECALIBRATED_FORMAT

    @property
    def spec(self) -> FeatureSpec:
        """The feature specification the model was trained with."""
        return self.encoder.spec_

    @property
    def feature_names(self) -> list[str]:
        """Model input columns in matrix order."""
        return list(self.encoder.columns_)

    def encode(self, admissions: pd.DataFrame, history: pd.DataFrame | None = None) -> np.ndarray:
        """Admissions -> model matrix, through the one shared feature path."""
        return self.encoder.transform(derive_features(admissions, self.spec, history))

    def raw_score(self, x: np.ndarray) -> np.ndarray:
        """Booster log-odds for an encoded matrix."""
        if len(x) == 0:  # LightGBM cannot predict no rows
            return np.zeros(0)
        out = self.booster.predict(x, raw_score=True, num_threads=_threads(len(x)))
        return np.asarray(out, dtype=float)

    def probability(self, x: np.ndarray, admissions: Columns | None = None) -> np.ndarray:
        """Calibrated probabilities for an encoded matrix (`admissions`: its rows, see
        `calibrated`)."""
        return self.calibrated(self.raw_score(x), admissions)

    def calibrated(self, raw: np.ndarray, admissions: Columns | None = None) -> np.ndarray:
        """Probabilities from booster log-odds: Platt scaling, then the group recalibration when
        the model has one, which reads the groups (ethnic category, IMD decile) from
        `admissions`, the same rows in the same order (required then; ignored otherwise)."""
        return calibrate(raw, self.calibrator, self.group_recalibrator, admissions)

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """Per-feature SHAP values from LightGBM's tree SHAP (`pred_contrib`), in the booster's
        log-odds space; the last column is the expected value. Rows sum to the raw score."""
        if len(x) == 0:
            return np.zeros((0, x.shape[1] + 1))
        out = self.booster.predict(x, pred_contrib=True, num_threads=_threads(len(x)))
        return np.asarray(out, dtype=float)

    def band(self, p: np.ndarray) -> np.ndarray:
        """Risk band per probability: `high` (top decile), `medium` (flagged), `low`."""
        p = np.asarray(p, dtype=float)
        return np.where(p >= self.high_cut, "high", np.where(p >= self.threshold, "medium", "low"))

    def save(self, directory: str | Path) -> Path:
        """Write the bundle's files into `directory`."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(d / BOOSTER_FILE))
        state = {
            "target": self.target,
            "encoder": self.encoder.to_dict(),
            "calibrator": self.calibrator.to_dict(),
            "threshold": self.threshold,
            "high_cut": self.high_cut,
            "base_rate": self.base_rate,
            "metadata": self.metadata,
        }
        if self.target_definition is not None:
            state["definition"] = self.target_definition.definition
        if self.group_recalibrator is not None:  # format "1" files stay exactly as they were
            state["format"] = self.format
            state["group_recalibration"] = self.group_recalibrator.to_dict()
        (d / BUNDLE_FILE).write_text(json.dumps(state, indent=2, default=str))
        return d

    @classmethod
    def load(cls, directory: str | Path) -> ModelBundle:
        """Read a bundle written by `save`."""
        d = Path(directory)
        state = json.loads((d / BUNDLE_FILE).read_text())
        fmt = str(state.get("format", PLAIN_FORMAT))
        if fmt not in FORMATS:
            raise ValueError(f"bundle format {fmt} is not one this code reads ({sorted(FORMATS)})")
        recalibration = state.get("group_recalibration")
        if (recalibration is not None) != (fmt == GROUP_RECALIBRATED_FORMAT):
            raise ValueError(f"bundle format {fmt} does not match its group recalibration")
        definition = state.get("definition")
        return cls(
            target=state["target"],
            booster=lgb.Booster(model_file=str(d / BOOSTER_FILE)),
            encoder=FeatureEncoder.from_dict(state["encoder"]),
            calibrator=PlattCalibrator.from_dict(state["calibrator"]),
            threshold=float(state["threshold"]),
            high_cut=float(state["high_cut"]),
            base_rate=float(state["base_rate"]),
            metadata=dict(state.get("metadata", {})),
            group_recalibrator=(
                GroupRecalibrator.from_dict(recalibration) if recalibration is not None else None
            ),
            target_definition=(
                Target.from_definition(state["target"], definition)
                if definition is not None
                else None
            ),
        )


def _threads(rows: int) -> int:
    """LightGBM `num_threads` for a prediction: 1 for a few rows, else OpenMP's default (0)."""
    return 1 if rows < FEW_ROWS else 0
