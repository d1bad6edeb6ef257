"""Batch scoring benchmark: `Scorer` with reasons vs raw `Booster.predict` and `pred_contrib`.

Usage: python benchmarks/score.py [--rows 1000000] [--shap-rows 100000] [--train-rows 100000]
Trains a registry on generated data in a temporary directory (or uses LOS_DATA_DIR /
MLFLOW_TRACKING_URI when --use-env is given), then scores `--rows` generated spells.

Steps bound by exact tree SHAP (`pred_contrib`, reasons for every row) run on the first
`--shap-rows` of them, since their cost is linear in rows (a million rows would take tens of
minutes); the table says which rows each step ran on and gives rows per second for each.
`los score --reasons flagged` (reasons only where a target flags) runs on all `--rows`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import child_peak_rss_mb, run_child, save, table


def _timed(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def child(rows: int, shap_rows: int, train_rows: int, workdir: Path | None) -> dict[str, Any]:
    """Score in one process and time each layer for the long-stay model and all targets."""
    from features.build import derive_features
    from features.generate import generate_admissions
    from los.config import Settings, TrainingConfig
    from models.registry import connect, load_models
    from models.scorer import Scorer
    from training.register import train_and_register

    settings = Settings() if workdir is None else Settings(los_data_dir=workdir)  # type: ignore[call-arg]
    if workdir is not None:
        train = generate_admissions(train_rows, seed=1).admissions
        train_and_register(train, TrainingConfig(), settings, workdir / "r")
    connect(settings.tracking_uri, settings.los_data_dir / "mlartifacts")
    models = load_models("champion")
    admissions = generate_admissions(rows, seed=2).admissions
    shap_rows = min(shap_rows, rows)
    head = admissions.iloc[:shap_rows]
    bundle = models["long_stay"].bundle
    t_feat, feats = _timed(lambda: derive_features(admissions, bundle.spec))
    t_enc, x = _timed(lambda: bundle.encoder.transform(feats))
    t_pred, _ = _timed(lambda: bundle.booster.predict(x, raw_score=True))
    t_contrib, _ = _timed(lambda: bundle.booster.predict(x[:shap_rows], pred_contrib=True))
    one = Scorer({"long_stay": models["long_stay"]})
    t_one, _ = _timed(lambda: one.score(head, reasons=True))
    scorer = Scorer(models)
    t_none, _ = _timed(lambda: scorer.score(admissions, reasons=False))
    t_flagged, table = _timed(lambda: scorer.score_table(admissions, reasons_for="flagged"))
    flagged = {t: float(table[f"{t}_flagged"].mean()) for t in models}
    t_all, _ = _timed(lambda: scorer.score_table(head))
    steps = {
        "booster_predict": (t_pred, rows),
        "pred_contrib": (t_contrib, shap_rows),
        "features": (t_feat, rows),
        "encode": (t_enc, rows),
        "scorer_long_stay_with_reasons": (t_one, shap_rows),
        "scorer_all_targets_no_reasons": (t_none, rows),
        "score_table_reasons_flagged": (t_flagged, rows),
        "score_table_reasons_all": (t_all, shap_rows),
    }
    return {
        "rows": rows,
        "shap_rows": shap_rows,
        "trees": bundle.booster.num_trees(),
        "flagged_share": flagged,
        "steps": {k: {"seconds": round(t, 3), "rows": n} for k, (t, n) in steps.items()},
        "peak_rss_mb": child_peak_rss_mb(),
    }


LABELS = {
    "booster_predict": "booster.predict (raw), long-stay",
    "pred_contrib": "predict(pred_contrib=True), long-stay",
    "features": "derive_features (history incl.)",
    "encode": "encoder.transform",
    "scorer_long_stay_with_reasons": "Scorer long-stay + reasons",
    "scorer_all_targets_no_reasons": "Scorer 3 targets, no reasons",
    "score_table_reasons_flagged": "los score table, 3 targets, reasons flagged",
    "score_table_reasons_all": "los score table, 3 targets, reasons all",
}


def main(rows: int, train_rows: int, use_env: bool, shap_rows: int = 100_000) -> dict[str, Any]:
    """Run the child and print rows per second and ratios."""
    with tempfile.TemporaryDirectory() as tmp:
        args = ["benchmarks/score.py", "--child", "--rows", str(rows)]
        args += ["--shap-rows", str(shap_rows), "--train-rows", str(train_rows)]
        if not use_env:
            args += ["--workdir", tmp]
        r = run_child(args, timeout=7200)
    steps = r["steps"]
    base = steps["booster_predict"]["rows"] / steps["booster_predict"]["seconds"]
    rates = {k: v["rows"] / v["seconds"] for k, v in steps.items()}
    table(
        f"Batch scoring ({r['trees']} trees in the long-stay model; flagged share "
        + ", ".join(f"{t} {v:.0%}" for t, v in r["flagged_share"].items())
        + ")",
        ["step", "rows", "seconds", "rows/s", "x slower than predict", "1M rows (min)"],
        [
            [LABELS[k], v["rows"], v["seconds"], rates[k], base / rates[k], 1e6 / rates[k] / 60]
            for k, v in steps.items()
        ],
    )
    r["rows_per_s"] = {k: round(v, 1) for k, v in rates.items()}
    return {"scoring": r}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--shap-rows", type=int, default=100_000)
    parser.add_argument("--train-rows", type=int, default=100_000)
    parser.add_argument("--use-env", action="store_true")
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--workdir", type=Path)
    a = parser.parse_args()
    if a.child:
        print(json.dumps(child(a.rows, a.shap_rows, a.train_rows, a.workdir)))
    else:
        result = main(a.rows, a.train_rows, a.use_env, a.shap_rows)
        print(f"results: {save('score', result)}")
