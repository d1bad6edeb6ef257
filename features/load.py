"""Reading admissions: CSV, Parquet or SQL sources, an optional mapping, validation, quarantine.

`source` is a file path (``.csv``, ``.csv.gz``, ``.parquet``) or a SQLAlchemy URL. For SQL the
table comes from the URL's ``table`` query parameter (``sqlite:///x.db?table=apc_spells``,
``postgresql+psycopg://user@host:5432/db?table=public.apc_spells``), or a SQL query is given
with ``query=``. SQL is read in chunks through a streaming cursor, so large tables do not need
the driver to buffer everything twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from features.mapping import SourceMapping, apply_mapping, load_mapping
from features.validate import ValidationReport, check_bad_share, quarantine_rows
from los.errors import DataSourceError, MissingColumnError

logger = logging.getLogger(__name__)

# Text read from CSV stays text (codes such as "01" keep their zero); only these mean missing.
NA_VALUES: tuple[str, ...] = ("", "NULL", "null", "NA", "N/A", "NaN", "nan", "None")
QUERY_QUARANTINE_TABLE = "los_quarantine"


@dataclass(frozen=True)
class LoadedAdmissions:
    """A validated source: the canonical typed frame, the quarantine and the counts."""

    frame: pd.DataFrame
    quarantine: pd.DataFrame
    report: ValidationReport


@dataclass(frozen=True)
class _SqlSource:
    url: URL
    table: str | None
    query: str | None

    @property
    def safe_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def split_table(self, name: str) -> tuple[str | None, str]:
        schema, _, table = name.rpartition(".")
        return (schema or None), table

    def statement(self) -> sa.TextClause | sa.Select[Any]:
        if self.query is not None:
            return sa.text(self.query)
        schema, table = self.split_table(str(self.table))
        return sa.select(sa.text("*")).select_from(sa.table(table, schema=schema))

    def quarantine_table(self) -> tuple[str | None, str]:
        if self.table is None:
            return None, QUERY_QUARANTINE_TABLE
        schema, table = self.split_table(self.table)
        return schema, f"{table}_quarantine"


def is_sql_url(source: str) -> bool:
    """True when `source` looks like a SQLAlchemy URL rather than a file path."""
    return "://" in str(source)


def _parse_sql(source: str, query: str | None) -> _SqlSource:
    try:
        url = make_url(source)
    except ArgumentError as exc:
        raise DataSourceError(f"not a valid database URL: {exc}") from exc
    table = url.query.get("table")
    if isinstance(table, tuple):
        table = table[-1]
    url = url.difference_update_query(["table"])
    if table and query:
        raise DataSourceError("give either ?table= in the URL or a query, not both")
    if not table and not query:
        raise DataSourceError(f"{url.render_as_string()}: add ?table=NAME to the URL or a query")
    local = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
    if local and not Path(str(url.database)).is_file():
        raise DataSourceError(f"SQLite database not found: {url.database}")
    return _SqlSource(url, table or None, query)


def _engine(src: _SqlSource) -> sa.Engine:
    try:
        return sa.create_engine(src.url)
    except (SQLAlchemyError, ImportError) as exc:
        raise DataSourceError(f"cannot connect to {src.safe_url}: {exc}") from exc


def _sql_error(src: _SqlSource, exc: Exception) -> DataSourceError:
    cause = exc.__cause__ if isinstance(exc, pd.errors.DatabaseError) and exc.__cause__ else exc
    origin = getattr(cause, "orig", None) or cause
    detail = str(origin).strip().splitlines()
    return DataSourceError(
        f"cannot read {src.safe_url}: {type(origin).__name__}: {detail[0] if detail else ''}"
    )


def _read_sql(src: _SqlSource, chunksize: int) -> pd.DataFrame:
    engine = _engine(src)
    try:
        with engine.connect() as conn:
            streaming = conn.execution_options(stream_results=True)
            chunks = list(pd.read_sql(src.statement(), streaming, chunksize=chunksize))
    except (SQLAlchemyError, pd.errors.DatabaseError, ImportError) as exc:
        raise _sql_error(src, exc) from exc
    finally:
        engine.dispose()
    logger.info("read %d chunk(s) from %s", len(chunks), src.safe_url)
    if not chunks:
        return pd.DataFrame()
    return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]


def _read_csv(path: Path) -> pd.DataFrame:
    def read(encoding: str) -> pd.DataFrame:
        return pd.read_csv(
            path, dtype=str, keep_default_na=False, na_values=list(NA_VALUES), encoding=encoding
        )

    try:
        try:
            return read("utf-8-sig")
        except UnicodeDecodeError:
            logger.warning("%s is not UTF-8; reading it as Windows-1252", path)
            return read("cp1252")
    except pd.errors.EmptyDataError as exc:
        raise DataSourceError(f"{path} is empty") from exc
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataSourceError(f"cannot parse CSV {path}: {exc}") from exc


def _read_file(source: str) -> pd.DataFrame:
    path = Path(source)
    if not path.is_file():
        raise DataSourceError(f"data file not found: {source}")
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return _read_csv(path)
    if name.endswith((".parquet", ".pq")):
        try:
            return pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise DataSourceError(f"cannot read Parquet {path}: {exc}") from exc
    raise DataSourceError(f"unsupported data file type: {path.name} (use .csv or .parquet)")


def _read(
    source: str, query: str | None, mapping: str | Path | SourceMapping | None, chunksize: int
) -> tuple[pd.DataFrame, np.ndarray | None, SourceMapping | None, _SqlSource | None]:
    sql = _parse_sql(source, query) if is_sql_url(source) else None
    if sql is None and query is not None:
        raise DataSourceError("a query needs a database URL as the source")
    spec = load_mapping(mapping) if isinstance(mapping, str | Path) else mapping
    raw = _read_sql(sql, chunksize) if sql is not None else _read_file(source)
    logger.info("read %d rows, %d columns", len(raw), raw.shape[1])
    if spec is None:
        return raw, None, None, sql
    frame, rows = apply_mapping(raw, spec)
    logger.info("mapping %s: %d source rows -> %d rows", spec.name, len(raw), len(frame))
    return frame, rows, spec, sql


def read_source(
    source: str,
    *,
    query: str | None = None,
    mapping: str | Path | None = None,
    chunksize: int = 100_000,
) -> pd.DataFrame:
    """Read `source` (after the mapping, if any) without validating it."""
    return _read(source, query, mapping, chunksize)[0]


def load_admissions(
    source: str,
    *,
    query: str | None = None,
    mapping: str | Path | None = None,
    quarantine_to: str | Path | None = None,
    max_bad_share: float = 0.05,
    chunksize: int = 100_000,
) -> LoadedAdmissions:
    """Read, map and validate a source; bad rows go to the quarantine, never silently away.

    With `quarantine_to`, the quarantine is written there (even when empty, so no stale file
    survives) and, for a SQL source, also to the table ``<table>_quarantine`` (``los_quarantine``
    for a query) in the same database, replacing the previous one. The quarantine is saved
    before `DataQualityError` is raised for a bad share above `max_bad_share`.
    """
    frame, rows, spec, sql = _read(source, query, mapping, chunksize)
    try:
        valid, quarantine, report = quarantine_rows(frame, source_rows=rows)
    except MissingColumnError as exc:
        if spec is None:
            raise
        hint = f"mapping {spec.path} should supply it (rename, constants or derive)"
        raise MissingColumnError(exc.columns, hint=hint) from exc
    if quarantine_to is not None:
        path = write_frame(quarantine, quarantine_to)
        if sql is not None:
            _write_sql_quarantine(sql, quarantine)
        report = replace(report, quarantine_path=str(path))
    check_bad_share(report, max_bad_share, quarantine)
    logger.info("loaded %d valid rows, quarantined %d", report.rows_valid, report.rows_quarantined)
    return LoadedAdmissions(valid, quarantine, report)


def _write_sql_quarantine(src: _SqlSource, quarantine: pd.DataFrame) -> None:
    schema, table = src.quarantine_table()
    engine = _engine(src)
    try:
        quarantine.to_sql(table, engine, schema=schema, if_exists="replace", index=False)
    except SQLAlchemyError as exc:
        raise _sql_error(src, exc) from exc
    finally:
        engine.dispose()
    logger.info("quarantine: %d entries written to table %s", len(quarantine), table)


def write_frame(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write `frame` as CSV or Parquet by extension, creating parent folders; returns the path."""
    out = Path(path)
    name = out.name.lower()
    if not name.endswith((".csv", ".csv.gz", ".parquet", ".pq")):
        raise DataSourceError(f"unsupported output file type: {out.name} (use .csv or .parquet)")
    out.parent.mkdir(parents=True, exist_ok=True)
    if name.endswith((".parquet", ".pq")):
        frame.to_parquet(out, index=False)
    else:
        frame.to_csv(out, index=False)
    return out
