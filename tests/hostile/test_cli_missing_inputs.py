"""Missing model inputs are named once on the console: in the command's summary, not again by the
`features.validate` logger (which reaches every other log sink as before)."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from features.generate import generate_admissions
from features.load import write_frame
from features.validate import validate_admissions
from los.log_records import not_in_summary
from tests.integration.test_cli import los

# blank in some rows / absent from the source
BLANKED, DROPPED = "frailty_score", "imd_decile"


@pytest.fixture(scope="module")
def with_blanks() -> pd.DataFrame:
    frame = generate_admissions(1_200, seed=5).admissions.drop(columns=[DROPPED])
    frame[BLANKED] = frame[BLANKED].astype(object)
    frame.loc[:99, BLANKED] = None
    return frame


@pytest.mark.parametrize("verbose", [False, True])
def test_each_missing_input_is_printed_once(
    with_blanks: pd.DataFrame, tmp_path: Path, verbose: bool
) -> None:
    data = write_frame(with_blanks, tmp_path / "census.csv")
    env = {**os.environ, "LOS_DATA_DIR": str(tmp_path / "data")}
    done = los(*(["-v"] if verbose else []), "forecast", "--data", str(data),
               "--out", str(tmp_path / "f.json"), env=env)  # fmt: skip
    lines = [line for line in done.stderr.splitlines() if "missing input" in line]
    columns = [line.split("missing input ")[1].split(":")[0] for line in lines]
    assert BLANKED in columns and DROPPED in columns
    assert len(columns) == len(set(columns)), done.stderr  # each column named exactly once
    assert all(line.startswith("  missing input ") for line in lines)  # the summary's lines
    assert "WARNING features.validate" not in done.stderr


@pytest.fixture()
def sinks() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """A console handler filtered as the CLI's, and another sink (a file, say) beside it."""
    console, other = io.StringIO(), io.StringIO()
    on_console, elsewhere = logging.StreamHandler(console), logging.StreamHandler(other)
    on_console.addFilter(not_in_summary)
    logger = logging.getLogger("features.validate")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(on_console)
    logger.addHandler(elsewhere)
    try:
        yield console, other
    finally:
        logger.removeHandler(on_console)
        logger.removeHandler(elsewhere)
        logger.setLevel(level)


def test_other_log_sinks_still_receive_the_missing_inputs(
    with_blanks: pd.DataFrame, sinks: tuple[io.StringIO, io.StringIO]
) -> None:
    console, other = sinks
    _, _, report = validate_admissions(with_blanks)
    assert {m.column for m in report.missing_inputs} >= {BLANKED, DROPPED}
    for m in report.missing_inputs:
        assert other.getvalue().count(f"missing input {m.describe()}\n") == 1
    assert "missing input" not in console.getvalue()
    assert "validated" in console.getvalue()  # other records still reach the console
