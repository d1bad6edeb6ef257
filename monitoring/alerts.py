"""Alerts: what changed, where, in plain words, and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass

from evaluation.groups import TITLES, group_label

KINDS = ("input_drift", "score_drift", "estimated_auroc", "observed_expected")


@dataclass(frozen=True)
class Alert:
    """One alert of monitor.json (CONTRACT §8), with the action to take."""

    target: str  # a target name, or "all" for an input (it feeds every target)
    attribute: str  # "overall" for all spells
    group: str
    kind: str
    detail: str
    action: str
    feature: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        """For monitor.json."""
        out: dict[str, str | None] = {
            "target": self.target,
            "attribute": self.attribute,
            "group": self.group,
            "kind": self.kind,
            "detail": self.detail,
            "action": self.action,
        }
        if self.feature is not None:
            out["feature"] = self.feature
        return out


def segment_name(attribute: str, group: str) -> str:
    """`site RQM91`, `Age band 85+`, `all spells`."""
    if attribute == "overall":
        return "all spells"
    if attribute == "site":
        return f"site {group}"
    return f"{TITLES.get(attribute, attribute)} {group_label(attribute, group)}"


def input_action(attribute: str, feature: str) -> str:
    """What to do about an input that moved."""
    if attribute == "site":
        return (
            f"check the site's recording of {feature} (a new form, scale or system?); "
            "retrain only if the patients themselves have changed"
        )
    return (
        f"check how {feature} is recorded for these patients; retrain if the population has "
        "really changed"
    )


SCORE_ACTION = "look at the inputs that moved in this segment; retrain if the case mix has changed"
AUROC_ACTION = (
    "retrain: the case mix has moved to where the model ranks patients less well; check the "
    "realised AUROC as labels arrive"
)


def oe_action(attribute: str, ratio: float) -> str:
    """What to do when outcomes and predictions part."""
    where = "at the site" if attribute == "site" else "for these patients"
    if ratio > 1:
        return (
            f"the model under-predicts {where}: check local capacity and discharge delays "
            "(care-home and home-care supply), tell the discharge team that the risks shown are "
            "too low, then recalibrate or retrain"
        )
    return (
        f"the model over-predicts {where}: check for a change in practice or in recording of "
        "the outcome, then recalibrate or retrain"
    )
