"""Fairness groups (CONTRACT §4): ethnicity at two levels, sex, age band and IMD quintile.

Every row gets a group for every attribute: a missing or unrecognised value goes to an explicit
"Not known" group, never dropped. Each attribute has a fixed display order, and every group in it
is reported even when no row falls in it (so an absent group is visible, not silently missing).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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
    "99": NOT_KNOWN,
}
ETHNIC_CATEGORY_LABELS: dict[str, str] = {
    "A": "White: British", "B": "White: Irish", "C": "White: any other White background",
    "D": "Mixed: White and Black Caribbean", "E": "Mixed: White and Black African",
    "F": "Mixed: White and Asian", "G": "Mixed: any other mixed background",
    "H": "Asian or Asian British: Indian", "J": "Asian or Asian British: Pakistani",
    "K": "Asian or Asian British: Bangladeshi", "L": "Asian or Asian British: any other Asian",
    "M": "Black or Black British: Caribbean", "N": "Black or Black British: African",
    "P": "Black or Black British: any other Black", "R": "Other: Chinese",
    "S": "Other: any other ethnic group", "Z": "Not stated", "99": NOT_KNOWN,
}  # fmt: skip
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

ORDER: dict[str, tuple[str, ...]] = {
    "ethnic_group": tuple(dict.fromkeys(ETHNIC_GROUP_OF.values())),
    "ethnic_category": tuple(ETHNIC_CATEGORY_LABELS),
    "sex": ("Female", "Male", "Indeterminate", NOT_KNOWN),
    "age_band": tuple(label for _, label in AGE_BANDS),
    "imd_quintile": tuple(IMD_QUINTILE_LABELS),
    "ethnicity_deprivation": tuple(
        f"{g}, {d}" for g in dict.fromkeys(ETHNIC_GROUP_OF.values()) for d in DEPRIVATION
    ),
}
TITLES: dict[str, str] = {
    "ethnic_group": "Ethnic group (NHS)",
    "ethnic_category": "Ethnic category (detailed)",
    "sex": "Sex",
    "age_band": "Age band",
    "imd_quintile": "IMD quintile",
    "ethnicity_deprivation": "Ethnic group × deprivation (Core20 = most deprived 20%)",
}


def _codes(admissions: pd.DataFrame, column: str) -> pd.Series:
    """A code column as stripped upper-case strings, missing as <NA>."""
    if column not in admissions:
        return pd.Series(pd.NA, index=admissions.index, dtype="string")
    out = admissions[column].astype("string").str.strip().str.upper()
    # integer-like codes read from CSV as floats ("1.0") are the same code
    out = out.str.replace(r"\.0$", "", regex=True)
    return out.mask(out == "", pd.NA)


def ethnic_category(admissions: pd.DataFrame) -> pd.Series:
    """Detailed NHS ethnic category code; missing or unrecognised -> "99" (not known)."""
    codes = _codes(admissions, "ethnic_category")
    return codes.where(codes.isin(list(ETHNIC_CATEGORY_LABELS)), "99").astype(object)


def ethnic_group(admissions: pd.DataFrame) -> pd.Series:
    """The five NHS ethnic groups plus "Not stated" (Z) and "Not known" (99 or missing)."""
    return ethnic_category(admissions).map(ETHNIC_GROUP_OF).astype(object)


def sex(admissions: pd.DataFrame) -> pd.Series:
    """Female / Male / Indeterminate / Not known from the NHS sex code."""
    return _codes(admissions, "sex").map(SEX_LABELS).fillna(NOT_KNOWN).astype(object)


def _numeric(admissions: pd.DataFrame, column: str) -> pd.Series:
    """A numeric column as floats; all NaN when the column is absent."""
    if column not in admissions:
        return pd.Series(np.nan, index=admissions.index, dtype=float)
    return pd.to_numeric(admissions[column], errors="coerce").astype(float)


def age_band(admissions: pd.DataFrame) -> pd.Series:
    """Age bands 0-17, 18-44, 45-64, 65-74, 75-84, 85+; missing age -> "Not known"."""
    age = _numeric(admissions, "age")
    edges = np.array([edge for edge, _ in AGE_BANDS])
    labels = np.array([label for _, label in AGE_BANDS], dtype=object)
    position = np.searchsorted(edges, age.fillna(0).to_numpy(), side="right")
    out = labels[np.minimum(position, len(labels) - 1)]
    return pd.Series(np.where(age.isna(), NOT_KNOWN, out), index=admissions.index, dtype=object)


def imd_quintile(admissions: pd.DataFrame) -> pd.Series:
    """IMD quintile "1" (most deprived, Core20) to "5" from the decile; missing -> "Not known"."""
    decile = _numeric(admissions, "imd_decile")
    quintile = np.ceil(decile.where(decile.between(1, 10)) / 2)
    labels = np.array(["1", "2", "3", "4", "5"], dtype=object)
    index = np.nan_to_num(quintile.to_numpy(), nan=1).astype(int) - 1
    return pd.Series(
        np.where(quintile.isna(), NOT_KNOWN, labels[index]), index=admissions.index, dtype=object
    )


def ethnicity_deprivation(admissions: pd.DataFrame) -> pd.Series:
    """Ethnic group crossed with Core20 (IMD quintile 1, the NHS Core20PLUS5 population)."""
    quintile = imd_quintile(admissions)
    depr = np.where(quintile == "1", DEPRIVATION[0], DEPRIVATION[1])
    depr = np.where(quintile == NOT_KNOWN, DEPRIVATION[2], depr)
    joined = [f"{g}, {d}" for g, d in zip(ethnic_group(admissions), depr, strict=True)]
    return pd.Series(joined, index=admissions.index, dtype=object)


_ASSIGN = {
    "ethnic_group": ethnic_group,
    "ethnic_category": ethnic_category,
    "sex": sex,
    "age_band": age_band,
    "imd_quintile": imd_quintile,
    "ethnicity_deprivation": ethnicity_deprivation,
}


def assign_groups(
    admissions: pd.DataFrame, attributes: tuple[str, ...] | list[str] = ATTRIBUTES
) -> pd.DataFrame:
    """One column per attribute with each row's group (same index as `admissions`)."""
    unknown = [a for a in attributes if a not in _ASSIGN]
    if unknown:
        raise ValueError(f"unknown fairness attribute(s) {unknown}; known: {list(ATTRIBUTES)}")
    return pd.DataFrame({a: _ASSIGN[a](admissions) for a in attributes}, index=admissions.index)


def group_order(attribute: str, present: list[str] | None = None) -> list[str]:
    """Display order: the attribute's fixed groups, then any other group present (sorted)."""
    fixed = list(ORDER.get(attribute, ()))
    extra = sorted(set(present or []) - set(fixed))
    return fixed + extra


def group_label(attribute: str, group: str) -> str:
    """A readable label for a group key (e.g. the detailed ethnic category's name)."""
    if attribute == "ethnic_category":
        name = ETHNIC_CATEGORY_LABELS.get(group)
        return f"{group} {name}" if name else group
    if attribute == "imd_quintile":
        return IMD_QUINTILE_LABELS.get(group, group)
    return group
