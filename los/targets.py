"""Targets (CONTRACT §2): long stay at each threshold and no criteria to reside (NCTR).

A `Target` is the whole definition of a label: its kind, its threshold, and the rules that
change which spells count (deaths kept or excluded from long stay; the NCTR proxy where the
ready date is missing). `label(frame, target)` needs nothing else, each model's bundle saves its
`Target.definition` (`models.bundle`), and training and `los promote` refuse to compare or
promote a version against a champion whose definition differs (`definition_conflict`).

Names: the configured `long_stay_days` threshold is `long_stay` (registered `los-long-stay`),
whatever its days, so the service, the score columns and the list keep their names; other
thresholds are `long_stay_<days>`. A 10-day `long_stay` is therefore registered under
`los-long-stay` too, and meets a 7-day champion there: the gate and `los promote` refuse it,
saying both definitions, until that champion is retired (`los promote --reject`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from los.config import LONG_STAY_DAYS, NCTR_PROXY_PATHWAYS, TargetsConfig
from los.schema import CARE_HOME_CODES, DIED_DESTINATION, OTHER_HOSPITAL_CODES

_DAY = pd.Timedelta(days=1)
REGISTERED_PREFIX = "los-"
"""Every registered model of the product is named `los-<target>` (its one home)."""
NCTR_DELAY_DAYS = 1.0
"""A spell is NCTR when discharge is at least this long after the ready date (CONTRACT §2)."""
_DESTINATIONS = (*CARE_HOME_CODES, *OTHER_HOSPITAL_CODES)
STAY_DISTRIBUTION: Literal["stay_distribution"] = "stay_distribution"
"""The kind and name of the length-of-stay distribution model (CONTRACT §7): no flag, no label
column; its patient-day events come from the stays themselves (`training.stay_fit`)."""
STAY_HORIZON_DAYS = 60
"""The stay distribution's daily grid, 0..60 days (`models.stay_curve.HORIZON`)."""


def registered_name_of(target: str) -> str:
    """`long_stay_21` -> `los-long-stay-21`: the registry name of a target's models."""
    return REGISTERED_PREFIX + target.replace("_", "-")


def target_name_of(registered: str) -> str:
    """`los-long-stay-21` -> `long_stay_21` (the inverse of `registered_name_of`)."""
    return registered.removeprefix(REGISTERED_PREFIX).replace("-", "_")


@dataclass(frozen=True)
class Target:
    """One prediction target: its name and everything that defines its label.

    `exclude_deaths` applies to long stay only (NCTR always excludes deaths, CONTRACT §2); the
    proxy settings apply to NCTR only. Two targets label alike exactly when their `definition`s
    are equal; compare those, not the objects (the name is where a model lives, not what it
    counts).
    """

    name: str
    kind: Literal["long_stay", "nctr", "stay_distribution"]
    days: int | None = None
    exclude_deaths: bool = False
    proxy: Literal["pathway", "destination"] = "pathway"
    proxy_pathways: tuple[int, ...] = NCTR_PROXY_PATHWAYS
    proxy_destinations: tuple[str, ...] = field(default=_DESTINATIONS)

    def __post_init__(self) -> None:
        if self.kind == "long_stay" and (self.days is None or self.days < 1):
            raise ValueError(f"target {self.name}: a long stay target needs days >= 1")
        if self.kind == "nctr" and self.days is not None:
            raise ValueError(f"target {self.name}: an NCTR target has no days")
        if self.kind == STAY_DISTRIBUTION and self.days is not None:
            raise ValueError(f"target {self.name}: a stay distribution has no days")
        if self.kind not in ("long_stay", "nctr", STAY_DISTRIBUTION):
            raise ValueError(f"target {self.name}: unknown kind {self.kind!r}")

    @property
    def definition(self) -> dict[str, Any]:
        """What the label counts, as plain JSON values: only the rules that change the label."""
        if self.kind == "long_stay":
            return {"kind": "long_stay", "days": self.days, "exclude_deaths": self.exclude_deaths}
        if self.kind == STAY_DISTRIBUTION:
            return {"kind": STAY_DISTRIBUTION, "horizon_days": STAY_HORIZON_DAYS, "deaths": "end"}
        out: dict[str, Any] = {
            "kind": "nctr",
            "delay_days": NCTR_DELAY_DAYS,
            "exclude_deaths": True,
            "proxy": self.proxy,
        }
        if self.proxy == "pathway":
            out["proxy_pathways"] = sorted(self.proxy_pathways)
        else:
            out["proxy_destinations"] = sorted(self.proxy_destinations)
        return out

    @property
    def definition_json(self) -> str:
        """`definition` as canonical JSON (sorted keys), e.g. for an MLflow tag."""
        return json.dumps(self.definition, sort_keys=True, separators=(",", ":"))

    @property
    def fingerprint(self) -> str:
        """A short, stable digest of the definition (12 hex digits)."""
        return hashlib.sha256(self.definition_json.encode()).hexdigest()[:12]

    @classmethod
    def from_definition(cls, name: str, definition: dict[str, Any]) -> Target:
        """The target a saved `definition` describes (`ValueError` when it cannot be read)."""
        kind = definition.get("kind")
        if kind == STAY_DISTRIBUTION:
            if int(definition.get("horizon_days", STAY_HORIZON_DAYS)) != STAY_HORIZON_DAYS:
                raise ValueError(f"target {name}: stay horizon other than {STAY_HORIZON_DAYS} days")
            return cls(name, STAY_DISTRIBUTION)
        if kind == "long_stay":
            days, deaths = int(definition["days"]), bool(definition["exclude_deaths"])
            return cls(name, "long_stay", days, deaths)
        if kind == "nctr":
            if float(definition.get("delay_days", NCTR_DELAY_DAYS)) != NCTR_DELAY_DAYS:
                raise ValueError(f"target {name}: NCTR delay other than {NCTR_DELAY_DAYS} day")
            proxy = definition["proxy"]
            if proxy == "pathway":
                pathways = tuple(int(p) for p in definition["proxy_pathways"])
                return cls(name, "nctr", proxy="pathway", proxy_pathways=pathways)
            if proxy == "destination":
                codes = tuple(str(c) for c in definition["proxy_destinations"])
                return cls(name, "nctr", proxy="destination", proxy_destinations=codes)
            raise ValueError(f"target {name}: unknown NCTR proxy {proxy!r}")
        raise ValueError(f"target {name}: unknown kind {kind!r}")

    @classmethod
    def derived(cls, name: str, description: str | None = None) -> Target:
        """The definition of a model saved before definitions were recorded, as it was read
        then: the days from the name (`long_stay_21`) or else the description ("... of 10 days
        or more"), else the default threshold; the default rules otherwise (deaths kept in long
        stay, NCTR proxy discharge pathway 2-3)."""
        if name == "nctr":
            return cls(name, "nctr")
        if name == STAY_DISTRIBUTION:
            return stay_distribution_target()
        days = re.fullmatch(r"long_stay_(\d+)", name)
        if days is None and name == "long_stay" and description:
            days = re.search(r"(\d+) days", description)
        if days is None and name != "long_stay":
            raise ValueError(f"no definition recorded for target {name} and none can be derived")
        return cls(name, "long_stay", int(days.group(1)) if days else LONG_STAY_DAYS)

    @property
    def registered_name(self) -> str:
        """MLflow registered model name, e.g. `los-long-stay`, `los-long-stay-21`, `los-nctr`."""
        return registered_name_of(self.name)

    @property
    def title(self) -> str:
        """Short name for console lines: `NCTR`, `Long stay (7+ days)`."""
        if self.kind == STAY_DISTRIBUTION:
            return "Length of stay distribution"
        return "NCTR" if self.kind == "nctr" else f"Long stay ({self.days}+ days)"

    @property
    def outcome(self) -> str:
        """What the target counts, for sentences: `NCTR`, `7+ day stay`."""
        if self.kind == STAY_DISTRIBUTION:
            return "length of stay"
        return "NCTR" if self.kind == "nctr" else f"{self.days}+ day stay"

    @property
    def counts(self) -> str:
        """What the label counts with its rules, for a refusal: `7+ day stays (deaths kept)`,
        `NCTR (proxy: discharge pathway 2, 3)`."""
        if self.kind == "long_stay":
            deaths = "excluded" if self.exclude_deaths else "kept"
            return f"{self.days}+ day stays (deaths {deaths})"
        if self.kind == STAY_DISTRIBUTION:
            return f"length of stay, days 0-{STAY_HORIZON_DAYS} (a death ends the stay)"
        if self.proxy == "pathway":
            codes = ", ".join(str(p) for p in sorted(self.proxy_pathways))
            return f"NCTR (proxy: discharge pathway {codes})"
        return f"NCTR (proxy: discharge destination {', '.join(sorted(self.proxy_destinations))})"

    @property
    def description(self) -> str:
        """Plain-language description for reports and lists."""
        if self.kind == "nctr":
            return "at least one day with no criteria to reside (medically ready, still in bed)"
        if self.kind == STAY_DISTRIBUTION:
            return (
                f"the whole length-of-stay distribution, P(stay >= d days) for d = 0-"
                f"{STAY_HORIZON_DAYS} (a death ends the stay)"
            )
        deaths = " (deaths excluded)" if self.exclude_deaths else ""
        return f"length of stay of {self.days} days or more{deaths}"


def stay_distribution_target() -> Target:
    """The length-of-stay distribution model's target (registered `los-stay-distribution`)."""
    return Target(STAY_DISTRIBUTION, STAY_DISTRIBUTION)


def definition_conflict(champion: Target, challenger: Target) -> str | None:
    """Why `challenger` may not be compared with or replace `champion` (None when both label
    alike), in one line naming both definitions."""
    if champion.definition == challenger.definition:
        return None
    if champion.counts == challenger.counts:  # differ beyond the words (cannot today)
        then, now = champion.definition_json, challenger.definition_json
    else:
        then, now = champion.counts, challenger.counts
    return (
        f"the champion counts {then}, this version {now}: register it under its own name "
        "or retire the champion (`los promote --reject` on the champion's version)"
    )


def targets_from_config(config: TargetsConfig) -> list[Target]:
    """The targets to train: `long_stay` (default threshold), extra thresholds, then `nctr`."""
    deaths = config.exclude_deaths_from_long_stay
    targets = [Target("long_stay", "long_stay", config.long_stay_days, deaths)]
    for days in sorted(set(config.extra_long_stay_days) - {config.long_stay_days}):
        targets.append(Target(f"long_stay_{days}", "long_stay", days, deaths))
    if config.nctr:
        targets.append(
            Target(
                "nctr",
                "nctr",
                proxy=config.nctr_proxy,
                proxy_pathways=tuple(config.nctr_proxy_pathways),
                proxy_destinations=tuple(config.nctr_proxy_destinations),
            )
        )
    return targets


def length_of_stay_days(frame: pd.DataFrame) -> pd.Series:
    """Discharge minus admission, in (fractional) days; NaN while still in hospital."""
    los = pd.to_datetime(frame["discharge_datetime"]) - pd.to_datetime(frame["admission_datetime"])
    return los / _DAY


def _died(frame: pd.DataFrame) -> pd.Series:
    dest = frame.get("discharge_destination", pd.Series(np.nan, index=frame.index))
    return dest.astype("string").str.strip().eq(DIED_DESTINATION).fillna(False).astype(bool)


def label(frame: pd.DataFrame, target: Target) -> pd.Series:
    """The 0/1 label of `target` per row, NaN where the row is not eligible.

    Rows still in hospital are never eligible. Deaths are excluded from `nctr` (and from long
    stay when the target says so). Where the ready date is missing, NCTR falls back to the
    target's proxy (discharge pathway or destination list).
    """
    if target.kind == STAY_DISTRIBUTION:
        raise ValueError(f"{target.name} has no 0/1 label: its events are the stays themselves")
    ended = frame["discharge_datetime"].notna()
    died = _died(frame)
    if target.kind == "long_stay":
        assert target.days is not None
        y = (length_of_stay_days(frame) >= target.days).astype(float)
        eligible = ended & ~died if target.exclude_deaths else ended
        return y.where(eligible)

    no_ready = pd.Series(pd.NaT, index=frame.index)
    ready = pd.to_datetime(frame.get("discharge_ready_datetime", no_ready))
    delay = (pd.to_datetime(frame["discharge_datetime"]) - ready) / _DAY
    y = (delay >= NCTR_DELAY_DAYS).astype(float)
    if target.proxy == "pathway":
        pathway = pd.to_numeric(frame.get("discharge_pathway", np.nan), errors="coerce")
        proxy = pd.Series(pathway, index=frame.index).isin(target.proxy_pathways)
        proxy_known = pd.Series(pathway, index=frame.index).notna()
    else:
        dest = frame.get("discharge_destination", pd.Series(np.nan, index=frame.index))
        dest = dest.astype("string").str.strip()
        proxy = dest.isin(target.proxy_destinations).fillna(False).astype(bool)
        proxy_known = dest.notna()
    y = y.where(ready.notna(), proxy.astype(float))
    known = ready.notna() | proxy_known
    return y.where(ended & ~died & known)


def _remedy(target: Target, positive: bool) -> str:
    """What a person can change when a class is missing or rare."""
    if target.kind == "nctr":
        return (
            "check how NCTR is recorded (targets.nctr_proxy), switch the target off "
            "(targets.nctr: false) or supply more data"
        )
    setting = "long_stay_days" if target.name == "long_stay" else "extra_long_stay_days"
    change = "lower" if positive else "raise"
    return f"{change} the threshold in the config (targets.{setting}) or supply more data"


def untrainable(target: Target, counts: dict[str, tuple[int, int]], minimum: int) -> str | None:
    """Why `target` cannot be learnt from this extract, in one line (None when it can).

    `counts` holds, per period (train, validation, calibration, test), the labelled negatives
    and positives. Each period needs at least `minimum` of each class: fitting, early stopping,
    calibration and threshold choice, and the reported metrics all need both classes, and a
    handful of cases gives a threshold and metrics that are noise.
    """
    empty = [name for name, (neg, pos) in counts.items() if neg + pos == 0]
    if empty:
        return (
            f"the {', '.join(empty)} period(s) hold no labelled spells; widen the data window "
            "or change the split dates (split in the config)"
        )
    for index, positive in ((1, True), (0, False)):
        if all(c[index] >= minimum for c in counts.values()):
            continue
        if target.kind == "nctr":
            words = (
                "spells with a day of no criteria to reside"
                if positive
                else ("spells without a day of no criteria to reside")
            )
        else:
            words = (
                f"stays of {target.days}+ days"
                if positive
                else (f"stays shorter than {target.days} days")
            )
        total = sum(c[index] for c in counts.values())
        per_period = ", ".join(f"{name} {c[index]:,}" for name, c in counts.items())
        return (
            f"the extract holds {'no' if total == 0 else 'too few'} {words} ({per_period}; at "
            f"least {minimum} needed in each period), so this target cannot be learnt from it; "
            f"{_remedy(target, positive)}"
        )
    return None
