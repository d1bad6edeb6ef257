"""`los promote`: a person's decision on a registered version, recorded before `champion` moves.

The rules (CONTRACT §6):

- `--by` and `--reason` are required and may not be blank;
- a promotion moves `champion` only when every failed gate and blocking fairness finding of the
  version (`training.promotion.version_review`) is accepted, by name (`--accept NAME`, repeated)
  or all of them as listed (`--accept-findings`). Nothing is accepted implicitly: otherwise the
  command refuses with one line listing what must be accepted, and changes nothing. A version
  without failures may be promoted too (the decision then accepts nothing);
- a version whose label definition differs from the current champion's (e.g. 10+ day stays
  against a 7+ day champion) is refused whatever is accepted
  (`training.promotion.definition_problem`): retire that champion first (`--reject` on it);
- `--reject` records a refusal. The version is never promoted automatically afterwards
  (`models.registry.promote` refuses it) and promoting it later is a new decision. Rejecting the
  version being served takes `champion` off it: the service then says the target has none.

Order of writes: the decision on the version's tags, then the decisions log, then the training
run's documents (`reports/decisions.json`, and the model card and report with a Decisions
section), and only then the alias. A crash in between leaves a recorded decision and an alias
not yet moved (run the command again), never a champion nobody decided on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from evaluation.decision_section import with_html_section, with_markdown_section
from los.config import Settings
from los.errors import DecisionError, ModelNotFoundError
from models import registry
from models.availability import review_status
from models.decisions import (
    KIND_TAG,
    MAX_BY_CHARS,
    MAX_REASON_CHARS,
    PROMOTE,
    REJECT,
    Decision,
    append_to_log,
    history,
    person_text,
    write_version_tags,
)
from training.promotion import definition_problem, version_review
from training.version_record import note_decision

DOCUMENTS = ("model_card.md", "report.html")
_INSERT: dict[str, Callable[[str, list[Decision]], str]] = {
    "model_card.md": with_markdown_section,
    "report.html": with_html_section,
}


@dataclass(frozen=True)
class DecisionRequest:
    """What `los promote` was asked."""

    model: str
    version: str
    by: str
    reason: str
    reject: bool = False
    accept_all: bool = False
    accept: tuple[str, ...] = ()


@dataclass(frozen=True)
class DecisionResult:
    """The recorded decision and what it changed."""

    decision: Decision
    champion_moved: bool  # moved to the version (promote) or taken off it (reject)
    documents: list[str] = field(default_factory=list)  # where the decision is shown
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """What `los promote` prints."""
        d = self.decision
        out = [f"recorded: {d.words}"]
        if d.kind == PROMOTE:
            out.append(
                f"champion of {d.model}: version {d.version}"
                + (f" (was {d.champion_before or 'none'})" if self.champion_moved else " (already)")
            )
        elif self.champion_moved:
            out.append(
                f"champion of {d.model} removed (was version {d.version}): nothing is served for "
                "this target until another version is promoted"
            )
        else:
            out.append(f"champion of {d.model} unchanged: {d.champion_after or 'none'}")
        out += [f"shown in {where}" for where in self.documents]
        return out + [f"note: {n}" for n in self.notes]


def _shown(text: str) -> str:
    """A value from the command line, echoed only when it is short printable text."""
    if len(text) <= 80 and text.isprintable():
        return f"'{text}'"
    return "the value given"


def _describe(mv: Any, aliases: dict[str, str]) -> str:
    """`3 (champion)`, `4 (challenger, held for review)`: a version as the error lists it."""
    tags = mv.tags or {}
    words = [a for a, v in aliases.items() if v == str(mv.version)]
    state = tags.get(registry.STATE_TAG)
    if state in (registry.INCOMPLETE, registry.REJECTED):
        words.append(str(state))
    elif tags.get(KIND_TAG) == REJECT:
        words.append("rejected by a person")
    elif review_status(tags) == "held":
        words.append("held for review")
    return f"{mv.version}" + (f" ({', '.join(words)})" if words else "")


def _version(model: str, version: str) -> Any:
    """The registry version, or one line naming the models or versions that exist."""
    names = registry.registered_names()
    if model not in names:
        have = ", ".join(names) if names else "none (run `make train`)"
        raise ModelNotFoundError(f"no registered model {_shown(model)}; registered models: {have}")
    found = registry.connected().client.search_model_versions(f"name = '{model}'")
    versions = sorted(found, key=lambda mv: int(mv.version))
    chosen = next((mv for mv in versions if str(mv.version) == version), None)
    if chosen is None:
        aliases = _aliases(model)
        listed = ", ".join(_describe(mv, aliases) for mv in versions) or "none"
        raise ModelNotFoundError(f"{model} has no version {_shown(version)}; versions: {listed}")
    return chosen


def _aliases(model: str) -> dict[str, str]:
    """Alias -> version, for `champion` and `challenger` where set."""
    out = {}
    for alias in (registry.CHAMPION, registry.CHALLENGER):
        try:
            out[alias] = registry.resolve(model, alias).version
        except ModelNotFoundError:
            continue
    return out


def _accepted(request: DecisionRequest, blocking: list[str]) -> tuple[str, ...]:
    """The names accepted: every one must be named (or `--accept-findings`), none invented."""
    what = f"{request.model} version {request.version}"
    named = list(dict.fromkeys(a.strip() for a in request.accept))
    unknown = [a for a in named if a not in blocking]
    if unknown:
        holds = "; ".join(blocking) if blocking else "nothing (no failed gate or finding)"
        raise DecisionError(
            f"not a failed gate or finding of {what}: {'; '.join(unknown)} (it holds: {holds}); "
            "nothing changed"
        )
    accepted = blocking if request.accept_all else [b for b in blocking if b in named]
    missing = [b for b in blocking if b not in accepted]
    if missing:
        raise DecisionError(
            f"{what} not promoted, nothing changed: accept each failed gate and finding by name "
            f"(--accept NAME) or all of them (--accept-findings): {'; '.join(missing)}"
        )
    return tuple(accepted)


def _check(request: DecisionRequest) -> tuple[str, str]:
    by = person_text(request.by, "--by", MAX_BY_CHARS)
    reason = person_text(request.reason, "--reason", MAX_REASON_CHARS)
    if request.reject and (request.accept_all or request.accept):
        raise DecisionError("--reject accepts nothing: drop --accept-findings / --accept")
    return by, reason


def decide(
    request: DecisionRequest, settings: Settings, progress: Callable[[str], None] = lambda m: None
) -> DecisionResult:
    """Record the decision, then move (or remove) `champion` as it says; see the module doc."""
    by, reason = _check(request)
    registry.connect(settings.tracking_uri)  # an existing registry only
    mv = _version(request.model, request.version)
    model, version = request.model, str(mv.version)
    accepted: tuple[str, ...] = ()
    if not request.reject:
        problem = registry.promotion_problem(model, version, mv, new_decision=True)
        if problem is not None:
            raise DecisionError(f"not promoted, nothing changed: {problem}")
        problem = definition_problem(model, version)  # no acceptance overrides it
        if problem is not None:
            raise DecisionError(f"not promoted, nothing changed: {problem}")
        accepted = _accepted(request, version_review(model, version).blocking)
    before = _aliases(model).get(registry.CHAMPION)
    kind: Literal["promote", "reject"] = "reject" if request.reject else "promote"
    after = (None if before == version else before) if request.reject else version
    decision = Decision(
        model, version, kind, by, reason,
        datetime.now(UTC).replace(microsecond=0), accepted, mv.run_id, before, after,
    )  # fmt: skip
    progress(f"recording the decision on {model} version {version}")
    write_version_tags(decision)  # the record comes first: see the module doc
    append_to_log(decision)
    documents, notes = _show_in_documents(decision, settings.los_data_dir / "reports" / "latest")
    moved = False
    if decision.kind == PROMOTE and before != version:
        registry.promote(model, version)
        moved = True
    elif decision.kind == REJECT:
        moved = registry.withdraw_champion(model, version)
    note_decision(decision)  # the version's description and `promotion` tag say it too
    return DecisionResult(decision, moved, documents, notes)


def _show_in_documents(decision: Decision, latest: Path) -> tuple[list[str], list[str]]:
    """Log the run's decisions and its documents with a Decisions section; the copies in
    `latest` (the report folder of `los train`) too when they are that run's."""
    run_id = decision.run_id
    if not run_id:
        return [], ["the version has no training run: no model card or report to show it in"]
    client = registry.connected().client
    decisions = history(run_id=run_id)
    body = {"run_id": run_id, "decisions": [d.to_dict() for d in decisions]}
    client.log_text(run_id, json.dumps(body, indent=2), "reports/decisions.json")
    shown, notes = [f"runs:/{run_id}/reports/decisions.json"], []
    for name in DOCUMENTS:
        try:
            text = registry.read_run_text(run_id, f"reports/{name}")
        except Exception as exc:  # no such artifact (or store unreadable): say so, go on
            notes.append(
                f"run {run_id} has no readable reports/{name} ({type(exc).__name__}); "
                "the decision is in the registry tags and the decisions log"
            )
            continue
        client.log_text(run_id, _INSERT[name](text, decisions), f"reports/{name}")
        shown.append(f"runs:/{run_id}/reports/{name}")
        local = latest / name
        if local.is_file() and f"Training run {run_id}" in (own := local.read_text("utf-8")):
            local.write_text(_INSERT[name](own, decisions), encoding="utf-8")
            shown.append(str(local))
    return shown, notes
