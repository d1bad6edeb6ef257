"""Every report chart labels both axes with units, in the tables' scale words (issue 15 item 8).

The charts are SVG text: each is parsed, its axis labels found by their class (`x-label`,
`y-label`, set by `evaluation.svg.Chart.axes`) and its x tick labels assigned to the panel they
sit under. Rates and risks are in percent, as the report's tables print them; AUROC stays 0-1.
The SHAP beeswarm is a matplotlib figure: its axes are read from the figure.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from evaluation import plots, shap_plots
from evaluation.group_metrics import Breakdown
from models.explain import GlobalExplanation
from models.vocabulary import feature_axis_label

NS = "{http://www.w3.org/2000/svg}"


class Parsed:
    """Axis labels, titles and per-panel x tick values of one SVG chart."""

    def __init__(self, uri: str) -> None:
        prefix = "data:image/svg+xml;base64,"
        assert uri.startswith(prefix)
        root = ET.fromstring(base64.b64decode(uri[len(prefix) :]))
        texts = list(root.iter(f"{NS}text"))
        self.x_labels = [t.text for t in texts if t.get("class") == "x-label"]
        self.y_labels = [t.text for t in texts if t.get("class") == "y-label"]
        self.titles = [t.text for t in texts if t.get("class") == "title"]
        boxes = [
            (float(r.get("x", 0)), float(r.get("width", 0)))
            for r in root.iter(f"{NS}rect")
            if r.get("height") and r.get("width") != "100%" and _in_clip(root, r)
        ]
        self.x_ticks: list[list[float]] = [[] for _ in boxes]
        for t in texts:  # x tick labels: unclassed, centred numbers
            if t.get("class") or t.get("text-anchor") != "middle":
                continue
            value = _number(t.text or "")
            if value is None:
                continue
            x = float(t.get("x", 0))
            for i, (left, width) in enumerate(boxes):
                if left - 1 <= x <= left + width + 1:
                    self.x_ticks[i].append(value)
        self.panels = len(boxes)


def _in_clip(root: ET.Element, rect: ET.Element) -> bool:
    return any(rect in list(clip) for clip in root.iter(f"{NS}clipPath"))


def _number(text: str) -> float | None:
    try:
        return float(text.replace("−", "-"))
    except ValueError:
        return None


@pytest.fixture(scope="module")
def outcome() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    p = rng.beta(2, 4, 3000)
    return (rng.random(3000) < p).astype(int), p


def _row(fnr: float, auroc: float, predicted: float, observed: float, **extra: object) -> dict:
    return {
        "fnr": fnr, "fnr_ci": [fnr - 0.05, fnr + 0.05], "auroc": auroc,
        "auroc_ci": [auroc - 0.03, auroc + 0.03], "mean_predicted": predicted,
        "prevalence": observed, "suppressed": False, "n": 500, **extra,
    }  # fmt: skip


def test_discrimination_axes_in_percent(outcome: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = outcome
    chart = Parsed(plots.discrimination_plot(y, p, threshold=0.3))
    assert chart.x_labels == ["False positive rate, FPR (%)", "Sensitivity, recall (%)"]
    assert chart.y_labels == ["Sensitivity (%)", "Precision, PPV (%)"]
    assert chart.panels == 2
    assert all(max(ticks) == 100 for ticks in chart.x_ticks)


def test_calibration_axes_in_percent(outcome: tuple[np.ndarray, np.ndarray]) -> None:
    _, p = outcome
    curve = [{"predicted": q, "observed": q * 0.9} for q in (0.1, 0.2, 0.35, 0.5, 0.7)]
    chart = Parsed(plots.calibration_plot(curve, p, threshold=0.3))
    assert chart.x_labels == ["Predicted risk (%)"]  # shared by the two stacked panels
    assert chart.y_labels == ["Observed rate (%)", "Spells"]
    hist_ticks = chart.x_ticks[1]
    assert max(hist_ticks) >= 50  # percent: the same risks as fractions would end below 1


def test_group_disparity_panels_all_labelled() -> None:
    table = {
        "White": _row(0.30, 0.80, 0.40, 0.42, reference=True),
        "Asian or Asian British": _row(0.45, 0.74, 0.35, 0.31),
        "Black or Black British": _row(0.25, 0.83, 0.28, 0.30),
        "Not known": {"suppressed": True, "fnr": None, "auroc": None, "n": 40},
    }
    breakdown = Breakdown.from_dict("ethnic_group", table)
    chart = Parsed(plots.group_disparity_plot("ethnic_group", breakdown, (0.8, 1.25)))
    assert chart.titles[1] == "AUROC, 95% CI"
    assert chart.x_labels == [
        "Missed cases, FNR (%)",
        "AUROC (0.5 = chance, 1 = perfect)",
        "Observed and mean predicted rate (%)",
    ]
    assert chart.y_labels == ["Ethnic group (NHS)"]  # the three panels share the group rows
    fnr, auroc, rates = chart.x_ticks
    assert max(fnr) >= 20 and max(rates) >= 20  # percent
    assert max(auroc) <= 1  # AUROC is not a rate: 0-1 as in the tables


def test_group_calibration_axes_in_percent() -> None:
    curves = {
        "Female": [{"predicted": 0.1, "observed": 0.12}, {"predicted": 0.6, "observed": 0.55}],
        "Male": [{"predicted": 0.1, "observed": 0.08}, {"predicted": 0.6, "observed": 0.64}],
    }
    chart = Parsed(plots.group_calibration_plot("sex", curves, "Female"))
    assert chart.x_labels == ["Mean predicted risk (%)"]
    assert chart.y_labels == ["Observed rate (%)"]
    assert max(chart.x_ticks[0]) >= 50


@pytest.fixture(scope="module")
def explanation() -> GlobalExplanation:
    rng = np.random.default_rng(9)
    n = 400
    age = rng.integers(18, 100, n).astype(float)
    specialty = rng.integers(0, 3, n).astype(float)
    prior = rng.poisson(1.0, n).astype(float)
    frailty = np.where(rng.random(n) < 0.2, np.nan, rng.gamma(2, 4, n))
    values = np.column_stack([age, specialty, prior, frailty])
    contributions = np.column_stack(
        [(age - 60) / 20, specialty * 0.3 - 0.3, prior * 0.2, np.nan_to_num(frailty) / 40]
    )
    features = ["age", "specialty", "prior_admissions_365d", "frailty_score"]
    return GlobalExplanation(
        target="long_stay", features=features, fields=features, categorical=["specialty"],
        values=values, contributions=contributions, expected_value=-1.0,
        levels={"specialty": ["300", "430", "110"]},
    )  # fmt: skip


def test_shap_dependence_x_is_the_feature_with_its_unit(explanation: GlobalExplanation) -> None:
    chart = Parsed(shap_plots.dependence_plots(explanation))
    assert chart.panels == 4
    # numeric features: x is the value, named with its unit; y the SHAP value
    assert "Age (years)" in chart.x_labels
    assert feature_axis_label("prior_admissions_365d") in chart.x_labels
    assert "Hospital Frailty Risk Score (points)" in chart.x_labels
    assert "Value" not in chart.x_labels
    # the categorical feature: boxes per category (y, named by the feature), SHAP along x
    assert "Specialty" in chart.y_labels
    assert len(chart.x_labels) == len(chart.y_labels) == 4
    assert chart.x_labels.count("SHAP value (log-odds)") == 1


def test_field_importance_and_beeswarm_axes(explanation: GlobalExplanation) -> None:
    chart = Parsed(shap_plots.field_importance_plot(explanation))
    assert chart.x_labels == ["Mean |SHAP| (log-odds)"]
    assert chart.y_labels == ["Admissions field"]
    figure = shap_plots.shap_summary_figure(explanation)
    ax = figure.axes[0]
    assert ax.get_xlabel().startswith("SHAP value") and ax.get_ylabel() == "Input (feature)"


def test_feature_axis_label_adds_units_only_where_the_name_lacks_them() -> None:
    assert feature_axis_label("age") == "Age (years)"
    assert feature_axis_label("prior_bed_days_365d") == "Days in hospital in the last year"
    assert feature_axis_label("admission_weekday").endswith("(0 = Monday, 6 = Sunday)")
    assert feature_axis_label("some_extra_column") == "Some extra column"
