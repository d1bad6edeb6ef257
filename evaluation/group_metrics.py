"""Typed fairness results: one group's metrics (`GroupMetrics`) and one attribute's breakdown
(`Breakdown`), each with the one serialiser to and from metrics.json's `groups` block (CONTRACT §4).

Every row of a breakdown carries the same keys: a suppressed group (under the minimum size) has
its size, `suppressed: true` and every metric null. Intervals are `(lo, hi)` pairs, `(None, None)`
when too few bootstrap replicates were usable; metrics.json writes them as two-item lists.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

Interval = tuple[float | None, float | None]
NO_CI: Interval = (None, None)
# a metric that has a 95% interval beside it (`<key>_ci` in metrics.json)
EstimateKey = Literal[
    "observed_to_expected", "auroc", "fnr", "calibration_error",
    "fnr_ratio", "fnr_ratio_age_adjusted", "calibration_ratio", "auroc_gap",
]  # fmt: skip
_JSON_NAME = {"for_": "for"}  # `for` is a Python keyword
_FIELD_NAME = {v: k for k, v in _JSON_NAME.items()}


@dataclass(frozen=True)
class GroupMetrics:
    """One group's row of a breakdown; fields in metrics.json order.

    The rates are those of the flag at the target's threshold; the ratios and the AUROC gap are
    against the breakdown's reference group (`reference` marks it), `fnr_ratio_age_adjusted`
    being indirectly age-standardised (null for the age-band breakdown itself).
    """

    n: int
    n_positive: int | None = None
    prevalence: float | None = None
    mean_predicted: float | None = None
    observed_to_expected: float | None = None
    observed_to_expected_ci: Interval = NO_CI
    flag_rate: float | None = None
    auroc: float | None = None
    auroc_ci: Interval = NO_CI
    tpr: float | None = None
    fnr: float | None = None
    fnr_ci: Interval = NO_CI
    fpr: float | None = None
    ppv: float | None = None
    for_: float | None = None  # false omission rate
    calibration_error: float | None = None
    calibration_error_ci: Interval = NO_CI
    suppressed: bool = False
    reference: bool = False
    fnr_ratio: float | None = None
    fnr_ratio_ci: Interval = NO_CI
    fnr_ratio_age_adjusted: float | None = None
    fnr_ratio_age_adjusted_ci: Interval = NO_CI
    calibration_ratio: float | None = None
    calibration_ratio_ci: Interval = NO_CI
    tpr_ratio: float | None = None
    auroc_gap: float | None = None  # reference AUROC minus this group's: positive is worse
    auroc_gap_ci: Interval = NO_CI

    def estimate(self, key: EstimateKey) -> tuple[float | None, Interval]:
        """A metric and its 95% interval, e.g. `estimate("calibration_ratio")`."""
        pairs: dict[EstimateKey, tuple[float | None, Interval]] = {
            "observed_to_expected": (self.observed_to_expected, self.observed_to_expected_ci),
            "auroc": (self.auroc, self.auroc_ci),
            "fnr": (self.fnr, self.fnr_ci),
            "calibration_error": (self.calibration_error, self.calibration_error_ci),
            "fnr_ratio": (self.fnr_ratio, self.fnr_ratio_ci),
            "fnr_ratio_age_adjusted": (
                self.fnr_ratio_age_adjusted,
                self.fnr_ratio_age_adjusted_ci,
            ),
            "calibration_ratio": (self.calibration_ratio, self.calibration_ratio_ci),
            "auroc_gap": (self.auroc_gap, self.auroc_gap_ci),
        }
        return pairs[key]

    def to_dict(self) -> dict[str, Any]:
        """The row as metrics.json writes it (intervals as lists; NaN is left to the writer)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[_JSON_NAME.get(f.name, f.name)] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> GroupMetrics:
        """A row read back from metrics.json; absent metrics are null, unknown keys refused."""
        known = {f.name for f in fields(cls)}
        values = {_FIELD_NAME.get(k, k): v for k, v in row.items()}
        unknown = sorted(k for k in values if k not in known)
        if unknown:
            raise ValueError(f"unknown group metric(s) {unknown}")
        if "n" not in values:
            raise ValueError("a group row needs its size `n`")
        for name, value in values.items():
            if name.endswith("_ci"):
                lo, hi = value if value is not None else NO_CI
                values[name] = (lo, hi)
        return cls(**values)


@dataclass(frozen=True)
class Breakdown(Mapping[str, GroupMetrics]):
    """One attribute's groups in display order (a read-only mapping group -> metrics)."""

    attribute: str
    rows: dict[str, GroupMetrics]

    def __getitem__(self, group: str) -> GroupMetrics:
        return self.rows[group]

    def __iter__(self) -> Iterator[str]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def reference(self) -> str | None:
        """The reference group the disparities are measured against (None when every group
        is suppressed)."""
        return next((g for g, r in self.rows.items() if r.reference), None)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """metrics.json `groups.<attribute>`: group -> row."""
        return {group: row.to_dict() for group, row in self.rows.items()}

    @classmethod
    def from_dict(cls, attribute: str, table: Mapping[str, Mapping[str, Any]]) -> Breakdown:
        """A breakdown read back from metrics.json `groups.<attribute>`."""
        return cls(attribute, {g: GroupMetrics.from_dict(row) for g, row in table.items()})


def groups_to_dict(groups: Mapping[str, Breakdown]) -> dict[str, dict[str, dict[str, Any]]]:
    """metrics.json `groups`: attribute -> group -> row."""
    return {attribute: breakdown.to_dict() for attribute, breakdown in groups.items()}


def groups_from_dict(block: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, Breakdown]:
    """The typed breakdowns of a metrics.json `groups` block."""
    return {attribute: Breakdown.from_dict(attribute, table) for attribute, table in block.items()}
