"""Reading admissions: CSV, Parquet or SQL sources, an optional mapping, validation, quarantine.

`source` is a file path (``.csv``, ``.csv.gz``, ``.parquet``) or a SQLAlchemy URL. For SQL the
table comes from the URL's ``table`` query parameter (``sqlite:///x.db?table=apc_spells``,
``postgresql+psycopg://user@host:5432/db?table=public.apc_spells``), or a SQL query is given
with ``query=``. SQL is read in chunks through a streaming cursor on a read-only connection
(`features.sql_source`); a source is never written, the quarantine goes to a file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from features.export import write_csv
from features.mapping import SourceMapping, apply_mapping, load_mapping
from features.memory import release_unused_memory
from features.validate import ValidationReport, check_bad_share, quarantine_rows
from los.errors import DataSourceError, MissingColumnError
from los.schema import CSV_SUFFIXES, NA_VALUES, PARQUET_SUFFIXES, TABLE_SUFFIXES, Column

logger = logging.getLogger(__name__)

# Text read from CSV stays text (codes such as "01" keep their zero); only these mean missing.


@dataclass(frozen=True)
class LoadedAdmissions:
    """A validated source: the canonical typed frame, the quarantine and the counts."""

    frame: pd.DataFrame
    quarantine: pd.DataFrame
    report: ValidationReport


def _refuse_duplicates(path: Path, names: list[str]) -> None:
    """One line naming each repeated column name and its 1-based positions."""
    seen: dict[str, list[int]] = {}
    for position, name in enumerate(names, start=1):
        if name.strip():  # blank names become distinct "Unnamed: i" columns
            seen.setdefault(name, []).append(position)
    doubled = [f"{n} (columns {', '.join(map(str, p))})" for n, p in seen.items() if len(p) > 1]
    if doubled:
        raise DataSourceError(
            f"{path}: duplicate column name(s) in the header: {'; '.join(doubled)}"
        )


def _check_header(path: Path, encoding: str) -> None:
    """Refuse a CSV whose header repeats a name (pandas would rename the second ``age.1``)."""
    header = pd.read_csv(
        path, header=None, nrows=1, dtype=str, keep_default_na=False, encoding=encoding
    )
    _refuse_duplicates(path, [str(v) for v in header.iloc[0]] if len(header) else [])


def _read_csv(path: Path) -> pd.DataFrame:
    def read(encoding: str) -> pd.DataFrame:
        _check_header(path, encoding)
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
    if name.endswith(CSV_SUFFIXES):
        return _read_csv(path)
    if name.endswith(PARQUET_SUFFIXES):
        try:
            _refuse_duplicates(path, pq.read_schema(path).names)
            return pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            first = str(exc).strip().splitlines() or [""]
            raise DataSourceError(f"cannot read Parquet {path}: {first[0]}") from exc
    raise DataSourceError(f"unsupported data file type: {path.name} (use .csv or .parquet)")


def _read(
    source: str, query: str | None, mapping: str | Path | SourceMapping | None, chunksize: int
) -> tuple[pd.DataFrame, np.ndarray | None, SourceMapping | None]:
    sql = None
    if "://" in str(source):  # a database URL (`sql_source.is_sql_url`)
        # imported here: SQLAlchemy costs ~0.2 s of a short command that reads a file
        from features.sql_source import parse_sql_source

        sql = parse_sql_source(source, query)
    if sql is None and query is not None:
        raise DataSourceError("a query needs a database URL as the source")
    spec = load_mapping(mapping) if isinstance(mapping, str | Path) else mapping
    if sql is not None:
        from features.sql_source import read_sql

        raw = read_sql(sql, chunksize)
    else:
        raw = _read_file(source)
    logger.info("read %d rows, %d columns", len(raw), raw.shape[1])
    if spec is None:
        return raw, None, None
    frame, rows = apply_mapping(raw, spec)
    logger.info("mapping %s: %d source rows -> %d rows", spec.name, len(raw), len(frame))
    return frame, rows, spec


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
    now: datetime | None = None,
    extra_columns: tuple[Column, ...] = (),
) -> LoadedAdmissions:
    """Read, map and validate a source; bad rows go to the quarantine, never silently away.

    `extra_columns` are rules for non-contract columns the models to be used read; one absent
    from the source stays absent (the scorer then names it), it is not added empty.

    The source is only read, never written (SQL through a read-only connection, see
    `features.sql_source`). With `quarantine_to`, the quarantine is written there (even when
    empty, so no stale file survives), before `DataQualityError` is raised for a bad share
    above `max_bad_share`. `now` is the run's clock for the future-date rule (default: UTC now).
    """
    frame, rows, spec = _read(source, query, mapping, chunksize)
    try:
        present = tuple(c for c in extra_columns if c.name in frame.columns)
        valid, quarantine, report = quarantine_rows(
            frame, source_rows=rows, now=now, extra_columns=present
        )
    except MissingColumnError as exc:
        if spec is None:
            raise
        hint = f"mapping {spec.path} should supply it (rename, constants or derive)"
        raise MissingColumnError(exc.columns, hint=hint) from exc
    if quarantine_to is not None:
        path = write_frame(quarantine, quarantine_to)
        report = replace(report, quarantine_path=str(path))
    check_bad_share(report, max_bad_share, quarantine)
    release_unused_memory(len(valid))  # reading and validating leave the raw table in Arrow
    logger.info("loaded %d valid rows, quarantined %d", report.rows_valid, report.rows_quarantined)
    return LoadedAdmissions(valid, quarantine, report)


def write_frame(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write `frame` as CSV or Parquet by extension, creating parent folders; returns the path.

    CSV text cells that a spreadsheet would run as a formula are defused (`features.export`).
    """
    out = Path(path)
    name = out.name.lower()
    if not name.endswith(TABLE_SUFFIXES):
        raise DataSourceError(f"unsupported output file type: {out.name} (use .csv or .parquet)")
    out.parent.mkdir(parents=True, exist_ok=True)
    if name.endswith(PARQUET_SUFFIXES):
        frame.to_parquet(out, index=False)
    else:
        write_csv(frame, out)
    return out
