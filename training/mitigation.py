"""Mitigation an evaluator can choose (`mitigation` in the training config), and what it says.

`group_recalibration` fits, on the calibration period after Platt scaling, an intercept shift
for the flagged groups of the chosen breakdowns (`models.group_recalibration`), stored in the
model bundle and applied at scoring time. "Flagged" is the findings rule of the gates
(`evaluation.findings`, `gates.fairness_evidence` and `gates.calibration_ratio_band`) applied to
the calibration period: only a group whose calibration ratio is a finding there moves, so groups
the model already serves well are left alone (shifting every group fits the calibration
period's noise, which pushes other groups out of the band in the test period: docs/fairness.md).
Off by default: it uses ethnicity (and IMD) at scoring time, and says so in the console, the
model card and the report (`SCORING_NOTICE`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from evaluation.fairness import assess_fairness
from evaluation.findings import measures, verdicts
from evaluation.groups import TITLES
from los.config import TrainingConfig
from los.errors import ConfigError
from los.targets import targets_from_config
from models.bundle import ModelBundle
from models.group_recalibration import GroupRecalibrator
from training.calibrate import choose_threshold

SCORING_NOTICE = (
    "uses ethnicity at scoring time: a change of policy that your trust's IG and clinical "
    "safety officer must approve"
)
_READS = {
    "ethnic_group": ("ethnicity",),
    "ethnic_category": ("ethnicity",),
    "ethnicity_deprivation": ("ethnicity", "IMD decile"),
    "imd_quintile": ("IMD decile",),
    "sex": ("sex",),
    "age_band": ("age",),
}


def check_targets(config: TrainingConfig) -> None:
    """`ConfigError` when `mitigation.targets` names a target this config does not train."""
    names = [t.name for t in targets_from_config(config.targets)]
    unknown = sorted(set(config.mitigation.targets or []) - set(names))
    if unknown:
        raise ConfigError(
            f"mitigation.targets: {', '.join(unknown)} not among the targets trained "
            f"({', '.join(names)})"
        )


def recalibrates(config: TrainingConfig, target: str) -> bool:
    """Whether `target` gets a group recalibration under `config`."""
    chosen = config.mitigation
    return chosen.group_recalibration and (chosen.targets is None or target in chosen.targets)


def flagged_groups(
    logit: np.ndarray, y: np.ndarray, admissions: pd.DataFrame, config: TrainingConfig
) -> dict[str, list[str]]:
    """Per chosen breakdown, the groups whose calibration ratio is a finding on these rows (the
    calibration period, Platt log-odds `logit`), judged exactly as the gates judge the test
    period."""
    attributes = tuple(dict.fromkeys(config.mitigation.attributes))
    p = expit(np.asarray(logit, dtype=float))
    threshold = choose_threshold(p, y, config.threshold)  # for the FNR columns, unused here
    table = assess_fairness(admissions, y, p, threshold, config, attributes).groups
    out: dict[str, list[str]] = {}
    for attribute in attributes:
        (measure,) = [m for m in measures(attribute, config.gates) if m.kind == "calibration_ratio"]
        found = verdicts(table[attribute], measure, config.gates)
        out[attribute] = [f.group for f in found if f.status == "fail"]
    return out


def fit_group_recalibration(
    target: str,
    logit: np.ndarray,
    y: np.ndarray,
    admissions: pd.DataFrame,
    config: TrainingConfig,
) -> tuple[GroupRecalibrator | None, dict[str, Any]]:
    """The target's group recalibration fitted on calibration-period rows (their Platt log-odds,
    labels and admissions), and the bundle metadata saying what it does.

    None, with empty metadata, when the mitigation is off for the target; None, with metadata
    saying why, when it is on but no group is flagged (the model then reads no group at all).
    """
    if not recalibrates(config, target):
        return None, {}
    chosen = config.mitigation
    y = np.asarray(y, dtype=float)
    groups = None if chosen.groups == "all" else flagged_groups(logit, y, admissions, config)
    if groups is not None and not any(groups.values()):
        by = "; ".join(TITLES.get(a, a) for a in dict.fromkeys(chosen.attributes))
        why = (
            f"no group of {by} has a calibration-ratio finding on the calibration period: "
            "nothing adjusted, and the model reads no group at scoring time"
        )
        return None, {"mitigation": {"method": "group_recalibration", "applied": False,
                                     "uses_ethnicity": False, "reason": why}}  # fmt: skip
    attributes = tuple(chosen.attributes)
    recalibrator = GroupRecalibrator(attributes, chosen.min_group_size, chosen.prior_sd)
    recalibrator.fit(logit, y, admissions, groups)
    return recalibrator, _metadata(recalibrator, chosen.groups)


def _reads(recalibrator: GroupRecalibrator) -> list[str]:
    """The admission fields the recalibration reads at scoring time."""
    return list(dict.fromkeys(f for a in recalibrator.shifts_ for f in _READS.get(a, (a,))))


def description(recalibrator: GroupRecalibrator) -> str:
    """What the recalibration adjusts by and what it reads, e.g. for the model card."""
    by = "; ".join(TITLES.get(a, a) for a in recalibrator.shifts_)
    reads = " and ".join(_reads(recalibrator))
    return f"Group recalibration by {by}, reading the {reads} of each admission"


def notice(recalibrator: GroupRecalibrator) -> str:
    """The plain statement of policy (`SCORING_NOTICE` when ethnicity is read)."""
    reads = _reads(recalibrator)
    if "ethnicity" in reads:
        return SCORING_NOTICE
    return SCORING_NOTICE.replace("ethnicity", " and ".join(reads), 1)


def _metadata(recalibrator: GroupRecalibrator, which: str) -> dict[str, Any]:
    """Bundle metadata for the model card, the report and `/v1/models`."""
    shifted = [g for g in recalibrator.groups_ if g["shift"] is not None]
    return {
        "mitigation": {
            "method": "group_recalibration",
            "applied": True,
            "attributes": list(recalibrator.shifts_),
            "groups_rule": which,
            "description": description(recalibrator),
            "notice": notice(recalibrator),
            "uses_ethnicity": "ethnicity" in _reads(recalibrator),
            "fitted_on": "calibration period",
            "min_group_size": recalibrator.min_group_size,
            "prior_sd": recalibrator.prior_sd,
            "intercept": recalibrator.intercept_,
            "groups": sorted(shifted, key=lambda g: -abs(g["shift"])),
        }
    }


def console_lines(bundles: Iterable[ModelBundle]) -> list[str]:
    """What `los train` prints for each model trained with the mitigation chosen."""
    lines = []
    for bundle in bundles:
        meta = bundle.metadata.get("mitigation")
        if not meta:
            continue
        if not meta["applied"]:
            lines.append(f"{bundle.target}: mitigation chosen, not applied: {meta['reason']}.")
            continue
        lines.append(
            f"{bundle.target}: mitigation on. {meta['description']}: this model {meta['notice']}."
        )
        for g in meta["groups"]:
            lines.append(
                f"    {g['group']}: shift {g['shift']:+.2f} log-odds (calibration period "
                f"observed/expected {_fmt(g['oe_before'])} -> {_fmt(g['oe_after'])}, "
                f"{g['n']:,} spells)"
            )
    return lines


def _fmt(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio:.2f}"
