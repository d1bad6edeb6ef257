"""Monitoring segments: site and the fairness groups (CONTRACT §4, `features.groups`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.groups import group_order
from features.groups import NOT_KNOWN, group_keys


def segment_keys(frame: pd.DataFrame, attribute: str) -> np.ndarray:
    """Each row's segment in `attribute`: its site code, or its fairness group."""
    if attribute == "site":
        site = frame["site"].astype("string").str.strip()
        return site.fillna(NOT_KNOWN).replace("", NOT_KNOWN).astype(object).to_numpy()
    return group_keys(frame, attribute)


def segment_order(attribute: str, present: list[str]) -> list[str]:
    """Display order: sites alphabetically, fairness groups in their fixed order."""
    if attribute == "site":
        return sorted(present)
    return [g for g in group_order(attribute, present) if g in present]
