"""Who the risk list marks for review without `--capacity` (issue 15 item 9): not 60% of the
ward, but the configured capacity per ward, else the top 10%; every output says how the cut was
made, and the HTTP list makes the same cut as `los risk-list`.

Real parts: the session's trained registry and real scorer, `los risk-list` through typer's
CliRunner, and a real `los serve` on 127.0.0.1 for the HTTP list.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.app import app
from los.config import Settings
from los.errors import ConfigError
from los.schema import LABEL_COLUMNS
from models.review_cut import ReviewCut
from tests.conftest import TrainedRegistry
from tests.integration.test_service_server import Server, json_rows, server_env, start_server

IN_HOSPITAL = 60
DEFAULT_TEXT = "Top 10% by risk (no capacity given)"


@pytest.fixture(scope="module")
def extract(trained_registry: TrainedRegistry) -> pd.DataFrame:
    """The 700 latest generated spells of the busiest site, the 60 latest still in hospital."""
    table = trained_registry.admissions.sort_values("admission_datetime", kind="stable")
    table = table[table["discharge_datetime"].notna()]  # the generator leaves a few in hospital
    site = table["site"].value_counts().index[0]
    table = table[table["site"] == site].tail(700).reset_index(drop=True)
    for col in LABEL_COLUMNS:
        table[col] = table[col].astype(object)
        table.loc[table.index[-IN_HOSPITAL:], col] = None
    return table


@pytest.fixture(scope="module")
def extract_path(extract: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cut") / "extract.parquet"
    extract.to_parquet(path, index=False)
    return path


def run_list(
    trained_registry: TrainedRegistry, source: Path, out: Path, *args: str, **env: str
) -> str:
    """`los risk-list` with extra options and settings; its console output."""
    done = CliRunner().invoke(
        app,
        ["risk-list", "--data", str(source), "--out", str(out), *args],
        env={**trained_registry.env, **env},
    )
    assert done.exit_code == 0, done.stderr
    return done.stdout


def page_text(path: Path) -> str:
    html = path.read_text()
    return " ".join(re.sub(r"<style.*?</style>|<[^>]+>", " ", html, flags=re.S).split())


def test_without_capacity_the_top_tenth_is_marked_and_every_output_says_so(
    trained_registry: TrainedRegistry, extract_path: Path, tmp_path: Path
) -> None:
    outputs = {ext: tmp_path / f"list.{ext}" for ext in ("json", "csv", "html")}
    for path in outputs.values():
        stdout = run_list(trained_registry, extract_path, path)
        assert f"review: {DEFAULT_TEXT}" in stdout
    data = json.loads(outputs["json"].read_text())
    patients = data["patients"]
    n = len(patients)
    assert n == IN_HOSPITAL
    flagged = [p["flagged"] for p in patients]
    assert flagged == [True] * math.ceil(0.1 * n) + [False] * (n - math.ceil(0.1 * n))
    assert sum(flagged) < 0.6 * n  # the issue: 60% marked "review" without a capacity
    assert data["capacity"] is None
    assert data["review_cut"] == {
        "rule": "top_share", "capacity": None, "share": 0.1, "source": "default",
        "text": DEFAULT_TEXT,
    }  # fmt: skip
    csv = pd.read_csv(outputs["csv"], dtype=str)
    assert set(csv["review_cut"]) == {DEFAULT_TEXT}
    text = page_text(outputs["html"])
    assert DEFAULT_TEXT in text
    assert f"({math.ceil(0.1 * n)} of {n})" in text  # how many the share marks, said in words


def test_a_configured_ward_capacity_marks_the_top_of_each_ward(
    trained_registry: TrainedRegistry, extract_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "list.json"
    stdout = run_list(trained_registry, extract_path, out, LOS_REVIEW_CAPACITY_PER_WARD="2")
    text = "Top 2 of each ward by risk (capacity 2 per ward from config)"
    assert f"review: {text}" in stdout
    data = json.loads(out.read_text())
    assert data["review_cut"]["rule"] == "ward_capacity" and data["review_cut"]["text"] == text
    by_ward: dict[str | None, list[bool]] = {}
    for p in data["patients"]:  # in rank order
        by_ward.setdefault(p["ward"], []).append(p["flagged"])
    assert len(by_ward) > 1
    for flags in by_ward.values():
        marked = min(2, len(flags))
        assert flags == [True] * marked + [False] * (len(flags) - marked)
    assert {w["ward"]: w["flagged"] for w in data["wards"]} == {
        w: min(2, len(f)) for w, f in by_ward.items()
    }


def test_a_capacity_given_wins_over_the_configuration(
    trained_registry: TrainedRegistry, extract_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "list.csv"
    run_list(
        trained_registry, extract_path, out, "--capacity", "3",
        LOS_REVIEW_CAPACITY_PER_WARD="2", LOS_REVIEW_SHARE="0.5",
    )  # fmt: skip
    csv = pd.read_csv(out, dtype={"spell_id": str})
    assert list(csv["flagged"]) == [True] * 3 + [False] * (len(csv) - 3)
    assert set(csv["review_cut"]) == {"Top 3 by risk (capacity 3 given for this list)"}


def test_a_configured_share_is_said_to_come_from_the_configuration(
    trained_registry: TrainedRegistry, extract_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "list.html"
    run_list(trained_registry, extract_path, out, LOS_REVIEW_SHARE="0.25")
    text = page_text(out)
    assert "Top 25% by risk (share from config)" in text
    assert f"({math.ceil(0.25 * IN_HOSPITAL)} of {IN_HOSPITAL})" in text


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LOS_REVIEW_SHARE", "0"),
        ("LOS_REVIEW_SHARE", "1.5"),
        ("LOS_REVIEW_SHARE", "a tenth"),
        ("LOS_REVIEW_CAPACITY_PER_WARD", "-1"),
        ("LOS_REVIEW_CAPACITY_PER_WARD", "many"),
    ],
)
def test_a_bad_setting_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"setting {name}") as raised:
        Settings()
    assert value not in str(raised.value) or value == "0"


def test_the_cut_arithmetic() -> None:
    order = np.array([3, 0, 4, 1, 2, 5])  # rows by risk, highest first
    wards = ["A", "B", "A", "A", None, "B"]  # of rows 0-5
    share = ReviewCut()
    assert share.flags(order, wards).tolist() == [False, False, False, True, False, False]
    assert [share.share_count(n) for n in (0, 1, 9, 10, 11, 143)] == [0, 1, 1, 1, 2, 15]
    per_ward = ReviewCut("ward_capacity", 1, source="config")
    # the top of ward A is row 3, of B row 1, of the unrecorded ward row 4
    assert np.flatnonzero(per_ward.flags(order, wards)).tolist() == [1, 3, 4]
    two = ReviewCut("ward_capacity", 2, source="config")
    assert np.flatnonzero(two.flags(order, wards)).tolist() == [0, 1, 3, 4, 5]
    assert ReviewCut("capacity", 0, source="given").flags(order, wards).sum() == 0
    assert ReviewCut.choose(None).text == DEFAULT_TEXT  # no settings: the built-in default
    with pytest.raises(ValueError, match="zero or more"):
        ReviewCut.choose(-1)


@pytest.fixture(scope="module")
def ward_capacity_server(
    trained_registry: TrainedRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """`los serve` with a capacity of 2 per ward in its configuration."""
    tmp = tmp_path_factory.mktemp("cut_service")
    env = server_env(trained_registry.env, review_capacity_per_ward=2)
    server = start_server(env, tmp / "server.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def test_the_http_list_makes_the_same_cut_as_the_cli(
    trained_registry: TrainedRegistry,
    extract: pd.DataFrame,
    extract_path: Path,
    ward_capacity_server: Server,
    tmp_path: Path,
) -> None:
    census = extract.tail(IN_HOSPITAL).reset_index(drop=True)
    request = {"admissions": json_rows(census, extra=())}
    with ward_capacity_server.client() as c:
        configured = c.post("/v1/risk-list", json=request).json()
        given = c.post("/v1/risk-list", json={**request, "capacity": 4}).json()
    cli_out = tmp_path / "list.json"
    run_list(trained_registry, extract_path, cli_out, LOS_REVIEW_CAPACITY_PER_WARD="2")
    cli = json.loads(cli_out.read_text())
    assert configured["review_cut"] == cli["review_cut"]
    assert configured["review_cut"]["text"].endswith("(capacity 2 per ward from config)")
    marked = Counter(p["ward"] for p in configured["patients"] if p["flagged"])
    assert marked and max(marked.values()) <= 2
    assert given["review_cut"]["rule"] == "capacity"
    assert [p["flagged"] for p in given["patients"]].count(True) == 4
