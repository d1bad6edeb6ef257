"""Segments a live service counts its scores by (CONTRACT §8): site and NHS ethnic group.

Label values stay bounded for a metrics store: a site the models did not learn as a level of
their `site` input is folded into "other" (and at most `MAX_SITES` are named); ethnic groups are
the seven of `features.groups` (the fairness groups).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from features.build import Columns, n_rows
from features.groups import ethnic_group
from models.registry import LoadedModel

MAX_SITES = 40
OTHER_SITE = "other"


def known_sites(models: dict[str, LoadedModel]) -> frozenset[str]:
    """Sites the models learned as levels of their `site` input (at most `MAX_SITES`)."""
    sites: set[str] = set()
    for model in models.values():
        levels = getattr(model.bundle.encoder, "levels_", {}) or {}
        sites.update(str(s) for s in levels.get("site", ()))
    return frozenset(sorted(sites)[:MAX_SITES])


def site_labels(columns: Columns, known: frozenset[str]) -> np.ndarray:
    """Each row's site label: its code when known, else "other"."""
    values: Any = columns["site"] if "site" in columns else [None] * n_rows(columns)
    text = np.array([str(v).strip() if v is not None else "" for v in np.asarray(values)])
    return np.where(np.isin(text, list(known)), text, OTHER_SITE).astype(object)


def ethnic_group_labels(columns: Columns) -> np.ndarray:
    """Each row's NHS ethnic group (Not stated and Not known included)."""
    return np.asarray(ethnic_group(columns), dtype=object)
