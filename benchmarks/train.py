"""Training benchmark: `los train` stages, wall time and peak memory vs plain LightGBM.

Usage: python benchmarks/train.py [--sizes 100000 1000000 3000000] [--search both|on|off]
Each size runs in fresh child processes: the generator writes the extract (its own child, so
its memory is not counted against `los train`), then the product's full training (load/validate
-> features -> fit -> calibrate -> evaluate/fairness -> the stay distribution -> registry ->
reports), with the settings search (the default config) and/or without it (`tune: false`), then
plain LightGBM fitting every model the product trained on the same matrices, with the settings
the product used (the search's choice, or the configured ones) and the same early stopping: the
flag models on the spell matrix, the stay distribution's hazard model on the same patient-day
rows (drawn by `training.stay_fit.hazard_rows`, as the product's fit drew them). So "with
search" / plain fit counts the search's extra trials against the product; "no search" / plain
fit is the pipeline's own overhead around one fit per model. The flags alone are also compared:
the run without the stay model's stages against the flags' plain fits. Peak memory: each child's
own maximum RSS; the product's is also sampled per stage (`StagePeaks`).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import StagePeaks, child_peak_rss_mb, run_child, save, table


def _stage_clock() -> tuple[dict[str, float], Any]:
    """A progress callback that records how long each named stage took."""
    stages: dict[str, float] = {}
    state: dict[str, Any] = {"name": None, "t": time.perf_counter()}

    def progress(message: str) -> None:
        now = time.perf_counter()
        if state["name"] is not None:
            name = str(state["name"])
            # the stay distribution's stages apart from the flags' (fitting_stay, evaluating_stay)
            key = name.split(" ")[0] + ("_stay" if "length-of-stay" in name else "")
            stages[key] = stages.get(key, 0.0) + now - float(state["t"])
        state["name"], state["t"] = message, now

    return stages, progress


def child_generate(rows: int, workdir: Path) -> dict[str, Any]:
    """Generate the extract and the generator's truth into `workdir` (its own process, so the
    product's peak memory is `los train`'s, not the generator's)."""
    from features.generate import generate_admissions
    from features.load import write_frame

    t0 = time.perf_counter()
    data = generate_admissions(rows, seed=42)
    write_frame(data.admissions, workdir / "admissions.parquet")
    write_frame(data.truth, workdir / "truth.parquet")
    return {"generate_s": round(time.perf_counter() - t0, 2), "peak_rss_mb": child_peak_rss_mb()}


def child_product(rows: int, workdir: Path, search: bool = True) -> dict[str, Any]:
    """Full product training from the generated file (load, validate, train, register, report);
    saves the feature matrix and the chosen settings for the baseline child. Peak memory is
    also sampled per stage (`StagePeaks`)."""
    with StagePeaks() as peaks:
        result = _train_product(rows, workdir, search, peaks)
    result["stage_peak_rss_mb"] = {k: round(v, 1) for k, v in peaks.peaks.items()}
    return result


def _train_product(rows: int, workdir: Path, search: bool, peaks: StagePeaks) -> dict[str, Any]:
    import pandas as pd

    from evaluation.metrics import calibration_error, safe_auroc
    from features.load import load_admissions
    from los.config import Settings, TrainingConfig
    from training.register import train_and_register

    peaks.enter("reading the extract")  # not "loading": the registry check's message is
    started = time.perf_counter()
    t1 = time.perf_counter()
    frame = load_admissions(str(workdir / "admissions.parquet")).frame
    t_load = time.perf_counter() - t1
    stages, clock = _stage_clock()
    progress = peaks.watching(clock)
    settings = Settings(los_data_dir=workdir, mlflow_tracking_uri=None)  # type: ignore[arg-type]
    config = TrainingConfig()
    config = config.model_copy(
        update={"lightgbm": config.lightgbm.model_copy(update={"tune": search})}
    )
    summary = train_and_register(frame, config, settings, workdir / "r", progress)
    progress("done")
    total = time.perf_counter() - started
    peak = child_peak_rss_mb()  # `los train`'s, before this benchmark's own bookkeeping below
    result = summary.result
    prepared = result.prepared
    np.save(workdir / "x.npy", prepared.x)
    labels, accuracy, chosen = {}, {}, {}
    truth = pd.read_parquet(workdir / "truth.parquet").set_index("spell_id")
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
    stay_names = None
    if result.stay is not None:  # the stay model's patient-day rows, drawn as its fit drew them
        from models.stay_model import DAY_COLUMN
        from training.stay_days import hazard_rows

        stay_names = [*prepared.encoder.columns_, DAY_COLUMN]
        drawn = hazard_rows(prepared, frame, config)
        for period in ("train", "validation"):  # written a block at a time (at 10M: 6 GB)
            x_days, days = drawn.sequence(period)
            out = np.lib.format.open_memmap(
                workdir / f"stay_x_{period}.npy", mode="w+", shape=(len(x_days), len(stay_names))
            )
            for start in range(0, len(x_days), x_days.batch_size):
                out[start : start + x_days.batch_size] = x_days[start : start + x_days.batch_size]
            out.flush()
            del out
            np.save(workdir / f"stay_y_{period}.npy", days.event)
            np.save(workdir / f"stay_w_{period}.npy", days.weight)
    (workdir / "split.json").write_text(
        json.dumps(
            {
                "labels": labels,
                "categorical": prepared.encoder.categorical_indices,
                "chosen": chosen,
                "stay_names": stay_names,
            }
        )
    )
    stages = {"load_validate": t_load, **stages}
    return {
        "rows": rows,
        "search": search,
        "train_total_s": round(total, 2),
        "stages_s": {k: round(v, 2) for k, v in stages.items()},
        "accuracy": accuracy,
        "peak_rss_mb": peak,
    }


def child_baseline(workdir: Path) -> dict[str, Any]:
    """Plain LightGBM on the saved matrices, every model the product trained, with the settings
    the product used (the search's winner, or the configured ones) and the same early stopping:
    each flag model on the spell matrix, then the stay model on its patient-day rows (binned
    and freed one period at a time, as the product does). Loading the files is not timed."""
    import lightgbm as lgb

    from los.config import TrainingConfig
    from training.fit import booster_params
    from training.stay_days import hazard_params

    cfg = TrainingConfig()
    x = np.load(workdir / "x.npy")
    split = json.loads((workdir / "split.json").read_text())
    fit_s = 0.0
    for target, idx in split["labels"].items():
        y = np.load(workdir / f"y_{target}.npy")
        tr, va = np.array(idx["train"]), np.array(idx["validation"])
        started = time.perf_counter()
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
        fit_s += time.perf_counter() - started
    del x
    flags_s, stay_s = fit_s, 0.0
    if split.get("stay_names"):
        params = hazard_params(cfg)
        sets: dict[str, lgb.Dataset] = {}
        for period in ("train", "validation"):
            rows = np.load(workdir / f"stay_x_{period}.npy")
            label = np.load(workdir / f"stay_y_{period}.npy")
            weight = np.load(workdir / f"stay_w_{period}.npy")
            started = time.perf_counter()
            sets[period] = lgb.Dataset(
                rows,
                label=label,
                weight=weight,
                reference=sets.get("train"),
                feature_name=split["stay_names"],
                categorical_feature=split["categorical"],
                params=dict(params),
            ).construct()
            stay_s += time.perf_counter() - started
            del rows
        started = time.perf_counter()
        lgb.train(
            params,
            sets["train"],
            num_boost_round=cfg.lightgbm.n_estimators,
            valid_sets=[sets["validation"]],
            callbacks=[lgb.early_stopping(cfg.lightgbm.early_stopping_rounds, verbose=False)],
        )
        stay_s += time.perf_counter() - started
    return {
        "fit_s": round(flags_s + stay_s, 2),
        "fit_flags_s": round(flags_s, 2),
        "fit_stay_s": round(stay_s, 2),
        "peak_rss_mb": child_peak_rss_mb(),
    }


TIME_GOAL = 1.5
MEMORY_GOAL = 2.0


def _met(ratio: float, goal: float) -> str:
    return "met" if ratio <= goal else "not met"


def _comparison(r: dict[str, Any]) -> list[Any]:
    """One row of the comparison table: times, peaks, their ratios and the goals."""
    ours, base = r["product"], r["lightgbm"]
    # every model against plain fits of every model (the flags on the spell matrix, the stay
    # model on its patient-day rows); and the flags' part alone: the run without the stay
    # model's stages against the flags' plain fits
    time_ratio = ours["train_total_s"] / max(base["fit_s"], 1e-9)
    stay_s = sum(ours["stages_s"].get(k, 0.0) for k in ("fitting_stay", "evaluating_stay"))
    flags_fit = base.get("fit_flags_s", base["fit_s"])
    flags_ratio = (ours["train_total_s"] - stay_s) / max(flags_fit, 1e-9)
    memory_ratio = ours["peak_rss_mb"] / max(base["peak_rss_mb"], 1e-9)
    return [
        r["rows"],
        "on" if r["search"] else "off",
        ours["train_total_s"],
        base["fit_s"],
        time_ratio,
        flags_ratio,
        _met(time_ratio, TIME_GOAL) if not r["search"] else "(trials)",
        ours["peak_rss_mb"],
        base["peak_rss_mb"],
        memory_ratio,
        _met(memory_ratio, MEMORY_GOAL),
    ]


def _stage_peaks(results: list[dict[str, Any]]) -> list[dict[str, float]]:
    """Per run, the peak RSS of each stage kind (first word of the progress message, as the
    time table groups them: `fitting` is every target's fit)."""
    out = []
    for r in results:
        peaks: dict[str, float] = {}
        for stage, mb in r["product"].get("stage_peak_rss_mb", {}).items():
            key = stage.split(" ")[0]
            peaks[key] = max(peaks.get(key, 0.0), mb)
        out.append(peaks)
    return out


def main(sizes: list[int], searches: list[bool] | None = None) -> dict[str, Any]:
    """Run every size (with and/or without the settings search) and print the comparison."""
    from los.openmp import short_openmp_spin

    # both children inherit it: the product as `los train` runs, the baseline on equal terms
    print(f"OpenMP: {short_openmp_spin()} (as `los` sets it unless set)")
    results = []
    for rows in sizes:
        for search in searches if searches is not None else [True, False]:
            with tempfile.TemporaryDirectory() as tmp:
                args = ["--rows", str(rows), "--workdir", tmp]
                run_child(["benchmarks/train.py", "--child", "generate", *args])
                ours = run_child(
                    ["benchmarks/train.py", "--child", "product", *args]
                    + ([] if search else ["--no-search"])
                )
                base = run_child(["benchmarks/train.py", "--child", "baseline", "--workdir", tmp])
            results.append({"rows": rows, "search": search, "product": ours, "lightgbm": base})
    table(
        "Training: `los train` vs plain LightGBM fits of the same models on the same matrices "
        f"with the settings used (goals without the search: time <= {TIME_GOAL}x, peak memory "
        f"<= {MEMORY_GOAL}x)",
        [
            "rows",
            "search",
            "los train s",
            "LightGBM s",
            "ratio",
            "ratio, the flags alone",
            "time goal",
            "los MB",
            "LightGBM MB",
            "MB ratio",
            "memory goal",
        ],
        [_comparison(r) for r in results],
    )
    stage_peaks = _stage_peaks(results)
    peak_names = list(dict.fromkeys(k for peaks in stage_peaks for k in peaks))
    table(
        "Where the memory goes (peak RSS MB sampled every 50 ms, by stage)",
        ["rows", "search", *peak_names],
        [
            [r["rows"], "on" if r["search"] else "off", *[p.get(k, 0.0) for k in peak_names]]
            for r, p in zip(results, stage_peaks, strict=True)
        ],
    )
    stage_names = sorted({k for r in results for k in r["product"]["stages_s"]})
    table(
        "Where the time goes (s; evaluating = evaluation and fairness; _stay: the stay model)",
        ["rows", "search", *stage_names, "evaluating share"],
        [
            [
                r["rows"],
                "on" if r["search"] else "off",
                *[r["product"]["stages_s"].get(s, 0.0) for s in stage_names],
                sum(r["product"]["stages_s"].get(k, 0.0) for k in ("evaluating", "evaluating_stay"))
                / r["product"]["train_total_s"],
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
    parser.add_argument("--child", choices=["generate", "product", "baseline"])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--search", choices=["both", "on", "off"], default="both")
    parser.add_argument("--no-search", action="store_true", help="(child) tune: false")
    args = parser.parse_args()
    if args.child == "generate":
        print(json.dumps(child_generate(args.rows, args.workdir)))
    elif args.child == "product":
        print(json.dumps(child_product(args.rows, args.workdir, search=not args.no_search)))
    elif args.child == "baseline":
        print(json.dumps(child_baseline(args.workdir)))
    else:
        searches = {"both": [True, False], "on": [True], "off": [False]}[args.search]
        payload = main(args.sizes, searches)
        print(f"results: {save('train', payload)}")
