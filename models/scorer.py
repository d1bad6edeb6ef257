"""`Scorer`: admissions -> probability, flag, risk band and reasons per target, with model identity.

One code path for batch scoring (`los score`), the daily risk list and the HTTP service.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.build import Columns, derive_columns
from features.encoder import FeatureEncoder
from models.reasons import Reason, build_reasons, reasons_text
from models.registry import LoadedModel, ModelIdentity


@dataclass(frozen=True)
class TargetScores:
    """Scores of one target for a batch of admissions (arrays in input order)."""

    target: str
    probability: np.ndarray
    flagged: np.ndarray
    band: np.ndarray
    threshold: float
    reasons: list[list[Reason]] | None
    identity: ModelIdentity


def _encode_once(
    encoder: FeatureEncoder, features: Columns, done: list[tuple[FeatureEncoder, np.ndarray]]
) -> np.ndarray:
    """Encode with `encoder`, reusing a matrix already built by an identical encoder.

    Models trained in one run share their encoder's levels, so a batch is encoded once.
    """
    for other, x in done:
        if other.columns_ == encoder.columns_ and other.levels_ == encoder.levels_:
            return x
    x = encoder.transform(features)
    done.append((encoder, x))
    return x


class Scorer:
    """Scores admissions with every loaded target model through the shared feature path."""

    def __init__(self, models: dict[str, LoadedModel]) -> None:
        if not models:
            raise ValueError("Scorer needs at least one model")
        self.models = models

    @property
    def targets(self) -> list[str]:
        """Target names in a stable order."""
        return list(self.models)

    def score(
        self,
        admissions: Columns,
        history: pd.DataFrame | None = None,
        reasons: bool = True,
        top_k: int = 3,
    ) -> dict[str, TargetScores]:
        """Score every row for every target; label columns in the input are ignored.

        `admissions` is a DataFrame or a dict of equal-length arrays (as the service builds).

        History columns come from the input when given, else from `history`, else from the
        labelled rows of the input itself (a labelled extract), else they are zero.
        """
        derived: dict[tuple[str, ...], dict[str, np.ndarray]] = {}
        encoded: list[tuple[FeatureEncoder, np.ndarray]] = []
        out: dict[str, TargetScores] = {}
        for target, model in self.models.items():
            bundle = model.bundle
            key = bundle.spec.columns
            if key not in derived:
                derived[key] = derive_columns(admissions, bundle.spec, history)
            features = derived[key]
            x = _encode_once(bundle.encoder, features, encoded)
            why = None
            if not reasons:
                p = bundle.probability(x)
            else:
                # SHAP values sum to the raw score (additivity), so one pass gives both
                contrib = bundle.contributions(x)
                p = bundle.calibrator.transform(contrib.sum(axis=1))
                why = build_reasons(
                    contrib,
                    features,
                    bundle.feature_names,
                    bundle.spec.source_of,
                    scale=bundle.calibrator.slope_,
                    top_k=top_k,
                )
            out[target] = TargetScores(
                target,
                p,
                p >= bundle.threshold,
                bundle.band(p),
                bundle.threshold,
                why,
                model.identity,
            )
        return out

    def score_table(self, admissions: pd.DataFrame, top_k: int = 3) -> pd.DataFrame:
        """The `los score` output: one row per input spell, in input order (CONTRACT §3)."""
        scores = self.score(admissions, top_k=top_k)
        table = pd.DataFrame({"spell_id": admissions["spell_id"].to_numpy()})
        for target, s in scores.items():
            table[f"{target}_probability"] = np.round(s.probability, 6)
            table[f"{target}_flagged"] = s.flagged.astype(bool)
            table[f"{target}_risk_band"] = s.band
            table[f"{target}_reasons"] = [reasons_text(r) for r in (s.reasons or [])]
            table[f"{target}_model_version"] = f"{s.identity.name}/{s.identity.version}"
        return table
