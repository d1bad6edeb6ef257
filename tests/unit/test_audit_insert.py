"""The audit trail's SQLite insert (driver tuples) stores exactly what the Core insert stores."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from serving.audit import AuditBatch, AuditWriter, score_audit
from serving.metrics import ServiceMetrics


def _batches() -> list[AuditBatch]:
    rng = np.random.default_rng(1)
    at = [datetime(2025, 3, 4, 5, 6, 7, 891011), datetime(2025, 3, 4, 5, 6, 8)]
    return [
        AuditBatch(when, f"los-{name}", "7", ["S1", "S2", "Ș3"], rng.random(3), rng.random(3) > 0.5)
        for when, name in zip(at, ["nctr", "long-stay"], strict=True)
    ]


def _stored(url: str) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        typed = [tuple(r)[1:] for r in conn.execute(sa.select(score_audit).order_by("id"))]
        raw = [tuple(r) for r in conn.exec_driver_sql("SELECT * FROM score_audit ORDER BY id")]
    engine.dispose()
    return typed, raw


def test_driver_insert_stores_what_the_core_insert_stores(tmp_path: Path) -> None:
    fast_url, core_url = (f"sqlite:///{tmp_path / name}" for name in ("fast.db", "core.db"))
    writer = AuditWriter(fast_url, ServiceMetrics())
    writer._write(_batches())
    assert writer.rows_written == 6 and writer.healthy
    core = AuditWriter(core_url, ServiceMetrics())
    with core._prepare().begin() as conn:
        conn.execute(score_audit.insert(), [r for b in _batches() for r in b.rows()])
    fast, slow = _stored(fast_url), _stored(core_url)
    assert fast == slow  # the typed rows and the stored text, time and booleans included
    assert fast[0][0][0] == datetime(2025, 3, 4, 5, 6, 7, 891011) and len(fast[0]) == 6
