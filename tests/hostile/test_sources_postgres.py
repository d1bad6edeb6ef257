"""Hostile queries against a real PostgreSQL server: the loader's connection is read only.

Issue 11 item 2. Sessions start with ``default_transaction_read_only=on`` and every transaction
is begun ``READ ONLY``, so a statement that passes the text check but changes the database
(``setval`` is not even undone by a rollback) is refused by the server, and so is a write after
a ``COMMIT`` smuggled past the text check.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from features.load import load_admissions
from features.sql_source import check_read_query, parse_sql_source, read_only_engine
from los.errors import DataSourceError
from tests.hostile.test_sources import NOW, assert_counts, spells
from tests.integration.postgres import postgres_url_fixture

pytestmark = pytest.mark.postgres

postgres_url = postgres_url_fixture()


@pytest.fixture(scope="module")
def database(postgres_url: str) -> str:
    engine = sa.create_engine(postgres_url)
    frame = spells(20)
    frame.loc[5, "age"] = "150"
    frame.to_sql("apc", engine, index=False, if_exists="replace")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE SEQUENCE IF NOT EXISTS spell_seq START 1"))
    engine.dispose()
    return postgres_url


def state(url: str) -> tuple[list[str], int, int]:
    """Tables, rows in `apc` and the sequence's value: what a write would change."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            tables = sorted(sa.inspect(conn).get_table_names())
            rows = conn.execute(sa.text("SELECT count(*) FROM apc")).scalar_one()
            seq = conn.execute(sa.text("SELECT last_value FROM spell_seq")).scalar_one()
            return tables, rows, seq
    finally:
        engine.dispose()


def test_a_table_with_bad_rows_loads_and_nothing_is_written(database: str, tmp_path: Path) -> None:
    before = state(database)
    loaded = load_admissions(
        f"{database}?table=apc", quarantine_to=tmp_path / "q.csv", max_bad_share=0.1, now=NOW
    )
    assert_counts(loaded)
    assert (loaded.report.rows_in, loaded.report.rows_quarantined) == (20, 1)
    assert pd.read_csv(tmp_path / "q.csv")["row"].tolist() == [6]
    assert state(database) == before == (["apc"], 20, 1)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT setval('spell_seq', 999) AS spell_id",
        "SELECT nextval('spell_seq') AS spell_id",
        "WITH gone AS (DELETE FROM apc RETURNING *) SELECT * FROM gone",
        "SELECT * FROM apc FOR UPDATE",
    ],
)
def test_writes_that_pass_the_text_check_are_refused_by_the_server(
    database: str, query: str
) -> None:
    before = state(database)
    assert check_read_query(query) == query  # it slips past the text check
    with pytest.raises(DataSourceError, match=r"read-only transaction|data-modifying") as info:
        load_admissions(database, query=query)
    assert "\n" not in str(info.value)
    assert state(database) == before


@pytest.mark.parametrize(
    "statement",
    [
        "DROP TABLE apc",
        "SELECT setval('spell_seq', 999)",
        "COMMIT; DROP TABLE apc",  # ends the READ ONLY transaction: the session default holds
        "COMMIT; SELECT setval('spell_seq', 999)",
    ],
)
def test_read_only_session_refuses_writes_even_after_a_commit(
    database: str, statement: str
) -> None:
    before = state(database)
    engine = read_only_engine(parse_sql_source(f"{database}?table=apc", None))
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW transaction_read_only").scalar_one() == "on"
            assert conn.exec_driver_sql("SHOW default_transaction_read_only").scalar_one() == "on"
        with pytest.raises(sa.exc.DBAPIError, match="read-only"), engine.connect() as conn:
            conn.exec_driver_sql(statement)
            conn.commit()
    finally:
        engine.dispose()
    assert state(database) == before


def test_options_given_in_the_url_are_kept(database: str) -> None:
    src = parse_sql_source(f"{database}?table=apc&options=-c%20statement_timeout%3D5000", None)
    engine = read_only_engine(src)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar_one() == "5s"
            assert conn.exec_driver_sql("SHOW default_transaction_read_only").scalar_one() == "on"
    finally:
        engine.dispose()


def test_each_transaction_is_read_only_even_if_the_session_default_is_turned_off(
    database: str,
) -> None:
    """The second layer alone: ``postgresql_readonly`` begins every transaction READ ONLY."""
    before = state(database)
    engine = read_only_engine(parse_sql_source(f"{database}?table=apc", None))
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SET SESSION default_transaction_read_only = off")
            conn.commit()
            with pytest.raises(sa.exc.DBAPIError, match="read-only transaction"):
                conn.exec_driver_sql("SELECT setval('spell_seq', 999)")
    finally:
        engine.dispose()
    assert state(database) == before
