"""Prometheus metrics of one service instance (own registry: several apps can share a process).

Per-site and per-ethnic-group score distributions let a Prometheus/Grafana set-up watch for a
segment drifting (CONTRACT §8) between `los monitor` runs. They hold counts only, never a patient
value, and their labels are bounded (`models.segments`): sites the models were trained on (any
other folded into "other") and the seven NHS ethnic groups.

With several worker processes (`serving.processes`: `PROMETHEUS_MULTIPROC_DIR` set before the
workers start), each process writes its values to files in that directory and `render` reads
all of them: counters and histograms are summed over the workers; the gauges are per worker,
labelled with its `pid` (a version no longer served reads 0, as a worker that has retired it).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from models.registry import ModelIdentity
from models.segments import ethnic_group_labels, known_sites, site_labels

LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)
SCORE_BUCKETS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)


FEW_VALUES = 8


def observe_all(child: Any, values: np.ndarray) -> None:
    """`child.observe(v)` for every value, as one increment per bucket and one of the sum.

    A scoring call of 100 rows made 600 `observe` calls, each taking a lock and, with several
    workers, writing a shared file: about a twentieth of the call. This reads the histogram's
    bucket bounds and values as prometheus_client 0.26 keeps them (`_upper_bounds`, `_buckets`,
    `_sum`); tests/unit/test_metrics_bulk.py holds it equal to one `observe` per value.
    """
    v = np.asarray(values, dtype=float)
    if len(v) < FEW_VALUES:  # NumPy's fixed cost is more than a few `observe` calls
        for p in v.tolist():
            child.observe(p)
        return
    bounds = np.asarray(child._upper_bounds, dtype=float)
    at = np.searchsorted(bounds, v, side="left")  # the first bound >= v: `observe`'s bucket
    counts = np.bincount(at[at < len(bounds)], minlength=len(bounds))
    child._raise_if_not_observable()
    child._sum.inc(float(v.sum()))
    for i in np.flatnonzero(counts):
        child._buckets[i].inc(int(counts[i]))


class ServiceMetrics:
    """Request counts and latency, scores per model version, model reloads and the audit trail."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "los_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=r
        )
        self.latency = Histogram(
            "los_http_request_duration_seconds",
            "Time from request received to response sent",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.scores = Counter(
            "los_scores_total", "Admissions scored, per model version", ["model", "version"],
            registry=r,
        )  # fmt: skip
        self.batch_rows = Histogram(
            "los_scoring_batch_rows",
            "Rows per scoring call (concurrent requests are scored together)",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.model_info = Gauge(
            "los_model_version_info", "1 for each model version being served", ["model", "version"],
            registry=r, multiprocess_mode="liveall",
        )  # fmt: skip
        self._served: list[tuple[str, str]] = []  # the model_info labels set to 1
        self.ready = Gauge(
            "los_ready", "1 when the models are loaded", registry=r, multiprocess_mode="liveall"
        )
        self.reloads = Counter("los_model_reloads_total", "Model sets loaded", registry=r)
        self.registry_errors = Counter(
            "los_registry_errors_total", "Failed registry polls or loads", registry=r
        )
        self.missing_inputs = Counter(
            "los_missing_inputs_total",
            "Admissions scored with an extra model input sent as null (scored as missing)",
            ["field"],
            registry=r,
        )
        self.audit_written = Counter(
            "los_audit_rows_written_total", "Audit rows written", registry=r
        )
        self.site_scores = Histogram(
            "los_score_by_site", "Predicted probabilities per target and site",
            ["target", "site"], buckets=SCORE_BUCKETS, registry=r,
        )  # fmt: skip
        self.group_scores = Histogram(
            "los_score_by_ethnic_group", "Predicted probabilities per target and NHS ethnic group",
            ["target", "ethnic_group"], buckets=SCORE_BUCKETS, registry=r,
        )  # fmt: skip
        self.site_flagged = Counter(
            "los_flagged_by_site_total", "Admissions flagged per target and site",
            ["target", "site"], registry=r,
        )  # fmt: skip
        self._sites: tuple[Any, frozenset[str]] = (None, frozenset())
        self.audit_failed = Counter(
            "los_audit_rows_failed_total",
            "Audit rows that could not be written (store failing or queue full)",
            registry=r,
        )

    def models_swapped(self, identities: list[ModelIdentity]) -> None:
        """Record the versions now served."""
        self.models_retired()
        for identity in identities:
            self.model_info.labels(identity.name, identity.version).set(1)
            self._served.append((identity.name, identity.version))
        self.ready.set(1)
        self.reloads.inc()

    def observe_segments(self, columns: Any, scores: Any, scorer: Any) -> None:
        """Count one scoring call's rows and scores per site and ethnic group, per target."""
        if self._sites[0] is not scorer:  # the known sites change only with the models
            self._sites = (scorer, known_sites(scorer.models))
        sites = site_labels(columns, self._sites[1])
        groups = ethnic_group_labels(columns)
        for target, s in scores.items():
            for labels, histogram in ((sites, self.site_scores), (groups, self.group_scores)):
                for value in np.unique(labels):
                    observe_all(
                        histogram.labels(target, str(value)), s.probability[labels == value]
                    )
            for value in np.unique(sites[s.flagged]):
                self.site_flagged.labels(target, str(value)).inc(
                    int((sites[s.flagged] == value).sum())
                )

    def models_retired(self) -> None:
        """No version served any more. Values are set to 0 before the labels are dropped: in
        multiprocess mode a dropped label's last value stays in this worker's file."""
        for labels in self._served:
            self.model_info.labels(*labels).set(0)
        self._served.clear()
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # not implemented there (it warns):
            self.model_info.clear()  # the zeros above stand for the retired versions

    def render(self) -> bytes:
        """The Prometheus text exposition: every worker's values with several (module doc)."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            merged = CollectorRegistry()
            MultiProcessCollector(merged)
            return generate_latest(merged)
        return generate_latest(self.registry)
