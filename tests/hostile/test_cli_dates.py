"""Dates after the data: `los risk-list --date` and `los forecast --date` refuse a list date
after the census's latest admission date (a usage error, exit 2, one line), before any model
loads, unless `--allow-future-date` says it is wanted."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from models.census import date_after_data, latest_supported_date
from tests.factories import admission, frame
from tests.hostile.test_cli_arguments import run_los

LATEST = "2024-03-05"  # the latest admission date in the workspace's census
TODAY = date(2026, 1, 1)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A census whose latest admission is on LATEST, and no registry at all."""
    tmp = tmp_path_factory.mktemp("cli_dates")
    latest = admission(spell_id="S2", admission_datetime=pd.Timestamp(f"{LATEST} 09:30"))
    rows = frame(admission(), latest)
    for col in ("discharge_datetime", "discharge_ready_datetime", "discharge_destination",
                "discharge_pathway"):  # fmt: skip
        rows[col] = None  # both still in hospital
    rows.to_csv(tmp / "census.csv", index=False)
    return tmp


def _command(workspace: Path, command: str, *extra: str) -> list[str]:
    suffix = "html" if command == "risk-list" else "json"
    out = workspace / f"{command}.{suffix}"
    return [command, "--data", str(workspace / "census.csv"), "--out", str(out), *extra]


@pytest.mark.parametrize("command", ["risk-list", "forecast"])
@pytest.mark.parametrize("day", ["2052-03-05", "2024-03-06"])  # a typo; the day after the data
def test_a_date_after_the_data_is_refused_before_any_model_loads(
    workspace: Path, command: str, day: str
) -> None:
    code, stdout, stderr, _ = run_los(_command(workspace, command, "--date", day), workspace)
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert code == 2, stderr
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert "'--date'" in lines[0] and day in lines[0] and LATEST in lines[0]
    assert "--allow-future-date" in lines[0]
    assert "mlflow" not in stdout.splitlines()[-1]  # refused before the registry
    assert not (workspace / f"{command}.html").exists()
    assert not (workspace / f"{command}.json").exists()


def test_the_flag_lets_a_later_date_through(workspace: Path) -> None:
    args = _command(workspace, "forecast", "--date", "2024-03-20", "--allow-future-date")
    code, stdout, stderr, _ = run_los(args, workspace)
    assert code == 0, stderr
    assert "list date 2024-03-20: the date given" in stdout


def test_the_latest_admission_date_itself_is_accepted(workspace: Path) -> None:
    code, stdout, stderr, _ = run_los(_command(workspace, "forecast", "--date", LATEST), workspace)
    assert code == 0, stderr
    assert f"list date {LATEST}: the date given" in stdout


def test_latest_supported_date_is_the_default_list_date() -> None:
    census = frame(
        admission(admission_datetime=pd.Timestamp("2025-05-01 23:00")),
        admission(spell_id="S2", admission_datetime=pd.Timestamp("2099-01-01 10:00")),  # mis-dated
    )
    assert latest_supported_date(census, None, TODAY) is None
    assert latest_supported_date(census, date(2025, 5, 1), TODAY) is None
    assert latest_supported_date(census, date(2025, 4, 1), TODAY) is None
    # the mis-dated admission in 2099 does not stretch what the data supports
    assert latest_supported_date(census, date(2025, 5, 2), TODAY) == date(2025, 5, 1)
    assert latest_supported_date(census, date(2099, 1, 1), TODAY) == date(2025, 5, 1)
    empty = census.iloc[:0]
    assert latest_supported_date(empty, date(2026, 1, 2), TODAY) == TODAY
    assert latest_supported_date(census.drop(columns="admission_datetime"), TODAY, TODAY) is None


def test_date_after_data_is_one_wording_with_or_without_the_dates() -> None:
    """The CLI's line names the date asked and the latest supported; the service's names neither
    (an HTTP error body echoes no value sent and no patient's admission date)."""
    census = frame(admission(admission_datetime=pd.Timestamp("2025-05-01 23:00")))
    on = date(2025, 5, 2)
    cli = date_after_data(census, on, TODAY, override="--allow-future-date")
    api = date_after_data(census, on, TODAY, override="send allow_after_data: true", shown=False)
    assert cli is not None and api is not None
    assert cli.startswith("2025-05-02 is after the latest admission date in the data on or before")
    assert "2025-05-01" in cli and cli.endswith("or --allow-future-date)")
    assert "2025" not in api and api.endswith("or send allow_after_data: true)")
    assert cli.split(": ", 1)[1].split(" (")[0] == api.split(": ", 1)[1].split(" (")[0]
    assert date_after_data(census, date(2025, 5, 1), TODAY, override="x") is None
    assert date_after_data(census, None, TODAY, override="x") is None
    # after today (UTC) is after the data, even with an admission dated later than both
    later = frame(admission(admission_datetime=pd.Timestamp("2099-01-01 10:00")))
    assert date_after_data(later, TODAY + timedelta(days=1), TODAY, override="x") is not None
