"""MLflow pyfunc wrapper of a `ModelBundle`: returns calibrated probabilities (no reasons)."""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import pandas as pd

from los.targets import STAY_DISTRIBUTION
from models.bundle import ModelBundle
from models.stay_model import stay_curves


class BundlePyfunc(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
    """Lets `mlflow models serve` and `mlflow.pyfunc.load_model` score admissions."""

    def load_context(self, context: Any) -> None:
        """Load the bundle files logged as the `bundle` artifact."""
        self.bundle = ModelBundle.load(context.artifacts["bundle"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.Series:
        """Calibrated probability per admission row (the stay distribution model: the median
        stay in days, `models.stay_model`)."""
        x = self.bundle.encode(model_input)
        if self.bundle.label_target.kind == STAY_DISTRIBUTION:
            return pd.Series(stay_curves(self.bundle, x).quantile(0.5), name="los_median_days")
        p = self.bundle.probability(x, model_input)
        return pd.Series(p, name="probability")
