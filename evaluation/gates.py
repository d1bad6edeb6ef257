"""Promotion gates: a challenger becomes `champion` only if every gate passes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from evaluation.metrics import OverallMetrics
from los.config import GatesConfig

if TYPE_CHECKING:
    from evaluation.evaluate import TargetEvaluation

GateStatus = Literal["pass", "not_conclusive", "fail"]


def gate_name(kind: str, attribute: str | None = None) -> str:
    """A gate's stable name, e.g. `min_auroc` or `calibration_ratio:ethnic_group`: the key of
    metrics.json `gates` and what the registry tags, decisions and /v1/models store."""
    return kind if attribute is None else f"{kind}:{attribute}"


@dataclass(frozen=True)
class GateResult:
    """One gate: the measured value, its limit, whether it passed, and why (plain words).

    `kind` is what the gate measures (`min_auroc`, `fnr_ratio`, ...); a fairness gate also names
    the `attribute` whose breakdown it judges and the `group` its value belongs to (the worst
    group judged; None when no group could be judged, and for gates on the whole population).
    `status` tells a clean pass from `not_conclusive` (a fairness gate whose worst group is beyond
    the limit on the estimate, but not conclusively: it does not block, and is shown apart);
    it defaults to `pass` or `fail` from `passed`.
    """

    kind: str
    value: float | None
    limit: float | list[float] | None
    passed: bool
    detail: str = ""
    status: GateStatus | None = None
    attribute: str | None = None
    group: str | None = None

    def __post_init__(self) -> None:
        if self.status is None:
            object.__setattr__(self, "status", "pass" if self.passed else "fail")
        elif (self.status == "fail") == self.passed:
            raise ValueError(f"gate {self.name}: status {self.status} contradicts passed")

    @property
    def name(self) -> str:
        """The gate's stable name (`gate_name`), derived from `kind` and `attribute`."""
        return gate_name(self.kind, self.attribute)

    def to_dict(self) -> dict[str, object]:
        """The contract's `{"value", "limit", "passed"}` plus `status` and the explanation
        (metrics.json `gates.<name>`; the name is the key)."""
        return {
            "value": self.value,
            "limit": list(self.limit) if isinstance(self.limit, list) else self.limit,
            "passed": self.passed,
            "detail": self.detail,
            "status": self.status,
        }


def performance_gates(
    metrics: OverallMetrics, champion_auroc: float | None, config: GatesConfig
) -> list[GateResult]:
    """Discrimination and calibration gates on the test period.

    `champion_auroc` is the current champion scored on the same test rows (None if there is no
    champion yet), so the comparison is like for like.
    """
    gates = [
        GateResult(
            "min_auroc",
            metrics.auroc,
            config.min_auroc,
            bool(metrics.auroc >= config.min_auroc),
            f"test AUROC {metrics.auroc:.3f} (must be at least {config.min_auroc:.2f})",
        ),
        GateResult(
            "calibration_error",
            metrics.calibration_error,
            config.max_calibration_error,
            bool(metrics.calibration_error <= config.max_calibration_error),
            f"calibration error {metrics.calibration_error:.3f} "
            f"(must be at most {config.max_calibration_error:.3f})",
        ),
    ]
    if champion_auroc is None or math.isnan(champion_auroc):
        gates.append(
            GateResult("auroc_vs_champion", None, -config.auroc_margin, True, "no champion yet")
        )
    else:
        diff = metrics.auroc - champion_auroc
        gates.append(
            GateResult(
                "auroc_vs_champion",
                diff,
                -config.auroc_margin,
                bool(diff >= -config.auroc_margin),
                f"test AUROC {metrics.auroc:.3f} vs champion {champion_auroc:.3f} on the same "
                f"rows (may be at most {config.auroc_margin:.3f} lower)",
            )
        )
    return gates


def all_passed(gates: list[GateResult]) -> bool:
    """True when every gate passed (`not_conclusive` gates do not block)."""
    return all(g.passed for g in gates)


def gate_evaluation(
    evaluation: TargetEvaluation, champion_auroc: float | None, config: GatesConfig
) -> None:
    """Attach the performance and fairness gates and the fairness findings to `evaluation`,
    both judged by the one findings rule with the same `config`."""
    # both build on this module (GateResult, gate_name): importing them at the top is a cycle
    from evaluation.fairness_gates import fairness_gates
    from evaluation.findings import review

    evaluation.findings = review(evaluation.groups, config)
    evaluation.gates = performance_gates(
        evaluation.overall, champion_auroc, config
    ) + fairness_gates(evaluation, config)
