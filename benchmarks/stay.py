"""Stay distribution benchmark (issue 13): scoring a census with the distribution, and a ward
bed forecast from its curves, each next to a baseline timed in the same run.

Usage: python benchmarks/stay.py [--train-rows 30000] [--inpatients 2000] [--repeat 5]

Trains and registers every model (flags and the stay distribution, `lightgbm.tune: false`) on
generated spells in a temporary registry, loads the champions as the service does, then times
(median of `--repeat` runs):

- scoring: `Scorer.score_table` (what `los score` runs) on a census of `--inpatients` current
  inpatients with reasons for every row (and for flagged rows only), by the flag models alone
  (the baseline) and by the flags plus the distribution (quantiles, discharge dates, expected
  NCTR days and the stay's reasons); and the distribution's own step (`Scorer.stay_scores`).
  Goal: <= 1 s for 2,000 patients with the distribution.
- forecast: 20 wards of 30 inpatients, 7 days: the stay model's curves for them plus the exact
  count distributions (`SurvivalProvider`, `build_forecast`), beside the same forecast from the
  Kaplan-Meier baseline's probabilities (`StayTable`, fitted beforehand). Goal: <= 0.5 s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.common import save, table

SCORE_GOAL_SECONDS = 1.0
FORECAST_GOAL_SECONDS = 0.5
WARDS, PER_WARD, DAYS = 20, 30, 7


def _median_seconds(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up: first-call costs (imports, caches) are not what is measured
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def census(n: int, seed: int) -> pd.DataFrame:
    """`n` generated spells as current inpatients (no discharge or other label yet)."""
    from features.generate import generate_admissions
    from los.schema import LABEL_COLUMNS

    spells = generate_admissions(n, seed=seed).admissions
    for column in (c for c in LABEL_COLUMNS if c in spells):
        spells[column] = None
    return spells.reset_index(drop=True)


def _trained_models(train_rows: int, work: Path) -> dict[str, Any]:
    """Train, register and load every champion (promoting any version a gate held)."""
    from features.generate import generate_admissions
    from los.config import Settings, TrainingConfig
    from models import registry
    from training.register import train_and_register

    settings = Settings(los_data_dir=work, mlflow_tracking_uri=None)  # type: ignore[call-arg]
    spells = generate_admissions(train_rows, seed=1).admissions
    config = TrainingConfig.model_validate({"lightgbm": {"tune": False}})
    summary = train_and_register(spells, config, settings, work / "reports")
    for outcome in summary.outcomes:  # the benchmark needs champions even if a gate failed
        registry.promote(outcome.registered_name, outcome.version)
    stay = summary.result.stay  # type: ignore[attr-defined]
    if stay is not None and stay.identity is not None:
        registry.promote(stay.identity.name, stay.identity.version)
    registry.connect(settings.tracking_uri, settings.los_data_dir / "mlartifacts")
    return registry.load_models(registry.CHAMPION)


def scoring(models: dict[str, Any], frame: pd.DataFrame, repeat: int) -> dict[str, Any]:
    """Seconds to score `frame` with reasons: flags alone, and flags plus the distribution."""
    from features.build import with_default_history
    from models.scorer import Scorer
    from models.stay_scores import data_as_of, is_stay_model

    flags = Scorer({t: m for t, m in models.items() if not is_stay_model(m)})
    both = Scorer(models)
    if both.stay is None:
        raise RuntimeError("no stay distribution champion was registered")
    out = both.score_table(frame)
    assert out["los_median_days"].notna().all()
    known = pd.DataFrame(with_default_history(frame))
    flag_scores = flags.score(known, reasons=False)
    as_of = data_as_of(known)
    alone = _median_seconds(
        lambda: both.stay_scores(known, flag_scores, as_of=as_of, reasons=True), repeat
    )
    flag_only = _median_seconds(lambda: flags.score_table(frame), repeat)
    with_stay = _median_seconds(lambda: both.score_table(frame), repeat)
    flagged_only = _median_seconds(lambda: flags.score_table(frame, reasons_for="flagged"), repeat)
    flagged_stay = _median_seconds(lambda: both.score_table(frame, reasons_for="flagged"), repeat)
    return {
        "patients": len(frame),
        "flags_reasons_all_seconds": flag_only,
        "flags_and_distribution_reasons_all_seconds": with_stay,
        "ratio_reasons_all": with_stay / flag_only,
        "flags_reasons_flagged_seconds": flagged_only,
        "flags_and_distribution_reasons_flagged_seconds": flagged_stay,
        "ratio_reasons_flagged": flagged_stay / flagged_only,
        "distribution_alone_with_reasons_seconds": alone,
        "goal_seconds": SCORE_GOAL_SECONDS,
    }


def forecasting(
    models: dict[str, Any], frame: pd.DataFrame, history: pd.DataFrame, repeat: int
) -> dict[str, Any]:
    """Seconds for a 20-ward 7-day forecast from the stay model's curves and from the baseline."""
    from models.bed_provider import SurvivalProvider
    from models.forecast import build_forecast
    from models.stay_model import stay_curves
    from models.stay_scores import is_stay_model
    from models.stay_table import StayTable

    stay = next(m for m in models.values() if is_stay_model(m)).bundle
    on = pd.to_datetime(frame["admission_datetime"]).max().date()
    origin = pd.Timestamp(on) + pd.Timedelta(days=1)
    ward = frame.assign(site="S1", ward=[f"W{i % WARDS:02d}" for i in range(len(frame))])

    def from_curves() -> object:
        provider = SurvivalProvider(stay_curves(stay, stay.encode(ward)).survival)
        return build_forecast(ward, provider, on=on, days=DAYS)

    km = StayTable().fit(history, origin)
    curves_s = _median_seconds(from_curves, repeat)
    baseline_s = _median_seconds(lambda: build_forecast(ward, km, on=on, days=DAYS), repeat)
    encode_s = _median_seconds(lambda: stay_curves(stay, stay.encode(ward)), repeat)
    return {
        "wards": WARDS,
        "patients": len(ward),
        "days": DAYS,
        "stay_model_seconds": curves_s,
        "stay_curves_only_seconds": encode_s,
        "kaplan_meier_seconds": baseline_s,
        "ratio": curves_s / baseline_s,
        "goal_seconds": FORECAST_GOAL_SECONDS,
    }


def main(train_rows: int, inpatients: int, repeat: int) -> dict[str, Any]:
    """Train, time, print tables; return the JSON payload."""
    from features.generate import generate_admissions

    with tempfile.TemporaryDirectory(prefix="los-stay-bench-") as name:
        models = _trained_models(train_rows, Path(name))
        s = scoring(models, census(inpatients, seed=5), repeat)
        history = generate_admissions(train_rows, seed=2).admissions
        f = forecasting(models, census(WARDS * PER_WARD, seed=6), history, repeat)
    table(
        f"Scoring {s['patients']:,} current inpatients (`score_table`), median seconds "
        f"(goal <= {SCORE_GOAL_SECONDS} s with the distribution)",
        ["reasons for", "flags only (baseline)", "flags + distribution", "ratio"],
        [
            ["every row", s["flags_reasons_all_seconds"],
             s["flags_and_distribution_reasons_all_seconds"], s["ratio_reasons_all"]],
            ["flagged rows", s["flags_reasons_flagged_seconds"],
             s["flags_and_distribution_reasons_flagged_seconds"], s["ratio_reasons_flagged"]],
            ["the distribution alone (its columns and reasons, every row)", "",
             s["distribution_alone_with_reasons_seconds"], ""],
        ],
    )  # fmt: skip
    table(
        f"{WARDS}-ward {DAYS}-day forecast ({f['patients']} inpatients), median seconds "
        f"(goal <= {FORECAST_GOAL_SECONDS} s)",
        ["provider", "seconds"],
        [
            ["stay model: curves + count distributions", f["stay_model_seconds"]],
            ["  of which the curves", f["stay_curves_only_seconds"]],
            ["Kaplan-Meier baseline (fitted beforehand)", f["kaplan_meier_seconds"]],
            ["ratio stay model / baseline", f["ratio"]],
        ],
    )
    return {"stay": {"train_rows": train_rows, "scoring": s, "forecast": f}}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-rows", type=int, default=30_000)
    parser.add_argument("--inpatients", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=5)
    a = parser.parse_args()
    payload = main(a.train_rows, a.inpatients, a.repeat)
    print(f"results: {save('stay', payload)}")
