"""Request rows -> the typed columns the scorer reads, with each row's history.

A request row is a validated admission (`serving.schemas.admission_row`): a dict of Python
values. The scorer takes a dict of numpy arrays as it takes a frame, and building a DataFrame
costs more than scoring one admission does, so the columns are built here without pandas.

History (docs/service.md "History"): a row that carries any history field is scored with its
history as given, a blank field staying blank (NaN), as a blank cell of a training table does.
Otherwise its history is looked up (`models.history_index.history_for`: computed from the
history source's earlier spells, or none without a source).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from los.schema import COLUMNS, ETHNICITY_NOT_KNOWN, HISTORY_COLUMNS
from models.history_index import HistoryIndex, history_for
from models.inputs import ExtraInput


def rows_to_columns(
    rows: list[dict[str, Any]], extras: Iterable[ExtraInput] = ()
) -> dict[str, np.ndarray]:
    """Typed admissions columns (datetime64, float64, text) from validated request rows.

    An extra input (`models.inputs`) becomes a column only when every row carries it, so a row
    checked against another model set (a swap in between) is refused by the scorer rather than
    scored without it. A missing ethnicity is read as not known, as the file loader reads it.
    """
    data: dict[str, Any] = {}
    for col in COLUMNS:
        if not any(col.name in r for r in rows):
            continue
        values = [r.get(col.name) for r in rows]
        if col.kind == "datetime":
            data[col.name] = np.array(values, dtype="datetime64[ns]")
        elif col.kind in ("int", "float"):
            data[col.name] = np.array(values, dtype=np.float64)
        else:
            if col.name == "ethnic_category":
                values = [ETHNICITY_NOT_KNOWN if v is None else v for v in values]
            data[col.name] = np.array(values, dtype=object)
    for name in HISTORY_COLUMNS:
        if any(name in r for r in rows):
            data[name] = np.array([r.get(name, np.nan) for r in rows], dtype=np.float64)
    for extra in extras:
        if all(extra.name in r for r in rows):
            values = [r[extra.name] for r in rows]
            numeric = extra.kind == "number"
            data[extra.name] = np.array(
                [np.nan if numeric and v is None else v for v in values],
                dtype=np.float64 if numeric else object,
            )
    return data


def with_request_history(
    columns: dict[str, np.ndarray], rows: list[dict[str, Any]], history: HistoryIndex | None
) -> dict[str, np.ndarray]:
    """The columns plus the four history columns: as supplied, or looked up (module doc)."""
    supplied = np.array([any(k in r for k in HISTORY_COLUMNS) for r in rows], dtype=bool)
    n = len(rows)
    out = dict(columns)
    looked_up = None if supplied.all() else history_for(columns, history)
    for name in HISTORY_COLUMNS:
        given = columns[name] if name in columns else np.full(n, np.nan)
        out[name] = given if looked_up is None else np.where(supplied, given, looked_up[name])
    return out
