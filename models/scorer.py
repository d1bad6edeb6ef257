"""`Scorer`: admissions -> probability, flag, risk band and reasons per target, with model identity.

One code path for batch scoring (`los score`), the daily risk list and the HTTP service.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from features.build import Columns, derive_columns, with_default_history
from features.completeness import input_fields, missing_inputs
from features.encoder import FeatureEncoder
from models.bundle import ModelBundle
from models.inputs import ExtraInput, blank_extra_inputs, check_extra_inputs, extra_inputs
from models.reasons import Reason, build_reasons, reasons_text
from models.registry import LoadedModel, ModelIdentity
from models.stay_curve import StayCurves
from models.stay_model import stay_curves
from models.stay_scores import data_as_of, is_stay_model, stay_columns, stay_reasons

log = logging.getLogger(__name__)


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


def _reasons(
    bundle: ModelBundle, contrib: np.ndarray, features: Columns, top_k: int
) -> list[list[Reason]]:
    """Reasons from `pred_contrib` rows, in the calibrated log-odds space (Platt slope)."""
    scale = bundle.calibrator.slope_
    return build_reasons(
        contrib, features, bundle.feature_names, bundle.spec.source_of, scale=scale, top_k=top_k
    )


# features derived from one set of rows, per feature spec (`FeatureSpec.columns`)
Derived = dict[tuple[str, ...], dict[str, np.ndarray]]


class Scorer:
    """Scores admissions with every loaded target model through the shared feature path."""

    def __init__(self, models: dict[str, LoadedModel]) -> None:
        if not models:
            raise ValueError("Scorer needs at least one model")
        self.models = models
        # the stay distribution (CONTRACT §7) gives columns of its own (`stay_scores`), no flag
        self.stay = next((m for m in models.values() if is_stay_model(m)), None)
        # fields the models read beyond the contract's columns (`models.inputs`)
        self.extra_inputs: tuple[ExtraInput, ...] = extra_inputs(models)

    @property
    def targets(self) -> list[str]:
        """Flag target names in a stable order (not the stay distribution)."""
        return [t for t, m in self.models.items() if m is not self.stay]

    def score(
        self,
        admissions: Columns,
        history: pd.DataFrame | None = None,
        reasons: bool = True,
        top_k: int = 3,
        reasons_for: Literal["all", "flagged"] = "all",
        *,
        derived: Derived | None = None,
    ) -> dict[str, TargetScores]:
        """Score every row for every target; label columns in the input are ignored.

        `admissions` is a DataFrame or a dict of equal-length arrays (as the service builds).

        History columns come from the input when given, else from `history`, else from the
        labelled rows of the input itself (a labelled extract), else they are zero.

        Reasons cost exact tree SHAP, tens of times a plain prediction; `reasons_for="flagged"`
        explains only the rows each target flags (the others get no reasons), for large batches.

        An extra input a model was trained with (`extra_inputs`) must be a column of
        `admissions` (`MissingColumnError` naming it otherwise): never scored silently without.

        `derived`: the features derived per feature spec, filled here; pass the same dict to
        `stay_scores` for the same rows and history so they are derived once.
        """
        if self.extra_inputs:
            check_extra_inputs(admissions, self.extra_inputs)
        derived = {} if derived is None else derived
        encoded: list[tuple[FeatureEncoder, np.ndarray]] = []
        out: dict[str, TargetScores] = {}
        for target, model in self.models.items():
            if model is self.stay:
                continue
            bundle = model.bundle
            key = bundle.spec.columns
            if key not in derived:
                derived[key] = derive_columns(admissions, bundle.spec, history)
            features = derived[key]
            x = _encode_once(bundle.encoder, features, encoded)
            why: list[list[Reason]] | None = None
            if not reasons:
                p = bundle.probability(x, admissions)
            elif reasons_for == "flagged":
                p = bundle.probability(x, admissions)
                rows = np.flatnonzero(p >= bundle.threshold)
                why = [[] for _ in range(len(p))]
                if len(rows):  # only these pay for tree SHAP
                    picked = {c: v[rows] for c, v in features.items()}
                    explained = _reasons(bundle, bundle.contributions(x[rows]), picked, top_k)
                    for i, r in zip(rows, explained, strict=True):
                        why[i] = r
            else:
                # the probability from the plain prediction, as without reasons: the SHAP sum
                # equals it only to rounding, and a flag at the threshold must not depend on
                # which rows were explained (a plain pass costs ~1% of tree SHAP)
                p = bundle.probability(x, admissions)
                why = _reasons(bundle, bundle.contributions(x), features, top_k)
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

    def stay_scores(
        self,
        admissions: Columns,
        scores: dict[str, TargetScores],
        history: pd.DataFrame | None = None,
        as_of: pd.Timestamp | None = None,
        reasons: bool = False,
        *,
        derived: Derived | None = None,
    ) -> dict[str, list[object]]:
        """The §7 columns (`models.stay_scores`) of rows already scored (`scores`, for the NCTR
        probability), and `los_reasons` when `reasons`; empty without a stay model. `derived`:
        as `score` filled it for the same rows and history (features reused, not derived again)."""
        if self.stay is None:
            return {}
        bundle = self.stay.bundle
        key = bundle.spec.columns
        if derived is not None and key in derived:
            features = derived[key]
        else:
            features = derive_columns(admissions, bundle.spec, history)
        x = bundle.encoder.transform(features)
        nctr = scores.get("nctr")
        p_nctr = None if nctr is None else nctr.probability
        out = stay_columns(bundle, admissions, x, p_nctr, as_of)
        if reasons:
            out["los_reasons"] = list(stay_reasons(bundle, features, x))
        return out

    def stay_curves(self, admissions: Columns, history: pd.DataFrame | None = None) -> StayCurves:
        """Each row's stay curve from the stay distribution model, through the same feature
        path as `stay_scores` (ValueError without a stay model)."""
        if self.stay is None:
            raise ValueError("no stay distribution model is loaded")
        bundle = self.stay.bundle
        x = bundle.encoder.transform(derive_columns(admissions, bundle.spec, history))
        return stay_curves(bundle, x)

    def score_table(
        self,
        admissions: pd.DataFrame,
        top_k: int = 3,
        reasons_for: Literal["all", "flagged"] = "all",
        chunk_rows: int = 50_000,
        progress: Callable[[int], None] = lambda done: None,
        as_of: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """The `los score` output: one row per input spell, in input order (CONTRACT §3).

        `as_of`: when current inpatients' days stayed are counted to (default: the input's own
        `data_as_of`; a caller scoring a part of an extract passes the whole extract's).

        Scored `chunk_rows` at a time (memory stays bounded; `progress` gets the rows done).
        History is computed once over the whole input, so chunking never changes a score.
        An absent extra input stops it before any scoring; blank ones are logged as counts.
        """
        if self.extra_inputs:
            check_extra_inputs(admissions, self.extra_inputs)
            for name, blank in blank_extra_inputs(admissions, self.extra_inputs).items():
                log.warning(
                    "extra input %s is blank in %d of %d rows (%.1f%%): scored as missing",
                    name, blank, len(admissions), 100 * blank / len(admissions),
                )  # fmt: skip
        admissions = pd.DataFrame(with_default_history(admissions))  # once, over all the rows
        fields = input_fields(  # the table columns the models read, for `missing_inputs`
            m.bundle.spec.source_of(c) for m in self.models.values() for c in m.bundle.spec.columns
        )
        parts = []
        if as_of is None:  # current inpatients: conditional on days stayed
            as_of = data_as_of(admissions)
        chunk_rows = max(chunk_rows, 1)
        for start in range(0, max(len(admissions), 1), chunk_rows):  # an empty input: one pass
            chunk = admissions.iloc[start : start + chunk_rows]
            derived: Derived = {}  # features of this chunk, shared by the flags and the stay
            scores = self.score(chunk, top_k=top_k, reasons_for=reasons_for, derived=derived)
            part = pd.DataFrame({"spell_id": chunk["spell_id"].to_numpy()})
            for target, s in scores.items():
                part[f"{target}_probability"] = np.round(s.probability, 6)
                part[f"{target}_flagged"] = s.flagged.astype(bool)
                part[f"{target}_risk_band"] = s.band
                part[f"{target}_reasons"] = [reasons_text(r) for r in (s.reasons or [])]
                part[f"{target}_model_version"] = f"{s.identity.name}/{s.identity.version}"
            stay = self.stay_scores(
                chunk, scores, as_of=as_of, reasons=reasons_for == "all", derived=derived
            )
            for column, values in stay.items():
                part[column] = pd.Series(values, index=part.index)
            part["missing_inputs"] = missing_inputs(chunk, fields)  # blank/absent model inputs
            parts.append(part)
            progress(start + len(chunk))
        return pd.concat(parts, ignore_index=True)
