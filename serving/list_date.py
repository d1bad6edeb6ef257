"""The list date a census request may ask for: `/v1/risk-list` and `/v1/forecast` refuse a `date`
after the posted admissions' latest admission date on or before today (UTC), as `los risk-list
--date` does, unless the request sets `allow_after_data` (the CLI's `--allow-future-date`).

The rule and its wording live in `models.census.date_after_data`; here it becomes the service's
usual 422, naming `["body", "date"]` and neither date (no value sent, no patient's admission date).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from fastapi.exceptions import RequestValidationError

from models.census import date_after_data

OVERRIDE = "send allow_after_data: true"


def check_list_date(admissions: Sequence[Any], on: date | None, allow_after_data: bool) -> None:
    """Raise a 422 naming `date` when `on` is after what the posted `admissions` support.

    Checked before any model work, from the admission times alone (every posted row, ended
    spells included, as the list date itself is chosen)."""
    if on is None or allow_after_data:
        return
    admitted = pd.DataFrame(
        {"admission_datetime": pd.to_datetime([a.admission_datetime for a in admissions])}
    )
    why = date_after_data(admitted, on, datetime.now(UTC).date(), override=OVERRIDE, shown=False)
    if why is not None:
        raise RequestValidationError(
            [{"loc": ("body", "date"), "msg": why, "type": "date_after_data"}]
        )
