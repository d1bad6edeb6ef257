"""`los monitor` against planted truth (issue 14, CONTRACT §8).

The models are the session's trained registry (20k spells to mid-2025). Each scenario is a fresh
extract from another seed, admitted from November 2024 to four weeks after the change starts on
1 July 2025: the reference is the models' test period, the recent window the four weeks after it,
whose labels arrive as spells end (the extract is censored as a real one is). Nothing here is
tuned to the planted site: the monitor is not told where or what changed.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from features.generate import GeneratedData, generate_admissions
from features.load import write_frame
from los.config import TrainingConfig
from models.availability import load_available
from models.registry import LoadedModel, connect
from monitoring.assess import run_monitor
from monitoring.monitor import MonitorResult
from monitoring.windows import split_windows
from tests.chromium import chromium_or_skip, headless_command
from tests.conftest import TrainedRegistry
from tests.integration.test_cli import los

START, END = "2025-07-01", "2025-07-29"  # labels for the first 4 weeks after the change
SEGMENTS = {"site", "ethnic_group", "imd_quintile", "age_band"}


def scenario(name: str, seed: int = 11) -> GeneratedData:
    return generate_admissions(
        60_000, seed, start="2024-11-01", end=END, scenario=name, scenario_start=START
    )


@pytest.fixture(scope="module")
def models(trained_registry: TrainedRegistry) -> dict[str, LoadedModel]:
    settings = trained_registry.settings
    connect(settings.tracking_uri, settings.los_data_dir / "mlartifacts")
    loaded, missing = load_available("champion")
    assert "nctr" in loaded, missing
    return loaded


def monitored(data: GeneratedData, models: dict[str, LoadedModel]) -> MonitorResult:
    reference, recent = split_windows(data.admissions, None, models)
    assert pd.to_datetime(recent["admission_datetime"]).min() >= pd.Timestamp("2025-06-30")
    return run_monitor(reference, recent, models, TrainingConfig())


@pytest.fixture(scope="module")
def shock(models: dict[str, LoadedModel]) -> tuple[GeneratedData, MonitorResult]:
    data = scenario("site-capacity-shock")
    return data, monitored(data, models)


@pytest.fixture(scope="module")
def coding(trained_registry: TrainedRegistry, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """The coding change, through the command line: data file in, monitor.json/html out."""
    data = scenario("coding-change")
    tmp = tmp_path_factory.mktemp("monitor")
    path = write_frame(data.admissions, tmp / "extract.parquet")
    done = los("monitor", "--data", str(path), "--out", str(tmp / "out"), env=trained_registry.env)
    return data, tmp / "out", done.stdout


def test_capacity_shock_alerts_nctr_at_the_planted_site_only(
    shock: tuple[GeneratedData, MonitorResult],
) -> None:
    data, result = shock
    site = data.scenario.site
    assert data.truth["scenario_site"].eq(site).all()
    alerts = result.document["alerts"]
    where = {(a["attribute"], a["group"]) for a in alerts}
    assert where == {("site", site)}, alerts
    nctr = [a for a in alerts if a["target"] == "nctr" and a["kind"] == "observed_expected"]
    assert len(nctr) == 1 and site in nctr[0]["detail"] and nctr[0]["action"]
    entry = result.document["targets"]["nctr"]["segments"]["site"][site]
    assert entry["observed_expected"]["ratio"] > 1.25
    assert entry["alerts"] == nctr
    # the label-free estimate cannot see it (the stated assumption): no estimated-AUROC alert
    assert not [a for a in alerts if a["kind"] == "estimated_auroc"]


def test_coding_change_names_the_site_and_the_input(coding: tuple) -> None:
    data, out, stdout = coding
    site = data.scenario.site
    document = json.loads((out / "monitor.json").read_text())
    drift = [a for a in document["alerts"] if a["kind"] == "input_drift"]
    assert {(a["group"], a["feature"]) for a in drift} == {(site, "frailty_score")}, drift
    assert f"site {site}" in drift[0]["detail"] and "frailty_score" in drift[0]["action"]
    assert {a["attribute"] for a in document["alerts"]} == {"site"}
    assert f"alert all site={site} input_drift" in stdout
    assert (out / "monitor.html").stat().st_size > 10_000


def test_monitor_json_follows_the_contract(coding: tuple) -> None:
    _, out, _ = coding
    document = json.loads((out / "monitor.json").read_text())
    assert set(document["targets"]) == {"long_stay", "long_stay_21", "nctr"}
    for target in document["targets"].values():
        assert {"overall", "segments"} <= set(target)
        assert set(target["segments"]) == SEGMENTS
        for groups in target["segments"].values():
            for entry in groups.values():
                assert {
                    "n",
                    "input_drift",
                    "score_drift",
                    "estimated_auroc",
                    "estimated_calibration_error",
                    "realised_auroc",
                    "alerts",
                } <= set(entry)
                if not entry["suppressed"]:
                    assert 0.5 < entry["estimated_auroc"] < 1
                    # censored 4-week labels: nothing can be judged, and each says why
                    check = entry["estimate_check"]
                    assert not check["judged"] and check["note"], check
    summary = document["estimate_check"]
    assert summary["tolerance"] == 0.02 and summary["judged"] == 0
    assert summary["pairs"] == sum(summary["not_judged"].values())
    html = (out / "monitor.html").read_text()
    assert "labels still arriving: estimate accuracy not judged" in html
    for alert in document["alerts"]:
        assert {"target", "attribute", "group", "kind", "detail"} <= set(alert)
    assert "calibrated" in document["assumption"]


def test_no_change_raises_no_alert(models: dict[str, LoadedModel]) -> None:
    result = monitored(scenario("none", seed=12), models)
    assert result.document["alerts"] == []
    overall = result.document["targets"]["nctr"]["overall"]
    assert 0.8 < overall["observed_expected"]["ratio"] < 1.25


@pytest.mark.browser
def test_monitor_html_renders_in_headless_chromium(coding: tuple, tmp_path: Path) -> None:
    browser = chromium_or_skip()
    data, out, _ = coding
    html = (out / "monitor.html").read_text()
    assert "http://" not in html and "https://" not in html and "<script" not in html
    common = headless_command(browser, tmp_path / "profile")
    url = (out / "monitor.html").resolve().as_uri()
    dom = subprocess.run(
        [*common, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert f"site {data.scenario.site}" in dom and "input_drift" in dom
    assert dom.count("<img") >= 3 * 5  # a chart per target and attribute (overall included)
    shot = tmp_path / "monitor.png"
    subprocess.run(
        [*common, f"--screenshot={shot}", "--window-size=1200,1600", url],
        capture_output=True,
        timeout=120,
        check=True,
    )
    from PIL import Image

    image = Image.open(shot).convert("RGB")
    assert len(set(image.resize((120, 160)).getdata())) > 100  # tables and charts, not blank


def test_service_counts_scores_per_site_and_group_with_bounded_labels(
    models: dict[str, LoadedModel], trained_registry: TrainedRegistry
) -> None:
    from models.scorer import Scorer
    from serving.metrics import ServiceMetrics

    rows = trained_registry.admissions.head(40).reset_index(drop=True)
    rows.loc[:9, "site"] = [f"NEW{i:02d}" for i in range(10)]  # sites no model has seen
    scorer = Scorer(models)
    metrics = ServiceMetrics()
    columns = {c: rows[c].to_numpy() for c in rows.columns}
    metrics.observe_segments(columns, scorer.score(columns, reasons=False), scorer)
    text = metrics.render().decode()
    assert 'los_score_by_site_count{site="other",target="nctr"} 10.0' in text
    assert "NEW0" not in text and rows.loc[20, "spell_id"] not in text
    known = rows.loc[10:, "site"].value_counts()
    for site, n in known.items():
        assert f'los_score_by_site_count{{site="{site}",target="nctr"}} {float(n)}' in text
    groups = [
        line for line in text.splitlines() if line.startswith("los_score_by_ethnic_group_count")
    ]
    assert sum(float(line.split()[-1]) for line in groups) == 3 * len(rows)
