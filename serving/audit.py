"""The audit trail: one row per score (time, model name and version, spell_id, probability, flag).

No other patient data is stored. Rows are queued by the scoring thread and written in batches by
one background thread (SQLAlchemy Core `executemany`), so writing never sits on a request's path.

Failure policy: **answer and count**. If the store fails (disk full, database down) the service
keeps answering; failed and dropped rows are counted in `los_audit_rows_failed_total`, logged
(counts and the error type only, at most every `LOG_EVERY_SECONDS`) and shown by `/ready` as
`"audit": "failing"`, so an alert can fire. The daily work of a discharge team should not stop
because the audit disk filled, and the counter says exactly how many scores went unaudited. A
batch is retried once before it is counted as failed; once the store accepts writes again
(space freed, database back, including a table that could not be created at start) writing
resumes by itself, `/ready` says `"ok"` and the recovery is logged with the count lost.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from models.registry import ModelIdentity
from serving.metrics import ServiceMetrics

log = logging.getLogger(__name__)

LOG_EVERY_SECONDS = 30.0

metadata = sa.MetaData()
score_audit = sa.Table(
    "score_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("scored_at", sa.DateTime, nullable=False),
    sa.Column("model_name", sa.String(100), nullable=False),
    sa.Column("model_version", sa.String(20), nullable=False),
    sa.Column("spell_id", sa.String(100), nullable=False),
    sa.Column("probability", sa.Float, nullable=False),
    sa.Column("flagged", sa.Boolean, nullable=False),
)


@dataclass(frozen=True)
class AuditBatch:
    """The scores of one scoring call for one model version."""

    scored_at: datetime
    model_name: str
    model_version: str
    spell_ids: list[str]
    probability: np.ndarray
    flagged: np.ndarray

    def values(self, when: Any) -> list[tuple[Any, ...]]:
        """Rows for the insert as tuples in `COLUMNS` order, `scored_at` given as `when` (the
        time as the store's driver takes it)."""
        probability, flagged = self.probability.tolist(), self.flagged.tolist()
        name, version = self.model_name, self.model_version
        return [
            (when, name, version, s, float(p), bool(f))
            for s, p, f in zip(self.spell_ids, probability, flagged, strict=True)
        ]

    def rows(self) -> list[dict[str, Any]]:
        """Rows for the insert."""
        return [
            {
                "scored_at": self.scored_at,
                "model_name": self.model_name,
                "model_version": self.model_version,
                "spell_id": s,
                "probability": float(p),
                "flagged": bool(f),
            }
            for s, p, f in zip(self.spell_ids, self.probability, self.flagged, strict=True)
        ]


COLUMNS = ("scored_at", "model_name", "model_version", "spell_id", "probability", "flagged")
_SQLITE_INSERT = (
    f"INSERT INTO {score_audit.name} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * 6)})"
)


def _engine(url: str) -> sa.Engine:
    made = sa.engine.make_url(url)
    if made.get_backend_name() == "sqlite" and made.database not in (None, "", ":memory:"):
        Path(made.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 5})

        @sa.event.listens_for(engine, "connect")
        def _wal(dbapi_conn: Any, _record: Any) -> None:  # readers never block the writer
            dbapi_conn.execute("PRAGMA journal_mode=WAL")

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


# SQLite's own fixed messages: safe to log. Other messages may quote values, so only their type.
_SAFE_MESSAGES = (
    "database or disk is full",
    "disk I/O error",
    "database is locked",
    "unable to open database file",
    "attempt to write a readonly database",
    "no such table: score_audit",
)


def _why(exc: Exception) -> str:
    """The error type, plus SQLite's message when it is one of the fixed, value-free ones."""
    message = str(getattr(exc, "orig", None) or "")
    known = next((m for m in _SAFE_MESSAGES if message.startswith(m)), None)
    return f"{type(exc).__name__}: {known}" if known else type(exc).__name__


class AuditWriter:
    """Queue scores and write them from a background thread; see the module doc for failures."""

    def __init__(
        self,
        url: str,
        metrics: ServiceMetrics,
        max_queue: int = 10_000,
        max_rows: int = 20_000,
        linger: float = 0.05,
    ) -> None:
        self.url = url
        self.metrics = metrics
        self.max_rows = max_rows
        # group commit: wait this long after the first queued call for others to join it, so a
        # stream of single scores costs one transaction per interval, not one per request (each
        # transaction's Python work competes with scoring for the GIL). The writer sleeps
        # through the interval rather than waiting on the queue: a waiting thread is woken by
        # every put, and each wake-up takes the GIL from the scoring thread and the event loop.
        self.linger = linger
        # one item per scoring call: its batches, one per target (`record_scores`)
        self._queue: queue.Queue[list[AuditBatch] | None] = queue.Queue(maxsize=max_queue)
        self._thread: threading.Thread | None = None
        self._engine: sa.Engine | None = None
        self._table_ready = False
        self._lock = threading.Lock()
        self._last_log = 0.0
        self._unlogged = 0
        self._lost_since_ok = 0
        self.healthy = True
        self.rows_written = 0
        self.rows_failed = 0

    def start(self) -> None:
        """Create the table if needed and start the writer thread."""
        try:
            self._prepare()
        except Exception as exc:  # the service still answers: see the failure policy
            self.healthy = False
            log.error("audit store unavailable at start: %s", type(exc).__name__)
        self._thread = threading.Thread(target=self._run, name="los-audit", daemon=True)
        self._thread.start()

    def record(self, *batches: AuditBatch) -> None:
        """Queue the batches of one scoring call as one item, without blocking; a full queue
        counts their rows as failed."""
        try:
            self._queue.put_nowait(list(batches))
        except queue.Full:
            self._failed(sum(len(b.spell_ids) for b in batches), "queue full")

    def record_scores(
        self, spell_ids: list[str], scored: list[tuple[ModelIdentity, np.ndarray, np.ndarray]]
    ) -> None:
        """Audit one scoring call: (model identity, probabilities, flags) per target."""
        when = datetime.now(UTC).replace(tzinfo=None)
        batches = []
        for identity, probability, flagged in scored:
            self.metrics.scores.labels(identity.name, identity.version).inc(len(spell_ids))
            batches.append(
                AuditBatch(when, identity.name, identity.version, spell_ids, probability, flagged)
            )
        if batches:
            self.record(*batches)

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the thread."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout)
        self._thread = None
        if self._engine is not None:
            self._engine.dispose()

    def _prepare(self) -> sa.Engine:
        """The engine, with the table created (retried on every write until it succeeds)."""
        if self._engine is None:
            self._engine = _engine(self.url)
        if not self._table_ready:
            try:
                metadata.create_all(self._engine)
            except sa.exc.OperationalError:
                # another worker process (`los serve --workers`) created it between the check
                # and the create: fine when it is there now
                if not sa.inspect(self._engine).has_table(score_audit.name):
                    raise
            self._table_ready = True
        return self._engine

    def _failed(self, n: int, why: str) -> None:
        """Count lost rows; log counts and the error type only, at most every LOG_EVERY_SECONDS."""
        with self._lock:  # called from the scoring thread (queue full) and the writer thread
            self.healthy = False
            self.rows_failed += n
            self._lost_since_ok += n
            self._unlogged += n
            self.metrics.audit_failed.inc(n)
            now = time.monotonic()
            if now - self._last_log < LOG_EVERY_SECONDS:
                return
            self._last_log, unlogged = now, self._unlogged
            self._unlogged = 0
        log.error(
            "audit: %d score rows not written (%s); %d lost in all",
            unlogged,
            why,
            self.rows_failed,
        )

    def _succeeded(self, n: int) -> None:
        with self._lock:
            self.healthy = True
            self.rows_written += n
            lost, self._lost_since_ok = self._lost_since_ok, 0
            self._unlogged = 0
            self._last_log = 0.0
        self.metrics.audit_written.inc(n)
        if lost:
            log.warning("audit: writing again; %d score rows were not written meanwhile", lost)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            time.sleep(self.linger)  # the others join meanwhile, without waking this thread
            batches = list(first)
            n = sum(len(b.spell_ids) for b in batches)
            while n < self.max_rows:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                batches += nxt
                n += sum(len(b.spell_ids) for b in nxt)
            self._write(batches)

    def _insert(self, conn: sa.Connection, batches: list[AuditBatch]) -> None:
        """Insert the batches' rows. On SQLite the rows go to the driver as tuples, the time
        converted once per batch by SQLAlchemy's own SQLite `DateTime` (the same stored text):
        a third of the CPU of the Core insert's per-row bind processing, which competes with
        scoring for the GIL. Other databases take the Core insert."""
        if conn.dialect.name != "sqlite":
            conn.execute(score_audit.insert(), [r for b in batches for r in b.rows()])
            return
        when = score_audit.c.scored_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        values = [v for b in batches for v in b.values(when(b.scored_at) if when else b.scored_at)]
        conn.exec_driver_sql(_SQLITE_INSERT, values)

    def _write(self, batches: list[AuditBatch]) -> None:
        rows = sum(len(b.spell_ids) for b in batches)
        for attempt in (1, 2):
            try:
                with self._prepare().begin() as conn:
                    self._insert(conn, batches)
            except Exception as exc:
                if attempt == 2:
                    self._failed(rows, _why(exc))
                    return
                time.sleep(0.2)
                continue
            self._succeeded(rows)
            return
