"""A small, seeded evaluation whose metrics.json is pinned in tests/fixtures/.

`metrics_before_typed_results.json` was written by this module run against the code at dd9cb7f
(group metrics as dicts, gate names as strings): `uv run python -m tests.fairness_sample PATH`.
tests/unit/test_fairness_types.py rebuilds the same evaluation and compares.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaluation.evaluate import evaluate_target, metrics_document
from evaluation.gates import gate_evaluation
from los.config import TrainingConfig

FIXTURE = Path(__file__).parent / "fixtures" / "metrics_before_typed_results.json"
# the same sample with scores rounded to 2 decimals (many tied scores), written by the dense
# count-matrix bootstrap at a1e7955: `uv run python -m tests.fairness_sample PATH 2`
TIED_FIXTURE = Path(__file__).parent / "fixtures" / "metrics_tied_scores_dense_bootstrap.json"


def sample_config() -> TrainingConfig:
    """Small groups reportable, few bootstrap draws, every breakdown gated; each group judged on
    its own 95% interval (`fairness_multiplicity: none`), the rule the fixtures were written
    under (tests/hostile/test_gates_findings.py holds the default, widened rule)."""
    return TrainingConfig.model_validate(
        {
            "seed": 3,
            "gates": {
                "min_group_size": 40,
                "min_group_events": 5,
                "fairness_multiplicity": "none",
                "fairness_attributes": [
                    "ethnic_group", "ethnicity_deprivation", "imd_quintile", "sex", "age_band",
                ],
            },
            "evaluation": {"n_bootstrap": 40},
        }
    )  # fmt: skip


def sample_document(decimals: int | None = None) -> dict[str, Any]:
    """metrics.json for two targets on 3,000 seeded rows: a fair one, and one with a planted
    under-estimate for Black patients (findings, failed and not-conclusive gates), a group too
    small to report (suppressed) and a group with no rows. `decimals` rounds the scores (ties)."""
    rng = np.random.default_rng(20261130)
    n = 3_000
    admissions = pd.DataFrame(
        {
            "ethnic_category": rng.choice(
                ["A", "A", "A", "A", "B", "H", "J", "M", "N", "R", "Z", "99", "D"],
                n,
                p=[0.2, 0.2, 0.1, 0.1, 0.05, 0.08, 0.05, 0.07, 0.05, 0.03, 0.03, 0.03, 0.01],
            ),
            "sex": rng.choice(["1", "2", "9"], n, p=[0.49, 0.5, 0.01]),
            "age": rng.integers(16, 100, n).astype(float),
            "imd_decile": np.where(rng.random(n) < 0.05, np.nan, rng.integers(1, 11, n)),
        }
    )
    p = rng.beta(2, 6, n)
    if decimals is not None:
        p = np.clip(np.round(p, decimals), 0.005, 0.995)
    config = sample_config()
    fair = (rng.random(n) < p).astype(float)
    planted = admissions["ethnic_category"].isin(["M", "N"]).to_numpy()
    odds = p / (1 - p) * np.where(planted, 2.5, 1.0)
    unfair = (rng.random(n) < odds / (1 + odds)).astype(float)
    evaluations = {}
    for name, y, champion in (("long_stay", fair, None), ("nctr", unfair, 0.9)):
        ev = evaluate_target(name, admissions, y, p, 0.3, config, outcome=name.upper())
        gate_evaluation(ev, champion, config.gates)
        evaluations[name] = ev
    document: dict[str, Any] = json.loads(json.dumps(metrics_document(evaluations)))
    for block in document.values():  # added after the fixtures: the widened interval's fields
        for finding in block["findings"]:
            assert finding.pop("groups_compared") == 1 and finding.pop("ci_joint") == finding["ci"]
    return document


def differences(before: Any, after: Any, path: str = "") -> list[str]:
    """Where two JSON documents differ: keys, types, text, or floats beyond a relative 1e-9."""
    if isinstance(before, dict) and isinstance(after, dict):
        if set(before) != set(after):
            return [f"{path}: keys {sorted(set(before) ^ set(after))}"]
        return [d for k in before for d in differences(before[k], after[k], f"{path}/{k}")]
    if isinstance(before, list) and isinstance(after, list):
        if len(before) != len(after):
            return [f"{path}: {len(before)} vs {len(after)} items"]
        return [
            d
            for i, (b, a) in enumerate(zip(before, after, strict=True))
            for d in differences(b, a, f"{path}/{i}")
        ]
    if isinstance(before, float) and isinstance(after, float | int) and not isinstance(after, bool):
        return [] if math.isclose(before, after, rel_tol=1e-9, abs_tol=1e-12) else [path]
    return [] if type(before) is type(after) and before == after else [f"{path}: {before!r}"]


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else FIXTURE
    places = int(sys.argv[2]) if len(sys.argv) > 2 else None
    out.write_text(json.dumps(sample_document(places)) + "\n")
