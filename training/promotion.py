"""Promotion review: what holds a version back from `champion`, recorded on its registry version.

A version becomes `champion` by itself only when every gate passes. Otherwise it is *held for
review*: the failed gates and the blocking fairness findings (a finding in a gated breakdown,
`evaluation.findings`) are recorded as tags on the version, so that a person's later decision
(`los promote`) can list exactly what must be accepted:

- `gates.status`: `passed` or `held`;
- `gates.blocking`: the names of the failed gates, then of the blocking findings;
- `gates.findings`: each blocking finding's name, gate and one-line sentence;
- `gates.not_conclusive`: gates beyond their limit on the estimate only (they do not block).

Tag values are JSON, as every tag `models.registry.mark_complete` sets. `version_review` reads
them back, or, for versions registered before these tags, the run's logged `metrics.json`.

`definition_problem` is the other thing no acceptance can override: a version whose label
definition differs from the current champion's (`los.targets.definition_conflict`) is never
promoted over it; the champion must be retired first (`los promote --reject` on its version).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from evaluation.finding_words import sentence
from evaluation.findings import Finding
from evaluation.gates import GateResult
from los.errors import ModelNotFoundError
from los.targets import definition_conflict, target_name_of
from models import registry
from models.availability import REVIEW_BLOCKING_TAG as BLOCKING_TAG
from models.availability import REVIEW_FINDINGS_TAG as FINDINGS_TAG
from models.availability import REVIEW_STATUS_TAG as STATUS_TAG
from models.registry import connected, read_run_text

NOT_CONCLUSIVE_TAG = "gates.not_conclusive"
METRICS_ARTIFACT = "reports/metrics.json"


@dataclass(frozen=True)
class Review:
    """Whether a version may become `champion` by itself, and what holds it if not."""

    status: Literal["passed", "held"]
    failed_gates: list[str] = field(default_factory=list)
    findings: list[dict[str, str]] = field(default_factory=list)  # name, gate, sentence
    not_conclusive: list[str] = field(default_factory=list)

    @property
    def blocking(self) -> list[str]:
        """Everything a person must accept to promote it: failed gates, then findings."""
        return [*self.failed_gates, *(f["name"] for f in self.findings)]

    def tags(self) -> dict[str, Any]:
        """The registry tags that record this review."""
        return {
            STATUS_TAG: self.status,
            BLOCKING_TAG: self.blocking,
            FINDINGS_TAG: self.findings,
            NOT_CONCLUSIVE_TAG: self.not_conclusive,
        }


def review(gates: list[GateResult], findings: list[Finding], outcome: str) -> Review:
    """The review of a freshly trained version from its gates and its findings.

    `outcome` is what the target counts (e.g. `NCTR`), for the findings' sentences.
    """
    failed = [g.name for g in gates if not g.passed]
    blocking = [
        {"name": f.name, "gate": f.measure.gate, "sentence": sentence(f, outcome)}
        for f in findings
        if f.blocking
    ]
    return Review(
        "held" if failed else "passed",
        failed,
        blocking,
        [g.name for g in gates if g.status == "not_conclusive"],
    )


def _from_tags(tags: dict[str, str]) -> Review | None:
    if STATUS_TAG not in tags:
        return None
    findings = json.loads(tags.get(FINDINGS_TAG, "[]"))
    names = {f["name"] for f in findings}
    return Review(
        json.loads(tags[STATUS_TAG]),
        [n for n in json.loads(tags.get(BLOCKING_TAG, "[]")) if n not in names],
        findings,
        json.loads(tags.get(NOT_CONCLUSIVE_TAG, "[]")),
    )


def _from_metrics(block: dict[str, Any]) -> Review:
    """From one target's block of metrics.json (gates and, where logged, findings)."""
    gates = block.get("gates", {})
    failed = [name for name, g in gates.items() if not g.get("passed", False)]
    findings = [
        {"name": f["name"], "gate": f["gate"], "sentence": f.get("sentence", f["name"])}
        for f in block.get("findings", [])
        if f.get("blocking")
    ]
    unsure = [name for name, g in gates.items() if g.get("status") == "not_conclusive"]
    return Review("held" if failed else "passed", failed, findings, unsure)


def version_review(registered_name: str, version: str) -> Review:
    """The failed gates and blocking findings of a registered version (the registry must be
    connected first, `models.registry.connect`): from its tags, else from the `metrics.json`
    its training run logged."""
    # mlflow is heavy (~3 s to import): only when a version's review is read
    from mlflow.exceptions import MlflowException

    client = connected().client
    try:
        mv = client.get_model_version(registered_name, version)
    except MlflowException as exc:
        raise ModelNotFoundError(f"no model '{registered_name}' with version '{version}'") from exc
    recorded = _from_tags(dict(mv.tags or {}))
    if recorded is not None:
        return recorded
    target = target_name_of(registered_name)
    try:
        text = read_run_text(mv.run_id, METRICS_ARTIFACT)
        block = json.loads(text)[target]
    except (MlflowException, OSError, KeyError, ValueError) as exc:
        raise ModelNotFoundError(
            f"{registered_name} version {version} has no recorded gate results "
            f"(no {STATUS_TAG} tag and no {METRICS_ARTIFACT} for target {target})"
        ) from exc
    return _from_metrics(block)


def definition_problem(registered_name: str, version: str) -> str | None:
    """Why `version` may not replace the current champion of `registered_name` (None when there
    is no champion, it is that champion, or both label alike), in one line naming both
    definitions. Both bundles are read from the registry (connected first); a champion that
    exists but cannot be read is an error, not a missing one."""

    try:
        champion, identity = registry.load_bundle(registered_name, registry.CHAMPION)
    except ModelNotFoundError:
        return None
    if identity.version == str(version):
        return None
    candidate, _ = registry.load_bundle(registered_name, version)
    conflict = definition_conflict(champion.label_target, candidate.label_target)
    if conflict is None:
        return None
    return f"{registered_name} version {version} (champion: version {identity.version}): {conflict}"
