"""Evaluation reports: metrics.json (contract layout); HTML report and model card to follow."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluation.evaluate import TargetEvaluation, write_metrics


@dataclass
class ReportContext:
    """What the report says about where the numbers come from."""

    title: str
    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # target -> identity/meta
    data_window: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def write_reports(
    evaluations: dict[str, TargetEvaluation],
    context: ReportContext,
    out_dir: str | Path,
    explanations: dict[str, Any] | None = None,
) -> list[Path]:
    """Write the report files into `out_dir`; returns their paths."""
    out = Path(out_dir)
    return [write_metrics(evaluations, out / "metrics.json")]
