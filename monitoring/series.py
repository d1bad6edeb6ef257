"""Time series per segment for monitor.html: each period's size, mean score, label-free AUROC
and observed/expected events (where labels have arrived)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from monitoring.estimate import expected_auroc
from monitoring.monitor import DAY, Monitor, TargetWindows, rounded
from monitoring.realised import CensoringBaseline

MIN_PERIOD_ROWS = 30  # a period's point is drawn from this many rows
MIN_EXPECTED = 3.0  # and its observed/expected from this many expected events


def _periods(m: Monitor) -> tuple[np.ndarray, list[str]]:
    admitted = pd.to_datetime(m.rec.frame["admission_datetime"])
    start = admitted.min().normalize()
    index = ((admitted - start) / (DAY * m.mc.period_days)).to_numpy(dtype=float).astype(int)
    labels = [str((start + DAY * m.mc.period_days * i).date()) for i in range(index.max() + 1)]
    return index, labels


def _points(
    m: Monitor,
    tw: TargetWindows,
    rm: np.ndarray,
    cm: np.ndarray,
    period: np.ndarray,
    labels: list[str],
) -> list[dict[str, Any]]:
    ref_known = rm & ~np.isnan(tw.y_ref)
    own = CensoringBaseline.fit(tw.stay_ref[ref_known], tw.y_ref[ref_known], tw.p_ref[ref_known])
    out = []
    for i, start in enumerate(labels):
        rows = cm & (period == i)
        if rows.sum() < MIN_PERIOD_ROWS:
            continue
        p = tw.p_rec[rows]
        est, _ = expected_auroc(tw.q_rec[rows], p)
        known = rows & ~np.isnan(tw.y_rec)
        expected = float(np.sum(tw.p_rec[known] * own.ratio(tw.age_rec[known], tw.baseline)))
        oe = float(np.sum(tw.y_rec[known])) / expected if expected >= MIN_EXPECTED else None
        out.append(
            {
                "start": start,
                "n": int(rows.sum()),
                "labelled": int(known.sum()),
                "mean_score": rounded(float(p.mean())),
                "estimated_auroc": rounded(est),
                "observed_expected": rounded(oe, 3),
            }
        )
    return out


def time_series(m: Monitor) -> dict[str, dict[str, dict[str, list[dict[str, Any]]]]]:
    """target -> attribute -> group -> points (overall as attribute "overall", group "all")."""
    period, labels = _periods(m)
    out: dict[str, dict[str, dict[str, list[dict[str, Any]]]]] = {}
    for t, tw in m.targets.items():
        out[t] = {}
        for attribute, group, rm, cm in m.segments():
            if m.assessed(rm, cm):
                points = _points(m, tw, rm, cm, period, labels)
                out[t].setdefault(attribute, {})[group] = points
    return out
