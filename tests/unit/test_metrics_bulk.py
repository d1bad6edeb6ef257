"""A scoring call's probabilities counted into a histogram at once equal one `observe` each."""

from __future__ import annotations

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, Histogram

from serving.metrics import SCORE_BUCKETS, observe_all


def _samples(histogram: Histogram) -> dict[tuple[str, str], float]:
    return {
        (s.name, s.labels.get("le", "")): s.value
        for metric in histogram.collect()
        for s in metric.samples
        if not s.name.endswith("_created")
    }


def test_bulk_counts_equal_one_observe_per_value() -> None:
    rng = np.random.default_rng(2)
    values = np.concatenate([rng.random(500), np.array(SCORE_BUCKETS), [0.0, 1.0, 0.05]])
    one, bulk = (
        Histogram("h", "h", ["t"], buckets=SCORE_BUCKETS, registry=CollectorRegistry())
        for _ in range(2)
    )
    for v in values:
        one.labels("x").observe(float(v))
    observe_all(bulk.labels("x"), values)
    observe_all(bulk.labels("x"), values[:0])  # nothing to count
    for v in values[:3]:  # a few values: counted one by one
        one.labels("x").observe(float(v))
    observe_all(bulk.labels("x"), values[:3])
    a, b = _samples(one), _samples(bulk)
    assert a.keys() == b.keys()
    for key in a:
        if key[0] == "h_sum":
            assert b[key] == pytest.approx(a[key], abs=1e-9)  # summed in another order
        else:
            assert b[key] == a[key], key  # every bucket (values on a bound included) and count
