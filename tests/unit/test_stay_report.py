"""The stay distribution's report section and metrics.json block: written from a real
evaluation, charts with labelled axes in percent, failing gates shown as failing."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation import stay_plots
from evaluation.report import ReportContext, render_report, report_view, write_reports
from evaluation.stay_evaluation import DistributionEvaluation, evaluate_distribution
from features.generate import generate_admissions
from features.history import with_history
from features.synthetic.stay_truth import TrueStay, true_stay
from los.config import TrainingConfig
from tests.unit.test_chart_labels import Parsed

CONFIG = TrainingConfig.model_validate({"evaluation": {"n_bootstrap": 50}})


@dataclass(frozen=True)
class Later:
    """The true curve moved 4 days later."""

    truth: TrueStay

    @property
    def survival(self) -> np.ndarray:
        return self.truth.survival_at(np.arange(61) - 4.0)

    def quantile(self, q: float) -> np.ndarray:
        return self.truth.quantile(q) + 4.0


@pytest.fixture(scope="module")
def period() -> tuple[pd.DataFrame, TrueStay]:
    data = generate_admissions(6_000, seed=4)
    spells = with_history(data.admissions).iloc[-1_500:]
    return data.admissions.iloc[-1_500:].reset_index(drop=True), true_stay(spells)


@pytest.fixture(scope="module")
def evaluation(period: tuple[pd.DataFrame, TrueStay]) -> DistributionEvaluation:
    admissions, truth = period
    return evaluate_distribution(admissions, truth, truth, CONFIG)


def test_reports_carry_the_section_and_metrics_block(
    evaluation: DistributionEvaluation, tmp_path: Path
) -> None:
    paths = write_reports({}, ReportContext(title="t"), tmp_path, distribution=evaluation)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["distribution"]["model"]["coverage"] == pytest.approx(evaluation.model.coverage)
    assert set(metrics["distribution"]["groups"]) == {
        "ethnic_group",
        "imd_quintile",
        "sex",
        "age_band",
    }
    html = (tmp_path / "report.html").read_text()
    assert tmp_path / "report.html" in paths
    assert 'id="stay-distribution"' in html and 'href="#stay-distribution"' in html
    for table in ("stay-gates", "stay-figures", "stay-calibration", "stay-groups-ethnic_group"):
        assert f'id="{table}"' in html
    assert "Oracle (true curve)" in html and "0 by definition" in html
    assert html.count("<img") >= 5  # calibration, and coverage for each of the four attributes
    assert "http://" not in html.replace("http://www.w3.org", "")  # self-contained


def test_no_section_without_a_distribution(evaluation: DistributionEvaluation) -> None:
    html = render_report(report_view({}, ReportContext(title="t"), with_plots=False))
    assert "stay-distribution" not in html


def test_a_failing_model_is_shown_held(period: tuple[pd.DataFrame, TrueStay]) -> None:
    admissions, truth = period
    later = evaluate_distribution(admissions, Later(truth), None, CONFIG)
    view = report_view({}, ReportContext(title="t"), with_plots=False, distribution=later)
    html = render_report(view)
    assert "held for review" in html and 'data-status="fail"' in html
    assert "Oracle" not in html and "Median vs true median" not in html


def test_stay_charts_label_both_axes_in_percent(evaluation: DistributionEvaluation) -> None:
    model, oracle = evaluation.model.calibration, evaluation.oracle
    assert oracle is not None
    chart = Parsed(stay_plots.stay_calibration_plot(model, oracle.calibration))
    assert chart.panels == 4
    assert chart.titles == [f"Day {d}: P(stay ≥ {d} days)" for d in (3, 7, 14, 21)]
    assert chart.x_labels == ["Mean predicted probability (%)"] * 4
    assert chart.y_labels == ["Observed share still in (%)"] * 4
    assert max(chart.x_ticks[0]) >= 40  # percent: P(stay >= 3 days) runs well past 0.4
    coverage = Parsed(stay_plots.stay_coverage_plot("sex", evaluation.groups["sex"], (0.75, 0.85)))
    assert coverage.x_labels == ["Stays inside the interval (%)"]
    assert coverage.y_labels == ["Sex"]
    assert min(coverage.x_ticks[0]) >= 50  # percent, around the 75-85 band


def test_a_sampled_evaluation_says_what_it_was_sampled_from(
    evaluation: DistributionEvaluation,
) -> None:
    every = render_report(
        report_view({}, ReportContext(title="t"), with_plots=False, distribution=evaluation)
    )
    assert "Measured on the 1,500 test-period spells" in every and "random sample" not in every
    sampled = dataclasses.replace(evaluation, sampled_from=250_000)
    html = render_report(
        report_view({}, ReportContext(title="t"), with_plots=False, distribution=sampled)
    )
    text = " ".join(html.split())
    assert "a seeded random sample of 1,500 of the 250,000 test-period spells" in text
