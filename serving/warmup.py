"""The made-up admission a new model set scores before it serves (the first call allocates)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from los.schema import COLUMNS
from models.inputs import ExtraInput


def warmup_row(extras: Iterable[ExtraInput] = ()) -> dict[str, Any]:
    """A request row: the first code of every code list, the lowest allowed number, a fixed
    admission time, other text `warmup`, and the extra inputs not known."""
    row: dict[str, Any] = {extra.name: None for extra in extras}
    for col in COLUMNS:
        if not col.at_admission:
            continue
        if col.kind == "datetime":
            row[col.name] = datetime(2024, 1, 1, 12)
        elif col.codes:
            row[col.name] = col.codes[0]
        elif col.kind in ("int", "float"):
            row[col.name] = col.minimum if col.minimum is not None else 0
        else:
            row[col.name] = "warmup"
    return row
