"""Missing model inputs: per optional column for the load report, per row for `los score`.

A model scores a row without an optional input (no IMD, no frailty score) by treating it as
missing, which can move a probability a long way; these say so instead of staying silent.
Only column names and counts are reported, never values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from los.schema import COLUMNS, COLUMNS_BY_NAME

# The optional columns known at admission: what a model may read and a source may lack.
OPTIONAL_INPUTS: tuple[str, ...] = tuple(
    c.name for c in COLUMNS if c.at_admission and not c.required and not c.label
)
SEPARATOR = "; "


@dataclass(frozen=True)
class MissingInput:
    """One optional input column without a value in `rows` of `rows_total` rows."""

    column: str
    rows: int
    rows_total: int
    absent: bool

    @property
    def share(self) -> float:
        """Share of rows without a value (1.0 when the column is absent from the source)."""
        return self.rows / self.rows_total if self.rows_total else 0.0

    def describe(self) -> str:
        """One line for the console and the log: column, count and share, never values."""
        if self.absent:
            return f"{self.column}: not in the source, missing for all rows (100%)"
        return (
            f"{self.column}: blank in {self.rows:,} of {self.rows_total:,} rows ({self.share:.1%})"
        )


def missing_input_columns(
    typed: pd.DataFrame, source_columns: Iterable[str]
) -> tuple[MissingInput, ...]:
    """The optional input columns that are absent from the source or blank in some rows.

    `typed` is the canonical frame (absent columns already added empty); `source_columns` are
    the columns the source itself had, to tell "absent" from "blank".
    """
    present = set(source_columns)
    n = len(typed)
    found = []
    for column in OPTIONAL_INPUTS:
        absent = column not in present
        blank = n if absent else int(typed[column].isna().sum())
        if blank and n:
            found.append(MissingInput(column, blank, n, absent))
    return tuple(found)


def input_fields(sources: Iterable[str]) -> tuple[str, ...]:
    """The admissions-table columns among `sources` (model columns' source fields), in
    schema order; derived fields such as history are not columns and are left out."""
    wanted = set(sources)
    return tuple(c for c in COLUMNS_BY_NAME if c in wanted)


def missing_inputs(frame: pd.DataFrame, fields: Sequence[str]) -> np.ndarray:
    """Per row, the `fields` without a value, joined by ``"; "`` (``""`` when none).

    A field absent from `frame` is missing in every row. Rows share few patterns, so each
    distinct pattern is joined once: fast at millions of rows.
    """
    n = len(frame)
    if len(fields) > 62:  # one bit per field in an int64 pattern
        raise ValueError(f"at most 62 fields, got {len(fields)}")
    if not fields or n == 0:
        return np.full(n, "", dtype=object)
    blank = np.column_stack(
        [frame[f].isna().to_numpy() if f in frame.columns else np.ones(n, bool) for f in fields]
    )
    weights = np.left_shift(1, np.arange(len(fields), dtype=np.int64))
    patterns, inverse = np.unique(blank.astype(np.int64) @ weights, return_inverse=True)
    labels = np.array(
        [SEPARATOR.join(f for i, f in enumerate(fields) if p >> i & 1) for p in patterns],
        dtype=object,
    )
    return labels[inverse.ravel()]
