"""Fairness gates: per attribute, each group against the reference group, with plain reasons.

Gates read only the `groups` block of an evaluation (metrics.json layout), so they can be rerun
on a saved metrics file. A gate fails when a group's estimate - and, under the default
`interval` rule, its whole 95% interval - lies beyond the configured limit.
"""

from __future__ import annotations

import math
from typing import Any

from evaluation.gates import GateResult
from evaluation.groups import group_label
from los.config import GatesConfig

Interval = list[float | None]


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


def _ci(ci: Interval, digits: int = 2) -> str:
    return "95% CI n/a" if None in ci else f"95% CI {ci[0]:.{digits}f}-{ci[1]:.{digits}f}"


def _describe(key: str, row: dict[str, Any], ref: dict[str, Any], ref_name: str) -> str:
    if key.startswith("fnr_ratio"):
        adjusted = " age-adjusted" if key.endswith("adjusted") else ""
        return (
            f"misses {row['fnr']:.0%} of its positive cases vs {ref['fnr']:.0%} in {ref_name} "
            f"({adjusted.strip() + ' ' if adjusted else ''}FNR ratio {row[key]:.2f}, "
            f"{_ci(row[key + '_ci'])})"
        )
    if key == "calibration_ratio":
        return (
            f"observed {row['prevalence']:.1%} vs predicted {row['mean_predicted']:.1%} "
            f"(O/E {row['observed_to_expected']:.2f} vs {ref['observed_to_expected']:.2f} in "
            f"{ref_name}; ratio {row[key]:.2f}, {_ci(row[key + '_ci'])})"
        )
    if key == "auroc_gap":
        return (
            f"AUROC {row['auroc']:.3f} vs {ref['auroc']:.3f} in {ref_name} "
            f"(gap {row['auroc_gap']:.3f}, {_ci(row['auroc_gap_ci'], 3)})"
        )
    side = "under" if row["prevalence"] > row["mean_predicted"] else "over"
    return (
        f"calibration error {row[key]:.3f} ({_ci(row[key + '_ci'], 3)}); observed "
        f"{row['prevalence']:.1%} vs predicted {row['mean_predicted']:.1%} ({side}-estimated)"
    )


def _metric_gate(
    name: str, key: str, attribute: str, table: dict[str, dict[str, Any]], config: GatesConfig
) -> GateResult:
    """One gate over the groups of one attribute; its value is the worst group's estimate."""
    lo, hi = {
        "fnr": config.fnr_ratio_band,
        "calibration_ratio": config.calibration_ratio_band,
        "auroc_gap": (-math.inf, config.max_group_auroc_gap),
        "calibration_error": (-math.inf, config.max_group_calibration_error),
    }[name]
    limit: float | list[float] = [lo, hi] if math.isfinite(lo) else hi
    ref_group = next((g for g, r in table.items() if r.get("reference")), None)
    ref = table.get(ref_group or "", {})
    m = config.min_group_events

    def enough(r: dict[str, Any]) -> bool:  # positives (and negatives for AUROC) to judge by
        pos = r.get("n_positive") or 0
        return pos >= m and (name != "auroc_gap" or r["n"] - pos >= m)

    relative = name != "calibration_error"
    eligible = {
        g: r
        for g, r in table.items()
        if not r["suppressed"]
        and r.get(key) is not None
        and (not relative or (g != ref_group and enough(r) and enough(ref)))
    }
    gate_name = f"{'group_calibration_error' if name == 'calibration_error' else key.split('_age')[0]}:{attribute}"  # noqa: E501
    skipped = [
        f"{group_label(attribute, g)} (n={r['n']})" for g, r in table.items() if r["suppressed"]
    ]
    note = (
        f" Not assessed (under {config.min_group_size} spells): {', '.join(skipped)}."
        if skipped
        else ""
    )
    if not eligible:
        return GateResult(gate_name, None, limit, True, f"No group large enough to compare.{note}")

    def severity(v: float) -> float:
        return (
            max(lo / v if v > 0 else math.inf, v / hi)
            if relative and name != "auroc_gap"
            else v - hi
        )

    def beyond(r: dict[str, Any]) -> bool:
        # the estimate must be beyond the limit; under the interval rule its whole 95% interval
        # too (a bootstrapped calibration error is biased upwards: the interval alone is not enough)
        out = bool(r[key] < lo or r[key] > hi)
        if config.fairness_evidence == "interval":
            c_lo, c_hi = r[f"{key}_ci"]
            out = out and c_lo is not None and c_hi is not None and (c_lo > hi or c_hi < lo)
        return out

    worst = max(eligible, key=lambda g: severity(eligible[g][key]))
    ref_name = group_label(attribute, ref_group) if ref_group else "the reference group"
    failing = [g for g, r in eligible.items() if beyond(r)]
    bound = f"{lo:.2f}-{hi:.2f}" if math.isfinite(lo) else f"at most {hi:.3f}"
    if failing:
        how = " (estimate and whole 95% interval)" if config.fairness_evidence == "interval" else ""
        parts = [
            f"{group_label(attribute, g)} {_describe(key, eligible[g], ref, ref_name)}"
            for g in failing
        ]
        harm = _harm(name, eligible[failing[0]][key])
        detail = f"Beyond {bound}{how}: {'; '.join(parts)}. {harm}."
    else:
        closest = (
            f"{group_label(attribute, worst)} {_describe(key, eligible[worst], ref, ref_name)}"
        )
        if lo <= eligible[worst][key] <= hi:
            n = len(eligible)
            detail = (
                f"{n} group{'s' if n > 1 else ''} assessed, within {bound}; closest: {closest}."
            )
        else:
            detail = (
                f"No group clearly beyond {bound}: {closest} is beyond it on the estimate, but "
                "its 95% interval reaches inside the limit (not conclusive at this sample size)."
            )
    return GateResult(gate_name, float(eligible[worst][key]), limit, not failing, detail + note)


def fairness_gates(evaluation: Any, config: GatesConfig) -> list[GateResult]:
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
            gates.append(GateResult(f"fairness:{attribute}", None, None, False, detail))
            continue
        if attribute not in config.fnr_exempt_attributes:
            adjusted = config.fnr_adjust_for_age and attribute != "age_band"
            key = "fnr_ratio_age_adjusted" if adjusted else "fnr_ratio"
            gates.append(_metric_gate("fnr", key, attribute, table, config))
        for name in ("calibration_ratio", "auroc_gap", "calibration_error"):
            gates.append(_metric_gate(name, name, attribute, table, config))
    return gates
