"""Fit one LightGBM booster with early stopping on the validation period."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np

from los.config import LightGBMConfig


def booster_params(config: LightGBMConfig, seed: int) -> dict[str, object]:
    """LightGBM native parameters for a binary classifier, deterministic for a seed."""
    return {
        "objective": "binary",
        "metric": "binary_logloss",
        "num_leaves": config.num_leaves,
        "max_depth": config.max_depth,
        "learning_rate": config.learning_rate,
        "min_child_samples": config.min_child_samples,
        "feature_fraction": config.feature_fraction,
        "bagging_fraction": config.bagging_fraction,
        "bagging_freq": config.bagging_freq,
        "lambda_l2": config.lambda_l2,
        "cat_smooth": config.cat_smooth,
        "min_data_per_group": config.min_data_per_group,
        "num_threads": config.num_threads,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
    }


def fit_booster(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    *,
    feature_names: list[str],
    categorical: list[int],
    config: LightGBMConfig,
    seed: int,
) -> lgb.Booster:
    """Train on the training period; stop when validation log-loss stops improving."""
    params = booster_params(config, seed)
    train = lgb.Dataset(
        x_train,
        label=y_train,
        feature_name=feature_names,
        categorical_feature=categorical,
        free_raw_data=True,
    )
    valid = lgb.Dataset(x_valid, label=y_valid, reference=train)
    return lgb.train(
        params,
        train,
        num_boost_round=config.n_estimators,
        valid_sets=[valid],
        valid_names=["validation"],
        callbacks=[lgb.early_stopping(config.early_stopping_rounds, verbose=False)],
    )
