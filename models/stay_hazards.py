"""The stay model's raw daily scores, predicted once per run of days its trees cannot tell apart.

The hazard booster reads a spell's admission features and the day in hospital (its last input
column, 0..HORIZON - 1). Every split on the day is numerical, `day <= threshold` goes left, so
two days with no threshold between them take the same path through every tree and get the same
raw score, bit for bit. The trees' day thresholds therefore cut the days into runs
(`day_runs`), and a spell needs one prediction per run instead of one per day: the curve's
HORIZON columns are those predictions repeated (`daily_raw_scores`). Day 0 is always a run of
its own, so a booster that reads zero as missing (LightGBM's `zero_as_missing`) is still exact.

The runs are read once per booster from its model dump and kept beside it (`_RUNS`, weakly:
they go when the booster goes). A booster with any other kind of split on the day (categorical)
is predicted day by day, as before. tests/unit/test_stay_hazards.py holds the scores equal to
the day-by-day prediction.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Any

import numpy as np

from models.bundle import ModelBundle
from models.lightgbm_api import lgb
from models.stay_curve import HORIZON

_RUNS: weakref.WeakKeyDictionary[lgb.Booster, np.ndarray | None] = weakref.WeakKeyDictionary()


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every split node of one dumped tree."""
    stack = [node]
    while stack:
        n = stack.pop()
        if "split_feature" in n:
            yield n
            stack += [n["left_child"], n["right_child"]]


def day_runs(booster: lgb.Booster) -> np.ndarray | None:
    """The first day of each run of days no tree tells apart (ascending, starting at 0); None
    when a tree splits on the day other than numerically (then every day is predicted)."""
    if booster in _RUNS:
        return _RUNS[booster]
    dump = booster.dump_model()
    day = booster.num_feature() - 1
    thresholds: set[float] = set()
    runs: np.ndarray | None = None
    numerical = True
    for tree in dump["tree_info"]:
        for node in _nodes(tree["tree_structure"]):
            if node["split_feature"] != day:
                continue
            if node.get("decision_type") != "<=":
                numerical = False
                break
            thresholds.add(float(node["threshold"]))
        if not numerical:
            break
    if numerical:
        days = np.arange(HORIZON, dtype=float)
        # a day's path is fixed by how many thresholds lie below it: a new run starts at each
        # day with more of them than the day before, and at day 1 (day 0 alone, see module doc)
        below = np.searchsorted(np.sort(np.fromiter(thresholds, float)), days, side="left")
        starts = np.flatnonzero(np.diff(below) > 0) + 1
        runs = np.union1d([0, 1], starts).astype(int)
        runs = runs[runs < HORIZON]
    _RUNS[booster] = runs
    return runs


def patient_days(x: np.ndarray, days: np.ndarray | None = None) -> np.ndarray:
    """Each row of `x` (encoded admissions) repeated for each of `days` (default every day
    0..HORIZON - 1), the day appended as the last column: the hazard model's input rows, in C
    order, spell then day."""
    days = np.arange(HORIZON, dtype=float) if days is None else np.asarray(days, dtype=float)
    rows = np.empty((len(x) * len(days), x.shape[1] + 1), dtype=np.float64)
    rows[:, :-1] = np.repeat(x, len(days), axis=0)
    rows[:, -1] = np.tile(days, len(x))
    return rows


def daily_raw_scores(bundle: ModelBundle, x: np.ndarray) -> np.ndarray:
    """The hazard booster's raw score for every row of `x` (encoded admissions) and day
    0..HORIZON - 1: shape (len(x), HORIZON), one prediction per run of days (module doc)."""
    n = len(x)
    starts = day_runs(bundle.booster)
    if starts is None:
        starts = np.arange(HORIZON)
    raw = bundle.raw_score(patient_days(x, starts)).reshape(n, len(starts))
    lengths = np.diff(np.append(starts, HORIZON))
    return np.repeat(raw, lengths, axis=1)
