"""Fairness gates on generated data: the planted NCTR disparity fails a gate; fair labels pass.

The generator doubles the odds of NCTR for Black, Pakistani and Bangladeshi patients in IMD
deciles 1-2 (docs/synthetic-data.md). Ethnicity is not a model input, so a model trained on the
data under-predicts NCTR there: calibration within "Black or Black British, Core20" breaks. Every
labelled spell is evaluated (not only the test period) for statistical power; the model never
sees ethnicity, so the training rows carry the disparity as much as the later ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from evaluation.evaluate import evaluate_target
from evaluation.fairness import fairness_gates
from evaluation.gates import gate_evaluation
from evaluation.report import findings
from features.generate import generate_admissions
from los.config import TrainingConfig
from los.targets import label, targets_from_config
from tests.conftest import fast_config
from training.pipeline import fit_target
from training.prepare import prepare

PLANTED = "Black or Black British, Core20"


@dataclass(frozen=True)
class Scored:
    admissions: pd.DataFrame
    y: np.ndarray
    p: np.ndarray
    threshold: float


@pytest.fixture(scope="module")
def nctr_scored() -> Scored:
    data = generate_admissions(80_000, seed=21)
    config = fast_config(targets={"extra_long_stay_days": []})
    prepared = prepare(data.admissions, config)
    target = next(t for t in targets_from_config(config.targets) if t.name == "nctr")
    run = fit_target(prepared, target, config)
    y = label(prepared.admissions, target).to_numpy()
    keep = ~np.isnan(y)
    p = run.bundle.probability(prepared.x[keep])
    return Scored(prepared.admissions.loc[keep], y[keep], p, run.bundle.threshold)


STRICT = TrainingConfig.model_validate(
    {
        "gates": {
            "fairness_attributes": ["ethnic_group", "ethnicity_deprivation", "imd_quintile"],
            "calibration_ratio_band": [0.9, 1.1],
            "min_group_events": 30,
        },
        "evaluation": {"n_bootstrap": 60},
    }
)


def _gates(scored: Scored, y: np.ndarray, config: TrainingConfig) -> dict[str, object]:
    ev = evaluate_target("nctr", scored.admissions, y, scored.p, scored.threshold, config)
    return {"evaluation": ev, **{g.name: g for g in fairness_gates(ev, config.gates)}}


def test_planted_nctr_disparity_fails_a_strict_gate(nctr_scored: Scored) -> None:
    result = _gates(nctr_scored, nctr_scored.y, STRICT)
    gate = result["calibration_ratio:ethnicity_deprivation"]
    assert not gate.passed, gate.detail  # type: ignore[attr-defined]
    assert PLANTED in gate.detail  # type: ignore[attr-defined]
    assert "under-estimates this group's risk" in gate.detail  # type: ignore[attr-defined]
    row = result["evaluation"].groups["ethnicity_deprivation"][PLANTED]  # type: ignore[attr-defined]
    assert row.calibration_ratio > 1.3
    assert row.calibration_ratio_ci[0] > 1.1


def test_fair_labels_pass_the_same_strict_gates(nctr_scored: Scored) -> None:
    """Labels drawn from the model's own probabilities: calibrated in every group by design."""
    fair_y = (np.random.default_rng(3).random(len(nctr_scored.p)) < nctr_scored.p).astype(float)
    result = _gates(nctr_scored, fair_y, STRICT)
    gates = {k: v for k, v in result.items() if k != "evaluation"}
    assert len(gates) == 12
    failed = {k: g.detail for k, g in gates.items() if not g.passed}  # type: ignore[attr-defined]
    assert failed == {}
    row = result["evaluation"].groups["ethnicity_deprivation"][PLANTED]  # type: ignore[attr-defined]
    assert 0.8 < row.calibration_ratio < 1.2


def test_planted_group_is_a_finding_that_fails_its_gate_with_default_limits(
    nctr_scored: Scored,
) -> None:
    """The report's findings and the gates are one rule: with default settings the planted
    group is a finding in the (gated by default) ethnicity x deprivation breakdown, and the
    gate that covers it fails; no other gate does."""
    config = TrainingConfig.model_validate({"evaluation": {"n_bootstrap": 60}})
    ev = evaluate_target(
        "nctr", nctr_scored.admissions, nctr_scored.y, nctr_scored.p, nctr_scored.threshold, config
    )
    gate_evaluation(ev, None, config.gates)
    found = [f for f in findings(ev) if f["group"] == PLANTED and f["status"] == "fail"]
    assert [(f["metric"], f["blocking"]) for f in found] == [("calibration ratio (O/E)", True)]
    assert found[0]["observed"] > found[0]["predicted"]
    assert found[0]["sentence"].startswith(
        "Black or Black British patients in the most deprived areas (IMD quintile 1) have "
    )
    failed = {g.name: g.detail for g in ev.gates if not g.passed}
    assert set(failed) == {"calibration_ratio:ethnicity_deprivation"}, failed
