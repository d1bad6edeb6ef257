"""Small hand-built admissions frames for unit tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def admission(**overrides: Any) -> dict[str, Any]:
    """One contract row with sensible defaults; override any field."""
    row: dict[str, Any] = {
        "spell_id": "S1",
        "patient_id": "P1",
        "site": "RYJ01",
        "ward": "RYJ01-AMU",
        "specialty": "300",
        "admission_datetime": pd.Timestamp("2024-01-10 10:00"),
        "age": 80,
        "sex": "2",
        "ethnic_category": "A",
        "imd_decile": 3.0,
        "admission_method": "21",
        "admission_source": "19",
        "primary_diagnosis": "J18.9",
        "frailty_score": 7.5,
        "comorbidity_count": 3.0,
        "discharge_datetime": pd.Timestamp("2024-01-15 12:00"),
        "discharge_ready_datetime": pd.Timestamp("2024-01-15 12:00"),
        "discharge_destination": "19",
        "discharge_pathway": 0.0,
    }
    row.update(overrides)
    return row


def frame(*rows: dict[str, Any]) -> pd.DataFrame:
    """A typed admissions frame from rows built with `admission`."""
    df = pd.DataFrame(list(rows))
    for col in ("admission_datetime", "discharge_datetime", "discharge_ready_datetime"):
        df[col] = pd.to_datetime(df[col])
    for col in ("age", "imd_decile", "frailty_score", "comorbidity_count", "discharge_pathway"):
        df[col] = df[col].astype(float)
    return df


def random_admissions(n: int, seed: int = 0) -> pd.DataFrame:
    """`n` random but valid rows (several spells per patient), for property tests."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2023-01-01")
    adm = start + pd.to_timedelta(rng.uniform(0, 700, n), unit="D")
    los = rng.exponential(6, n)
    dis = adm + pd.to_timedelta(los, unit="D")
    still_in = rng.random(n) < 0.05
    return frame(
        *[
            admission(
                spell_id=f"S{i}",
                patient_id=f"P{rng.integers(0, max(n // 3, 1))}",
                admission_datetime=adm[i],
                discharge_datetime=pd.NaT if still_in[i] else dis[i],
                discharge_ready_datetime=pd.NaT if still_in[i] else dis[i],
                age=int(rng.integers(18, 100)),
                admission_method=str(rng.choice(["11", "21", "22", "31"])),
            )
            for i in range(n)
        ]
    )


# metrics.json keys fixed by CONTRACT §4
CONTRACT_OVERALL_KEYS = frozenset(
    {"n", "prevalence", "auroc", "auprc", "brier", "calibration_error", "threshold"}
)
CONTRACT_GROUP_KEYS = frozenset(
    {
        "n",
        "prevalence",
        "auroc",
        "auroc_ci",
        "fnr",
        "fpr",
        "ppv",
        "for",
        "flag_rate",
        "calibration_error",
        "suppressed",
    }
)
