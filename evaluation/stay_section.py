"""The stay distribution section of report.html (issue 13, item 4): the view its template
(`templates/stay_section.html.j2`) reads, built from a `DistributionEvaluation`."""

from __future__ import annotations

from typing import Any

from evaluation import stay_plots
from evaluation.gates import all_passed
from evaluation.groups import TITLES, group_label
from evaluation.stay_evaluation import COVERAGE_GATE, DistributionEvaluation, StaySummary
from evaluation.stay_metrics import BRIER_DAYS, CALIBRATION_DAYS
from los.config import GatesConfig

# (label, StaySummary field, unit): the table of headline figures, model beside oracle
FIGURES = (
    ("Stays inside the 80% interval [p10, p90]", "coverage", "percent"),
    ("Stays below p10", "below_p10", "percent"),
    ("Stays above p90", "above_p90", "percent"),
    ("Median vs true median: mean absolute difference", "median_error_days", "days"),
    (
        "Median vs actual stay (both capped at 60 days): mean absolute difference",
        "median_error_observed_days",
        "days",
    ),
    (f"Integrated Brier score, days 1-{BRIER_DAYS}", "integrated_brier", "score"),
    (
        "Integrated Brier score of a constant curve (reference)",
        "integrated_brier_reference",
        "score",
    ),
    ("Concordance (Harrell's C, predicted mean stay)", "concordance", "score"),
)


def _figures(model: StaySummary, oracle: StaySummary | None) -> list[dict[str, Any]]:
    rows = []
    for label, key, unit in FIGURES:
        row = {"label": label, "unit": unit, "model": getattr(model, key), "oracle": None}
        if key == "coverage":
            row["model_ci"] = model.coverage_ci
        if oracle is not None and key != "median_error_days":  # the oracle's is 0 by definition
            row["oracle"] = getattr(oracle, key)
        rows.append(row)
    return rows


def _calibration(model: StaySummary, oracle: StaySummary | None) -> list[dict[str, Any]]:
    return [
        {
            "day": day,
            "predicted": model.calibration[day].mean_predicted,
            "observed": model.calibration[day].observed,
            "error": model.calibration[day].calibration_error,
            "oracle_error": None if oracle is None else oracle.calibration[day].calibration_error,
        }
        for day in CALIBRATION_DAYS
    ]


def distribution_view(
    evaluation: DistributionEvaluation, with_plots: bool = True
) -> dict[str, Any]:
    """Everything the section shows, as plain values and data URIs."""
    limit = next((g.limit for g in evaluation.gates if g.kind == COVERAGE_GATE), None)
    if not isinstance(limit, list):  # no gate ran: the configured default
        limit = list(GatesConfig().stay_coverage_band)
    band = (float(limit[0]), float(limit[1]))
    attributes = []
    for attribute, table in evaluation.groups.items():
        attributes.append(
            {
                "name": attribute,
                "title": TITLES.get(attribute, attribute),
                "gate": next((g for g in evaluation.gates if g.attribute == attribute), None),
                "rows": [
                    {"label": group_label(attribute, group), "m": row}
                    for group, row in table.items()
                ],
                "plot": stay_plots.stay_coverage_plot(attribute, table, band)
                if with_plots
                else None,
            }
        )
    oracle = evaluation.oracle
    return {
        "passed": all_passed(evaluation.gates) if evaluation.gates else None,
        "gates": evaluation.gates,
        "band": band,
        "n": evaluation.model.n,
        "n_ended": evaluation.model.n_ended,
        "sampled_from": evaluation.sampled_from,
        "brier_days": BRIER_DAYS,
        "has_truth": evaluation.model.median_error_days is not None,
        "has_oracle": oracle is not None,
        "figures": _figures(evaluation.model, oracle),
        "calibration": _calibration(evaluation.model, oracle),
        "calibration_plot": stay_plots.stay_calibration_plot(
            evaluation.model.calibration, None if oracle is None else oracle.calibration
        )
        if with_plots
        else None,
        "attributes": attributes,
    }
