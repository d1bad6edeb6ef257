"""Decisions people sign (CONTRACT §6): who promoted or rejected a model version, when and why.

A decision is written to the MLflow store in two places, before any alias moves:

- on the registry version, as tags: `decision.kind` (`promote` or `reject`), `decision.by`,
  `decision.reason`, `decision.at` (UTC, ISO 8601) as plain text, and `decision.accepted`, the
  JSON list of the failed gates and findings the person accepted (`[]` when none). A later
  decision on the same version replaces these tags;
- in the decisions log, the MLflow experiment `los-decisions`: one run per decision, tagged the
  same way plus the model, version, training run and the `champion` version before and after.
  Runs are only ever added, so the history stays when a version is later replaced or rejected.

A version whose latest decision is a rejection is never moved to `champion` by anything but a
new decision (`models.registry.promote` refuses it; `training.decide` records the new decision
first). This module reads and writes records; the rules of a decision are in `training.decide`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from los.errors import DecisionError
from models.registry import EXPERIMENT, connected

KIND_TAG = "decision.kind"
BY_TAG = "decision.by"
REASON_TAG = "decision.reason"
AT_TAG = "decision.at"
ACCEPTED_TAG = "decision.accepted"
PROMOTE = "promote"
REJECT = "reject"

LOG_EXPERIMENT = "los-decisions"
_MODEL_TAG = "decision.model"
_VERSION_TAG = "decision.version"
_RUN_TAG = "decision.run_id"
_BEFORE_TAG = "decision.champion_before"
_AFTER_TAG = "decision.champion_after"
_NONE = "none"

MAX_BY_CHARS = 200
MAX_REASON_CHARS = 2000
MAX_ACCEPTED_CHARS = 5000  # a registry tag value holds 5,000 characters


@dataclass(frozen=True)
class Decision:
    """One person's decision on one registered version."""

    model: str
    version: str
    kind: Literal["promote", "reject"]
    by: str
    reason: str
    at: datetime
    accepted: tuple[str, ...] = ()
    run_id: str | None = None  # the training run that registered the version
    champion_before: str | None = None
    champion_after: str | None = None

    @property
    def at_text(self) -> str:
        """`decision.at`: UTC, to the second, ISO 8601."""
        return self.at.astimezone(UTC).isoformat(timespec="seconds")

    @property
    def words(self) -> str:
        """One line for the console and the documents."""
        what = "promoted to champion" if self.kind == PROMOTE else "rejected"
        accepted = f"; accepted: {'; '.join(self.accepted)}" if self.accepted else ""
        return (
            f"{self.model} version {self.version} {what} by {self.by} at {self.at_text} "
            f"(reason: {self.reason}){accepted}"
        )

    def version_tags(self) -> dict[str, str]:
        """The registry version's tags (`decision.kind` last: it marks the record complete)."""
        return {
            BY_TAG: self.by,
            REASON_TAG: self.reason,
            AT_TAG: self.at_text,
            ACCEPTED_TAG: json.dumps(list(self.accepted)),
            KIND_TAG: self.kind,
        }

    def to_dict(self) -> dict[str, Any]:
        """For JSON: `decision.json`, `/v1/models`."""
        return {
            "model": self.model,
            "version": self.version,
            "kind": self.kind,
            "by": self.by,
            "reason": self.reason,
            "at": self.at_text,
            "accepted": list(self.accepted),
            "run_id": self.run_id,
            "champion_before": self.champion_before,
            "champion_after": self.champion_after,
        }


def person_text(value: str, option: str, limit: int) -> str:
    """`--by` / `--reason` as given (surrounding spaces dropped); blank, control characters and
    over-long text are refused with one line naming the option (never echoing the text)."""
    text = value.strip()
    if not text:
        raise DecisionError(f"{option} is blank: a decision needs a person and a reason")
    if any(not ch.isprintable() for ch in text):
        raise DecisionError(f"{option} holds a control character (a line break or escape)")
    if len(text) > limit:
        raise DecisionError(f"{option} is {len(text):,} characters long; at most {limit:,}")
    return text


def from_tags(model: str, version: str, tags: dict[str, str]) -> Decision | None:
    """The latest decision recorded on a version (None when nobody has decided on it)."""
    kind = tags.get(KIND_TAG)
    if kind not in (PROMOTE, REJECT):
        return None
    try:
        accepted = tuple(str(a) for a in json.loads(tags.get(ACCEPTED_TAG, "[]")))
    except ValueError:
        accepted = (tags.get(ACCEPTED_TAG, ""),)
    return Decision(
        model,
        version,
        kind,  # type: ignore[arg-type]
        tags.get(BY_TAG, ""),
        tags.get(REASON_TAG, ""),
        _parse_time(tags.get(AT_TAG, "")),
        accepted,
    )


def _parse_time(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return datetime.fromtimestamp(0, UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def write_version_tags(decision: Decision) -> None:
    """Record the decision on its registry version (the registry must be connected)."""
    client = connected().client
    for key, value in decision.version_tags().items():
        client.set_model_version_tag(decision.model, decision.version, key, value)


def _log_experiment(artifact_location: str | None) -> str:
    client = connected().client
    found = client.get_experiment_by_name(LOG_EXPERIMENT)
    if found is not None:
        return str(found.experiment_id)
    # mlflow is heavy (~3 s to import): only when the decisions log is first created
    from mlflow.exceptions import MlflowException

    try:
        return str(client.create_experiment(LOG_EXPERIMENT, artifact_location=artifact_location))
    except MlflowException:  # created by another process meanwhile
        again = client.get_experiment_by_name(LOG_EXPERIMENT)
        if again is None:
            raise
        return str(again.experiment_id)


def append_to_log(decision: Decision) -> str:
    """Add the decision to the decisions log (one new run); returns the log run's id.

    The log's runs hold tags only; its experiment keeps artifacts beside the training runs'.
    """
    client = connected().client
    training = client.get_experiment_by_name(EXPERIMENT)
    experiment = _log_experiment(training.artifact_location if training else None)
    tags = {
        **decision.version_tags(),
        _MODEL_TAG: decision.model,
        _VERSION_TAG: decision.version,
        _RUN_TAG: decision.run_id or _NONE,
        _BEFORE_TAG: decision.champion_before or _NONE,
        _AFTER_TAG: decision.champion_after or _NONE,
        "mlflow.runName": f"{decision.kind} {decision.model} version {decision.version}",
    }
    run = client.create_run(experiment, start_time=int(time.time() * 1000), tags=tags)
    client.set_terminated(run.info.run_id, "FINISHED")
    return str(run.info.run_id)


def history(model: str | None = None, run_id: str | None = None) -> list[Decision]:
    """Every logged decision, oldest first; only those on `model`, or on the versions a training
    run `run_id` registered, when given."""
    client = connected().client
    found = client.get_experiment_by_name(LOG_EXPERIMENT)
    if found is None:
        return []
    runs, token = [], None
    while True:
        page = client.search_runs(
            [found.experiment_id], order_by=["attributes.start_time ASC"], page_token=token
        )
        runs += list(page)
        token = page.token
        if not token:
            break
    out = []
    for run in runs:
        tags = dict(run.data.tags)
        base = from_tags(tags.get(_MODEL_TAG, ""), tags.get(_VERSION_TAG, ""), tags)
        if base is None:
            continue
        logged = Decision(
            base.model, base.version, base.kind, base.by, base.reason, base.at, base.accepted,
            _known(tags.get(_RUN_TAG)), _known(tags.get(_BEFORE_TAG)), _known(tags.get(_AFTER_TAG)),
        )  # fmt: skip
        if (model is None or logged.model == model) and (run_id is None or logged.run_id == run_id):
            out.append(logged)
    return sorted(out, key=lambda d: d.at)


def _known(value: str | None) -> str | None:
    return None if value in (None, "", _NONE) else value
