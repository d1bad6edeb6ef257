"""Hostile inputs for the loader: sources stay read only, bad rows never reach a score.

Issue 11: `--query` and `?table=` cannot change a database (item 2); a read-only SQLite file with
bad rows loads and stays byte-identical, the quarantine goes to a file (3); future dates are
quarantined (6); missing optional inputs are reported (12); duplicate CSV/Parquet columns stop
the run (13); text longer than the schema's limit is quarantined on every path (14). Every load
keeps ``rows_in == rows_valid + rows_quarantined``.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from features.completeness import OPTIONAL_INPUTS, input_fields, missing_inputs
from features.load import LoadedAdmissions, load_admissions
from features.sql_source import check_read_query, parse_sql_source, read_only_engine
from features.validate import FUTURE_TOLERANCE, validate_admissions
from los.errors import ConfigError, DataQualityError, DataSourceError
from los.schema import COLUMNS, COLUMNS_BY_NAME

NOW = datetime(2025, 3, 1, 12, 0)
TEXT_LIMITED = [c for c in COLUMNS if c.kind == "str" and c.codes is None]


def spells(n: int = 6) -> pd.DataFrame:
    """`n` valid spells as text (every contract column), admitted and discharged before `NOW`."""
    admitted = pd.Timestamp("2025-01-01 08:00") + pd.to_timedelta(np.arange(n) * 6, unit="h")

    def text(offset_hours: int) -> list[str]:
        return [str(t) for t in admitted + pd.Timedelta(hours=offset_hours)]

    return pd.DataFrame(
        {
            "spell_id": [f"S{i}" for i in range(n)],
            "patient_id": [f"P{i % 3}" for i in range(n)],
            "site": "RYJ01",
            "ward": "AMU",
            "specialty": "300",
            "admission_datetime": text(0),
            "age": "70",
            "sex": "2",
            "ethnic_category": "A",
            "imd_decile": "3",
            "admission_method": "21",
            "admission_source": "19",
            "primary_diagnosis": "J18",
            "frailty_score": "4.5",
            "comorbidity_count": "2",
            "discharge_datetime": text(10),
            "discharge_ready_datetime": text(4),
            "discharge_destination": "19",
            "discharge_pathway": "0",
        }
    )


def assert_counts(loaded: LoadedAdmissions) -> None:
    """Rows in = valid + quarantined, and the quarantine names exactly the quarantined rows."""
    r = loaded.report
    assert r.rows_in == r.rows_valid + r.rows_quarantined
    assert len(loaded.frame) == r.rows_valid
    assert loaded.quarantine["row"].nunique() == r.rows_quarantined


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sqlite_db(path: Path, frame: pd.DataFrame, table: str = "apc") -> str:
    engine = sa.create_engine(f"sqlite:///{path}")
    frame.to_sql(table, engine, index=False)
    engine.dispose()
    return f"sqlite:///{path}"


def tables_and_rows(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            names = sa.inspect(conn).get_table_names()
            return {
                t: conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in names
            }
    finally:
        engine.dispose()


@pytest.fixture
def warehouse(tmp_path: Path) -> tuple[str, Path]:
    path = tmp_path / "wh" / "warehouse.db"
    path.parent.mkdir()
    return sqlite_db(path, spells()), path


# --- item 2: a query is one read statement, and the connection refuses writes anyway ----------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("DROP TABLE apc", "must start with SELECT or WITH"),
        ("DELETE FROM apc", "must start with SELECT or WITH"),
        ("INSERT INTO apc SELECT * FROM apc", "must start with SELECT or WITH"),
        ("PRAGMA writable_schema = 1", "must start with SELECT or WITH"),
        ("ATTACH DATABASE 'x.db' AS x", "must start with SELECT or WITH"),
        ("/*! DROP TABLE apc */ SELECT 1", "must start with SELECT or WITH"),
        ("-- note\nDROP TABLE apc", "must start with SELECT or WITH"),
        ("SELECT * FROM apc; DROP TABLE apc", "single statement"),
        ("SELECT 1;DROP TABLE apc;", "single statement"),
        ("select * from apc where ward = ';' ", "single statement"),  # refused, not parsed
        ("  ;  ", "must start with SELECT or WITH"),
    ],
)
def test_query_must_be_one_read_statement(
    warehouse: tuple[str, Path], query: str, message: str
) -> None:
    url, path = warehouse
    before, tables = sha256(path), tables_and_rows(url)
    with pytest.raises(DataSourceError, match=message) as info:
        load_admissions(url, query=query)
    assert "\n" not in str(info.value)
    assert "apc" not in str(info.value)  # the query's text is never echoed
    assert sha256(path) == before and tables_and_rows(url) == tables


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM apc",
        "  select * from apc ;  \n",
        "WITH recent AS (SELECT * FROM apc) SELECT * FROM recent",
        "(SELECT * FROM apc)",
    ],
)
def test_read_statements_are_accepted(query: str) -> None:
    assert check_read_query(query) == query.strip().removesuffix(";").rstrip()


@settings(max_examples=60, deadline=None)
@given(head=st.text(max_size=30), tail=st.text(min_size=1, max_size=30).filter(str.strip))
def test_a_semicolon_followed_by_anything_is_refused(head: str, tail: str) -> None:
    with pytest.raises(DataSourceError, match="single statement"):
        check_read_query(f"SELECT {head};{tail}")


@settings(max_examples=60, deadline=None)
@given(word=st.from_regex(r"[A-Za-z_]{1,12}", fullmatch=True), rest=st.text(max_size=20))
def test_only_select_or_with_may_start_a_query(word: str, rest: str) -> None:
    query = f"{word} {rest}".replace(";", "")
    if word.lower() in ("select", "with"):
        check_read_query(query)
    else:
        with pytest.raises(DataSourceError, match="must start with SELECT or WITH"):
            check_read_query(query)


SLIPS_PAST = "WITH x AS (SELECT 1) DELETE FROM apc"  # one statement starting WITH: passes the text


@pytest.mark.parametrize(
    "statement",
    [
        "DROP TABLE apc",
        SLIPS_PAST,
        "CREATE TABLE stolen AS SELECT * FROM apc",
        "UPDATE apc SET age = '1'",
        "PRAGMA user_version = 7",
        "ATTACH DATABASE '{dir}/copy.db' AS copy",
        "VACUUM INTO '{dir}/copy.db'",
    ],
)
def test_read_only_connection_refuses_what_slips_past_the_text(
    warehouse: tuple[str, Path], statement: str
) -> None:
    url, path = warehouse
    before, tables = sha256(path), tables_and_rows(url)
    statement = statement.format(dir=path.parent)
    engine = read_only_engine(parse_sql_source(f"{url}?table=apc", None))
    try:
        with pytest.raises(sa.exc.DBAPIError), engine.connect() as conn:
            conn.exec_driver_sql(statement)
            conn.commit()
    finally:
        engine.dispose()
    assert sha256(path) == before and tables_and_rows(url) == tables
    assert sorted(os.listdir(path.parent)) == ["warehouse.db"]  # no copy, no journal


@pytest.mark.parametrize("statement", ["DROP TABLE apc", "DELETE FROM apc"])
def test_sqlite_file_is_opened_read_only_even_without_the_authorizer(
    warehouse: tuple[str, Path], statement: str
) -> None:
    """The second layer alone: `mode=ro` refuses a write when the authorizer is taken off."""
    url, path = warehouse
    before = sha256(path)
    engine = read_only_engine(parse_sql_source(f"{url}?table=apc", None))
    raw = engine.raw_connection()
    try:
        raw.driver_connection.set_authorizer(None)  # type: ignore[union-attr]
        with pytest.raises(Exception, match="readonly database"):
            raw.cursor().execute(statement)
            raw.commit()
    finally:
        raw.close()
        engine.dispose()
    assert sha256(path) == before and tables_and_rows(url) == {"apc": 6}


def test_a_write_that_passes_the_text_check_is_refused_when_loading(
    warehouse: tuple[str, Path],
) -> None:
    url, path = warehouse
    before = sha256(path)
    assert check_read_query(SLIPS_PAST) == SLIPS_PAST
    with pytest.raises(DataSourceError, match=r"not authorized|readonly"):
        load_admissions(url, query=SLIPS_PAST)
    assert sha256(path) == before and tables_and_rows(url) == {"apc": 6}


@pytest.mark.parametrize(
    "table", ["apc;DROP TABLE apc", 'apc"; DROP TABLE apc; --', "apc WHERE 1=0 UNION SELECT 1"]
)
def test_table_parameter_is_an_identifier_never_sql(
    warehouse: tuple[str, Path], table: str
) -> None:
    url, path = warehouse
    before = sha256(path)
    with pytest.raises(DataSourceError, match="no such table"):
        load_admissions(f"{url}?table={table}")
    assert sha256(path) == before and tables_and_rows(url) == {"apc": 6}


def test_sqlite_uri_mode_in_the_url_cannot_reopen_for_writing(warehouse: tuple[str, Path]) -> None:
    url, path = warehouse
    src = parse_sql_source(f"sqlite:///file:{path}?mode=rwc&uri=true&table=apc", None)
    engine = read_only_engine(src)
    try:
        assert engine.url.query["mode"] == "ro"
        with pytest.raises(sa.exc.DBAPIError), engine.connect() as conn:
            conn.exec_driver_sql("DROP TABLE apc")
    finally:
        engine.dispose()
    assert tables_and_rows(url) == {"apc": 6}


# --- item 3: a read-only source with bad rows loads; quarantine to a file; bytes unchanged ----


@pytest.fixture
def read_only_warehouse(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A SQLite file with 2 bad rows, chmod 444 in a chmod 555 folder (restored afterwards)."""
    frame = spells(40)
    frame.loc[3, "age"] = "140"
    frame.loc[9, "admission_datetime"] = "2099-01-01 08:00:00"
    frame.loc[9, ["discharge_datetime", "discharge_ready_datetime"]] = None
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "warehouse.db"
    url = sqlite_db(path, frame)
    path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    folder.chmod(0o555)  # as root these do not stop writes; the hash check below still holds
    try:
        yield url, path
    finally:
        folder.chmod(0o755)
        path.chmod(0o644)


@pytest.mark.parametrize(
    ("suffix", "query"),
    [
        ("?table=apc", None),
        ("?table=apc&immutable=1", None),
        ("", "SELECT * FROM apc ORDER BY spell_id"),
    ],
)
def test_read_only_sqlite_with_bad_rows_loads_and_stays_unchanged(
    read_only_warehouse: tuple[str, Path], tmp_path: Path, suffix: str, query: str | None
) -> None:
    url, path = read_only_warehouse
    before, listing = sha256(path), sorted(os.listdir(path.parent))
    quarantine = tmp_path / "out" / "quarantine.csv"
    loaded = load_admissions(
        url + suffix, query=query, quarantine_to=quarantine, max_bad_share=0.1, now=NOW
    )
    assert_counts(loaded)
    assert (loaded.report.rows_in, loaded.report.rows_quarantined) == (40, 2)
    written = pd.read_csv(quarantine, dtype=str)
    assert written["column"].tolist() == ["age", "admission_datetime"]
    assert sha256(path) == before and sorted(os.listdir(path.parent)) == listing
    assert tables_and_rows(url) == {"apc": 40}  # no <table>_quarantine, no los_quarantine


# --- item 6: dates after the run's clock are quarantined, naming the field --------------------

DATES = ["admission_datetime", "discharge_datetime", "discharge_ready_datetime"]
FUTURE_ADMISSION = "admission_datetime: in the future (after the run's clock)"


@pytest.mark.parametrize("column", DATES)
@pytest.mark.parametrize(
    ("ahead", "quarantined"),
    [
        (FUTURE_TOLERANCE + timedelta(minutes=1), True),
        (timedelta(days=365 * 70), True),
        (FUTURE_TOLERANCE - timedelta(minutes=1), False),
    ],
)
def test_future_dates_are_quarantined(column: str, ahead: timedelta, quarantined: bool) -> None:
    frame = spells(5)
    when = (NOW + ahead).isoformat(sep=" ")
    if column == "admission_datetime":  # a future admission: still in hospital
        frame.loc[2, ["discharge_datetime", "discharge_ready_datetime"]] = None
    if column == "discharge_datetime":
        frame.loc[2, "discharge_ready_datetime"] = None
    if column == "discharge_ready_datetime":
        frame.loc[2, "discharge_datetime"] = None
    frame.loc[2, column] = when
    valid, quarantine, report = validate_admissions(frame, max_bad_share=1.0, now=NOW)
    assert report.rows_in == report.rows_valid + report.rows_quarantined == 5
    if quarantined:
        assert quarantine[["row", "column"]].values.tolist() == [[3, column]]
        assert quarantine["reason"].tolist() == [f"{column}: in the future (after the run's clock)"]
        assert "S2" not in valid["spell_id"].tolist()
    else:
        assert quarantine.empty and report.rows_valid == 5


def test_one_row_dated_2099_leaves_the_others_alone_on_the_real_clock() -> None:
    frame = spells(50)
    frame.loc[7, "admission_datetime"] = "2099-06-01 09:00:00"
    frame.loc[7, ["discharge_datetime", "discharge_ready_datetime"]] = None
    valid, quarantine, report = validate_admissions(frame, max_bad_share=0.05)  # now = UTC now
    assert (report.rows_valid, report.rows_quarantined) == (49, 1)
    assert valid["admission_datetime"].max() < pd.Timestamp(datetime.now(UTC).replace(tzinfo=None))
    assert quarantine["reason"].tolist() == [FUTURE_ADMISSION]


def test_an_aware_clock_is_read_as_utc() -> None:
    frame = spells(2)
    frame.loc[1, "admission_datetime"] = "2025-03-02 15:00:00"
    frame.loc[1, ["discharge_datetime", "discharge_ready_datetime"]] = None
    plus_five = datetime(2025, 3, 1, 17, 0, tzinfo=timezone(timedelta(hours=5)))  # = NOW in UTC
    _, q_naive, _ = validate_admissions(frame, max_bad_share=1.0, now=NOW)
    _, q_aware, _ = validate_admissions(frame, max_bad_share=1.0, now=plus_five)
    assert q_naive.equals(q_aware) and q_naive["row"].tolist() == [2]


@settings(max_examples=40, deadline=None)
@given(minutes=st.integers(-3 * 24 * 60, 3 * 24 * 60))
def test_future_rule_boundary(minutes: int) -> None:
    frame = spells(1)
    frame[["discharge_datetime", "discharge_ready_datetime"]] = None
    frame.loc[0, "admission_datetime"] = (NOW + timedelta(minutes=minutes)).isoformat(sep=" ")
    _, _, report = validate_admissions(frame, max_bad_share=1.0, now=NOW)
    assert report.rows_quarantined == int(timedelta(minutes=minutes) > FUTURE_TOLERANCE)


# --- item 12: missing optional inputs are reported, per column and per row --------------------


def test_missing_optional_columns_are_reported_with_their_share(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    frame = spells(8).drop(columns=["ward", "imd_decile", "frailty_score"])
    frame.loc[[1, 4], "specialty"] = ""
    frame["primary_diagnosis"] = "SECRET-DIAGNOSIS"
    path = tmp_path / "in.csv"
    frame.to_csv(path, index=False)
    with caplog.at_level(logging.WARNING):
        loaded = load_admissions(str(path), now=NOW)
    assert_counts(loaded)
    found = {m.column: (m.rows, m.share, m.absent) for m in loaded.report.missing_inputs}
    assert found == {
        "ward": (8, 1.0, True),
        "specialty": (2, 0.25, False),
        "imd_decile": (8, 1.0, True),
        "frailty_score": (8, 1.0, True),
    }
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 4
    assert "missing input specialty: blank in 2 of 8 rows (25.0%)" in warnings
    assert "missing input imd_decile: not in the source, missing for all rows (100%)" in warnings
    assert "SECRET" not in caplog.text
    assert "missing input frailty_score" in loaded.report.summary()


def test_a_complete_source_reports_nothing_missing() -> None:
    _, _, report = validate_admissions(spells(4), now=NOW)
    assert report.missing_inputs == ()


def test_missing_inputs_per_row_lists_blank_and_absent_fields() -> None:
    frame = pd.DataFrame(
        {
            "imd_decile": [1.0, np.nan, np.nan, 4.0],
            "frailty_score": [np.nan, 2.0, np.nan, 3.0],
        }
    )
    fields = input_fields(["frailty_score", "prior_admissions_365d", "imd_decile", "specialty"])
    assert fields == ("specialty", "imd_decile", "frailty_score")  # schema order, no history
    assert missing_inputs(frame, fields).tolist() == [
        "specialty; frailty_score",
        "specialty; imd_decile",
        "specialty; imd_decile; frailty_score",
        "specialty",
    ]
    assert missing_inputs(frame, ()).tolist() == ["", "", "", ""]


@settings(max_examples=50, deadline=None)
@given(
    blanks=st.lists(
        st.lists(st.booleans(), min_size=len(OPTIONAL_INPUTS), max_size=len(OPTIONAL_INPUTS)),
        max_size=70,
    )
)
def test_missing_inputs_matches_a_row_by_row_join(blanks: list[list[bool]]) -> None:
    fields = OPTIONAL_INPUTS
    mask = np.array(blanks, dtype=bool).reshape(len(blanks), len(fields))
    frame = pd.DataFrame(np.where(mask, np.nan, 1.0), columns=list(fields))
    expected = ["; ".join(f for f, b in zip(fields, row, strict=True) if b) for row in mask]
    assert missing_inputs(frame, fields).tolist() == expected


# --- item 13: duplicate column names stop the run, on every path ------------------------------


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize(
    ("column", "named"), [("age", "age (columns 7, 20)"), ("spell_id", "spell_id (columns 1, 20)")]
)
def test_duplicate_csv_columns_stop_the_run(
    tmp_path: Path, column: str, named: str, compress: bool
) -> None:
    frame = spells(3)
    frame["dup"] = frame[column]
    text = frame.to_csv(index=False).replace(",dup\n", f",{column}\n", 1)
    path = tmp_path / ("in.csv.gz" if compress else "in.csv")
    if compress:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    with pytest.raises(DataSourceError, match="duplicate column name") as info:
        load_admissions(str(path))
    assert named in str(info.value) and "\n" not in str(info.value)


def test_a_real_age_1_column_is_not_a_duplicate(tmp_path: Path) -> None:
    frame = spells(3).assign(**{"age.1": "x"})
    path = tmp_path / "in.csv"
    frame.to_csv(path, index=False)
    loaded = load_admissions(str(path), now=NOW)
    assert loaded.frame["age.1"].tolist() == ["x", "x", "x"]


def test_duplicate_parquet_columns_stop_the_run_in_one_line(tmp_path: Path) -> None:
    frame = spells(3)
    arrays = [pa.array(frame[c]) for c in frame.columns] + [pa.array(frame["age"])]
    path = tmp_path / "in.parquet"
    pq.write_table(pa.table(arrays, names=[*frame.columns, "age"]), path)
    with pytest.raises(DataSourceError, match=r"duplicate column name\(s\) in the header: age"):
        load_admissions(str(path))


def test_duplicate_sql_columns_and_mapping_collisions_stop_the_run(
    warehouse: tuple[str, Path], tmp_path: Path
) -> None:
    url, _ = warehouse
    with pytest.raises(DataSourceError, match="duplicate column names in the source: age"):
        load_admissions(url, query="SELECT *, age FROM apc")
    two_to_one = tmp_path / "two.yaml"
    two_to_one.write_text("name: m\nrename: {ward: site, specialty: site}\n")
    with pytest.raises(ConfigError, match="several source columns renamed to site"):
        load_admissions(f"{url}?table=apc", mapping=two_to_one)
    onto_existing = tmp_path / "onto.yaml"
    onto_existing.write_text("name: m\nrename: {ward: site}\n")
    with pytest.raises(ConfigError, match=r"rename target.*already in the source: site"):
        load_admissions(f"{url}?table=apc", mapping=onto_existing)


# --- item 14: text longer than the schema's limit is quarantined on every path ----------------


def test_every_text_column_has_a_limit_in_the_schema() -> None:
    for column in COLUMNS:
        if column.kind == "str":
            assert column.max_length, column.name
            if column.codes:
                assert column.max_length == max(len(c) for c in column.codes)


def _over(column: str, n: int) -> pd.DataFrame:
    frame = spells(10)
    frame.loc[4, column] = "X" * n
    return frame


@pytest.mark.parametrize("path_kind", ["csv", "parquet", "sqlite"])
@pytest.mark.parametrize("column", [c.name for c in TEXT_LIMITED])
def test_text_longer_than_its_limit_is_quarantined_on_every_path(
    tmp_path: Path, column: str, path_kind: str
) -> None:
    limit = int(COLUMNS_BY_NAME[column].max_length or 0)
    frame = _over(column, limit + 1)
    frame.loc[6, column] = "Y" * limit  # exactly at the limit: fine
    if path_kind == "sqlite":
        source = sqlite_db(tmp_path / "db.sqlite", frame) + "?table=apc"
    else:
        source = str(tmp_path / f"in.{path_kind}")
        if path_kind == "csv":
            frame.to_csv(source, index=False)
        else:
            frame.to_parquet(source)
    loaded = load_admissions(source, max_bad_share=0.2, now=NOW)
    assert_counts(loaded)
    q = loaded.quarantine
    assert q[["row", "column", "reason"]].values.tolist() == [
        [5, column, f"{column}: longer than {limit} characters"]
    ]
    assert "Y" * limit in loaded.frame[column].tolist()


def test_two_million_character_spell_id_is_quarantined_and_cut_in_the_quarantine(
    tmp_path: Path,
) -> None:
    frame = spells(30)
    frame.loc[12, "spell_id"] = "S" * 2_000_000
    path = tmp_path / "in.csv"
    frame.to_csv(path, index=False)
    loaded = load_admissions(str(path), quarantine_to=tmp_path / "q.csv", now=NOW)
    assert_counts(loaded)
    assert loaded.report.by_reason == {"spell_id: longer than 100 characters": 1}
    written = pd.read_csv(tmp_path / "q.csv", dtype=str)
    assert written["spell_id"].str.len().max() <= 100 and written["value"].str.len().max() <= 50
    assert loaded.frame["spell_id"].str.len().max() <= 100


def test_too_many_long_values_stop_the_run_without_echoing_them(tmp_path: Path) -> None:
    frame = spells(10)
    frame.loc[:4, "patient_id"] = [f"NHS-SECRET-{i}-" + "Z" * 120 for i in range(5)]
    with pytest.raises(DataQualityError, match="patient_id: longer than 100") as info:
        validate_admissions(frame, now=NOW)
    assert "SECRET" not in str(info.value) and "row 1" in str(info.value)


@pytest.mark.parametrize("column", [c.name for c in TEXT_LIMITED])
def test_api_takes_its_text_limits_from_the_schema(column: str) -> None:
    from pydantic import ValidationError

    from serving.schemas import Admission

    limit = int(COLUMNS_BY_NAME[column].max_length or 0)
    base = {
        "spell_id": "S1",
        "patient_id": "P1",
        "site": "RYJ01",
        "admission_datetime": "2025-01-10T10:00:00",
        "age": 80,
        "sex": "2",
        "admission_method": "21",
    }
    field = Admission.model_json_schema()["properties"][column]
    lengths = [f.get("maxLength") for f in field.get("anyOf", [field]) if f.get("type") == "string"]
    assert lengths == [limit]  # the OpenAPI schema says so too
    Admission.model_validate({**base, column: "A" * limit})
    with pytest.raises(ValidationError) as info:
        Admission.model_validate({**base, column: "A" * (limit + 1)})
    assert [e["loc"] for e in info.value.errors()] == [(column,)]
