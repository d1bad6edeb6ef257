"""Evaluation reports: metrics.json (contract layout), a self-contained report.html, a model card.

report.html is one file an evaluator can open offline: styles are inline, charts are inline SVG
(lines, intervals, bars: `evaluation.plots`, `evaluation.svg`) or PNG (the SHAP beeswarm:
`evaluation.shap_plots`) data URIs, and there is no external URL of any kind.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from evaluation import plots, shap_plots
from evaluation.evaluate import TargetEvaluation, write_metrics
from evaluation.finding_words import sentence
from evaluation.findings import STATUS_WORDS
from evaluation.gates import all_passed
from evaluation.groups import ATTRIBUTES, TITLES, group_label
from evaluation.model_card import render_model_card
from evaluation.stay_evaluation import DistributionEvaluation
from evaluation.stay_section import distribution_view
from los.config import GatesConfig
from models.vocabulary import field_label

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class ReportContext:
    """What the report says about where the numbers come from."""

    title: str
    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # target -> identity/meta
    data_window: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def fmt(value: Any, digits: int = 3, percent: bool = False) -> str:
    """A number for a table cell; an em dash when missing."""
    if value is None or (isinstance(value, float | np.floating) and not math.isfinite(value)):
        return "—"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        return f"{value:.{max(digits - 2, 0)}%}" if percent else f"{value:.{digits}f}"
    if isinstance(value, list | tuple):
        return "–".join(fmt(v, digits, percent) for v in value)
    return str(value)


def fmt_ci(ci: Any, digits: int = 2) -> str:
    """A 95% interval as `lo–hi`, empty when unavailable."""
    if not ci or ci[0] is None or ci[1] is None:
        return ""
    return f"{ci[0]:.{digits}f}–{ci[1]:.{digits}f}"


# gate kind -> the group-table column whose cells its limit highlights; later gates win, so the
# group calibration-error gates (after the performance gates) set that column when they ran
_COLUMN_OF_GATE = {
    "fnr_ratio": "fnr_ratio",
    "calibration_ratio": "calibration_ratio",
    "calibration_error": "calibration_error",
    "group_calibration_error": "calibration_error",
}


def _limits(evaluation: TargetEvaluation) -> dict[str, tuple[float, float]]:
    """The bands and limits the gates used (configured defaults where no gate ran)."""
    defaults = GatesConfig()
    out = {
        "fnr_ratio": tuple(defaults.fnr_ratio_band),
        "calibration_ratio": tuple(defaults.calibration_ratio_band),
        "calibration_error": (0.0, defaults.max_group_calibration_error),
    }
    for gate in evaluation.gates:
        column = _COLUMN_OF_GATE.get(gate.kind)
        if column is not None and gate.limit is not None:
            limit = gate.limit if isinstance(gate.limit, list | tuple) else [0.0, gate.limit]
            out[column] = (float(limit[0]), float(limit[1]))
    return out  # type: ignore[return-value]


def _beyond(value: float | None, band: tuple[float, float]) -> bool:
    return value is not None and not band[0] <= value <= band[1]


_MEASURE_WORDS = {
    "fnr_ratio_age_adjusted": "age-adjusted FNR ratio",
    "fnr_ratio": "FNR ratio",
    "calibration_ratio": "calibration ratio (O/E)",
    "auroc_gap": "AUROC gap",
    "calibration_error": "calibration error",
}


def _band_text(band: tuple[float, float]) -> str:
    lo, hi = band
    return f"{lo:.2f}–{hi:.2f}" if math.isfinite(lo) else f"≤ {hi:.2f}"


def findings(evaluation: TargetEvaluation) -> list[dict[str, Any]]:
    """The evaluation's fairness findings (`evaluation.findings`, judged by the one rule in
    `evaluation.findings` that the gates use), in every reported breakdown, gated or not: groups
    beyond their band, `fail` (a finding; `blocking` when its breakdown is gated) or
    `not_conclusive`; blocking findings first."""
    words = evaluation.outcome
    return [
        {
            "name": f.name,
            "attribute": TITLES.get(f.measure.attribute, f.measure.attribute),
            "group": f.label,
            "metric": _MEASURE_WORDS.get(f.measure.key, f.measure.key),
            "value": f.value,
            "ci": list(f.ci),
            "joint_ci": list(f.joint_ci) if f.widened else None,
            "compared": f.compared,
            "gate": f.measure.gate,
            "band_text": _band_text(f.measure.band),
            "status": f.status,
            "status_words": STATUS_WORDS[f.status],
            "gated": f.measure.gated,
            "blocking": f.blocking,
            "observed": f.row.prevalence,
            "predicted": f.row.mean_predicted,
            "fnr": f.row.fnr,
            "sentence": sentence(f, words),
        }
        for f in evaluation.findings
    ]


def _attribute_view(
    evaluation: TargetEvaluation, attribute: str, with_plots: bool
) -> dict[str, Any] | None:
    table = evaluation.groups.get(attribute)
    if not table:
        return None
    limits = _limits(evaluation)
    band = limits["fnr_ratio"]
    rows = []
    for group, r in table.items():
        rows.append(
            {
                "key": group,
                "label": group_label(attribute, group),
                "raw": r,
                "reference": r.reference,
                "suppressed": r.suppressed,
                "fnr_alert": _beyond(r.fnr_ratio, band),
                "adj_alert": _beyond(r.fnr_ratio_age_adjusted, band),
                "oe_alert": _beyond(r.calibration_ratio, limits["calibration_ratio"]),
                "cal_alert": _beyond(r.calibration_error, limits["calibration_error"]),
            }
        )
    reference = next((row["label"] for row in rows if row["reference"]), None)
    view: dict[str, Any] = {
        "name": attribute,
        "title": TITLES.get(attribute, attribute),
        "reference": reference,
        "rows": rows,
        "band": band,
        "gates": [g for g in evaluation.gates if g.attribute == attribute],
        "plots": [],
    }
    shown = [r for r in table.values() if not r.suppressed]
    if with_plots and shown:
        view["plots"].append(plots.group_disparity_plot(attribute, table, band))
        curves = evaluation.extras.get("group_calibration", {}).get(attribute, {})
        if curves and attribute not in ("ethnic_category", "ethnicity_deprivation"):  # busy
            view["plots"].append(plots.group_calibration_plot(attribute, curves, table.reference))
    return view


def _target_view(
    name: str,
    evaluation: TargetEvaluation,
    meta: dict[str, Any],
    explanation: Any | None,
    with_plots: bool,
) -> dict[str, Any]:
    overall = evaluation.overall
    found = findings(evaluation)
    view: dict[str, Any] = {
        "name": name,
        "description": meta.get("description", ""),
        "registered_name": meta.get("registered_name") or meta.get("name") or "",
        "meta": meta,
        "mitigation": meta.get("mitigation"),  # a chosen group recalibration (training/mitigation)
        "overall": overall.to_dict(),
        "gates": evaluation.gates,
        "passed": all_passed(evaluation.gates) if evaluation.gates else None,
        "failed_gates": [g for g in evaluation.gates if not g.passed],
        "unsure_gates": [g for g in evaluation.gates if g.status == "not_conclusive"],
        "findings": [f for f in found if f["status"] == "fail"],
        "blocking": [f for f in found if f["blocking"]],
        "not_conclusive": [f for f in found if f["status"] == "not_conclusive"],
        "attributes": [
            v
            for a in ATTRIBUTES
            if (v := _attribute_view(evaluation, a, with_plots and a in evaluation.groups))
        ],
        "plots": {},
        "explanation": None,
    }
    y, p = evaluation.extras.get("y"), evaluation.extras.get("p")
    if with_plots and y is not None and p is not None and len(y):
        view["plots"]["discrimination"] = plots.discrimination_plot(y, p, overall.threshold)
        view["plots"]["calibration"] = plots.calibration_plot(
            evaluation.calibration, p, overall.threshold
        )
    if explanation is not None and explanation.n_rows:
        view["explanation"] = {
            "rows": explanation.n_rows,
            "fields": list(explanation.field_importance().items())[:8],
            "summary": shap_plots.shap_summary_plot(explanation) if with_plots else None,
            "fields_plot": shap_plots.field_importance_plot(explanation) if with_plots else None,
            "dependence": shap_plots.dependence_plots(explanation) if with_plots else None,
        }
    return view


def report_view(
    evaluations: dict[str, TargetEvaluation],
    context: ReportContext,
    explanations: dict[str, Any] | None = None,
    with_plots: bool = True,
    distribution: DistributionEvaluation | None = None,
) -> dict[str, Any]:
    """Everything the HTML report and the model card show, as plain values and data URIs
    (with the stay distribution's section when its evaluation is given)."""
    explanations = explanations or {}
    targets = [
        _target_view(n, ev, context.models.get(n, {}), explanations.get(n), with_plots)
        for n, ev in evaluations.items()
    ]
    return {
        "title": context.title,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "data_window": context.data_window,
        "notes": context.notes,
        "targets": targets,
        "attribute_titles": TITLES,
        "distribution": None
        if distribution is None
        else distribution_view(distribution, with_plots),
    }


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = fmt
    env.filters["ci"] = fmt_ci
    env.globals["status_words"] = STATUS_WORDS
    env.globals["field_label"] = field_label
    return env


def render_report(view: dict[str, Any]) -> str:
    """report.html from a `report_view`."""
    return _environment().get_template("report.html.j2").render(**view)


def write_reports(
    evaluations: dict[str, TargetEvaluation],
    context: ReportContext,
    out_dir: str | Path,
    explanations: dict[str, Any] | None = None,
    distribution: DistributionEvaluation | None = None,
) -> list[Path]:
    """Write metrics.json, report.html, model_card.md (and explanations.json when given) into
    `out_dir`; returns their paths (each is logged as an MLflow artifact by the caller). The
    stay distribution's evaluation, when given, goes into metrics.json and the report."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [write_metrics(evaluations, out / "metrics.json", distribution)]
    view = report_view(evaluations, context, explanations, distribution=distribution)
    html = out / "report.html"
    html.write_text(render_report(view), encoding="utf-8")
    card = out / "model_card.md"
    card.write_text(render_model_card(view, _environment()), encoding="utf-8")
    paths += [html, card]
    if explanations:
        summary = {name: e.to_dict() for name, e in explanations.items()}
        path = out / "explanations.json"
        path.write_text(json.dumps(summary, indent=2, allow_nan=False, default=str))
        paths.append(path)
    return paths
