"""Group metrics by ethnicity, sex, age band and IMD quintile (placeholder until fairness lands)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from los.config import TrainingConfig


def group_metrics(
    admissions: pd.DataFrame,
    y: np.ndarray,
    p: np.ndarray,
    threshold: float,
    config: TrainingConfig,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Per attribute, per group metrics (CONTRACT §4)."""
    return {}


def fairness_gates(evaluation: Any, config: Any) -> list[Any]:
    """Fairness gates (placeholder until fairness lands)."""
    return []
