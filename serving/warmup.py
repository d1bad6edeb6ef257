"""The made-up admission a new model set scores before it serves (the first call allocates):
every flag model, and the stay distribution model's curves, quantiles and NCTR days (`warm_up`),
so the first real request does not pay for any booster's first prediction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from los.schema import COLUMNS
from models.inputs import ExtraInput
from models.scorer import Scorer
from serving.request_rows import rows_to_columns


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


def warm_up(scorer: Scorer) -> dict[str, list[object]]:
    """Score the warm-up row as `/v1/score` does: every flag model, then the stay distribution's
    §7 columns (its curves: 60 booster rows). Returns those columns (empty without a stay
    model); an unusable model raises here, before it serves."""
    extras = scorer.extra_inputs
    columns = rows_to_columns([warmup_row(extras)], extras)
    return scorer.stay_scores(columns, scorer.score(columns))
