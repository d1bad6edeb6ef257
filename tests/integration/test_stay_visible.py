"""The stay distribution model is visible: in the training run's outcome lines and its
`registration.json`, and in the service's warm-up (its curves run before the first request)."""

from __future__ import annotations

import json
import math
import re

from models import registry
from models.scorer import Derived, Scorer
from models.stay_scores import STAY_COLUMNS
from serving.warmup import warm_up
from tests.conftest import TrainedRegistry
from training.summary import summary_lines


def test_training_summary_gives_the_stay_models_outcome(
    trained_registry: TrainedRegistry,
) -> None:
    summary = trained_registry.summary
    lines = summary_lines(summary)  # type: ignore[arg-type]
    stay = [line for line in lines if line.startswith("los-stay-distribution version ")]
    assert len(stay) == 1, lines
    assert "80% interval coverage 0." in stay[0] and "concordance 0." in stay[0]
    assert re.search(r"median error \d+\.\d\d days vs (the true median|observed stays)", stay[0])
    assert stay[0].endswith("-> promoted to champion")
    every = summary_lines(summary, show_gates=True)  # type: ignore[arg-type]
    assert any("stay_interval_coverage" in line for line in every)
    registry.connect(trained_registry.settings.tracking_uri)
    run_id = summary.run_id  # type: ignore[attr-defined]
    written = json.loads(registry.read_run_text(run_id, "registration.json"))
    record = written["stay_distribution"]
    version = summary.stay.identity.version  # type: ignore[attr-defined]
    assert record["version"] == version and record["promoted"] is True
    assert 0.5 < record["interval_coverage"] < 1 and record["gates"]


def test_warm_up_runs_the_stay_curves(trained_registry: TrainedRegistry) -> None:
    registry.connect(trained_registry.settings.tracking_uri)
    models = registry.load_models("champion")
    warmed = warm_up(Scorer(models))
    assert set(warmed) == set(STAY_COLUMNS)
    p10, median, p90 = (warmed[c][0] for c in STAY_COLUMNS[:3])
    assert isinstance(median, float) and math.isfinite(median) and 0 <= p10 <= median <= p90
    assert isinstance(warmed["nctr_expected_days"][0], float)  # the NCTR wait part ran too
    flags_only = Scorer({t: m for t, m in models.items() if t != "stay_distribution"})
    assert warm_up(flags_only) == {}


def test_flags_and_stay_share_one_feature_derivation(trained_registry: TrainedRegistry) -> None:
    """`score` and `stay_scores` on the same rows derive the features once when given the same
    `derived` dict (the service and `score_table` do), with the same answers as deriving twice."""
    registry.connect(trained_registry.settings.tracking_uri)
    scorer = Scorer(registry.load_models("champion"))
    rows = trained_registry.admissions.tail(300).drop(columns=["discharge_datetime"])
    derived: Derived = {}
    shared = scorer.score(rows, reasons_for="flagged", derived=derived)
    assert len(derived) == 1  # one spec for every model trained in one run
    cached = next(iter(derived.values()))
    stay = scorer.stay_scores(rows, shared, derived=derived, reasons=True)
    assert next(iter(derived.values())) is cached  # reused, not derived again
    alone = scorer.score(rows, reasons_for="flagged")
    assert stay == scorer.stay_scores(rows, alone, reasons=True)
    for target, s in alone.items():
        assert (s.probability == shared[target].probability).all()
        assert s.reasons == shared[target].reasons


def test_stay_columns_by_runs_of_days_equal_the_day_by_day_ones(
    trained_registry: TrainedRegistry,
) -> None:
    """The served stay figures with one prediction per run of days (`models.stay_hazards`) are
    those of predicting every day, to the last bit, for a trained champion."""
    from models import stay_hazards

    registry.connect(trained_registry.settings.tracking_uri)
    scorer = Scorer(registry.load_models("champion"))
    assert scorer.stay is not None
    booster = scorer.stay.bundle.booster
    runs = stay_hazards.day_runs(booster)
    assert runs is not None and len(runs) <= 60
    rows = trained_registry.admissions.tail(500).drop(columns=["discharge_datetime"])
    scores = scorer.score(rows, reasons=False)
    by_runs = scorer.stay_scores(rows, scores)
    curves = scorer.stay_curves(rows).survival
    try:
        stay_hazards._RUNS[booster] = None  # as a booster with a categorical day split: every day
        assert scorer.stay_scores(rows, scores) == by_runs
        assert (scorer.stay_curves(rows).survival == curves).all()
    finally:
        del stay_hazards._RUNS[booster]
