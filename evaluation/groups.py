"""Fairness groups (CONTRACT §4): ethnicity at two levels, sex, age band and IMD quintile.

Every row gets a group for every attribute: a missing or unrecognised value goes to an explicit
"Not known" group, never dropped. Each attribute has a fixed display order, and every group in it
is reported even when no row falls in it (so an absent group is visible, not silently missing).
Who is in which group is decided in `features.groups` (one rule, shared with the group
recalibration a model may apply when scoring); this module adds display order and titles.
"""

from __future__ import annotations

import pandas as pd

from features.groups import (
    AGE_BANDS,
    ATTRIBUTES,
    DEPRIVATION,
    ETHNIC_CATEGORY_LABELS,
    ETHNIC_GROUP_OF,
    IMD_QUINTILE_LABELS,
    NOT_KNOWN,
    group_keys,
)

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


def _series(admissions: pd.DataFrame, attribute: str) -> pd.Series:
    return pd.Series(group_keys(admissions, attribute), index=admissions.index, dtype=object)


def ethnic_category(admissions: pd.DataFrame) -> pd.Series:
    """Detailed NHS ethnic category code; missing or unrecognised -> "99" (not known)."""
    return _series(admissions, "ethnic_category")


def ethnic_group(admissions: pd.DataFrame) -> pd.Series:
    """The five NHS ethnic groups plus "Not stated" (Z) and "Not known" (99 or missing)."""
    return _series(admissions, "ethnic_group")


def sex(admissions: pd.DataFrame) -> pd.Series:
    """Female / Male / Indeterminate / Not known from the NHS sex code."""
    return _series(admissions, "sex")


def age_band(admissions: pd.DataFrame) -> pd.Series:
    """Age bands 0-17, 18-44, 45-64, 65-74, 75-84, 85+; missing age -> "Not known"."""
    return _series(admissions, "age_band")


def imd_quintile(admissions: pd.DataFrame) -> pd.Series:
    """IMD quintile "1" (most deprived, Core20) to "5" from the decile; missing -> "Not known"."""
    return _series(admissions, "imd_quintile")


def ethnicity_deprivation(admissions: pd.DataFrame) -> pd.Series:
    """Ethnic group crossed with Core20 (IMD quintile 1, the NHS Core20PLUS5 population)."""
    return _series(admissions, "ethnicity_deprivation")


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
