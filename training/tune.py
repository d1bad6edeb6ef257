"""Choose LightGBM settings on the validation period: a seeded random search over a small grid.

Trial 0 is the configured settings; the others are distinct draws from `SEARCH_SPACE`, made by
a generator seeded from the training seed. Every trial trains on the training period with early
stopping on the validation period (as `fit_booster` always does). The choice: among the trials
within `AUROC_TOLERANCE` of the best validation AUROC, the smallest model (trees x leaves, which
sets the cost of every explanation), then the earlier trial. The winning booster is kept, not
refitted. Same config and data, same trials, same choice, same model: nothing depends on wall
time unless `tune_seconds` cuts the search, which the result records.

A validation period with fewer than `MIN_VALIDATION_CASES` of its rarer class cannot tell
settings apart (with 30 cases an AUROC's standard error is ~0.05, far above the differences
between settings), so there the search is skipped and the configured settings are used: on
such extracts picking the validation winner was as likely to lose as to gain on later data, and
sometimes lost badly (measured with benchmarks/tune.py).

The budget scales with the data: each trial costs about as much as one fit, so small tables
get many trials (`MAX_TRIALS`) and large ones few (`MIN_TRIALS`); see `search_budget`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import lightgbm as lgb
import numpy as np

from evaluation.metrics import safe_auroc
from los.config import LightGBMConfig
from training.fit import fit_booster

log = logging.getLogger(__name__)

Setting = dict[str, float | int]

# Candidate values. Leaf and category minimums above a twentieth of the training rows are
# dropped (`_space_for`): such leaves could hardly split at all.
SEARCH_SPACE: dict[str, tuple[float | int, ...]] = {
    "num_leaves": (7, 15, 31, 63),
    "learning_rate": (0.03, 0.05, 0.1),
    "min_child_samples": (5, 10, 20, 50, 100, 200, 400),
    "feature_fraction": (0.5, 0.7, 0.9, 1.0),
    "lambda_l2": (0.0, 1.0, 5.0, 20.0, 50.0),
    "cat_smooth": (1.0, 10.0, 30.0, 100.0),
    "min_data_per_group": (5, 20, 50, 100, 200),
}
ROW_SCALED = ("min_child_samples", "min_data_per_group")
ROWS_PER_LEAF_LIMIT = 20

# Budget: about `TRIAL_ROWS / training rows` trials, within [MIN_TRIALS, MAX_TRIALS]. At the
# default 200k spells (~120k training rows) that is 17 trials per target.
TRIAL_ROWS = 2_000_000
MIN_TRIALS = 8
MAX_TRIALS = 40

# A validation-AUROC difference smaller than this does not buy a bigger model: exact tree SHAP
# (every reason we give) costs trees x leaves x depth^2, and at 200k spells the configured
# settings and the best trial are typically 0.001 apart.
AUROC_TOLERANCE = 0.0005
MIN_VALIDATION_CASES = 100

StoppedBy = Literal["budget", "seconds", "disabled", "few_cases"]


@dataclass(frozen=True)
class Trial:
    """One candidate: its settings and how it did on the validation period."""

    number: int
    params: Setting
    best_iteration: int
    size: int  # trees x leaves, a proxy for the cost of explaining a row
    valid_auroc: float
    valid_logloss: float
    seconds: float


@dataclass(frozen=True)
class SearchResult:
    """What the search tried and chose (one trial, the configured settings, when disabled)."""

    trials: tuple[Trial, ...]
    chosen: int
    budget: int
    stopped_by: StoppedBy
    searched: tuple[str, ...]

    @property
    def params(self) -> Setting:
        """The chosen values of the searchable parameters."""
        return dict(self.trials[self.chosen].params)

    def summary(self) -> dict[str, Any]:
        """The choice without timings (same for the same config and data)."""
        best, first = self.trials[self.chosen], self.trials[0]
        return {
            "tuned": self.stopped_by not in ("disabled", "few_cases"),
            "params": self.params,
            "chosen_trial": self.chosen,
            "trials_run": len(self.trials),
            "budget": self.budget,
            "stopped_by": self.stopped_by,
            "searched": list(self.searched),
            "valid_auroc": best.valid_auroc,
            "configured_valid_auroc": first.valid_auroc,
        }

    def to_dict(self) -> dict[str, Any]:
        """Summary plus the whole search table (one row per trial), for the MLflow artifact."""
        return {
            **self.summary(),
            "seconds": round(sum(t.seconds for t in self.trials), 3),
            "trials": [asdict(t) for t in self.trials],
        }

    def mlflow_params(self, target: str) -> dict[str, str]:
        """Chosen settings as MLflow run parameters, prefixed by the target's name."""
        out = {f"{target}.lightgbm.{k}": str(v) for k, v in self.params.items()}
        out[f"{target}.lightgbm.tune_trials_run"] = str(len(self.trials))
        out[f"{target}.lightgbm.tune_stopped_by"] = self.stopped_by
        return out


def search_budget(n_train: int, config: LightGBMConfig) -> int:
    """Trials for one target: `tune_trials` if set, else scaled with the training rows."""
    if config.tune_trials is not None:
        return config.tune_trials
    return int(np.clip(round(TRIAL_ROWS / max(n_train, 1)), MIN_TRIALS, MAX_TRIALS))


def configured_setting(config: LightGBMConfig) -> Setting:
    """The configured values of the searchable parameters (trial 0)."""
    return {name: getattr(config, name) for name in SEARCH_SPACE}


def _space_for(n_train: int, config: LightGBMConfig) -> dict[str, tuple[float | int, ...]]:
    """Candidate values for this table; parameters in `tune_fixed` keep their configured value."""
    limit = max(n_train // ROWS_PER_LEAF_LIMIT, 1)
    space: dict[str, tuple[float | int, ...]] = {}
    for name, values in SEARCH_SPACE.items():
        if name in config.tune_fixed:
            space[name] = (getattr(config, name),)
        elif name in ROW_SCALED:
            space[name] = tuple(v for v in values if v <= limit) or (min(values),)
        else:
            space[name] = values
    return space


def candidate_settings(
    config: LightGBMConfig, n_train: int, n_trials: int, seed: int
) -> list[Setting]:
    """The configured settings, then distinct seeded random draws from the grid."""
    space = _space_for(n_train, config)
    first = configured_setting(config)
    seen = {tuple(first.values())}
    in_grid = all(first[name] in values for name, values in space.items())
    available = int(np.prod([len(v) for v in space.values()])) + (0 if in_grid else 1)
    rng = np.random.default_rng([seed, 0x7A11])  # its own stream: no other draw shifts it
    out = [first]
    while len(out) < min(n_trials, available):
        draw = {name: values[int(rng.integers(len(values)))] for name, values in space.items()}
        key = tuple(draw.values())
        if key not in seen:
            seen.add(key)
            out.append(draw)
    return out


def _trial(
    number: int,
    setting: Setting,
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    fit: Callable[[LightGBMConfig], lgb.Booster],
    config: LightGBMConfig,
) -> tuple[Trial, lgb.Booster]:
    started = time.perf_counter()
    booster = fit(config.model_copy(update=setting))
    _, _, x_valid, y_valid = data
    p = np.asarray(booster.predict(x_valid))  # at the early-stopping iteration
    logloss = float(booster.best_score["validation"]["binary_logloss"])
    trees = int(booster.best_iteration) or booster.num_trees()
    trial = Trial(
        number=number,
        params=setting,
        best_iteration=int(booster.best_iteration),
        size=trees * int(setting["num_leaves"]),
        valid_auroc=safe_auroc(y_valid, p),
        valid_logloss=logloss,
        seconds=round(time.perf_counter() - started, 3),
    )
    return trial, booster


def choose(trials: list[Trial]) -> Trial:
    """The smallest model among those within `AUROC_TOLERANCE` of the best validation AUROC.

    Without a finite AUROC (one class in the validation period) the lowest log-loss wins.
    """
    scored = [t for t in trials if np.isfinite(t.valid_auroc)]
    if not scored:
        return min(trials, key=lambda t: (t.valid_logloss, t.number))
    top = max(t.valid_auroc for t in scored)
    near = [t for t in scored if t.valid_auroc >= top - AUROC_TOLERANCE]
    return min(near, key=lambda t: (t.size, t.number))


def tune_booster(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    *,
    feature_names: list[str],
    categorical: list[int],
    config: LightGBMConfig,
    seed: int,
) -> tuple[lgb.Booster, SearchResult]:
    """Train with the settings that do best on the validation period (or as configured)."""

    def fit(cfg: LightGBMConfig) -> lgb.Booster:
        return fit_booster(
            x_train,
            y_train,
            x_valid,
            y_valid,
            feature_names=feature_names,
            categorical=categorical,
            config=cfg,
            seed=seed,
        )

    data = (x_train, y_train, x_valid, y_valid)
    rarer = int(min(np.sum(y_valid == 1), np.sum(y_valid == 0)))
    if not config.tune or rarer < MIN_VALIDATION_CASES:
        trial, booster = _trial(0, configured_setting(config), data, fit, config)
        if config.tune:
            log.info(
                "LightGBM search skipped: the validation period holds %d cases of the rarer "
                "class (fewer than %d), too few to tell settings apart; configured settings used",
                rarer,
                MIN_VALIDATION_CASES,
            )
        why: StoppedBy = "few_cases" if config.tune else "disabled"
        return booster, SearchResult((trial,), 0, 1, why, ())
    budget = search_budget(len(y_train), config)
    searched = tuple(n for n in SEARCH_SPACE if n not in config.tune_fixed)
    started = time.perf_counter()
    trials: list[Trial] = []
    boosters: list[lgb.Booster] = []
    stopped_by: StoppedBy = "budget"
    for number, setting in enumerate(candidate_settings(config, len(y_train), budget, seed)):
        elapsed = time.perf_counter() - started
        if number and config.tune_seconds is not None and elapsed >= config.tune_seconds:
            stopped_by = "seconds"
            log.warning(
                "LightGBM search stopped by its %.0f s budget after %d of %d trials: the choice "
                "now depends on this machine's speed",
                config.tune_seconds,
                number,
                budget,
            )
            break
        trial, booster = _trial(number, setting, data, fit, config)
        trials.append(trial)
        boosters.append(booster)
    best = choose(trials)  # trial 0 always runs
    result = SearchResult(tuple(trials), best.number, budget, stopped_by, searched)
    log.info(
        "LightGBM search: trial %d of %d chosen (validation AUROC %.4f, configured %.4f)",
        best.number,
        len(trials),
        best.valid_auroc,
        trials[0].valid_auroc,
    )
    return boosters[best.number], result
