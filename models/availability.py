"""Which targets have a model to serve, and in words why the others have none (CONTRACT §6).

The service, `los score`, `los evaluate` and the risk list work with whichever targets have a
`champion` and name the others ("NCTR model awaiting review: no champion (...)"): a target's
newest version may be held for review (a gate failed or a fairness finding holds it, and nobody
has decided yet), rejected by a person, refused at registration, or never trained. The targets
looked for are the contract's three registered models (CONTRACT §3) and any other `los-*`
model in the registry. Only when no target has a model at all does a command stop.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from los.config import TargetsConfig
from los.errors import ModelNotFoundError
from los.targets import target_name_of, targets_from_config
from models.decisions import PROMOTE, REJECT, Decision, from_tags
from models.registry import (
    CHAMPION,
    INCOMPLETE,
    REJECTED,
    STATE_TAG,
    LoadedModel,
    connected,
    load_models,
    registered_names,
)

# the default targets' registered names: `los-long-stay`, `los-long-stay-21`, `los-nctr`
CONTRACT_MODELS: tuple[str, ...] = tuple(
    t.registered_name for t in targets_from_config(TargetsConfig())
)
# the review tags `training.promotion` writes on every version it registers (their one home)
REVIEW_STATUS_TAG = "gates.status"
REVIEW_BLOCKING_TAG = "gates.blocking"
REVIEW_FINDINGS_TAG = "gates.findings"
# what a failed gate means, for the people reading a list or a console line (by gate kind: the
# name's part before the first `:`); the gate's name follows in brackets for the evaluators
_GATE_WORDS = {
    "min_auroc": "its accuracy is below the minimum",
    "calibration_error": "its chances are further from what happened than allowed",
    "auroc_vs_champion": "it is less accurate than the model in use",
    "target_definition": "it counts a different outcome from the model in use",
    "registry_roundtrip": "it did not load back from the registry unchanged",
    "stay_interval_coverage": "its likely-stay ranges miss too often",
    "stay_concordance": "it orders stays too poorly",
    "fnr_ratio": "a fairness check: it misses more cases in one group",
    "calibration_ratio": "a fairness check: its chances are off for one group",
    "auroc_gap": "a fairness check: it ranks one group less well",
    "fairness": "a fairness check that could not be made",
}


def target_name(registered: str) -> str:
    """`los-long-stay-21` -> `long_stay_21` (the inverse of `los.targets.Target`)."""
    return target_name_of(registered)


def title(target: str) -> str:
    """How a console line or a page names a target's model: `NCTR`, `Long stay (21+ days)`."""
    if target == "nctr":
        return "NCTR"
    days = target.removeprefix("long_stay_")
    if target.startswith("long_stay_") and days.isdigit():
        return f"Long stay ({days}+ days)"
    return target.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Unavailable:
    """A target without a model to serve, and why."""

    target: str
    model: str  # registered model name
    reason: str  # e.g. "awaiting review: no champion (version 2 is held for review: ...)"
    version: str | None = None  # its newest registered version, if any
    decision: Decision | None = None  # the decision recorded on that version, if any

    @property
    def line(self) -> str:
        """One line for the console, `/ready`, `/v1/score` and the risk list."""
        return f"{title(self.target)} model {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        """For `/v1/models`."""
        return {
            "name": self.model,
            "reason": self.line,
            "latest_version": self.version,
            "decision": self.decision.to_dict() if self.decision else None,
        }


@dataclass(frozen=True)
class ServingStatus:
    """What a poll of the registry found beside the served versions."""

    unavailable: dict[str, Unavailable] = field(default_factory=dict)  # by target
    decisions: dict[str, Decision | None] = field(default_factory=dict)  # served target -> its

    @property
    def lines(self) -> dict[str, str]:
        """Target -> one line, for `/ready` and `/v1/score`."""
        return {t: u.line for t, u in self.unavailable.items()}


def _versions(model: str) -> list[Any]:
    found = connected().client.search_model_versions(f"name = '{model}'")
    return sorted(found, key=lambda mv: int(mv.version))


def review_status(tags: dict[str, str]) -> str:
    """`held` or `passed` from a version's review tag (`passed` when there is none, as for
    versions registered before reviews were recorded; unreadable counts as `held`)."""
    try:
        return str(json.loads(tags.get(REVIEW_STATUS_TAG, '"passed"')))
    except ValueError:
        return "held"


def _blocking(tags: dict[str, str]) -> list[str]:
    try:
        return [str(b) for b in json.loads(tags.get(REVIEW_BLOCKING_TAG, "[]"))]
    except (TypeError, ValueError):
        return ["(unreadable review tags)"]


def _claim(sentence: str) -> str:
    """A finding's sentence without its bracketed figures: "Black or Black British patients in
    the most deprived areas (IMD quintile 1) have 1.85x the NCTR rate the model expects"."""
    text = sentence.rstrip()
    if not text.endswith(")"):
        return text
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(text[i], 0)
        if depth == 0:
            return text[:i].rstrip() or text
    return text


def held_words(tags: dict[str, str]) -> str:
    """Why a held version is held, in words: each blocking finding's claim, then each failed gate
    no finding explains, by what it means with its name; e.g. "Black or Black British patients
    in the most deprived areas (IMD quintile 1) have 1.85x the NCTR rate the model expects"."""
    try:
        findings = [f for f in json.loads(tags.get(REVIEW_FINDINGS_TAG, "[]")) if "name" in f]
    except (TypeError, ValueError):
        findings = []
    explained = {str(f["name"]) for f in findings} | {str(f.get("gate")) for f in findings}
    parts = [_claim(str(f.get("sentence") or f["name"])) for f in findings]
    for name in _blocking(tags):
        if name not in explained:
            words = _GATE_WORDS.get(name.split(":", 1)[0])
            parts.append(f"{words} ({name})" if words else name)
    if not parts:
        return "held"
    shown = "; ".join(parts[:2]) + (f"; and {len(parts) - 2} more" if len(parts) > 2 else "")
    return f"held for review: {shown}"


def _no_champion(target: str, model: str) -> Unavailable:
    """Why `model` has no champion, from its newest version that finished registering."""
    finished = [mv for mv in _versions(model) if (mv.tags or {}).get(STATE_TAG) != INCOMPLETE]
    if not finished:
        return Unavailable(target, model, "not trained: no complete version registered")
    newest = finished[-1]
    version, tags = str(newest.version), dict(newest.tags or {})
    decision = from_tags(model, version, tags)
    if decision is not None and decision.kind == REJECT:
        who = f"{decision.by} at {decision.at_text}"
        why = f"rejected: no champion (version {version} rejected by {who})"
    elif decision is not None and decision.kind == PROMOTE:
        why = (
            f"awaiting review: no champion (version {version} was promoted by {decision.by} at "
            f"{decision.at_text} but `champion` does not point at it; decide again with "
            "`los promote`)"
        )
    elif tags.get(STATE_TAG) == REJECTED:
        why = f"not available: no champion (version {version} failed its registry check)"
    elif review_status(tags) == "held":
        why = (
            f"awaiting review: no champion (version {version} is {held_words(tags)}; "
            "a person decides with `los promote`)"
        )
    else:
        why = f"awaiting review: no champion (version {version} is not champion)"
    return Unavailable(target, model, why, version, decision)


def unavailable_targets(present: Iterable[str], alias: str = CHAMPION) -> dict[str, Unavailable]:
    """The targets (other than `present`) without a version under `alias`, and why; the registry
    must be connected (`models.registry.connect`)."""
    have = set(present)
    registered = set(registered_names())
    out: dict[str, Unavailable] = {}
    for model in sorted(set(CONTRACT_MODELS) | registered):
        target = target_name(model)
        if target in have:
            continue
        if model not in registered:
            out[target] = Unavailable(target, model, "not trained: no version registered")
        elif alias != CHAMPION:
            which = f"version {alias}" if alias.isdigit() else f"'{alias}' version"
            out[target] = Unavailable(target, model, f"not available: no {which}")
        else:
            out[target] = _no_champion(target, model)
    return _in_order(out)


def serving_status(served: dict[str, str]) -> ServingStatus:
    """Decisions on the served versions (registered name -> version) and the targets without a
    champion, read fresh from the registry (a poll of the service)."""
    client = connected().client
    decisions: dict[str, Decision | None] = {}
    for model, version in served.items():
        tags = dict(client.get_model_version(model, version).tags or {})
        decisions[target_name(model)] = from_tags(model, version, tags)
    return ServingStatus(unavailable_targets(decisions), decisions)


def no_model_message(missing: dict[str, Unavailable], alias: str = CHAMPION) -> str:
    """The one line when no target has a model: every target and why."""
    which = "a champion" if alias == CHAMPION else f"'{alias}'"
    lines = "; ".join(u.line for u in missing.values())
    hint = "" if any(u.version for u in missing.values()) else ": run `make train`"
    return f"no target has {which}: {lines}{hint}"


def load_available(alias: str = CHAMPION) -> tuple[dict[str, LoadedModel], dict[str, Unavailable]]:
    """The models with `alias` and the targets without; `ModelNotFoundError` (one line naming
    every target) when no target has one. A version that exists but cannot be loaded is still an
    error (`ModelLoadError`): a broken champion is not a missing one."""
    try:
        models = load_models(alias)
    except ModelNotFoundError:
        models = {}
    missing = unavailable_targets(models, alias)
    if not models:
        raise ModelNotFoundError(no_model_message(missing, alias))
    return models, missing


def _in_order(found: dict[str, Unavailable]) -> dict[str, Unavailable]:
    order = {"long_stay": 0, "nctr": 2}
    return dict(sorted(found.items(), key=lambda kv: (order.get(kv[0], 1), kv[0])))
