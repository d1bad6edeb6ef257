"""`los risk-list` end to end on the trained registry: JSON, CSV and HTML outputs, the same list
in-process, and the HTML rendered by headless Chromium (skipped when Chromium is absent).

Named `test_service_*` so its basename differs from tests/unit/test_risk_list.py.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from los.schema import LABEL_COLUMNS
from models.registry import connect, load_models
from models.risk_list import build_risk_list
from models.scorer import Scorer
from tests.chromium import chromium_or_skip, headless_command
from tests.conftest import TrainedRegistry
from tests.integration.test_service_server import LOS

CAPACITY = 8


@pytest.fixture(scope="module")
def extract(trained_registry: TrainedRegistry, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated table with its 40 latest admissions still in hospital (labels blanked)."""
    table = trained_registry.admissions.copy()
    latest = table["admission_datetime"].nlargest(40).index
    for col in LABEL_COLUMNS:
        table[col] = table[col].astype(object)
        table.loc[latest, col] = None
    path = tmp_path_factory.mktemp("risk_list") / "extract.parquet"
    table.to_parquet(path, index=False)
    return path


@pytest.fixture(scope="module")
def outputs(trained_registry: TrainedRegistry, extract: Path) -> dict[str, Path]:
    """The CLI run once per format, in parallel."""
    paths = {ext: extract.with_name(f"list.{ext}") for ext in ("json", "html", "csv")}
    runs = []
    for path in paths.values():
        args = [
            "risk-list",
            "--data",
            str(extract),
            "--capacity",
            str(CAPACITY),
            "--out",
            str(path),
        ]
        runs.append(
            subprocess.Popen(
                [LOS, *args],
                env=trained_registry.env,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    for run in runs:
        out, err = run.communicate(timeout=180)
        assert run.returncode == 0, err
        assert "inpatients" in out
    return paths


def test_cli_list_ranks_current_inpatients(outputs: dict[str, Path]) -> None:
    data = json.loads(outputs["json"].read_text())
    patients = data["patients"]
    assert data["counts"]["inpatients"] == len(patients) >= 30
    assert data["capacity"] == CAPACITY
    assert [p["flagged"] for p in patients].count(True) == CAPACITY
    assert all(p["flagged"] for p in patients[:CAPACITY])
    combined = [p["combined_risk"] for p in patients]
    assert combined == sorted(combined, reverse=True)
    assert all(p["days_in_hospital"] >= 0 for p in patients)
    assert data["models"] and all(m["alias"] == "champion" for m in data["models"].values())
    csv = pd.read_csv(outputs["csv"], dtype={"spell_id": str})
    assert list(csv["spell_id"]) == [p["spell_id"] for p in patients]


def test_cli_list_equals_the_library_list(
    trained_registry: TrainedRegistry, extract: Path, outputs: dict[str, Path]
) -> None:
    connect(trained_registry.settings.tracking_uri)
    table = pd.read_parquet(extract)
    from features.load import load_admissions

    frame = load_admissions(str(extract)).frame
    result = build_risk_list(Scorer(load_models("champion")), frame, capacity=CAPACITY)
    data = json.loads(outputs["json"].read_text())
    assert [r.spell_id for r in result.rows] == [p["spell_id"] for p in data["patients"]]
    np.testing.assert_allclose(
        [r.probabilities["nctr"] for r in result.rows],
        [p["targets"]["nctr"]["probability"] for p in data["patients"]],
        atol=1e-6,
    )
    assert len(table) == data["counts"]["rows_in"]


def test_html_is_printable_and_self_contained(outputs: dict[str, Path]) -> None:
    html = outputs["html"].read_text()
    assert "@page" in html and "A4 landscape" in html
    assert "http://" not in html and "https://" not in html
    assert "Review today" in html and "version" in html


@pytest.mark.browser
def test_html_renders_in_headless_chromium(outputs: dict[str, Path], tmp_path: Path) -> None:
    png = tmp_path / "list.png"
    subprocess.run(
        headless_command(chromium_or_skip(), tmp_path / "profile", "--window-size=1400,1000",
                         f"--screenshot={png}", outputs["html"].resolve().as_uri()),
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert png.exists() and png.stat().st_size > 20_000
