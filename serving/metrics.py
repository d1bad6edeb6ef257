"""Prometheus metrics of one service instance (own registry: several apps can share a process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from models.registry import ModelIdentity

LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)


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
            registry=r,
        )  # fmt: skip
        self.ready = Gauge("los_ready", "1 when the models are loaded", registry=r)
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
        self.audit_failed = Counter(
            "los_audit_rows_failed_total",
            "Audit rows that could not be written (store failing or queue full)",
            registry=r,
        )

    def models_swapped(self, identities: list[ModelIdentity]) -> None:
        """Record the versions now served."""
        self.model_info.clear()
        for identity in identities:
            self.model_info.labels(identity.name, identity.version).set(1)
        self.ready.set(1)
        self.reloads.inc()

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
