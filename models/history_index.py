"""History for admissions scored one by one: earlier spells indexed by patient, and the look-up.

The service and anything else scoring admissions that arrive without their history read it here:
`history_for` computes it with `features.history.compute_history`, the function the feature
path uses in training, from the patients' earlier spells in a `HistoryIndex` (loaded once from
a history source), or gives none (`features.history.NO_HISTORY`) without an index.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from features.history import SOURCE_COLUMNS, compute_history, no_history
from features.load import load_admissions
from los.schema import HISTORY_COLUMNS

log = logging.getLogger(__name__)


class HistoryIndex:
    """Earlier spells that ended, indexed by patient, loaded once from the history source."""

    def __init__(self, spells: pd.DataFrame) -> None:
        ended = spells.loc[spells["discharge_datetime"].notna(), list(SOURCE_COLUMNS)]
        self._frame = ended.reset_index(drop=True)
        self._positions: dict[Any, Any] = self._frame.groupby("patient_id").indices

    def __len__(self) -> int:
        return len(self._frame)

    @classmethod
    def load(cls, source: str) -> HistoryIndex:
        """Read and validate a CSV/Parquet/SQL source (bad rows are counted and skipped)."""

        loaded = load_admissions(source, max_bad_share=1.0)
        if loaded.report.rows_quarantined:
            log.warning("history source: %d rows failed validation", loaded.report.rows_quarantined)
        return cls(loaded.frame)

    def spells_for(self, patient_ids: list[Any]) -> pd.DataFrame:
        """Ended spells of these patients (possibly none)."""
        found = [self._positions[p] for p in set(patient_ids) if p in self._positions]
        if not found:
            return self._frame.iloc[:0]
        return self._frame.iloc[np.concatenate(found)]


def history_for(
    admissions: Mapping[str, np.ndarray], index: HistoryIndex | None
) -> dict[str, np.ndarray]:
    """The history columns of these admissions (`patient_id`, `admission_datetime`), float
    arrays in input order: computed from the index's earlier spells, or none without an index."""
    n = len(admissions["patient_id"])
    if index is None:
        return no_history(n)
    frame = pd.DataFrame(
        {
            "patient_id": admissions["patient_id"],
            "admission_datetime": admissions["admission_datetime"],
        }
    )
    computed = compute_history(frame, index.spells_for(list(frame["patient_id"])))
    return {c: computed[c].to_numpy(dtype=float) for c in HISTORY_COLUMNS}
