"""MLflow pyfunc wrapper of a `ModelBundle`: returns calibrated probabilities (no reasons)."""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import pandas as pd

from models.bundle import ModelBundle


class BundlePyfunc(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
    """Lets `mlflow models serve` and `mlflow.pyfunc.load_model` score admissions."""

    def load_context(self, context: Any) -> None:
        """Load the bundle files logged as the `bundle` artifact."""
        self.bundle = ModelBundle.load(context.artifacts["bundle"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.Series:
        """Calibrated probability per admission row."""
        p = self.bundle.probability(self.bundle.encode(model_input), model_input)
        return pd.Series(p, name="probability")
