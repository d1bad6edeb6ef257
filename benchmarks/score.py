"""Batch scoring benchmark: `Scorer` with reasons vs raw `Booster.predict` and `pred_contrib`.

Usage: python benchmarks/score.py [--rows 1000000] [--train-rows 100000]
Trains a registry on generated data in a temporary directory (or uses LOS_DATA_DIR /
MLFLOW_TRACKING_URI when --use-env is given), then scores `--rows` generated spells.
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


def child(rows: int, train_rows: int, workdir: Path | None) -> dict[str, Any]:
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
    bundle = models["long_stay"].bundle
    t_feat, feats = _timed(lambda: derive_features(admissions, bundle.spec))
    t_enc, x = _timed(lambda: bundle.encoder.transform(feats))
    t_pred, _ = _timed(lambda: bundle.booster.predict(x, raw_score=True))
    t_contrib, _ = _timed(lambda: bundle.booster.predict(x, pred_contrib=True))
    one = Scorer({"long_stay": models["long_stay"]})
    t_one, _ = _timed(lambda: one.score(admissions, reasons=True))
    t_all, _ = _timed(lambda: Scorer(models).score_table(admissions))
    return {
        "rows": rows,
        "trees": bundle.booster.num_trees(),
        "features_s": t_feat,
        "encode_s": t_enc,
        "booster_predict_s": t_pred,
        "pred_contrib_s": t_contrib,
        "scorer_long_stay_with_reasons_s": t_one,
        "score_table_all_targets_s": t_all,
        "peak_rss_mb": child_peak_rss_mb(),
    }


def main(rows: int, train_rows: int, use_env: bool) -> dict[str, Any]:
    """Run the child and print rows per second and ratios."""
    with tempfile.TemporaryDirectory() as tmp:
        args = [
            "benchmarks/score.py",
            "--child",
            "--rows",
            str(rows),
            "--train-rows",
            str(train_rows),
        ]
        if not use_env:
            args += ["--workdir", tmp]
        r = run_child(args)
    base = r["booster_predict_s"]
    table(
        f"Batch scoring of {rows:,} spells ({r['trees']} trees in the long-stay model)",
        ["step", "seconds", "rows/s", "x booster.predict"],
        [
            [name, r[key], rows / r[key], r[key] / base]
            for name, key in [
                ("booster.predict (raw)", "booster_predict_s"),
                ("predict(pred_contrib=True)", "pred_contrib_s"),
                ("derive_features (history incl.)", "features_s"),
                ("encoder.transform", "encode_s"),
                ("Scorer long_stay + reasons", "scorer_long_stay_with_reasons_s"),
                ("los score table, all targets", "score_table_all_targets_s"),
            ]
        ],
    )
    return {"scoring": r}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--train-rows", type=int, default=100_000)
    parser.add_argument("--use-env", action="store_true")
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--workdir", type=Path)
    a = parser.parse_args()
    if a.child:
        print(json.dumps(child(a.rows, a.train_rows, a.workdir)))
    else:
        print(f"results: {save('score', main(a.rows, a.train_rows, a.use_env))}")
