"""Tests of features.load: CSV, Parquet and SQLite sources, quarantine output, write_frame."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from features.load import load_admissions, read_source, write_frame
from los.errors import DataQualityError, DataSourceError, MissingColumnError


def admissions(n: int = 6) -> pd.DataFrame:
    """`n` valid spells; row 3 (1-based) has an out-of-range age when `n` >= 3."""
    frame = pd.DataFrame(
        {
            "spell_id": [f"S{i}" for i in range(n)],
            "patient_id": [f"P{i % 3}" for i in range(n)],
            "site": "01",  # leading zero: must survive CSV reading as text
            "admission_datetime": [f"2024-02-{i + 1:02d} 09:30:00" for i in range(n)],
            "age": [str(60 + i) for i in range(n)],
            "sex": "1",
            "ethnic_category": "A",
            "admission_method": "21",
            "discharge_datetime": [f"2024-02-{i + 3:02d} 10:00:00" for i in range(n)],
            "ward_note": "kept",
        }
    )
    if n >= 3:
        frame.loc[2, "age"] = "130"
    return frame


def test_csv_source_keeps_text_and_quarantines(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    admissions().to_csv(path, index=False)
    loaded = load_admissions(
        str(path), quarantine_to=tmp_path / "q" / "quarantine.csv", max_bad_share=0.5
    )
    assert loaded.report.rows_in == 6 and loaded.report.rows_quarantined == 1
    assert loaded.frame["site"].tolist() == ["01"] * 5
    assert loaded.frame["ward_note"].tolist() == ["kept"] * 5
    assert loaded.frame["spell_id"].tolist() == ["S0", "S1", "S3", "S4", "S5"]
    written = pd.read_csv(tmp_path / "q" / "quarantine.csv", dtype=str)
    assert written[["row", "column", "value"]].values.tolist() == [["3", "age", "130"]]
    assert loaded.report.quarantine_path == str(tmp_path / "q" / "quarantine.csv")


def test_csv_null_markers_and_cp1252(tmp_path: Path) -> None:
    frame = admissions(2)
    frame["discharge_datetime"] = ["NULL", ""]
    frame["patient_id"] = ["Zoë", "P1"]
    path = tmp_path / "in.csv"
    path.write_bytes(frame.to_csv(index=False).encode("cp1252"))
    loaded = load_admissions(str(path))
    assert loaded.frame["discharge_datetime"].isna().all()
    assert loaded.frame["patient_id"].tolist() == ["Zoë", "P1"]


def test_parquet_round_trip_matches_csv(tmp_path: Path) -> None:
    csv = load_admissions(str(write_frame(admissions(), tmp_path / "a.csv")), max_bad_share=0.5)
    out = write_frame(csv.frame, tmp_path / "deep" / "typed.parquet")
    again = load_admissions(str(out))
    pd.testing.assert_frame_equal(again.frame, csv.frame)
    assert again.report.rows_quarantined == 0


def test_read_source_does_not_validate(tmp_path: Path) -> None:
    path = write_frame(admissions(), tmp_path / "a.csv")
    raw = read_source(str(path))
    assert len(raw) == 6 and raw.loc[2, "age"] == "130"


def test_too_many_bad_rows_still_write_the_quarantine(tmp_path: Path) -> None:
    path = write_frame(admissions(), tmp_path / "a.csv")
    with pytest.raises(DataQualityError, match=r"age: out of range 0-120 \(1 rows, first at row 3"):
        load_admissions(str(path), quarantine_to=tmp_path / "q.csv")
    assert len(pd.read_csv(tmp_path / "q.csv")) == 1


def test_missing_required_column(tmp_path: Path) -> None:
    path = write_frame(admissions().drop(columns="sex"), tmp_path / "a.csv")
    with pytest.raises(MissingColumnError, match="sex"):
        load_admissions(str(path))


@pytest.mark.parametrize(
    ("source", "query", "message"),
    [
        ("missing.csv", None, "data file not found"),
        ("data.txt", None, "unsupported data file type"),
        ("empty.csv", None, "is empty"),
        ("data.csv", "SELECT 1", "needs a database URL"),
        ("sqlite:///{tmp}/nope.db?table=t", None, "SQLite database not found"),
        ("sqlite:///{tmp}/db.sqlite", None, "add ?table=NAME"),
        ("sqlite:///{tmp}/db.sqlite?table=t", "SELECT 1", "not both"),
        ("sqlite:///{tmp}/db.sqlite?table=absent", None, "OperationalError"),
        ("sqlite:///{tmp}/db.sqlite", "SELECT nonsense FROM", "OperationalError"),
        ("sqlite:///{tmp}/db.sqlite", "SELEC nonsense", "must start with SELECT or WITH"),
        ("nosuchdriver://host/db?table=t", None, "cannot connect"),
    ],
)
def test_bad_sources_raise_data_source_error(
    tmp_path: Path, source: str, query: str | None, message: str
) -> None:
    (tmp_path / "data.txt").write_text("x")
    (tmp_path / "data.csv").write_text("a\n1\n")
    (tmp_path / "empty.csv").write_text("")
    sa.create_engine(f"sqlite:///{tmp_path}/db.sqlite").connect().close()
    source = source.format(tmp=tmp_path)
    if "://" not in source:
        source = str(tmp_path / source)
    with pytest.raises(DataSourceError, match=re.escape(message)):
        read_source(source, query=query)


def test_write_frame_refuses_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="unsupported output"):
        write_frame(admissions(), tmp_path / "x.xlsx")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'apc.db'}"
    engine = sa.create_engine(url)
    admissions().to_sql("apc_spells", engine, index=False)
    engine.dispose()
    return url


def test_sqlite_table_chunked_quarantine_to_file_only(
    sqlite_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="features"):
        loaded = load_admissions(
            f"{sqlite_url}?table=apc_spells",
            quarantine_to=tmp_path / "q.csv",
            max_bad_share=0.5,
            chunksize=4,
        )
    assert "read 2 chunk(s)" in caplog.text
    assert loaded.frame["spell_id"].tolist() == ["S0", "S1", "S3", "S4", "S5"]
    stored = pd.read_csv(tmp_path / "q.csv")
    assert stored[["row", "spell_id", "column"]].values.tolist() == [[3, "S2", "age"]]
    assert sa.inspect(sa.create_engine(sqlite_url)).get_table_names() == ["apc_spells"]


def test_sqlite_query_quarantine_to_file_only(sqlite_url: str, tmp_path: Path) -> None:
    query = "SELECT * FROM apc_spells WHERE spell_id IN ('S1', 'S2')"
    loaded = load_admissions(
        sqlite_url, query=query, quarantine_to=tmp_path / "q.parquet", max_bad_share=0.5
    )
    assert loaded.report.rows_in == 2 and loaded.frame["spell_id"].tolist() == ["S1"]
    assert sa.inspect(sa.create_engine(sqlite_url)).get_table_names() == ["apc_spells"]
    assert pd.read_parquet(tmp_path / "q.parquet")["row"].tolist() == [2]
    assert pd.read_parquet(tmp_path / "q.parquet")["reason"].tolist() == ["age: out of range 0-120"]


def test_sqlite_with_mapping(sqlite_url: str, tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text("name: m\nrename: {ward_note: ward}\nconstants: {site: RYJ01}\n")
    frame = read_source(f"{sqlite_url}?table=apc_spells", mapping=mapping)
    assert set(frame["site"]) == {"RYJ01"} and set(frame["ward"]) == {"kept"}
