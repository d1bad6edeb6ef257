"""One hostile row at a time, through every file and SQL path: same verdict, nothing lost.

Each case puts one hostile value into one row of an otherwise clean extract and loads it as CSV,
Parquet and a (read-only) SQLite table. The promise on every path: the run does not crash, the
row is either kept as text or quarantined with a reason that names the field (the same reason on
every path), and rows in = valid + quarantined. Values that are hostile only downstream (a
formula in an id, SQL in an id) are kept here and neutralised where they are written
(tests/hostile/test_cli_outputs.py).
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from features.load import load_admissions
from tests.hostile.test_sources import NOW, spells

N = 6
ROW = 2  # the hostile row (0-based); the loader numbers source rows from 1

# (case id, column, hostile text value, expected reason or None when the row is kept)
CASES: list[tuple[str, str, str, str | None]] = [
    ("excel-serial", "admission_datetime", "45292", "admission_datetime: unparseable datetime"),
    ("us-date", "admission_datetime", "02/01/2025", "admission_datetime: unparseable datetime"),
    ("year-2099", "admission_datetime", "2099-01-01 08:00", "admission_datetime: in the future"),
    ("nan-text-age", "age", "NaN", "age: required value missing"),
    ("inf-frailty", "frailty_score", "inf", "frailty_score: out of range 0-200"),
    ("minus-inf-frailty", "frailty_score", "-inf", "frailty_score: out of range 0-200"),
    ("huge-age", "age", "1e308", "age: out of range 0-120"),
    ("two-million-char-id", "spell_id", "X" * 2_000_000, "spell_id: longer than 100 characters"),
    ("blank-patient", "patient_id", "   ", "patient_id: required value missing"),
    ("code-typo", "admission_method", "2l", "admission_method: not in code list"),
    ("control-chars-site", "site", "RYJ\x0001", None),
    ("formula-id", "spell_id", '=HYPERLINK("http://x","y")', None),
    ("sql-in-id", "spell_id", "S2'); DROP TABLE spells;--", None),
    ("unicode-ward", "ward", "Ward \u202e\u00e9\U0001f600", None),
]


def _clean() -> pd.DataFrame:
    return spells(N).astype("object")


def _write(frame: pd.DataFrame, path_kind: str, tmp: Path) -> str:
    if path_kind == "csv":
        path = tmp / "spells.csv"
        frame.to_csv(path, index=False)
        return str(path)
    if path_kind == "parquet":
        path = tmp / "spells.parquet"
        frame.astype("string").to_parquet(path, index=False)
        return str(path)
    path = tmp / "spells.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    frame.astype("string").to_sql("spells", engine, index=False)
    engine.dispose()
    return f"sqlite:///{path}?table=spells"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("path_kind", ["csv", "parquet", "sqlite"])
@pytest.mark.parametrize(("case", "column", "value", "reason"), CASES, ids=[c[0] for c in CASES])
def test_one_hostile_row_same_verdict_on_every_path(
    tmp_path: Path, path_kind: str, case: str, column: str, value: str, reason: str | None
) -> None:
    frame = _clean()
    frame.loc[ROW, column] = value
    source = _write(frame, path_kind, tmp_path)
    before = {p.name: _digest(p) for p in tmp_path.iterdir()}

    loaded = load_admissions(
        source, quarantine_to=tmp_path / "out" / "quarantine.csv", max_bad_share=0.5, now=NOW
    )

    report = loaded.report
    assert report.rows_in == N
    assert report.rows_valid + report.rows_quarantined == N
    assert {p.name: _digest(p) for p in tmp_path.iterdir() if p.name in before} == before
    if reason is None:
        assert report.rows_quarantined == 0
        kept = loaded.frame[column].astype("string").iloc[ROW]
        assert kept == value.strip() or kept == value
        return
    assert report.rows_quarantined == 1
    assert any(r.startswith(reason) for r in report.by_reason), report.by_reason
    entries = loaded.quarantine[loaded.quarantine["column"] == column]
    assert len(entries) == 1
    assert int(entries.iloc[0]["row"]) in (ROW + 1, ROW + 2)  # 1-based, counting the header or not
    assert f"S{ROW}" not in set(loaded.frame["spell_id"]) or column == "spell_id"


def test_every_path_reads_the_same_clean_extract(tmp_path: Path) -> None:
    frames = {}
    for kind in ("csv", "parquet", "sqlite"):
        d = tmp_path / kind
        d.mkdir()
        loaded = load_admissions(_write(_clean(), kind, d), now=NOW)
        assert loaded.report.rows_quarantined == 0
        frames[kind] = loaded.frame.reset_index(drop=True)
    pd.testing.assert_frame_equal(frames["csv"], frames["parquet"])
    pd.testing.assert_frame_equal(frames["csv"], frames["sqlite"])
    assert not any(math.isnan(x) for x in frames["csv"]["age"].astype(float))
