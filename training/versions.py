"""The registry stages of a training run, one target's version at a time.

`register_version` (logged and registered `incomplete`, with its signature), `roundtrip_gate`
(loaded back by version number and scored on known rows), `record_version` (gates as short tags
and a table, then `complete` and `challenger`, or `rejected`) and `promote_version` (`champion`
when every gate passed; description and promotion tag either way). The order, and what a run
killed between stages leaves, is in `training.register`.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from evaluation.gates import GateResult
from models import registry
from training.pipeline import TargetRun
from training.promotion import Review
from training.signature import input_example, model_signature
from training.version_record import (
    PROMOTION_TAG,
    describe_registered_model,
    gates_artifact,
    gates_table,
    promotion_text,
    version_description,
    version_tags,
    write_version_record,
)

log = logging.getLogger(__name__)

ROUNDTRIP_GATE = "registry_roundtrip"
ROUNDTRIP_ROWS = 25


def register_version(
    tr: TargetRun, run_id: str, example: pd.DataFrame
) -> tuple[registry.ModelIdentity, str | None]:
    """Log and register one target's model as an `incomplete` version; its identity and the id
    of its logged model (MLflow 3), which its metrics are linked to."""

    overall = tr.evaluation.overall.to_dict()
    tr.bundle.metadata["test_metrics"] = overall
    tr.bundle.metadata["run_id"] = run_id
    spec = tr.bundle.spec
    identity = registry.log_bundle(
        tr.bundle,
        tr.target.registered_name,
        input_example(example, spec),
        complete=False,
        signature=model_signature(example, spec),
    )
    describe_registered_model(tr.target)
    mv = registry.connected().client.get_model_version(identity.name, identity.version)
    return identity, _logged_model_id(mv)


def _logged_model_id(mv: Any) -> str | None:
    """The MLflow 3 logged model behind a version: `model_id`, which the SQLite store leaves
    empty, else its source URI `models:/m-...`."""
    if getattr(mv, "model_id", None):
        return str(mv.model_id)
    source = str(mv.source or "")
    return source.removeprefix("models:/") if source.startswith("models:/m-") else None


def roundtrip_gate(
    tr: TargetRun, identity: registry.ModelIdentity, rows: pd.DataFrame
) -> GateResult:
    """Load the registered version back and score `rows`: it must match the trained model."""
    version = identity.version
    try:
        expected = tr.bundle.probability(tr.bundle.encode(rows), rows)
        diff = registry.verify_version(identity.name, version, rows, expected)
    except Exception as exc:
        detail = registry.describe_registry_error(exc)
        log.warning(
            "%s version %s failed the registry round trip: %s", identity.name, version, detail
        )
        return GateResult(
            ROUNDTRIP_GATE,
            None,
            registry.ROUNDTRIP_TOLERANCE,
            False,
            f"version {version} cannot be used once loaded back from the registry: {detail}",
        )
    return GateResult(
        ROUNDTRIP_GATE,
        diff,
        registry.ROUNDTRIP_TOLERANCE,
        True,
        f"version {version} loaded back from the registry scores {len(rows)} known rows as "
        f"trained (largest difference {diff:.1g})",
    )


def roundtrip(tr: TargetRun) -> GateResult | None:
    """The round-trip gate of a run, once checked."""
    return next((g for g in tr.gates if g.name == ROUNDTRIP_GATE), None)


def record_version(
    tr: TargetRun, identity: registry.ModelIdentity, review: Review, run_id: str
) -> None:
    """The version is finished: its gates as short tags and a table, then `complete` and
    `challenger`, or `rejected` (no alias) when it failed the round trip."""
    import mlflow

    mlflow.log_text(gates_table(tr.gates), gates_artifact(tr.target))
    window = tr.bundle.metadata["data_window"]
    checked = roundtrip(tr)
    rejected = checked is not None and not checked.passed
    # what a kill before the promotion stage leaves: the version's gates, not yet its verdict
    pending = "rejected at registration" if rejected else "not yet decided (run unfinished)"
    tags = version_tags(tr.target, window, tr.bundle.threshold, run_id, tr.gates, pending)
    write_version_record(
        identity.name,
        identity.version,
        version_description(tr.target, window, tr.evaluation.overall.to_dict(), tr.gates, pending),
        tags,
    )
    if checked is not None and not checked.passed:
        registry.mark_rejected(identity.name, identity.version, checked.detail, review.tags())
    else:
        registry.mark_complete(identity.name, identity.version, review.tags())


def promote_version(tr: TargetRun, identity: registry.ModelIdentity, review: Review) -> None:
    """`champion` moves to the version when every gate passed; its description and `promotion`
    tag then say how the run left it."""
    if tr.passed:  # only after the version and its reports are safely logged
        registry.promote(identity.name, identity.version)
    checked = roundtrip(tr)
    reason = checked.detail if checked is not None and not checked.passed else None
    verdict = promotion_text(tr.passed, review, reason)
    description = version_description(
        tr.target,
        tr.bundle.metadata["data_window"],
        tr.evaluation.overall.to_dict(),
        tr.gates,
        verdict,
    )
    write_version_record(identity.name, identity.version, description, {PROMOTION_TAG: verdict})
