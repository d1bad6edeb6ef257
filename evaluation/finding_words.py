"""Fairness findings in plain words: who a group is, what a target counts, one-line sentences."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from evaluation.groups import DEPRIVATION, TITLES, group_label

if TYPE_CHECKING:
    from evaluation.findings import Finding
    from evaluation.group_metrics import Interval

_ETHNIC_WHO = {
    "Mixed": "patients of Mixed ethnicity",
    "Other": "patients of another ethnic group",
    "Not stated": "patients whose ethnicity is not stated",
    "Not known": "patients whose ethnicity is not known",
}
_DEPRIVATION_WHERE = {
    DEPRIVATION[0]: "in the most deprived areas (IMD quintile 1)",
    DEPRIVATION[1]: "outside the most deprived areas",
    DEPRIVATION[2]: "whose area deprivation is not known",
}
_SEX_WHO = {
    "Female": "female patients",
    "Male": "male patients",
    "Indeterminate": "patients of indeterminate sex",
    "Not known": "patients whose sex is not known",
}


def patients(attribute: str, group: str) -> str:
    """Who a group is, in words, e.g. `Black or Black British patients in the most deprived
    areas (IMD quintile 1)`."""
    if attribute == "ethnic_group":
        return _ETHNIC_WHO.get(group, f"{group} patients")
    if attribute == "ethnicity_deprivation":
        ethnic, _, where = group.rpartition(", ")
        if where in _DEPRIVATION_WHERE and ethnic:
            return f"{patients('ethnic_group', ethnic)} {_DEPRIVATION_WHERE[where]}"
    if attribute == "sex":
        return _SEX_WHO.get(group, f"{group} patients")
    if attribute == "age_band":
        return (
            "patients whose age is not known" if group == "Not known" else f"patients aged {group}"
        )
    if attribute == "imd_quintile":
        named = {"1": "in the most deprived areas (IMD quintile 1)",
                 "5": "in the least deprived areas (IMD quintile 5)"}  # fmt: skip
        if group == "Not known":
            return "patients whose area deprivation is not known"
        return f"patients {named.get(group, f'in IMD quintile {group}')}"
    if attribute == "ethnic_category":
        return f"patients recorded as {group_label(attribute, group)}"
    return f"patients in group {group_label(attribute, group)} ({TITLES.get(attribute, attribute)})"


def outcome_words(target: str) -> str:
    """What a target counts, for sentences: `NCTR`, `21+ day stay`, `long stay`."""
    if target == "nctr":
        return "NCTR"
    days = target.rpartition("_")[2]
    return f"{days}+ day stay" if days.isdigit() else target.replace("_", " ")


def ci_words(ci: Interval, digits: int = 2) -> str:
    """A 95% interval as quoted, e.g. `95% CI 1.31-2.07` (`95% CI n/a` without one)."""
    if ci[0] is None or ci[1] is None:
        return "95% CI n/a"
    return f"95% CI {ci[0]:.{digits}f}-{ci[1]:.{digits}f}"


def joint_words(finding: Finding) -> str | None:
    """The interval widened for the groups compared, e.g. `1.17-2.33` (2 decimals for ratios,
    3 otherwise), when the finding was judged on one; else None."""
    lo, hi = finding.joint_ci
    if not finding.widened or lo is None or hi is None:
        return None
    digits = 2 if finding.measure.ratio else 3
    return f"{lo:.{digits}f}-{hi:.{digits}f}"


def _judged_words(finding: Finding) -> str:
    """The group's 95% interval and, when it was widened for the groups compared, that too."""
    words = ci_words(finding.ci, 2 if finding.measure.ratio else 3)
    joint = joint_words(finding)
    if joint is not None:
        words += f"; {joint} allowing for the {finding.compared} groups compared"
    return words


def sentence(finding: Finding, outcome: str) -> str:
    """One line a person understands, e.g. "Black or Black British patients in the most deprived
    areas (IMD quintile 1) have 1.84x the NCTR rate the model expects (relative to White patients
    outside the most deprived areas; 95% CI 1.46-2.31; band 0.80-1.25)"."""
    m, row, v = finding.measure, finding.row, finding.value
    who = patients(m.attribute, finding.group)
    ref = patients(m.attribute, finding.reference) if finding.reference else "the reference group"
    lo, hi = m.band
    band = f"band {lo:.2f}-{hi:.2f}" if math.isfinite(lo) else f"limit {hi:.2f}"
    if m.kind == "calibration_ratio":
        text = f"{who} have {v:.2f}x the {outcome} rate the model expects"
        side = "" if v > 1 else "; the model over-estimates their risk"
        tail = f"relative to {ref}{side}; {_judged_words(finding)}; {band}"
    elif m.kind == "fnr":
        adjusted = ", age-adjusted" if m.key == "fnr_ratio_age_adjusted" else ""
        text = (
            f"the flag misses {_number(row.fnr, '.0%')} of {outcome} cases among {who}: "
            f"{v:.2f}x the rate for {ref}{adjusted}"
        )
        tail = f"{_judged_words(finding)}; {band}"
    elif m.kind == "auroc_gap":
        ref_auroc = finding.reference_row.auroc if finding.reference_row else None
        text = f"the model ranks {outcome} risk less well for {who} than for {ref}"
        tail = (
            f"AUROC {_number(row.auroc, '.3f')} vs {_number(ref_auroc, '.3f')}; gap {v:.3f}, "
            f"{_judged_words(finding)}; {band}"
        )
    else:
        observed, predicted = row.prevalence, row.mean_predicted
        side = "under" if (observed or 0) > (predicted or 0) else "over"
        text = f"the model {side}-estimates {outcome} risk for {who}"
        tail = (
            f"observed {_number(observed, '.1%')} vs predicted {_number(predicted, '.1%')}; "
            f"calibration error {v:.3f}, {_judged_words(finding)}; {band}"
        )
    return f"{text[0].upper()}{text[1:]} ({tail})"


def _number(value: float | None, spec: str) -> str:
    """A figure quoted in a sentence (every group judged has it; `n/a` if one was not given)."""
    return "n/a" if value is None else format(value, spec)
