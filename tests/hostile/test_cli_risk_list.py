"""Hostile risk lists: one mis-dated row cannot date the list, and a mistyped site is refused.

Real parts throughout: models trained into a real MLflow registry (the session's
`trained_registry`), the real scorer, and `los risk-list` itself through typer's CliRunner.
The library tests add the mis-dated row after loading, so they hold whatever the loader does
with dates in the future (it may quarantine them).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.app import app
from features.load import load_admissions
from los.errors import UnknownSiteError
from los.schema import LABEL_COLUMNS
from models.registry import connect, load_models
from models.risk_list import RiskList, build_risk_list, write_risk_list
from models.scorer import Scorer
from tests.conftest import TrainedRegistry

LATEST_IN_HOSPITAL = 25


@pytest.fixture(scope="module")
def extract_path(
    trained_registry: TrainedRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The 400 latest generated spells, the 25 latest of them (and any the generator left
    undischarged) still in hospital."""
    table = trained_registry.admissions.sort_values("admission_datetime").tail(400)
    table = table.reset_index(drop=True)
    latest = table.index[-LATEST_IN_HOSPITAL:]
    for col in LABEL_COLUMNS:
        table[col] = table[col].astype(object)
        table.loc[latest, col] = None
    path = tmp_path_factory.mktemp("hostile_risk_list") / "extract.parquet"
    table.to_parquet(path, index=False)
    return path


@pytest.fixture(scope="module")
def extract(extract_path: Path) -> pd.DataFrame:
    """The extract as the loader types it."""
    return load_admissions(str(extract_path)).frame


@pytest.fixture(scope="module")
def scorer(trained_registry: TrainedRegistry) -> Scorer:
    connect(trained_registry.settings.tracking_uri)
    return Scorer(load_models("champion"))


def with_future_row(extract: pd.DataFrame, when: pd.Timestamp) -> pd.DataFrame:
    """`extract` plus one inpatient whose admission is typed `when` (a copy of the last one)."""
    row = extract.tail(1).copy()
    row["spell_id"] = "FUTURE-1"
    row["admission_datetime"] = when
    return pd.concat([extract, row], ignore_index=True)


def inpatients(extract: pd.DataFrame) -> int:
    """Rows of `extract` without a discharge."""
    return int(extract["discharge_datetime"].isna().sum())


def snapshot_day(extract: pd.DataFrame) -> date:
    """The extract's real snapshot: its latest admission's date."""
    return pd.Timestamp(extract["admission_datetime"].max()).date()


TOMORROW = pd.Timestamp(datetime.now(UTC).date() + timedelta(days=1)) + pd.Timedelta(hours=9)


@pytest.mark.parametrize(
    "when",
    [TOMORROW, pd.Timestamp("2099-01-01 10:00"), pd.Timestamp("2199-12-31 23:59")],
    ids=["tomorrow", "2099", "2199"],
)
def test_one_future_row_cannot_date_the_list(
    scorer: Scorer, extract: pd.DataFrame, when: pd.Timestamp, tmp_path: Path
) -> None:
    result = build_risk_list(scorer, with_future_row(extract, when))
    day = snapshot_day(extract)
    assert result.list_date == day
    assert "on or before today" in result.list_date_rule
    assert "1 admission dated after today not used" in result.list_date_rule
    assert "FUTURE-1" not in {r.spell_id for r in result.rows}
    assert len(result.rows) == inpatients(extract) >= LATEST_IN_HOSPITAL
    assert result.counts["left_off_admitted_after_list_date"] == 1
    first = pd.Timestamp(extract["admission_datetime"].min()).date()
    assert max(r.days_in_hospital for r in result.rows) <= (day - first).days
    assert min(r.days_in_hospital for r in result.rows) == 0
    assert any("1 patient admitted after the list date" in n for n in result.notes)
    _the_list_says_how_it_was_dated(result, tmp_path)


def _the_list_says_how_it_was_dated(result: RiskList, tmp_path: Path) -> None:
    """JSON, CSV and HTML each carry the date, the rule and the left-off note."""
    data = json.loads(write_risk_list(result, tmp_path / "l.json").read_text())
    assert data["list_date"] == result.list_date.isoformat()
    assert data["list_date_rule"] == result.list_date_rule and data["notes"] == result.notes
    csv = pd.read_csv(write_risk_list(result, tmp_path / "l.csv"), dtype=str)
    assert set(csv["list_date"]) == {result.list_date.isoformat()}
    assert set(csv["list_date_rule"]) == {result.list_date_rule}
    html = write_risk_list(result, tmp_path / "l.html").read_text()
    text = " ".join(re.sub(r"<style.*?</style>|<[^>]+>", " ", html, flags=re.S).split())
    assert result.list_date_rule in text.replace("&#39;", "'")
    assert "1 patient admitted after the list date is not on this list" in text


def test_a_date_given_wins(scorer: Scorer, extract: pd.DataFrame) -> None:
    given = snapshot_day(extract) + timedelta(days=30)
    result = build_risk_list(scorer, with_future_row(extract, pd.Timestamp("2099-01-01")), on=given)
    assert result.list_date == given and result.list_date_rule == "the date given"
    assert min(r.days_in_hospital for r in result.rows) == 30
    assert result.counts["left_off_admitted_after_list_date"] == 1


@pytest.mark.parametrize(
    ("after_midnight", "listed"),
    [(pd.Timedelta(minutes=30), True), (pd.Timedelta(hours=2), False)],
    ids=["00:30", "02:00"],
)
def test_an_admission_just_after_the_list_date_is_within_the_grace(
    scorer: Scorer, extract: pd.DataFrame, after_midnight: pd.Timedelta, listed: bool
) -> None:
    """Local admission times against a UTC date: the first hour of the next day still counts."""
    day = snapshot_day(extract)
    when = pd.Timestamp(day) + pd.Timedelta(days=1) + after_midnight
    result = build_risk_list(scorer, with_future_row(extract, when), on=day)
    rows = {r.spell_id: r for r in result.rows}
    assert ("FUTURE-1" in rows) is listed
    assert result.counts["left_off_admitted_after_list_date"] == (0 if listed else 1)
    if listed:
        assert rows["FUTURE-1"].days_in_hospital == 0
    else:
        assert result.notes == ["1 patient admitted after the list date is not on this list"]


def test_an_empty_census_is_dated_by_its_data(
    scorer: Scorer, trained_registry: TrainedRegistry
) -> None:
    ended = trained_registry.admissions.dropna(subset=["discharge_datetime"]).tail(200)
    result = build_risk_list(scorer, ended.reset_index(drop=True))
    assert result.rows == [] and result.counts["inpatients"] == 0
    assert result.list_date == snapshot_day(ended)  # not today's date
    assert "latest admission date" in result.list_date_rule


def test_a_site_with_no_inpatients_is_dated_like_the_others(
    scorer: Scorer, extract: pd.DataFrame
) -> None:
    quiet = extract.dropna(subset=["discharge_datetime"]).head(3).assign(site="QUIET01")
    both = pd.concat([extract, quiet], ignore_index=True)
    result = build_risk_list(scorer, both, site="QUIET01")
    assert result.rows == [] and result.list_date == snapshot_day(extract)  # not today's date


def test_without_an_admission_up_to_today_the_list_is_dated_today(
    scorer: Scorer, extract: pd.DataFrame
) -> None:
    before = snapshot_day(extract) - timedelta(days=400)  # a clock behind the whole extract
    result = build_risk_list(scorer, extract, today=before)
    assert result.list_date == before and result.list_date_rule.startswith("today (UTC)")
    assert result.rows == []
    n = inpatients(extract)
    assert result.counts["left_off_admitted_after_list_date"] == n
    assert any(f"{n} patients admitted after the list date" in note for note in result.notes)


def test_an_unknown_site_is_refused_by_the_library(scorer: Scorer, extract: pd.DataFrame) -> None:
    with pytest.raises(UnknownSiteError, match="sites in the data: ") as raised:
        build_risk_list(scorer, extract, site="ryj01")
    assert all(s in str(raised.value) for s in set(extract["site"]))
    assert "did you mean RYJ01?" in str(raised.value)
    lenient = build_risk_list(scorer, extract, site="ryj01", unknown_site_is_error=False)
    assert lenient.rows == [] and lenient.list_date == snapshot_day(extract)
    assert lenient.notes == ["site ryj01 is not in the data: no patient can be listed for it"]


def _cli(args: list[str], trained_registry: TrainedRegistry) -> tuple[int, str, str]:
    done = CliRunner().invoke(app, args, env=trained_registry.env)
    return done.exit_code, done.stdout, done.stderr


def test_cli_prints_the_list_date_and_its_rule(
    trained_registry: TrainedRegistry, extract: pd.DataFrame, tmp_path: Path
) -> None:
    source = tmp_path / "with-future.parquet"
    with_future_row(extract, pd.Timestamp("2099-01-01 10:00")).to_parquet(source, index=False)
    out = tmp_path / "list.json"
    code, stdout, stderr = _cli(
        ["risk-list", "--data", str(source), "--out", str(out)], trained_registry
    )
    assert code == 0, stderr
    day = snapshot_day(extract).isoformat()
    assert f"list date {day}: the latest admission date in the data on or before today" in stdout
    data = json.loads(out.read_text())
    assert data["list_date"] == day and "on or before today" in data["list_date_rule"]
    assert max(p["days_in_hospital"] for p in data["patients"]) < 400
    assert "FUTURE-1" not in {p["spell_id"] for p in data["patients"]}


@pytest.mark.parametrize(
    ("site", "hint"),
    [("XYZ99", ""), ("ryj01", "did you mean RYJ01?"), ("RYJ01 ", "did you mean RYJ01?")],
)
def test_cli_refuses_a_mistyped_site_in_one_line(
    trained_registry: TrainedRegistry, extract_path: Path, tmp_path: Path, site: str, hint: str
) -> None:
    out = tmp_path / "list.csv"
    code, _, stderr = _cli(
        ["risk-list", "--data", str(extract_path), "--site", site, "--out", str(out)],
        trained_registry,
    )
    assert code == 1 and "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if "error" in line.lower()]
    assert errors == [stderr.strip().splitlines()[-1]], stderr  # one line, the last one
    assert errors[0].startswith(f"error: site {site!r} is not in the data; sites in the data: ")
    assert "RYJ01" in errors[0] and "RAS01" in errors[0] and hint in errors[0]
    assert not out.exists()
