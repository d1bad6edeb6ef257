"""Who is in which fairness group (CONTRACT §4): the one rule, for measuring and for adjusting.

Every row gets a group for every attribute: a missing or unrecognised value goes to an explicit
"Not known" group, never dropped. The fairness report (`evaluation.groups`) and a model's group
recalibration (`models.calibration.GroupRecalibrator`, applied when scoring) both call
`group_keys`, so a group adjusted at scoring time is exactly the group the report measures.
Works on a DataFrame or a dict of arrays (the service's one-admission path), mapping each
distinct code once (`features.build.map_unique`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from features.build import Columns, is_missing, map_unique, n_rows
from los.schema import ETHNIC_CATEGORY_LABELS, ETHNICITY_NOT_KNOWN

ATTRIBUTES: tuple[str, ...] = (
    "ethnic_group",
    "ethnic_category",
    "sex",
    "age_band",
    "imd_quintile",
    "ethnicity_deprivation",
)
NOT_KNOWN = "Not known"

# NHS ethnic category -> the five NHS groups, with Not stated (Z) and Not known (99) kept apart.
ETHNIC_GROUP_OF: dict[str, str] = {
    **dict.fromkeys(("A", "B", "C"), "White"),
    **dict.fromkeys(("D", "E", "F", "G"), "Mixed"),
    **dict.fromkeys(("H", "J", "K", "L"), "Asian or Asian British"),
    **dict.fromkeys(("M", "N", "P"), "Black or Black British"),
    **dict.fromkeys(("R", "S"), "Other"),
    "Z": "Not stated",
    ETHNICITY_NOT_KNOWN: NOT_KNOWN,
}
SEX_LABELS: dict[str, str] = {"1": "Male", "2": "Female", "9": "Indeterminate", "0": NOT_KNOWN}
AGE_BANDS: tuple[tuple[float, str], ...] = (
    (18, "0-17"),
    (45, "18-44"),
    (65, "45-64"),
    (75, "65-74"),
    (85, "75-84"),
    (np.inf, "85+"),
)
IMD_QUINTILE_LABELS: dict[str, str] = {
    "1": "1 (most deprived, Core20)",
    "2": "2",
    "3": "3",
    "4": "4",
    "5": "5 (least deprived)",
    NOT_KNOWN: NOT_KNOWN,
}
DEPRIVATION = ("Core20", "not Core20", "IMD not known")  # Core20: IMD deciles 1-2 (quintile 1)


def _code(value: Any) -> str | None:
    """A code as stripped upper-case text; integer-like codes read from CSV as floats ("1.0")
    are the same code; blank or missing is None."""
    if is_missing(value):
        return None
    text = str(value).strip().upper()
    if text.endswith(".0"):
        text = text[:-2]
    return text or None


def _codes(columns: Columns, name: str, fn: Callable[[Any], Any]) -> np.ndarray:
    """`fn` of each row's code in column `name` (an absent column: every row missing)."""
    if name in columns:
        values = np.asarray(columns[name])
    else:
        values = np.full(n_rows(columns), None, dtype=object)
    return map_unique(values, lambda v: fn(_code(v)))


def _numbers(columns: Columns, name: str) -> np.ndarray:
    """A numeric column as floats (text that is not a number, and an absent column: NaN)."""
    if name not in columns:
        return np.full(n_rows(columns), np.nan)
    values = np.asarray(columns[name])
    if values.dtype.kind in "fiub":
        return values.astype(float)
    numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
    return numbers.to_numpy(dtype=float, na_value=np.nan)


def _category(code: str | None) -> str:
    return code if code in ETHNIC_CATEGORY_LABELS else ETHNICITY_NOT_KNOWN


def ethnic_category(columns: Columns) -> np.ndarray:
    """Detailed NHS ethnic category code; missing or unrecognised -> "99" (not known)."""
    return _codes(columns, "ethnic_category", _category)


def ethnic_group(columns: Columns) -> np.ndarray:
    """The five NHS ethnic groups plus "Not stated" (Z) and "Not known" (99 or missing)."""
    return _codes(columns, "ethnic_category", lambda c: ETHNIC_GROUP_OF[_category(c)])


def sex(columns: Columns) -> np.ndarray:
    """Female / Male / Indeterminate / Not known from the NHS sex code."""
    return _codes(columns, "sex", lambda c: SEX_LABELS.get(c or "", NOT_KNOWN))


def age_band(columns: Columns) -> np.ndarray:
    """Age bands 0-17, 18-44, 45-64, 65-74, 75-84, 85+; missing age -> "Not known"."""
    age = _numbers(columns, "age")
    edges = np.array([edge for edge, _ in AGE_BANDS])
    labels = np.array([label for _, label in AGE_BANDS], dtype=object)
    position = np.searchsorted(edges, np.nan_to_num(age, nan=0.0), side="right")
    return np.where(np.isnan(age), NOT_KNOWN, labels[np.minimum(position, len(labels) - 1)])


def imd_quintile(columns: Columns) -> np.ndarray:
    """IMD quintile "1" (most deprived, Core20) to "5" from the decile; missing or outside 1-10
    -> "Not known"."""
    decile = _numbers(columns, "imd_decile")
    known = (decile >= 1) & (decile <= 10)
    quintile = np.ceil(np.where(known, decile, 1.0) / 2).astype(int)
    labels = np.array(["1", "2", "3", "4", "5"], dtype=object)
    return np.where(known, labels[quintile - 1], NOT_KNOWN)


def ethnicity_deprivation(columns: Columns) -> np.ndarray:
    """Ethnic group crossed with Core20 (IMD quintile 1, the NHS Core20PLUS5 population)."""
    quintile = imd_quintile(columns)
    depr = np.where(quintile == "1", DEPRIVATION[0], DEPRIVATION[1])
    depr = np.where(quintile == NOT_KNOWN, DEPRIVATION[2], depr).astype(object)
    return ethnic_group(columns).astype(object) + ", " + depr


_KEYS: dict[str, Callable[[Columns], np.ndarray]] = {
    "ethnic_group": ethnic_group,
    "ethnic_category": ethnic_category,
    "sex": sex,
    "age_band": age_band,
    "imd_quintile": imd_quintile,
    "ethnicity_deprivation": ethnicity_deprivation,
}


def group_keys(columns: Columns, attribute: str) -> np.ndarray:
    """Each row's group in `attribute` (object array of text, input order)."""
    if attribute not in _KEYS:
        raise ValueError(f"unknown fairness attribute {attribute!r}; known: {list(ATTRIBUTES)}")
    return np.asarray(_KEYS[attribute](columns), dtype=object)
