"""Targets (CONTRACT §2): long stay at each threshold and no criteria to reside (NCTR)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from los.config import TargetsConfig
from los.schema import DIED_DESTINATION

_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class Target:
    """One prediction target and the registry name its models live under."""

    name: str
    kind: Literal["long_stay", "nctr"]
    days: int | None = None

    @property
    def registered_name(self) -> str:
        """MLflow registered model name, e.g. `los-long-stay`, `los-long-stay-21`, `los-nctr`."""
        return "los-" + self.name.replace("_", "-")

    @property
    def title(self) -> str:
        """Short name for console lines: `NCTR`, `Long stay (7+ days)`."""
        return "NCTR" if self.kind == "nctr" else f"Long stay ({self.days}+ days)"

    @property
    def outcome(self) -> str:
        """What the target counts, for sentences: `NCTR`, `7+ day stay`."""
        return "NCTR" if self.kind == "nctr" else f"{self.days}+ day stay"

    @property
    def description(self) -> str:
        """Plain-language description for reports and lists."""
        if self.kind == "nctr":
            return "at least one day with no criteria to reside (medically ready, still in bed)"
        return f"length of stay of {self.days} days or more"


def targets_from_config(config: TargetsConfig) -> list[Target]:
    """The targets to train: `long_stay` (default threshold), extra thresholds, then `nctr`."""
    targets = [Target("long_stay", "long_stay", config.long_stay_days)]
    for days in sorted(set(config.extra_long_stay_days) - {config.long_stay_days}):
        targets.append(Target(f"long_stay_{days}", "long_stay", days))
    if config.nctr:
        targets.append(Target("nctr", "nctr"))
    return targets


def length_of_stay_days(frame: pd.DataFrame) -> pd.Series:
    """Discharge minus admission, in (fractional) days; NaN while still in hospital."""
    los = pd.to_datetime(frame["discharge_datetime"]) - pd.to_datetime(frame["admission_datetime"])
    return los / _DAY


def _died(frame: pd.DataFrame) -> pd.Series:
    dest = frame.get("discharge_destination", pd.Series(np.nan, index=frame.index))
    return dest.astype("string").str.strip().eq(DIED_DESTINATION).fillna(False).astype(bool)


def label(frame: pd.DataFrame, target: Target, config: TargetsConfig) -> pd.Series:
    """The 0/1 label of `target` per row, NaN where the row is not eligible.

    Rows still in hospital are never eligible. Deaths are excluded from `nctr` (and from long
    stay when configured). Where the ready date is missing, NCTR falls back to the configured
    proxy (discharge pathway or destination list).
    """
    ended = frame["discharge_datetime"].notna()
    died = _died(frame)
    if target.kind == "long_stay":
        assert target.days is not None
        y = (length_of_stay_days(frame) >= target.days).astype(float)
        eligible = ended & ~died if config.exclude_deaths_from_long_stay else ended
        return y.where(eligible)

    no_ready = pd.Series(pd.NaT, index=frame.index)
    ready = pd.to_datetime(frame.get("discharge_ready_datetime", no_ready))
    delay = (pd.to_datetime(frame["discharge_datetime"]) - ready) / _DAY
    y = (delay >= 1.0).astype(float)
    if config.nctr_proxy == "pathway":
        pathway = pd.to_numeric(frame.get("discharge_pathway", np.nan), errors="coerce")
        proxy = pd.Series(pathway, index=frame.index).isin(config.nctr_proxy_pathways)
        proxy_known = pd.Series(pathway, index=frame.index).notna()
    else:
        dest = frame.get("discharge_destination", pd.Series(np.nan, index=frame.index))
        dest = dest.astype("string").str.strip()
        proxy = dest.isin(config.nctr_proxy_destinations).fillna(False).astype(bool)
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
