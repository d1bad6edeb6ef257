"""Tuning benchmark: LightGBM defaults vs our automatic search vs a larger reference search.

Usage: python benchmarks/tune.py [--datasets sparcs gen5k-flip10 ...] [--reference-trials 80]

Every dataset runs the product's own steps (prepare -> label -> fit -> Platt on the calibration
period -> test-period metrics) three ways on the same columns and split: `default` (the
configured settings, `tune: false`), `ours` (`training.tune`, as `los train` runs it) and
`reference`, an independent random search written here with wider, continuous ranges and many
more trials, chosen on the same validation period. Generated datasets named `-flipNN` have NN%
of their labels flipped (every period, seeded) to make them noisy; `gen200k` is clean and has the
generator's true probabilities, so the gap to the oracle AUROC is measured too. The public
samples load through their mappings (`tests/fixtures/public/`, docs/data-sources.md); HES APC
is split at row quantiles of the admission date because its dates cluster (a date-range split
leaves 13 training rows); both are trained with `targets.min_cases_per_period: 5` (the product
skips targets with fewer than 20 cases of each class in any period, which leaves nothing of
them to compare), and NHS-R stranded has no labels, so it is listed as skipped.

`± SE` is the paired-bootstrap standard error of (reference - ours) on the test period: on
the public samples (100-2,000 test rows) it dwarfs the 0.003 goal, so read those rows as noise.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.common import ROOT, console, save, table

PUBLIC = ROOT / "tests" / "fixtures" / "public"
TRUTH_KEYS = {"long_stay": "p_long_stay", "long_stay_21": "p_long_stay_21", "nctr": "p_nctr"}


@dataclass(frozen=True)
class Dataset:
    """A named table with its label noise, split override and (for generated data) the truth."""

    name: str
    load: Callable[[], tuple[pd.DataFrame, pd.DataFrame | None]]
    flip: float = 0.0
    quantile_split: bool = False
    reference_trials: int | None = None  # None: the run's --reference-trials
    min_cases: int | None = None  # targets.min_cases_per_period, when not the product's default


def _public(path: str, mapping: str) -> Callable[[], tuple[pd.DataFrame, None]]:
    def load() -> tuple[pd.DataFrame, None]:
        from features.load import load_admissions

        return load_admissions(str(PUBLIC / path), mapping=mapping).frame, None

    return load


def _generated(rows: int, seed: int) -> Callable[[], tuple[pd.DataFrame, pd.DataFrame]]:
    def load() -> tuple[pd.DataFrame, pd.DataFrame]:
        from features.generate import generate_admissions

        data = generate_admissions(rows, seed=seed)
        return data.admissions, data.truth

    return load


DATASETS = {
    d.name: d
    for d in (
        Dataset("sparcs", _public("sparcs_2016_random1000/sparcs.csv", "sparcs"), min_cases=5),
        Dataset(
            "hes_apc",
            _public("artificial_hes_apc_sample/artificial_hes_apc_0102_truncated.csv", "hes_apc"),
            quantile_split=True,
            min_cases=5,
        ),
        Dataset(
            "nhsr_stranded", _public("nhsr_stranded_synthetic/stranded_data.csv", "nhsr_stranded")
        ),
        Dataset("gen5k-flip10", _generated(5_000, 11), flip=0.1),
        Dataset("gen10k-flip20", _generated(10_000, 12), flip=0.2),
        Dataset("gen20k-flip10", _generated(20_000, 13), flip=0.1),
        # the reference costs ~5 s a trial here (rates down to 0.01): 30 keeps the run ~15 min
        Dataset("gen200k", _generated(200_000, 42), reference_trials=30),
    )
}
DEFAULT_DATASETS = [
    "sparcs",
    "hes_apc",
    "nhsr_stranded",
    "gen5k-flip10",
    "gen10k-flip20",
    "gen20k-flip10",
    "gen200k",
]


def _reference_settings(rng: np.random.Generator, n_train: int) -> dict[str, Any]:
    """One draw of the reference search: wide, continuous (log-uniform where scale matters)."""

    def log_uniform(lo: float, hi: float) -> float:
        return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))

    leaf_cap = max(n_train // 10, 3)
    return {
        "num_leaves": round(log_uniform(4, 128)),
        "max_depth": int(rng.choice([-1, 4, 5, 6, 8, 10, 12])),
        "learning_rate": log_uniform(0.01, 0.2),
        "min_child_samples": round(log_uniform(2, min(500, leaf_cap))),
        "min_child_weight": log_uniform(1e-3, 10),
        "lambda_l1": float(rng.choice([0.0, log_uniform(1e-3, 10)])),
        "lambda_l2": float(rng.choice([0.0, log_uniform(1e-3, 100)])),
        "feature_fraction": float(rng.uniform(0.4, 1.0)),
        "bagging_fraction": float(rng.uniform(0.5, 1.0)),
        "bagging_freq": int(rng.choice([0, 1, 5])),
        "min_data_per_group": round(log_uniform(2, min(200, leaf_cap))),
        "cat_smooth": log_uniform(1, 100),
        "cat_l2": log_uniform(1, 50),
        "max_cat_threshold": int(rng.choice([8, 16, 32, 64])),
    }


def reference_search(
    x_tr: np.ndarray,
    y_tr: np.ndarray,
    x_va: np.ndarray,
    y_va: np.ndarray,
    categorical: list[int],
    trials: int,
    seed: int,
) -> tuple[Any, dict[str, Any], float]:
    """Plain LightGBM random search on the validation period: best booster, settings, seconds."""
    import lightgbm as lgb

    from evaluation.metrics import safe_auroc

    rng = np.random.default_rng(seed + 1_000_003)
    started = time.perf_counter()
    best: tuple[float, Any, dict[str, Any]] | None = None
    for _ in range(trials):
        settings = _reference_settings(rng, len(y_tr))
        params = {
            "objective": "binary",
            "metric": "binary_logloss",
            "seed": seed,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": 2,
            "verbosity": -1,
            **settings,
        }
        train = lgb.Dataset(x_tr, y_tr, categorical_feature=categorical)
        valid = lgb.Dataset(x_va, y_va, reference=train)
        booster = lgb.train(
            params,
            train,
            3000,
            valid_sets=[valid],
            callbacks=[lgb.early_stopping(100, verbose=False)],
        )
        auroc = safe_auroc(y_va, booster.predict(x_va))
        if best is None or auroc > best[0]:
            best = (auroc, booster, settings)
    assert best is not None
    return best[1], best[2], time.perf_counter() - started


def _test_metrics(
    booster: Any, x: np.ndarray, y: np.ndarray, rows: dict[str, np.ndarray]
) -> dict[str, Any]:
    """Platt-calibrate on the calibration period (as the product does); test-period metrics."""
    from evaluation.metrics import calibration_error, safe_auroc
    from training.calibrate import fit_calibrator

    ca, te = rows["calibration"], rows["test"]
    calibrator = fit_calibrator(np.asarray(booster.predict(x[ca], raw_score=True)), y[ca])
    p = calibrator.transform(np.asarray(booster.predict(x[te], raw_score=True)))
    return {"auroc": safe_auroc(y[te], p), "calibration_error": calibration_error(y[te], p), "p": p}


def _gap_se(y: np.ndarray, p_ours: np.ndarray, p_ref: np.ndarray, draws: int = 200) -> float:
    """Paired bootstrap standard error of AUROC(reference) - AUROC(ours)."""
    from evaluation.metrics import safe_auroc

    rng = np.random.default_rng(0)
    gaps = []
    for _ in range(draws):
        i = rng.integers(0, len(y), len(y))
        gaps.append(safe_auroc(y[i], p_ref[i]) - safe_auroc(y[i], p_ours[i]))
    return float(np.nanstd(gaps))


def _quantile_split(admissions: pd.DataFrame) -> dict[str, Any]:
    ended = admissions.loc[admissions["discharge_datetime"].notna(), "admission_datetime"]
    cuts = pd.to_datetime(ended).quantile([0.6, 0.75, 0.85]).dt.date.tolist()
    return {"train_end": cuts[0], "validation_end": cuts[1], "calibration_end": cuts[2]}


def run_dataset(dataset: Dataset, reference_trials: int, seed: int) -> list[dict[str, Any]]:
    """Default, ours and reference for every target of one dataset (rows for the table)."""
    from los.config import TrainingConfig
    from los.targets import label, targets_from_config, untrainable
    from training.prepare import prepare
    from training.split import class_counts
    from training.tune import tune_booster

    admissions, truth = dataset.load()
    overrides: dict[str, Any] = {"seed": seed}
    if dataset.quantile_split:
        overrides["split"] = _quantile_split(admissions)
    if dataset.min_cases is not None:
        overrides["targets"] = {"min_cases_per_period": dataset.min_cases}
    config = TrainingConfig.model_validate(overrides)
    prepared = prepare(admissions, config)
    x, cat, names = prepared.x, prepared.encoder.categorical_indices, prepared.encoder.columns_
    out = []
    for index, target in enumerate(targets_from_config(config.targets)):
        y_series = label(prepared.admissions, target)
        y = y_series.to_numpy(dtype=float).copy()
        known = ~np.isnan(y)
        if dataset.flip:
            flip = np.random.default_rng([seed, index]).random(len(y)) < dataset.flip
            y[known & flip] = 1 - y[known & flip]
        base = {"dataset": dataset.name, "target": target.name, "rows": int(known.sum())}
        counts = class_counts(prepared.period, pd.Series(np.where(known, y, np.nan)))
        reason = untrainable(target, counts, config.targets.min_cases_per_period)
        if reason is not None:
            out.append({**base, "skipped": f"{target.name} skipped: {reason}"})
            continue
        rows = {
            n: np.flatnonzero(prepared.mask(n) & known)
            for n in ("train", "validation", "calibration", "test")
        }
        tr, va = rows["train"], rows["validation"]
        fit_args = (x[tr], y[tr], x[va], y[va])
        result: dict[str, Any] = {**base}
        for name, lgbm in (
            ("default", config.lightgbm.model_copy(update={"tune": False})),
            ("ours", config.lightgbm),
        ):
            t0 = time.perf_counter()
            booster, search = tune_booster(
                *fit_args, feature_names=names, categorical=cat, config=lgbm, seed=seed
            )
            result[name] = {
                **_test_metrics(booster, x, y, rows),
                "seconds": time.perf_counter() - t0,
                "search": search.summary(),
            }
        trials = dataset.reference_trials or reference_trials
        booster, settings, seconds = reference_search(*fit_args, cat, trials, seed)
        result["reference"] = {
            **_test_metrics(booster, x, y, rows),
            "seconds": seconds,
            "settings": settings,
            "trials": trials,
        }
        y_te = y[rows["test"]]
        result["gap_se"] = _gap_se(y_te, result["ours"]["p"], result["reference"]["p"])
        if truth is not None and not dataset.flip:
            from evaluation.metrics import safe_auroc

            ids = prepared.admissions.iloc[rows["test"]]["spell_id"]
            oracle = truth.set_index("spell_id").loc[ids, TRUTH_KEYS[target.name]].to_numpy()
            result["oracle_auroc"] = safe_auroc(y_te, oracle)
        for name in ("default", "ours", "reference"):
            result[name].pop("p")
        out.append(result)
    return out


def _row(r: dict[str, Any]) -> list[Any]:
    d, o, f = r["default"], r["ours"], r["reference"]
    oracle = r.get("oracle_auroc")
    gaps = "-" if oracle is None else f"{oracle - d['auroc']:.4f}/{oracle - o['auroc']:.4f}"
    return [
        r["dataset"],
        r["target"],
        r["rows"],
        f"{d['auroc']:.4f}",
        f"{o['auroc']:.4f}",
        f"{f['auroc']:.4f}",
        f"{f['auroc'] - o['auroc']:+.4f}",
        f"{r['gap_se']:.4f}",
        gaps,
        d["calibration_error"],
        o["calibration_error"],
        f["calibration_error"],
        o["search"]["trials_run"],
        f"{o['seconds']:.1f}",
        f"{f['seconds']:.1f}",
    ]


def main(names: list[str], reference_trials: int = 80, seed: int = 42) -> dict[str, Any]:
    """Run the datasets, print the table, return the JSON payload."""
    results: list[dict[str, Any]] = []
    for name in names:
        console.print(f"… {name}")
        try:
            results += run_dataset(DATASETS[name], reference_trials, seed)
        except Exception as exc:  # a source that cannot be trained on is a row, not a crash
            results.append({"dataset": name, "target": "-", "rows": 0, "skipped": str(exc)[:200]})
    done = [r for r in results if "skipped" not in r]
    table(
        f"LightGBM settings on the test period: defaults, ours (tuned), reference "
        f"({reference_trials}-trial random search; gen200k: 30)",
        [
            "dataset",
            "target",
            "rows",
            "AUROC def",
            "AUROC ours",
            "AUROC ref",
            "ref-ours",
            "± SE",
            "oracle gap def/ours",
            "ECE def",
            "ECE ours",
            "ECE ref",
            "trials",
            "s ours",
            "s ref",
        ],
        [_row(r) for r in done],
    )
    for r in results:
        if "skipped" in r:
            print(f"skipped {r['dataset']} {r['target']}: {r['skipped']}")
    return {"tuning": {"reference_trials": reference_trials, "seed": seed, "results": results}}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=DEFAULT_DATASETS, choices=list(DATASETS))
    parser.add_argument("--reference-trials", type=int, default=80)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    payload = main(args.datasets, args.reference_trials, args.seed)
    print(f"results: {save('tune', payload)}")
