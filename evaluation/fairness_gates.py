"""Fairness gates: per attribute, each group against the reference group, with plain reasons.

Gates read only the typed `groups` of an evaluation (`evaluation.group_metrics`), so they can be
rerun on a saved metrics file (its `groups` block read back with `groups_from_dict`). Which group
is beyond its band, and how conclusively, is decided by the findings rule in
`evaluation.findings` (the same code the report's findings come from): a gate fails when its
breakdown holds a finding, and is `not_conclusive` when a group is beyond the limit on the
estimate but its 95% interval reaches back inside.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from evaluation.finding_words import ci_words, joint_words
from evaluation.findings import Finding, Measure, MeasureKey, measures, verdicts
from evaluation.gates import GateResult, GateStatus
from evaluation.group_metrics import Breakdown, GroupMetrics
from evaluation.groups import group_label
from los.config import GatesConfig

if TYPE_CHECKING:
    from evaluation.evaluate import TargetEvaluation


def _harm(name: str, value: float) -> str:
    """What a disparity means for patients, in the direction it goes."""
    if name == "fnr":
        return (
            "The flag misses more of this group's patients who went on to need discharge planning"
            if value > 1
            else "The flag misses more of the reference group's patients than of this group's"
        )
    if name == "calibration_ratio":
        return (
            "The model under-estimates this group's risk relative to the reference group, so "
            "its patients are flagged less often than their risk warrants"
            if value > 1
            else "The model over-estimates this group's risk relative to the reference group"
        )
    if name == "auroc_gap":
        return "The model ranks patients in this group less well than in the reference group"
    return "Predicted risks in this group do not match what happened to its patients"


def _f(value: float | None, spec: str) -> str:
    """A figure of a judged group (always present for one; `n/a` if a hand-made row lacks it)."""
    return "n/a" if value is None else format(value, spec)


def _describe(key: MeasureKey, row: GroupMetrics, ref: GroupMetrics | None, ref_name: str) -> str:
    """What one group's measure is, against the reference group where it is relative."""
    value, ci = row.estimate(key)
    ref = ref or GroupMetrics(n=0)  # only the absolute measure is judged without a reference
    if key in ("fnr_ratio", "fnr_ratio_age_adjusted"):
        adjusted = "age-adjusted " if key == "fnr_ratio_age_adjusted" else ""
        return (
            f"misses {_f(row.fnr, '.0%')} of its positive cases vs {_f(ref.fnr, '.0%')} in "
            f"{ref_name} ({adjusted}FNR ratio {_f(value, '.2f')}, {ci_words(ci)})"
        )
    if key == "calibration_ratio":
        return (
            f"observed {_f(row.prevalence, '.1%')} vs predicted {_f(row.mean_predicted, '.1%')} "
            f"(O/E {_f(row.observed_to_expected, '.2f')} vs "
            f"{_f(ref.observed_to_expected, '.2f')} in {ref_name}; ratio {_f(value, '.2f')}, "
            f"{ci_words(ci)})"
        )
    if key == "auroc_gap":
        return (
            f"AUROC {_f(row.auroc, '.3f')} vs {_f(ref.auroc, '.3f')} in {ref_name} "
            f"(gap {_f(value, '.3f')}, {ci_words(ci, 3)})"
        )
    side = "under" if (row.prevalence or 0) > (row.mean_predicted or 0) else "over"
    return (
        f"calibration error {_f(value, '.3f')} ({ci_words(ci, 3)}); observed "
        f"{_f(row.prevalence, '.1%')} vs predicted {_f(row.mean_predicted, '.1%')} "
        f"({side}-estimated)"
    )


def _joint_of(findings: list[Finding]) -> str:
    """The widened intervals quoted for groups judged on them, e.g. `; joint 95% CI White, IMD
    not known 1.17-2.33`."""
    parts = [f"{f.label} {joint}" for f in findings if (joint := joint_words(f)) is not None]
    return f"; joint 95% CI {', '.join(parts)}" if parts else ""


def _metric_gate(measure: Measure, table: Breakdown, config: GatesConfig) -> GateResult:
    """One gate over the groups of one breakdown, from the findings rule (`evaluation.findings`):
    it fails when any group is a finding, is `not_conclusive` when a group is beyond the band on
    the estimate only, and its value is the worst group's estimate."""
    attribute, key, (lo, hi) = measure.attribute, measure.key, measure.band
    limit: float | list[float] = [lo, hi] if math.isfinite(lo) else hi
    judged = verdicts(table, measure, config)
    skipped = [f"{group_label(attribute, g)} (n={r.n})" for g, r in table.items() if r.suppressed]
    note = (
        f" Not assessed (under {config.min_group_size} spells): {', '.join(skipped)}."
        if skipped
        else ""
    )
    if not judged:
        return GateResult(
            measure.gate_kind,
            None,
            limit,
            True,
            f"No group large enough to compare.{note}",
            attribute=attribute,
        )
    ref_group = table.reference
    ref = table.get(ref_group) if ref_group is not None else None
    ref_name = group_label(attribute, ref_group) if ref_group else "the reference group"
    worst = max(judged, key=lambda f: measure.severity(f.value))
    failing = [f for f in judged if f.status == "fail"]
    unsure = [f for f in judged if f.status == "not_conclusive"]
    bound = f"{lo:.2f}-{hi:.2f}" if math.isfinite(lo) else f"at most {hi:.3f}"
    status: GateStatus
    joint = (
        f" allowing for the {judged[0].compared} groups compared" if judged[0].compared > 1 else ""
    )
    if failing:
        how = (
            f" (estimate and whole 95% interval{joint})"
            if config.fairness_evidence == "interval"
            else ""
        )
        parts = [f"{f.label} {_describe(key, table[f.group], ref, ref_name)}" for f in failing]
        harm = _harm(measure.kind, failing[0].value)
        detail = f"Beyond {bound}{how}: {'; '.join(parts)}. {harm}."
        status = "fail"
    elif unsure:
        parts = [f"{f.label} {_describe(key, table[f.group], ref, ref_name)}" for f in unsure]
        detail = (
            f"No group clearly beyond {bound}: {'; '.join(parts)} "
            f"{'is' if len(unsure) == 1 else 'are'} beyond it on the estimate, but the 95% "
            f"interval{joint} reaches inside the limit (not conclusive at this sample size"
            f"{_joint_of(unsure)})."
        )
        status = "not_conclusive"
    else:
        n = len(judged)
        closest = f"{worst.label} {_describe(key, table[worst.group], ref, ref_name)}"
        detail = f"{n} group{'s' if n > 1 else ''} assessed, within {bound}; closest: {closest}."
        status = "pass"
    return GateResult(
        measure.gate_kind,
        worst.value,
        limit,
        status != "fail",
        detail + note,
        status=status,
        attribute=attribute,
        group=worst.group,
    )


def fairness_gates(evaluation: TargetEvaluation, config: GatesConfig) -> list[GateResult]:
    """Fairness gates for each of `config.fairness_attributes`: FNR ratio (age-adjusted unless
    configured otherwise; not for `fnr_exempt_attributes`), calibration ratio, AUROC gap and
    calibration error within groups.

    Suppressed groups neither fail nor pass a gate. An attribute without group metrics fails:
    fairness that was not checked must not count as fairness that passed.
    """
    gates: list[GateResult] = []
    for attribute in config.fairness_attributes:
        table = evaluation.groups.get(attribute)
        if not table:
            detail = f"no group metrics for {attribute}: fairness could not be checked"
            gates.append(GateResult("fairness", None, None, False, detail, attribute=attribute))
            continue
        gates += [_metric_gate(m, table, config) for m in measures(attribute, config) if m.gated]
    return gates
