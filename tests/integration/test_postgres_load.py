"""Loading admissions from a real PostgreSQL server: table and query sources, chunks, quarantine
file (never a table in the source)."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from features.load import load_admissions, read_source
from los.errors import DataSourceError
from tests.integration.postgres import postgres_url_fixture

pytestmark = pytest.mark.postgres

postgres_url = postgres_url_fixture()

N = 250
BAD = {7: ("age", 140), 100: ("sex", "X"), 201: ("admission_method", 77)}


def typed_admissions() -> pd.DataFrame:
    """Spells with native types, as a warehouse holds them (ints, timestamps, NULLs)."""
    admitted = pd.Timestamp("2024-03-01 08:00") + pd.to_timedelta(range(N), unit="h")
    frame = pd.DataFrame(
        {
            "spell_id": [f"S{i:04d}" for i in range(N)],
            "patient_id": [f"P{i % 90}" for i in range(N)],
            "site": ["RYJ01", "RYJ02"] * (N // 2),
            "admission_datetime": admitted,
            "age": pd.array([20 + i % 80 for i in range(N)], dtype="Int64"),
            "sex": ["1", "2"] * (N // 2),
            "ethnic_category": [None, "A", "M", "Z", "99"] * (N // 5),
            "imd_decile": pd.array(
                [None if i % 4 == 0 else 1 + i % 10 for i in range(N)], dtype="Int64"
            ),
            "admission_method": pd.array([21] * N, dtype="Int64"),  # a numeric code column
            "discharge_datetime": admitted + pd.Timedelta(days=3),
            "discharge_pathway": pd.array([i % 4 for i in range(N)], dtype="Int64"),
        }
    )
    for row, (column, value) in BAD.items():
        frame.loc[row, column] = value
    return frame


@pytest.fixture(scope="module")
def database(postgres_url: str) -> str:
    engine = sa.create_engine(postgres_url)
    frame = typed_admissions()
    frame.to_sql("apc_spells", engine, index=False, if_exists="replace")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE SCHEMA IF NOT EXISTS warehouse"))
    frame.to_sql("apc_spells", engine, schema="warehouse", index=False, if_exists="replace")
    engine.dispose()
    return postgres_url


def test_load_table_in_chunks_quarantine_to_file_only(
    database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="features"):
        loaded = load_admissions(
            f"{database}?table=apc_spells", quarantine_to=tmp_path / "q.csv", chunksize=60
        )
    assert "read 5 chunk(s)" in caplog.text
    report = loaded.report
    assert (report.rows_in, report.rows_valid, report.rows_quarantined) == (N, N - 3, 3)
    assert report.by_reason == {
        "age: out of range 0-120": 1,
        "sex: not in code list": 1,
        "admission_method: not in code list": 1,
    }
    frame = loaded.frame
    assert frame["admission_datetime"].dtype == "datetime64[ns]"
    assert frame["imd_decile"].dtype == "float64" and frame["imd_decile"].isna().sum() > 0
    assert set(frame["admission_method"]) == {"21"}
    assert frame["ethnic_category"].isna().sum() == 0
    expected = [f"S{i:04d}" for i in range(N) if i not in BAD]
    assert frame["spell_id"].tolist() == expected  # input order kept across chunks
    engine = sa.create_engine(database)
    tables = sa.inspect(engine).get_table_names()
    engine.dispose()
    assert tables == ["apc_spells"]  # the source is never written
    stored = pd.read_csv(tmp_path / "q.csv")
    assert stored["row"].tolist() == [r + 1 for r in sorted(BAD)]
    assert stored["column"].tolist() == [BAD[r][0] for r in sorted(BAD)]


def test_load_query_and_schema_table(database: str, tmp_path: Path) -> None:
    query = "SELECT * FROM apc_spells WHERE site = 'RYJ02' ORDER BY spell_id"
    loaded = load_admissions(database, query=query, quarantine_to=tmp_path / "q.csv")
    assert loaded.report.rows_in == N // 2
    assert set(loaded.frame["site"]) == {"RYJ02"}
    assert pd.read_csv(tmp_path / "q.csv")["spell_id"].tolist() == ["S0007", "S0201"]
    schema_loaded = load_admissions(
        f"{database}?table=warehouse.apc_spells", quarantine_to=tmp_path / "q2.csv"
    )
    assert schema_loaded.report.rows_valid == N - 3
    assert len(pd.read_csv(tmp_path / "q2.csv")) == 3
    engine = sa.create_engine(database)
    tables = sa.inspect(engine).get_table_names(schema="warehouse")
    engine.dispose()
    assert tables == ["apc_spells"]


def test_same_result_as_csv(database: str, tmp_path: Path) -> None:
    csv = tmp_path / "same.csv"
    read_source(f"{database}?table=apc_spells").to_csv(csv, index=False)
    from_sql = load_admissions(f"{database}?table=apc_spells", chunksize=100).frame
    from_csv = load_admissions(str(csv)).frame
    columns = ["spell_id", "admission_datetime", "age", "sex", "ethnic_category", "imd_decile"]
    pd.testing.assert_frame_equal(from_sql[columns], from_csv[columns])


def test_errors_name_the_source_without_password(database: str) -> None:
    with pytest.raises(DataSourceError, match="absent_table"):
        read_source(f"{database}?table=absent_table")
    server, _, _ = database.rpartition("/")
    secret = server.replace("//los@", "//los:hunter2@") + "/no_such_db?table=apc_spells"
    with pytest.raises(DataSourceError) as info:
        read_source(secret)
    assert "hunter2" not in str(info.value) and "no_such_db" in str(info.value)
