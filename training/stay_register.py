"""Register the length-of-stay distribution model (`los-stay-distribution`): log it `incomplete`,
load it back and check its curves (the `registry_roundtrip` gate), mark it complete (alias
`challenger`) with its gates as tags, and move `champion` to it when every gate passed (a
`not_conclusive` coverage gate does not block, as the fairness gates judge). A version whose
round trip fails is marked rejected and never loaded.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from evaluation.gates import GateResult
from models import registry
from models.stay_model import stay_curves
from training.signature import input_example, model_signature
from training.stay_fit import StayRun
from training.versions import ROUNDTRIP_GATE

log = logging.getLogger(__name__)
GATES_TAG = "los_stay_gates"


def stay_passed(run: StayRun) -> bool:
    """Whether no gate of the stay model failed."""
    return all(g.status != "fail" for g in run.evaluation.gates)


def _roundtrip(run: StayRun, identity: registry.ModelIdentity, rows: pd.DataFrame) -> GateResult:
    """Load the version back as another process would and compare its curves on `rows`."""
    try:
        bundle, _ = registry.load_bundle(identity.name, identity.version, allow_incomplete=True)
        want = stay_curves(run.bundle, run.bundle.encode(rows)).survival
        got = stay_curves(bundle, bundle.encode(rows)).survival
        diff = float(np.max(np.abs(got - want))) if len(want) else 0.0
    except Exception as exc:
        detail = registry.describe_registry_error(exc)
        return GateResult(ROUNDTRIP_GATE, None, None, False, f"not loadable: {detail}")
    ok = diff <= registry.ROUNDTRIP_TOLERANCE
    return GateResult(
        ROUNDTRIP_GATE, diff, registry.ROUNDTRIP_TOLERANCE, ok,
        f"loaded back from the registry: largest curve difference {diff:.2g}",
    )  # fmt: skip


def stay_record(run: StayRun) -> dict[str, Any]:
    """The stay model's outcome for `registration.json` and the console (`training.summary`):
    version, alias (None: rejected), promoted, the test period's figures and the gates."""
    identity, model = run.identity, run.evaluation.model
    return {
        "version": identity.version if identity else None,
        "alias": identity.alias if identity else None,
        "promoted": identity is not None and identity.alias == registry.CHAMPION,
        "interval_coverage": model.coverage,
        "median_error_days": model.median_error_days,
        "median_error_observed_days": model.median_error_observed_days,
        "concordance": model.concordance,
        "gates": [
            {"name": g.name, "status": g.status, "detail": g.detail} for g in run.evaluation.gates
        ],
    }


def register_stay(run: StayRun, run_id: str, example: pd.DataFrame) -> registry.ModelIdentity:
    """Register, check, complete and (when every gate passed) promote the stay model; its
    evaluation is logged to the run as `stay_distribution.json`; the identity (alias
    `champion`, `challenger`, or None when rejected) is also kept in `run.identity`."""
    run.identity = _register(run, run_id, example)
    return run.identity


def _register(run: StayRun, run_id: str, example: pd.DataFrame) -> registry.ModelIdentity:
    import mlflow

    target, bundle = run.target, run.bundle
    bundle.metadata["test_metrics"] = run.evaluation.model.to_dict()
    bundle.metadata["run_id"] = run_id
    identity = registry.log_bundle(
        bundle,
        target.registered_name,
        input_example(example, bundle.spec),
        complete=False,
        signature=model_signature(example, bundle.spec),
    )
    check = _roundtrip(run, identity, example)
    run.evaluation.gates.append(check)
    mlflow.log_dict(run.evaluation.to_dict(), "stay_distribution.json")
    gates = [{"kind": g.kind, "status": g.status, "detail": g.detail} for g in run.evaluation.gates]
    tags = {GATES_TAG: gates, "los_target_definition": target.definition}
    if not check.passed:
        registry.mark_rejected(identity.name, identity.version, check.detail, tags)
        log.warning("%s version %s rejected: %s", identity.name, identity.version, check.detail)
        return identity
    registry.mark_complete(identity.name, identity.version, tags)
    if stay_passed(run):
        registry.promote(identity.name, identity.version)
        return registry.ModelIdentity(identity.name, identity.version, registry.CHAMPION, run_id)
    return registry.ModelIdentity(identity.name, identity.version, registry.CHALLENGER, run_id)
