"""What a person reads on a registered version in MLflow: descriptions, short tags, a gates table.

Opening the MLflow UI (or its REST API), each registered model says what it predicts, and each
version says on which data window it was trained, its test metrics, its gate results (one short
tag per gate, `gate.<name>`, and the full table as the run artifact `gates/<target>.csv`), where
its report and model card are, and how it was promoted. Machine-read records (the review tags of
`training.promotion`, the state and checksum tags of `models.registry`) are left as they are.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from evaluation.gates import GateResult
from los.targets import Target
from models import registry
from models.decisions import Decision
from training.promotion import Review

GATE_TAG_PREFIX = "gate."
DEFINITION_TAG = "target_definition"  # what the label counts, and its fingerprint
PREDICTS_TAG = "predicts"
WINDOW_TAG = "data_window"
TEST_PERIOD_TAG = "test_period"
THRESHOLD_TAG = "threshold"
PROMOTION_TAG = "promotion"
REPORT_TAG = "report"
MODEL_CARD_TAG = "model_card"
GATES_TABLE_TAG = "gates_table"
GATE_COLUMNS = ("gate", "status", "value", "limit", "detail")
_STATUS_WORDS = {"pass": "pass", "fail": "FAIL", "not_conclusive": "not conclusive"}


def _day(iso: str) -> str:
    return iso[:10]


def window_text(window: dict[str, str]) -> str:
    """`2023-01-01 to 2024-12-31` (admission dates of the whole extract)."""
    return f"{_day(window['data_start'])} to {_day(window['data_end'])}"


def test_period_text(window: dict[str, str]) -> str:
    """`2024-11-01 to 2024-12-31`: the period every reported metric comes from."""
    return f"{_day(window['test_start'])} to {_day(window['data_end'])}"


def model_description(target: Target) -> str:
    """The registered model's description: what its versions predict."""
    return (
        f"{target.title}: predicts, at admission, the probability of {target.description} "
        f"(target `{target.name}`). Decision support for discharge planning, not a basis for "
        "decisions about any individual's care. Each version's description and tags give its "
        "data window, test metrics, gate results and how it was promoted."
    )


def _number(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, list):
        return "-".join(_number(v) for v in value)
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def gate_tag(gate: GateResult) -> str:
    """One short line: `pass: 0.812 (limit 0.7)`."""
    status = _STATUS_WORDS[gate.status or "pass"]
    return f"{status}: {_number(gate.value)} (limit {_number(gate.limit)})"


def gate_tags(gates: list[GateResult]) -> dict[str, str]:
    """`gate.<name>` -> its short line, one tag per gate."""
    return {f"{GATE_TAG_PREFIX}{g.name}": gate_tag(g) for g in gates}


def gates_table(gates: list[GateResult]) -> str:
    """Every gate as CSV (gate, status, value, limit, detail), for the run's artifacts."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(GATE_COLUMNS)
    for g in gates:
        writer.writerow([g.name, g.status, _number(g.value), _number(g.limit), g.detail])
    return out.getvalue()


def promotion_text(promoted: bool, review: Review, rejected_reason: str | None) -> str:
    """How this run left the version: champion by its gates, held for review, or rejected."""
    if rejected_reason is not None:
        return f"rejected at registration: {rejected_reason}"[:500]
    if promoted:
        return "champion: every gate passed, promoted automatically by the training run"
    held = ", ".join(review.blocking) or "failed gates"
    return f"challenger, held for review (needs a person's decision, `los promote`): {held}"[:500]


def version_description(
    target: Target,
    window: dict[str, str],
    metrics: dict[str, Any],
    gates: list[GateResult],
    promotion: str,
) -> str:
    """A few plain sentences for the version's description field."""
    passed = sum(1 for g in gates if g.passed)
    return (
        f"Predicts {target.description} ({target.title}). Trained on admissions "
        f"{window_text(window)}; test period {test_period_text(window)}: AUROC "
        f"{_number(metrics.get('auroc'))}, calibration error "
        f"{_number(metrics.get('calibration_error'))}, {_number(metrics.get('n'))} spells, "
        f"flag threshold {_number(metrics.get('threshold'))}. Gates passed {passed}/{len(gates)}. "
        f"Promotion: {promotion}."
    )


def version_tags(
    target: Target,
    window: dict[str, str],
    threshold: float,
    run_id: str,
    gates: list[GateResult],
    promotion: str,
) -> dict[str, str]:
    """The short, readable tags of a version (no JSON)."""
    return {
        PREDICTS_TAG: target.description,
        DEFINITION_TAG: f"{target.counts} [{target.fingerprint}]",
        WINDOW_TAG: window_text(window),
        TEST_PERIOD_TAG: test_period_text(window),
        THRESHOLD_TAG: f"{threshold:.4f}",
        PROMOTION_TAG: promotion,
        REPORT_TAG: f"runs:/{run_id}/reports/report.html",
        MODEL_CARD_TAG: f"runs:/{run_id}/reports/model_card.md",
        GATES_TABLE_TAG: f"runs:/{run_id}/{gates_artifact(target)}",
        **gate_tags(gates),
    }


def gates_artifact(target: Target) -> str:
    """Where the run keeps a target's gates table."""
    return f"gates/{target.name}.csv"


def write_version_record(name: str, version: str, description: str, tags: dict[str, str]) -> None:
    """Set the version's description and tags (the registry must be connected)."""

    client = registry.connected().client
    client.update_model_version(name, version, description=description)
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)


def describe_registered_model(target: Target) -> None:
    """Set the registered model's description from its target."""

    registry.connected().client.update_registered_model(
        target.registered_name, description=model_description(target)
    )


def note_decision(decision: Decision) -> None:
    """A person's decision (`los promote`) replaces the run's verdict in the version's
    `promotion` tag and description (the `decision.*` tags hold the record itself)."""

    client = registry.connected().client
    verdict = f"decided by a person: {decision.words}"[:500]
    mv = client.get_model_version(decision.model, decision.version)
    text = mv.description or ""
    kept = text[: text.index(" Promotion: ")] if " Promotion: " in text else text
    description = f"{kept} Promotion: {verdict}." if kept else f"Promotion: {verdict}."
    write_version_record(decision.model, decision.version, description, {PROMOTION_TAG: verdict})
