"""`los score` on a hostile read-only SQLite source, end to end (real subprocess, real registry).

Issue 11 items 3, 6, 12 and 14 together: the source file is chmod 444 in a chmod 555 folder and
has bad rows (age out of range, an admission in 2099, a 2,000,000-character spell id) and no
`ward`, `imd_decile` or `frailty_score` columns. Scoring works, the quarantine goes to the
project's file, the source's bytes do not change, the console names each missing input with its
share, and the output keeps the CONTRACT §3 columns plus `missing_inputs` per row.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from los.schema import LABEL_COLUMNS
from tests.conftest import TrainedRegistry
from tests.integration.test_cli import los

TARGETS = ("long_stay", "long_stay_21", "nctr")
CONTRACT_COLUMNS = ["spell_id"] + [
    f"{t}_{part}"
    for t in TARGETS
    for part in ("probability", "flagged", "risk_band", "reasons", "model_version")
]
# The optional inputs the default models read, in schema order (ward is not a model input).
MODEL_OPTIONAL_INPUTS = (
    "specialty",
    "imd_decile",
    "admission_source",
    "primary_diagnosis",
    "frailty_score",
    "comorbidity_count",
)
DROPPED = ["ward", "imd_decile", "frailty_score"]
BAD_ROWS = {3: "age", 11: "admission_datetime", 20: "spell_id"}


@dataclass(frozen=True)
class ScoredRun:
    source: pd.DataFrame
    db: Path
    hash_before: str
    listing_before: list[str]
    done: object  # subprocess.CompletedProcess[str]
    scores: pd.DataFrame
    quarantine: pd.DataFrame


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def hostile_source(admissions: pd.DataFrame) -> pd.DataFrame:
    frame = admissions.iloc[::100].head(120).reset_index(drop=True).drop(columns=DROPPED)
    frame.loc[frame.index % 7 == 0, "comorbidity_count"] = np.nan  # present but blank sometimes
    frame.loc[3, "age"] = 140
    frame.loc[11, "admission_datetime"] = pd.Timestamp("2099-01-01 08:00")
    frame.loc[11, ["discharge_datetime", "discharge_ready_datetime"]] = pd.NaT
    frame.loc[20, "spell_id"] = "X" * 2_000_000
    return frame


@pytest.fixture(scope="module")
def scored(
    trained_registry: TrainedRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ScoredRun]:
    source = hostile_source(trained_registry.admissions)
    folder = tmp_path_factory.mktemp("readonly")
    db = folder / "warehouse.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    source.to_sql("apc", engine, index=False)
    engine.dispose()
    db.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    folder.chmod(0o555)
    out = tmp_path_factory.mktemp("out") / "scores.csv"
    try:
        hash_before, listing = sha256(db), sorted(os.listdir(folder))
        done = los(
            "score", "--data", f"sqlite:///{db}?table=apc", "--out", str(out),
            env=trained_registry.env,
        )  # fmt: skip
        quarantine = pd.read_csv(trained_registry.data_dir / "quarantine" / "score.csv", dtype=str)
        yield ScoredRun(
            source, db, hash_before, listing, done, pd.read_csv(out, dtype=str), quarantine
        )
    finally:
        folder.chmod(0o755)
        db.chmod(0o644)


def test_read_only_source_is_scored_and_left_unchanged(scored: ScoredRun) -> None:
    assert sha256(scored.db) == scored.hash_before
    assert sorted(os.listdir(scored.db.parent)) == scored.listing_before
    engine = sa.create_engine(f"sqlite:///{scored.db}")
    assert sa.inspect(engine).get_table_names() == ["apc"]  # no apc_quarantine
    engine.dispose()


def test_bad_rows_are_quarantined_to_the_file_and_counted(scored: ScoredRun) -> None:
    q = scored.quarantine
    assert dict(zip(q["row"].astype(int) - 1, q["column"], strict=True)) == BAD_ROWS
    assert set(q["reason"]) == {
        "age: out of range 0-120",
        "admission_datetime: in the future (after the run's clock)",
        "spell_id: longer than 100 characters",
    }
    assert q["spell_id"].str.len().max() <= 100
    err = scored.done.stderr  # type: ignore[attr-defined]
    counts = re.search(r"rows read ([\d,]+); valid ([\d,]+); quarantined ([\d,]+)", err)
    assert counts is not None
    rows_in, valid, bad = (int(c.replace(",", "")) for c in counts.groups())
    assert (rows_in, bad) == (len(scored.source), len(BAD_ROWS))
    assert rows_in == valid + bad == len(scored.scores) + bad


def test_console_names_each_missing_input_with_its_share(scored: ScoredRun) -> None:
    err = scored.done.stderr  # type: ignore[attr-defined]
    for column in DROPPED:
        assert f"missing input {column}: not in the source, missing for all rows (100%)" in err
    valid = scored.source.drop(index=list(BAD_ROWS))
    blank = int(valid["comorbidity_count"].isna().sum())
    share = f"{blank / len(valid):.1%}"
    assert (
        f"missing input comorbidity_count: blank in {blank} of {len(valid)} rows ({share})" in err
    )


def test_output_keeps_the_contract_columns_and_adds_missing_inputs(scored: ScoredRun) -> None:
    columns = list(scored.scores.columns)
    assert [c for c in columns if c in CONTRACT_COLUMNS] == CONTRACT_COLUMNS
    assert "missing_inputs" in columns and not set(columns) & set(LABEL_COLUMNS)
    valid = scored.source.drop(index=list(BAD_ROWS)).reset_index(drop=True)
    assert scored.scores["spell_id"].tolist() == valid["spell_id"].tolist()
    expected = [
        "; ".join(c for c in MODEL_OPTIONAL_INPUTS if c not in valid or pd.isna(row.get(c)))
        for row in valid.to_dict("records")
    ]
    assert scored.scores["missing_inputs"].fillna("").tolist() == expected
    listed = [set(m.split("; ")) for m in scored.scores["missing_inputs"]]
    assert all({"imd_decile", "frailty_score"} <= m and "ward" not in m for m in listed)
