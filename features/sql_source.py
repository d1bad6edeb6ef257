"""SQL sources, read only: the URL with its table or query, the statement check, the connection.

A source is never written. Two guards, so that neither alone has to be perfect:

1. the text: a query must be one statement starting with ``SELECT`` or ``WITH`` (no ``;``
   except one at the very end; no leading comment, so a MySQL ``/*! ... */`` cannot hide a
   verb). A table named by ``?table=`` is quoted as an identifier, never pasted as SQL;
2. the connection: SQLite is opened with ``mode=ro`` plus an authorizer that allows only reads
   (``mode=ro`` alone still lets ``ATTACH`` or ``VACUUM INTO`` write other files). PostgreSQL
   sessions default to read-only transactions (libpq ``default_transaction_read_only``) and
   each transaction is begun ``READ ONLY`` (SQLAlchemy's ``postgresql_readonly``). A statement
   that passes the text check but writes (SQLite ``WITH ... DELETE``, a PostgreSQL function
   with side effects such as ``setval``) is refused by the database itself. Other databases get
   the text check and a warning: use an account that can only read.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlparse

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from los.errors import DataSourceError

logger = logging.getLogger(__name__)

READ_KEYWORDS: tuple[str, ...] = ("select", "with")
_FIRST_WORD = re.compile(r"\(*\s*([A-Za-z_]+)")
_PG_READ_ONLY_OPTION = "-c default_transaction_read_only=on"
# What a SQLite read may do; anything else (ATTACH, VACUUM INTO, CREATE TEMP ...) is denied,
# since `mode=ro` protects the source file but not other files.
_SQLITE_READ_ACTIONS = frozenset(
    {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
)


@dataclass(frozen=True)
class SqlSource:
    """A database URL (without ``table``) and either a table name or a checked query."""

    url: URL
    table: str | None
    query: str | None

    @property
    def safe_url(self) -> str:
        """The URL with its password masked, for messages."""
        return self.url.render_as_string(hide_password=True)

    def statement(self) -> sa.TextClause | sa.Select[Any]:
        """The one read statement: the checked query, or ``SELECT *`` from the quoted table."""
        if self.query is not None:
            return sa.text(self.query)
        schema, _, table = str(self.table).rpartition(".")
        return sa.select(sa.text("*")).select_from(sa.table(table, schema=schema or None))


def is_sql_url(source: str) -> bool:
    """True when `source` looks like a SQLAlchemy URL rather than a file path."""
    return "://" in str(source)


def check_read_query(query: str) -> str:
    """Return `query` without a trailing ``;`` if it is one ``SELECT``/``WITH`` statement.

    Raises `DataSourceError` otherwise. Deliberately simple (no SQL parser: dialects disagree
    on quoting and comments, so a lexer could be fooled): any ``;`` before the end is refused,
    even inside a string literal. The message names the first word, never the query's text.
    """
    text = query.strip()
    if text.endswith(";"):
        text = text[:-1].rstrip()
    if ";" in text:
        raise DataSourceError(
            "--query must be a single statement (';' is allowed only at the very end)"
        )
    match = _FIRST_WORD.match(text)
    word = match.group(1).lower() if match else ""
    if word not in READ_KEYWORDS:
        shown = word.upper() if word and len(word) <= 20 else "a comment or a symbol"
        raise DataSourceError(
            "--query must start with SELECT or WITH (sources are read only); "
            f"it starts with {shown}"
        )
    return text


def parse_sql_source(source: str, query: str | None) -> SqlSource:
    """Split `source` into URL and ``?table=``, or check `query`; SQLite files must exist."""
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
    if url.get_backend_name() == "sqlite":
        path = _sqlite_path(url)
        if path is not None and not Path(path).is_file():
            raise DataSourceError(f"SQLite database not found: {path}")
    return SqlSource(url, table or None, check_read_query(query) if query else None)


def _sqlite_uri(url: URL) -> bool:
    return str(url.query.get("uri", "")).lower() in ("1", "true")


def _sqlite_path(url: URL) -> str | None:
    """The file a SQLite URL names (plain path or ``file:`` URI); None for an in-memory one."""
    database = str(url.database or "")
    if database in ("", ":memory:"):
        return None
    if _sqlite_uri(url) and database.startswith("file:"):
        if url.query.get("mode") == "memory":
            return None
        return unquote(urlparse(database).path)
    return database


def _sqlite_read_only(url: URL) -> URL:
    """The same database as a ``file:...?mode=ro`` URI.

    A ``mode`` given in the URL is replaced; other parameters are kept (SQLAlchemy passes its
    driver options such as ``timeout`` to the driver and the rest, e.g. ``immutable=1`` for a
    file on read-only media, into the URI).
    """
    path = _sqlite_path(url)
    if path is None:
        return url
    options = {k: v for k, v in url.query.items() if k not in ("mode", "uri")}
    database = "file:" + quote(os.path.abspath(path), safe="/")
    return url.set(database=database, query={**options, "mode": "ro", "uri": "true"})


def _sqlite_authorize(action: int, arg1: Any, arg2: Any, *_: Any) -> int:
    """Allow reading (and pragmas read without a value, as SQLAlchemy does); deny the rest."""
    reading = action in _SQLITE_READ_ACTIONS or (action == sqlite3.SQLITE_PRAGMA and arg2 is None)
    return sqlite3.SQLITE_OK if reading else sqlite3.SQLITE_DENY


def _deny_sqlite_writes(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.set_authorizer(_sqlite_authorize)


def read_only_engine(src: SqlSource) -> sa.Engine:
    """An engine whose connections cannot change the source where the driver allows it."""
    url = src.url
    backend = url.get_backend_name()
    kwargs: dict[str, Any] = {}
    if backend == "sqlite":
        url = _sqlite_read_only(url)
    elif backend == "postgresql":
        kwargs["execution_options"] = {"postgresql_readonly": True}
        if url.get_driver_name() in ("psycopg", "psycopg2"):
            given = url.query.get("options")
            given = given[-1] if isinstance(given, tuple) else given
            options = f"{given} {_PG_READ_ONLY_OPTION}" if given else _PG_READ_ONLY_OPTION
            kwargs["connect_args"] = {"options": options}
    else:
        logger.warning(
            "%s: the loader cannot open this kind of database read only; only SELECT/WITH "
            "queries are sent, but use an account that can only read",
            backend,
        )
    try:
        engine = sa.create_engine(url, **kwargs)
    except (SQLAlchemyError, ImportError) as exc:
        raise DataSourceError(f"cannot connect to {src.safe_url}: {exc}") from exc
    if backend == "sqlite":
        sa.event.listen(engine, "connect", _deny_sqlite_writes)
    return engine


def sql_error(src: SqlSource, exc: Exception) -> DataSourceError:
    """A one-line error naming the source (password masked) and the driver's first line."""
    cause = exc.__cause__ if isinstance(exc, pd.errors.DatabaseError) and exc.__cause__ else exc
    origin = getattr(cause, "orig", None) or cause
    detail = str(origin).strip().splitlines()
    return DataSourceError(
        f"cannot read {src.safe_url}: {type(origin).__name__}: {detail[0] if detail else ''}"
    )


def read_sql(src: SqlSource, chunksize: int) -> pd.DataFrame:
    """Read the table or query in chunks through a streaming cursor on a read-only engine."""
    engine = read_only_engine(src)
    try:
        with engine.connect() as conn:
            streaming = conn.execution_options(stream_results=True)
            chunks = list(pd.read_sql(src.statement(), streaming, chunksize=chunksize))
    except (SQLAlchemyError, pd.errors.DatabaseError, ImportError) as exc:
        raise sql_error(src, exc) from exc
    finally:
        engine.dispose()
    logger.info("read %d chunk(s) from %s", len(chunks), src.safe_url)
    if not chunks:
        return pd.DataFrame()
    return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
