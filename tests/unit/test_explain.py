"""SHAP contributions: exact Shapley values by enumeration, additivity, global explanations.

LightGBM's `pred_contrib` is what shap's TreeExplainer calls for LightGBM, so agreement between
the two proves little (STACK-NOTES); the independent checks are exact Shapley values computed by
enumerating every coalition on a tiny model, and additivity on a realistic one.
"""

from __future__ import annotations

import ast
import itertools
import json
import math
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from features.build import FeatureSpec, derive_features
from features.encoder import FeatureEncoder
from models.bundle import ModelBundle
from models.calibration import PlattCalibrator
from models.explain import global_explanation, sample_rows
from tests.factories import random_admissions

# ---- an independent Shapley computation --------------------------------------------------------


def _count(node: dict[str, Any]) -> float:
    return float(node["leaf_count"] if "leaf_value" in node else node["internal_count"])


def _goes_left(node: dict[str, Any], value: float) -> bool:
    """LightGBM's numerical decision, including its missing-value handling."""
    missing = node["missing_type"]
    if math.isnan(value) and missing != "NaN":
        value = 0.0
    if (missing == "Zero" and value == 0.0) or (missing == "NaN" and math.isnan(value)):
        return bool(node["default_left"])
    return value <= node["threshold"]


def _value(node: dict[str, Any], x: np.ndarray, known: frozenset[int]) -> float:
    """E[tree(x) | x_S] under the tree_path_dependent rule: features outside S follow every
    branch, weighted by the share of training rows that went each way."""
    if "leaf_value" in node:
        return float(node["leaf_value"])
    left, right = node["left_child"], node["right_child"]
    j = node["split_feature"]
    if j in known:
        return _value(left if _goes_left(node, x[j]) else right, x, known)
    total = _count(node)
    return (_count(left) * _value(left, x, known) + _count(right) * _value(right, x, known)) / total


def exact_shapley(booster: lgb.Booster, x: np.ndarray) -> tuple[np.ndarray, float]:
    """Shapley values of one row by enumerating all coalitions, and the expected value."""
    trees = [t["tree_structure"] for t in booster.dump_model()["tree_info"]]
    n = len(x)

    def v(s: frozenset[int]) -> float:
        return sum(_value(t, x, s) for t in trees)

    phi = np.zeros(n)
    for i in range(n):
        others = [j for j in range(n) if j != i]
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for subset in itertools.combinations(others, size):
                s = frozenset(subset)
                phi[i] += weight * (v(s | {i}) - v(s))
    return phi, v(frozenset())


@pytest.fixture(scope="module")
def tiny_booster() -> tuple[lgb.Booster, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 3))
    x[rng.random(600) < 0.15, 0] = np.nan  # a learned missing-value branch
    logit = np.nan_to_num(x[:, 0], nan=1.5) + x[:, 1] * x[:, 2] - 0.5 * (x[:, 2] > 0.3)
    y = (rng.random(600) < 1 / (1 + np.exp(-logit))).astype(float)
    params = {
        "objective": "binary",
        "num_leaves": 4,
        "max_depth": 2,
        "learning_rate": 0.3,
        "min_data_in_leaf": 20,
        "verbosity": -1,
        "deterministic": True,
        "num_threads": 1,
        "seed": 1,
    }
    booster = lgb.train(params, lgb.Dataset(x, label=y), num_boost_round=6)
    rows = np.vstack([x[:8], [[np.nan, 0.0, 0.0], [0.0, np.nan, -2.0], [3.0, -1.0, np.nan]]])
    return booster, rows


def test_pred_contrib_equals_exact_shapley_by_enumeration(
    tiny_booster: tuple[lgb.Booster, np.ndarray],
) -> None:
    booster, rows = tiny_booster
    dump = booster.dump_model()["tree_info"]
    assert any(t["tree_structure"].get("missing_type") == "NaN" for t in dump)
    contrib = booster.predict(rows, pred_contrib=True)
    for row, got in zip(rows, contrib, strict=True):
        phi, expected = exact_shapley(booster, row)
        np.testing.assert_allclose(got[:-1], phi, atol=1e-9)
        assert got[-1] == pytest.approx(expected, abs=1e-9)
    # and the enumeration is not trivially zero: features really move these rows
    assert np.abs(contrib[:, :-1]).max() > 0.1


# ---- a realistic bundle with native categorical splits -----------------------------------------


@pytest.fixture(scope="module")
def bundle() -> tuple[ModelBundle, np.ndarray, pd.DataFrame]:
    admissions = random_admissions(1500, seed=4)
    rng = np.random.default_rng(4)
    admissions["admission_source"] = rng.choice(["19", "54", "51", None], len(admissions))
    admissions["specialty"] = rng.choice(["300", "430", "100", "110", "320"], len(admissions))
    admissions["frailty_score"] = np.where(rng.random(len(admissions)) < 0.2, np.nan, 8.0)
    spec = FeatureSpec()
    features = derive_features(admissions, spec)
    encoder = FeatureEncoder(spec).fit(features)
    x = encoder.transform(features)
    logit = (
        0.05 * (features["age"] - 60)
        + 1.2 * (features["admission_source"] == "54")
        + 0.8 * (features["specialty"] == "430")
    )
    y = (rng.random(len(x)) < 1 / (1 + np.exp(-logit.to_numpy()))).astype(float)
    params = {"objective": "binary", "num_leaves": 15, "verbosity": -1, "seed": 3}
    data = lgb.Dataset(
        x,
        label=y,
        feature_name=encoder.columns_,
        categorical_feature=encoder.categorical_indices,
    )
    booster = lgb.train({**params, "min_data_in_leaf": 10}, data, num_boost_round=40)
    raw = booster.predict(x, raw_score=True)
    calibrator = PlattCalibrator().fit(raw * 0.5, y)  # a slope far from 1, to see the scaling
    b = ModelBundle("long_stay", booster, encoder, calibrator, 0.3, 0.6, float(y.mean()))
    return b, x, features


def test_contributions_add_up_to_the_raw_score(
    bundle: tuple[ModelBundle, np.ndarray, pd.DataFrame],
) -> None:
    b, x, _ = bundle
    contrib = b.contributions(x)
    assert contrib.shape == (len(x), len(b.feature_names) + 1)
    np.testing.assert_allclose(contrib.sum(axis=1), b.raw_score(x), atol=1e-9)
    categorical = [b.feature_names.index(c) for c in ("admission_source", "specialty")]
    assert np.abs(contrib[:, categorical]).max() > 0.05  # categorical splits carry weight


def test_shap_tree_explainer_agrees(bundle: tuple[ModelBundle, np.ndarray, pd.DataFrame]) -> None:
    """The check the issue asks for (weak on its own: TreeExplainer calls pred_contrib)."""
    shap = pytest.importorskip("shap")
    b, x, _ = bundle
    explainer = shap.TreeExplainer(b.booster)
    values = explainer.shap_values(x[:200])
    values = values[1] if isinstance(values, list) else values
    np.testing.assert_allclose(values, b.contributions(x[:200])[:, :-1], atol=1e-8)


def test_global_explanation_samples_scales_and_groups_by_field(
    bundle: tuple[ModelBundle, np.ndarray, pd.DataFrame],
) -> None:
    b, x, _ = bundle
    expl = global_explanation(b, x, sample=300, seed=9)
    rows = sample_rows(len(x), 300, 9)
    assert expl.n_rows == 300 and len(set(rows)) == 300
    np.testing.assert_array_equal(expl.values, x[rows])
    slope = b.calibrator.slope_
    assert abs(slope - 1) > 0.2
    np.testing.assert_allclose(expl.contributions, b.contributions(x[rows])[:, :-1] * slope)
    fields, per_field = expl.field_contributions()
    assert "admission_datetime" in fields and "admission_hour" not in fields
    cols = [
        b.feature_names.index(c) for c in ("admission_hour", "admission_weekday", "admission_month")
    ]
    np.testing.assert_allclose(
        per_field[:, fields.index("admission_datetime")], expl.contributions[:, cols].sum(axis=1)
    )
    np.testing.assert_allclose(per_field.sum(axis=1), expl.contributions.sum(axis=1))
    importance = list(expl.feature_importance())
    assert importance[0] == "age"  # the strongest planted effect
    assert set(expl.field_importance()) == set(fields)
    json.dumps(expl.to_dict(), allow_nan=False)
    np.testing.assert_array_equal(global_explanation(b, x, sample=300, seed=9).values, expl.values)


def test_scoring_path_does_not_import_shap_or_matplotlib() -> None:
    """models/ and serving/ sit on the scoring path: shap costs ~4 s and ~200 MB to import, so
    only the report code (evaluation/) may use plotting libraries."""
    root = Path(__file__).resolve().parents[2]
    offenders = []
    for path in [*root.glob("models/**/*.py"), *root.glob("serving/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.name}: {n}" for n in names if n.split(".")[0] in ("shap", "matplotlib")
            ]
    assert offenders == []
    assert (root / "models" / "explain.py").exists()
