"""Fairness findings: one rule judges every group on every disparity measure.

A group's measure is `pass` when its estimate lies within the band, `fail` (a finding) when the
estimate is beyond the band and, under the default `interval` evidence rule, its whole 95%
interval is clear of the band too, and `not_conclusive` when the estimate is beyond the band but
the interval reaches back inside it.

Many groups are compared at once (an ethnicity x deprivation breakdown holds about fifteen), so
under the default `bonferroni` multiplicity rule the interval judged is the group's 95% interval
widened to hold jointly over the groups compared on that measure (z = 2.91 for 14 groups instead
of 1.96, on the same normal approximation, log scale for ratios). Without it, a group truly at the
edge of its band sits clear of it one time in forty by chance alone, so a gate of fifteen such
groups fails about one time in three: on the default synthetic data
the true probabilities themselves "failed" the FNR band for White patients whose IMD is not known
(1.62x, 95% CI 1.27-2.13, against an expected 1.19x).

The fairness gates (`evaluation.fairness_gates`) and the report's findings are both built from
`verdicts`, so they cannot disagree: a gate fails exactly when its breakdown holds a finding, and
a finding blocks promotion exactly when its breakdown and measure are gated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Literal

from evaluation.finding_words import sentence
from evaluation.gates import gate_name
from evaluation.group_metrics import Breakdown, GroupMetrics, Interval
from evaluation.groups import ATTRIBUTES, group_label
from los.config import GatesConfig

Status = Literal["pass", "not_conclusive", "fail"]
Kind = Literal["fnr", "calibration_ratio", "auroc_gap", "calibration_error"]
MeasureKey = Literal[
    "fnr_ratio", "fnr_ratio_age_adjusted", "calibration_ratio", "auroc_gap", "calibration_error"
]

STATUS_WORDS: dict[str, str] = {"pass": "pass", "not_conclusive": "not conclusive", "fail": "FAIL"}
_GATE_PREFIX: dict[str, str] = {
    "fnr": "fnr_ratio",
    "calibration_ratio": "calibration_ratio",
    "auroc_gap": "auroc_gap",
    "calibration_error": "group_calibration_error",
}
# report order: ethnicity first; age bands last (one threshold must miss more of the young)
_ATTRIBUTE_ORDER = ("ethnic_group", "ethnicity_deprivation", "ethnic_category", "imd_quintile",
                    "sex", "age_band")  # fmt: skip


@dataclass(frozen=True)
class Measure:
    """One disparity measure of one breakdown: the group metric it reads and its band."""

    kind: Kind
    key: MeasureKey
    attribute: str
    band: tuple[float, float]
    gated: bool

    @property
    def gate_kind(self) -> str:
        """The `kind` of the gate that carries this measure, e.g. `group_calibration_error`."""
        return _GATE_PREFIX[self.kind]

    @property
    def gate(self) -> str:
        """The name of the gate that carries this measure, e.g. `calibration_ratio:ethnic_group`."""
        return gate_name(self.gate_kind, self.attribute)

    @property
    def ratio(self) -> bool:
        """A ratio to the reference group (FNR, calibration): its intervals are on the log scale."""
        return self.kind in ("fnr", "calibration_ratio")

    @property
    def relative(self) -> bool:
        """Compared with a reference group (ratios, AUROC gap) rather than absolute."""
        return self.kind != "calibration_error"

    def severity(self, value: float) -> float:
        """How far beyond the band (positive) or inside it (negative or under 1), for ranking."""
        lo, hi = self.band
        if self.ratio:
            return max(lo / value if value > 0 else math.inf, value / hi)
        return value - hi


def judge(value: float | None, ci: Interval, band: tuple[float, float], evidence: str) -> Status:
    """The one rule: `pass` inside the band; beyond it, `fail` when the evidence is enough (the
    whole 95% interval clear of the band, or the estimate alone under `estimate`), else
    `not_conclusive`."""
    lo, hi = band
    if value is None or not math.isfinite(value) or lo <= value <= hi:
        return "pass"
    if evidence == "estimate":
        return "fail"
    c_lo, c_hi = ci
    clear = c_lo is not None and c_hi is not None and (c_lo > hi or c_hi < lo)
    return "fail" if clear else "not_conclusive"


_Z95 = NormalDist().inv_cdf(0.975)


def joint_interval(value: float, ci: Interval, ratio: bool, compared: int) -> Interval:
    """`ci`, a 95% interval of `value`, widened to hold jointly over `compared` groups
    (Bonferroni: each side scaled from z = 1.96 to the z of 2.5%/compared; on the log scale for
    ratios, `ratio`, as their intervals are built). Unchanged for one group or no interval."""
    lo, hi = ci
    if compared <= 1 or lo is None or hi is None:
        return ci
    scale = NormalDist().inv_cdf(1 - 0.025 / compared) / _Z95
    if ratio:
        if value <= 0 or lo <= 0:
            return ci
        log_v = math.log(value)
        return (
            math.exp(log_v - (log_v - math.log(lo)) * scale),
            math.exp(log_v + (math.log(hi) - log_v) * scale),
        )
    return (value - (value - lo) * scale, value + (hi - value) * scale)


def measures(attribute: str, config: GatesConfig) -> list[Measure]:
    """The measures judged for one breakdown, and whether each is gated."""
    gated = attribute in config.fairness_attributes
    adjusted = config.fnr_adjust_for_age and attribute != "age_band"
    return [
        Measure(
            "fnr",
            "fnr_ratio_age_adjusted" if adjusted else "fnr_ratio",
            attribute,
            config.fnr_ratio_band,
            gated and attribute not in config.fnr_exempt_attributes,
        ),
        Measure(
            "calibration_ratio",
            "calibration_ratio",
            attribute,
            config.calibration_ratio_band,
            gated,
        ),
        Measure(
            "auroc_gap", "auroc_gap", attribute, (-math.inf, config.max_group_auroc_gap), gated
        ),
        Measure(
            "calibration_error",
            "calibration_error",
            attribute,
            (-math.inf, config.max_group_calibration_error),
            gated,
        ),
    ]


@dataclass(frozen=True)
class Finding:
    """The verdict on one group for one measure, with what a reader needs to understand it: the
    group's metrics and its breakdown's reference group (quoted in sentences)."""

    measure: Measure
    group: str
    value: float
    ci: Interval
    status: Status
    row: GroupMetrics
    reference: str | None = None
    reference_row: GroupMetrics | None = None
    joint_ci: Interval = field(default=(None, None))  # over `compared` groups (Bonferroni)
    compared: int = 1  # groups judged on this measure in this breakdown

    @property
    def widened(self) -> bool:
        """Judged on an interval widened for the number of groups compared."""
        return self.compared > 1 and self.joint_ci != self.ci

    @property
    def name(self) -> str:
        """Stable name to accept or list, e.g. `calibration_ratio:ethnic_group:Black or ...`."""
        return f"{self.measure.gate}:{self.group}"

    @property
    def label(self) -> str:
        """The group's readable label."""
        return group_label(self.measure.attribute, self.group)

    @property
    def blocking(self) -> bool:
        """A finding in a gated breakdown and measure: it holds the version for review."""
        return self.status == "fail" and self.measure.gated

    def to_dict(self, outcome: str | None = None) -> dict[str, Any]:
        """For metrics.json `findings` and the registry tags; with the plain-words `sentence`
        when `outcome` (what the target counts) is given."""
        out = {
            "name": self.name,
            "gate": self.measure.gate,
            "attribute": self.measure.attribute,
            "group": self.group,
            "measure": self.measure.key,
            "value": self.value,
            "ci": list(self.ci),
            "ci_joint": list(self.joint_ci),
            "groups_compared": self.compared,
            "band": [None if math.isinf(b) else b for b in self.measure.band],
            "status": self.status,
            "gated": self.measure.gated,
            "blocking": self.blocking,
            "reference": self.reference,
        }
        if outcome is not None:
            out["sentence"] = sentence(self, outcome)
        return out


def _enough(row: GroupMetrics | None, measure: Measure, minimum: int) -> bool:
    """Positives (and, for AUROC, negatives) enough to compare a group with the reference."""
    if row is None:
        return False
    pos = row.n_positive or 0
    return pos >= minimum and (measure.kind != "auroc_gap" or row.n - pos >= minimum)


def verdicts(table: Breakdown, measure: Measure, config: GatesConfig) -> list[Finding]:
    """Every judgeable group of one breakdown on one measure, with its status.

    Suppressed groups and groups without a value are not judged; for relative measures neither
    is the reference group, nor a group (or reference) with under `min_group_events` cases.
    """
    ref_group = table.reference
    ref = table.get(ref_group) if ref_group is not None else None
    judged: list[tuple[str, GroupMetrics, float, Interval]] = []
    for group, row in table.items():
        value, ci = row.estimate(measure.key)
        if row.suppressed or value is None or not math.isfinite(value):
            continue
        if measure.relative and (
            group == ref_group
            or not _enough(row, measure, config.min_group_events)
            or not _enough(ref, measure, config.min_group_events)
        ):
            continue
        judged.append((group, row, float(value), ci))
    compared = len(judged) if config.fairness_multiplicity == "bonferroni" else 1
    out = []
    for group, row, value, ci in judged:
        joint = joint_interval(value, ci, measure.ratio, compared)
        status = judge(value, joint, measure.band, config.fairness_evidence)
        out.append(Finding(measure, group, value, ci, status, row, ref_group, ref, joint, compared))
    return out


def review(groups: Mapping[str, Breakdown], config: GatesConfig) -> list[Finding]:
    """Every group beyond its band (`fail` and `not_conclusive`) in every reported breakdown,
    gated or not: blocking findings first, then by breakdown (ethnicity first, age last)."""
    out = [
        f
        for attribute, table in groups.items()
        for measure in measures(attribute, config)
        for f in verdicts(table, measure, config)
        if f.status != "pass"
    ]
    order = {a: i for i, a in enumerate((*_ATTRIBUTE_ORDER, *ATTRIBUTES))}
    return sorted(
        out,
        key=lambda f: (not f.blocking, f.status != "fail", order.get(f.measure.attribute, 99)),
    )
