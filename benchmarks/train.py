"""Training benchmark: `los train` stages, wall time and peak memory vs plain LightGBM.

Usage: python benchmarks/train.py [--sizes 100000 1000000 3000000] [--search both|on|off]
Each size runs in fresh child processes: the product's full training (generate ->
load/validate -> features -> fit -> calibrate -> evaluate/fairness -> reports -> registry), with
the settings search (the default config) and/or without it (`tune: false`), then plain
LightGBM fitted on the same feature matrix, once per target, with the settings the product
ended up with (the search's choice, or the configured ones) and the same early stopping.
So "with search" / plain fit counts the search's extra trials against the product; "no search"
/ plain fit is the pipeline's own overhead around one fit per target.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import child_peak_rss_mb, run_child, save, table


def _stage_clock() -> tuple[dict[str, float], Any]:
    """A progress callback that records how long each named stage took."""
    stages: dict[str, float] = {}
    state = {"name": None, "t": time.perf_counter()}

    def progress(message: str) -> None:
        now = time.perf_counter()
        if state["name"] is not None:
            key = str(state["name"]).split(" ")[0]
            stages[key] = stages.get(key, 0.0) + now - float(state["t"])  # type: ignore[arg-type]
        state["name"], state["t"] = message, now

    return stages, progress


def child_product(rows: int, workdir: Path, search: bool = True) -> dict[str, Any]:
    """Full product training; saves the feature matrix and the chosen settings for the
    baseline child."""
    from evaluation.metrics import calibration_error, safe_auroc
    from features.generate import generate_admissions
    from features.load import load_admissions, write_frame
    from los.config import Settings, TrainingConfig
    from training.register import train_and_register

    t0 = time.perf_counter()
    data = generate_admissions(rows, seed=42)
    t_gen = time.perf_counter() - t0
    path = write_frame(data.admissions, workdir / "admissions.parquet")
    started = time.perf_counter()
    t1 = time.perf_counter()
    loaded = load_admissions(str(path))
    t_load = time.perf_counter() - t1
    stages, progress = _stage_clock()
    settings = Settings(los_data_dir=workdir, mlflow_tracking_uri=None)  # type: ignore[arg-type]
    config = TrainingConfig()
    config = config.model_copy(
        update={"lightgbm": config.lightgbm.model_copy(update={"tune": search})}
    )
    summary = train_and_register(loaded.frame, config, settings, workdir / "r", progress)
    progress("done")
    total = time.perf_counter() - started
    result = summary.result
    prepared = result.prepared
    np.save(workdir / "x.npy", prepared.x)
    labels, accuracy, chosen = {}, {}, {}
    truth = data.truth.set_index("spell_id")
    for run in result.targets:
        key = {"long_stay": "p_long_stay", "long_stay_21": "p_long_stay_21", "nctr": "p_nctr"}
        ids = prepared.admissions.iloc[run.test_index]["spell_id"]
        oracle = truth.loc[ids, key[run.target.name]].to_numpy()
        accuracy[run.target.name] = {
            "model_auroc": safe_auroc(run.y_test, run.p_test),
            "oracle_auroc": safe_auroc(run.y_test, oracle),
            "calibration_error": calibration_error(run.y_test, run.p_test),
            "best_iteration": run.bundle.booster.best_iteration,
            "search_trials": len(run.search.trials) if run.search else 1,
        }
        chosen[run.target.name] = run.search.params if run.search else {}
        masks = {n: prepared.mask(n) for n in ("train", "validation")}
        from los.targets import label

        y = label(prepared.admissions, run.target).to_numpy()
        labels[run.target.name] = {
            n: np.flatnonzero(m & ~np.isnan(y)).tolist() for n, m in masks.items()
        }
        np.save(workdir / f"y_{run.target.name}.npy", y)
    (workdir / "split.json").write_text(
        json.dumps(
            {
                "labels": labels,
                "categorical": prepared.encoder.categorical_indices,
                "chosen": chosen,
            }
        )
    )
    stages = {"load_validate": t_load, **stages}
    return {
        "rows": rows,
        "search": search,
        "generate_s": round(t_gen, 2),
        "train_total_s": round(total, 2),
        "stages_s": {k: round(v, 2) for k, v in stages.items()},
        "accuracy": accuracy,
        "peak_rss_mb": child_peak_rss_mb(),
    }


def child_baseline(workdir: Path) -> dict[str, Any]:
    """Plain LightGBM on the saved matrix, every target, with the settings the product chose
    (the search's winner, or the configured ones) and the same early stopping."""
    import lightgbm as lgb

    from los.config import TrainingConfig
    from training.fit import booster_params

    cfg = TrainingConfig()
    x = np.load(workdir / "x.npy")
    split = json.loads((workdir / "split.json").read_text())
    started = time.perf_counter()
    for target, idx in split["labels"].items():
        y = np.load(workdir / f"y_{target}.npy")
        tr, va = np.array(idx["train"]), np.array(idx["validation"])
        train = lgb.Dataset(x[tr], y[tr], categorical_feature=split["categorical"])
        valid = lgb.Dataset(x[va], y[va], reference=train)
        settings = cfg.lightgbm.model_copy(update=split["chosen"].get(target, {}))
        lgb.train(
            booster_params(settings, cfg.seed),
            train,
            settings.n_estimators,
            valid_sets=[valid],
            callbacks=[lgb.early_stopping(settings.early_stopping_rounds, verbose=False)],
        )
    return {"fit_s": round(time.perf_counter() - started, 2), "peak_rss_mb": child_peak_rss_mb()}


def main(sizes: list[int], searches: list[bool] | None = None) -> dict[str, Any]:
    """Run every size (with and/or without the settings search) and print the comparison."""
    results = []
    for rows in sizes:
        for search in searches if searches is not None else [True, False]:
            with tempfile.TemporaryDirectory() as tmp:
                args = ["--rows", str(rows), "--workdir", tmp]
                ours = run_child(
                    ["benchmarks/train.py", "--child", "product", *args]
                    + ([] if search else ["--no-search"])
                )
                base = run_child(["benchmarks/train.py", "--child", "baseline", "--workdir", tmp])
            results.append({"rows": rows, "search": search, "product": ours, "lightgbm": base})
    table(
        "Training: `los train` vs plain LightGBM on the same matrix with the chosen settings",
        [
            "rows",
            "search",
            "los train s",
            "LightGBM s",
            "ratio",
            "los MB",
            "LightGBM MB",
            "MB ratio",
        ],
        [
            [
                r["rows"],
                "on" if r["search"] else "off",
                r["product"]["train_total_s"],
                r["lightgbm"]["fit_s"],
                r["product"]["train_total_s"] / max(r["lightgbm"]["fit_s"], 1e-9),
                r["product"]["peak_rss_mb"],
                r["lightgbm"]["peak_rss_mb"],
                r["product"]["peak_rss_mb"] / max(r["lightgbm"]["peak_rss_mb"], 1e-9),
            ]
            for r in results
        ],
    )
    stage_names = sorted({k for r in results for k in r["product"]["stages_s"]})
    table(
        "Where the time goes (seconds; evaluating = evaluation and fairness)",
        ["rows", "search", *stage_names, "evaluating share"],
        [
            [
                r["rows"],
                "on" if r["search"] else "off",
                *[r["product"]["stages_s"].get(s, 0.0) for s in stage_names],
                r["product"]["stages_s"].get("evaluating", 0.0) / r["product"]["train_total_s"],
            ]
            for r in results
        ],
    )
    table(
        "Accuracy vs the oracle (test period)",
        ["rows / search / target", "model AUROC", "oracle AUROC", "gap", "calibration error"],
        [
            [
                f"{r['rows']} {'on' if r['search'] else 'off'} {t}",
                a["model_auroc"],
                a["oracle_auroc"],
                a["oracle_auroc"] - a["model_auroc"],
                a["calibration_error"],
            ]
            for r in results
            for t, a in r["product"]["accuracy"].items()
        ],
    )
    return {"training": results}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--child", choices=["product", "baseline"])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--search", choices=["both", "on", "off"], default="both")
    parser.add_argument("--no-search", action="store_true", help="(child) tune: false")
    args = parser.parse_args()
    if args.child == "product":
        print(json.dumps(child_product(args.rows, args.workdir, search=not args.no_search)))
    elif args.child == "baseline":
        print(json.dumps(child_baseline(args.workdir)))
    else:
        searches = {"both": [True, False], "on": [True], "off": [False]}[args.search]
        payload = main(args.sizes, searches)
        print(f"results: {save('train', payload)}")
