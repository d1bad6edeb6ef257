"""Training and scoring straight from a PostgreSQL table (a trust's SQL warehouse)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from features.generate import generate_admissions
from features.load import load_admissions
from los.config import Settings
from models import registry
from models.scorer import Scorer
from tests.conftest import fast_config
from tests.integration.postgres import postgres_url_fixture
from training.register import train_and_register

pytestmark = pytest.mark.postgres

postgres_url = postgres_url_fixture()


def test_train_and_score_from_a_postgres_table(postgres_url: str, tmp_path: Path) -> None:
    admissions = generate_admissions(8_000, seed=11).admissions
    engine = sa.create_engine(postgres_url)
    admissions.to_sql("apc_spells", engine, index=False, if_exists="replace")
    engine.dispose()
    source = f"{postgres_url}?table=apc_spells"

    loaded = load_admissions(source)
    assert loaded.report.rows_in == len(admissions) and loaded.report.rows_quarantined == 0

    settings = Settings(los_data_dir=tmp_path, mlflow_tracking_uri=None)  # type: ignore[call-arg]
    # fairness gates are tested elsewhere; here every group is suppressed so 8k rows of
    # generated data cannot block promotion by chance and the test is about the SQL source
    cfg = fast_config(targets={"extra_long_stay_days": []}, gates={"min_group_size": 10_000})
    summary = train_and_register(loaded.frame, cfg, settings, tmp_path / "reports")
    assert {o.target for o in summary.outcomes} == {"long_stay", "nctr"}
    assert all(o.promoted for o in summary.outcomes), [o.gates for o in summary.outcomes]

    census = load_admissions(source, query=None).frame.tail(200).reset_index(drop=True)
    table = Scorer(registry.load_models("champion")).score_table(census)
    assert table["spell_id"].tolist() == census["spell_id"].tolist()
    assert table["long_stay_probability"].between(0, 1).all()
    # the same rows scored from the parquet copy give the same numbers: the source is irrelevant
    parquet = tmp_path / "same.parquet"
    census.to_parquet(parquet)
    again = Scorer(registry.load_models("champion")).score_table(
        load_admissions(str(parquet)).frame
    )
    pd.testing.assert_series_equal(table["nctr_probability"], again["nctr_probability"])
