"""Synthetic North West London admissions: spells, labels drawn from known risks, and the truth.

`generate_admissions(rows, seed)` returns `GeneratedData`: an admissions table in the shape of
CONTRACT §1 and, per spell, the exact probabilities its labels were drawn from (the oracle).
Figures come from shared/REFERENCE-FIGURES.md (§ numbers below); where that file says "not
found" the value is our plausible choice, marked (ours). docs/synthetic-data.md has the details.
The parts live in `features.synthetic`: `tables` (the reference figures below), `patients` (the
pool), `simulate` (spells, round by round) and `labels` (true risks, outcomes and the oracle).

- Eight NWL acute sites with borough-like catchments. Ethnic mix per site from Census 2021
  borough totals (§1: Hillingdon, Westminster; Brent/Harrow/Ealing/Hounslow White shares; Harrow
  Asian 45%), split into the 16 categories with the London 2011 detail (§1; Brent 2011 for the
  Asian split at Northwick Park). Older patients are more often White British or Irish, less
  often Mixed (ours). Z / 99 / blank: 13% of inpatients (Nuffield Trust, §1), and some Indian,
  Pakistani or Bangladeshi patients coded "Other Asian", Caribbean or African "Other Black" (§1).
- IMD decile from the London LSOA decile shares (§2, proxy), shifted by site and ethnicity:
  Black, Pakistani and Bangladeshi patients live in more deprived areas (ours).
- Age and method: 65+ hold ~54% and 85+ ~18% of bed days (§3; realised ~59% and ~19%);
  emergencies are ~65% of admissions at 85+ and ~32% under 65 (§3; realised ~67% and ~37%).
  Electives ~41%, emergencies ~47%, maternity ~9% (women 16-45), births and transfers ~3%.
  More emergencies in winter (Dec-Feb) with longer stays; weekend electives move to Monday.
- Hospital Frailty Risk Score: for emergencies at 75+, ~42% < 5, ~38% 5-15, ~20% > 15 (§7).
  Comorbidities rise with age and frailty (1 in 3 emergency patients with 5+, §3).
- Repeat patients: frail older people are admitted (and readmitted early) more often, so
  earlier spells give real history; a patient's next spell starts after the last discharge.
- Labels: death first (logistic), then NCTR for survivors, then the length-of-stay band
  (< 7, 7-21, >= 21 days) from ordinal logits raised by NCTR, then the stay inside the band.
  Emergency mean stay ~8 days (§4: 7.9 in 2019), ~14 at 85+ (§4: 10.8-12.5); ~33% of
  emergencies >= 7 and ~7% >= 21 days (ours: not published). Deaths ~3% (§6), ~6% of
  emergencies. Pathways P0 >= 50%, P1 ~40%, P2 <= 4%, P3 <= 1% (§6); ~45% of NCTR delays are
  short (< 3 days; §5: ~40% of NCTR patients leave the same day).
- Every probability depends only on at-admission columns and history (prior emergency
  admissions and bed days in 365 days, as `features.history` derives them) except for a
  planted disparity: Black (M, N, P), Pakistani (J) and Bangladeshi (K) patients recorded in
  IMD deciles 1-2 have twice the odds of NCTR (they wait longer for care packages; ours, for
  fairness testing). `truth` includes it; `true_probabilities` recomputes it from the table.
- The truth also holds each spell's true stay quantiles (p10, median, p90, in days) and expected
  NCTR days (CONTRACT §7), exact from the same mechanism (`features.synthetic.stay_truth`).
- Scenarios for the monitor (`features.synthetic.scenarios`): `site-capacity-shock` raises NCTR
  risk and delays at one site from a start date; `coding-change` makes one site record frailty
  on another scale. The truth then names the site (`scenario_site`) and marks the spells touched
  (`scenario_affected`); its probabilities are the shifted ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.synthetic.labels import true_probabilities
from features.synthetic.scenarios import NONE, SCENARIOS, Scenario, choose_scenario
from features.synthetic.simulate import Simulation
from features.synthetic.stay_truth import stay_truth_columns
from features.synthetic.tables import (
    DAY,
    PLANTED_ETHNIC,
    PLANTED_NCTR_ODDS_RATIO,
    SPELLS_PER_PATIENT_YEAR,
    YEAR,
)
from los.schema import COLUMNS

__all__ = [
    "PLANTED_ETHNIC",
    "PLANTED_NCTR_ODDS_RATIO",
    "SCENARIOS",
    "GeneratedData",
    "Scenario",
    "generate_admissions",
    "true_probabilities",
]


@dataclass(frozen=True)
class GeneratedData:
    """Generated spells (CONTRACT §1 columns, schema order) and their true probabilities."""

    admissions: pd.DataFrame
    truth: pd.DataFrame  # spell_id, p_long_stay, p_long_stay_21, p_nctr, CONTRACT §7 columns
    # (+ scenario columns)
    scenario: Scenario = NONE


def generate_admissions(
    rows: int, seed: int, *, start: str = "2023-01-01", end: str = "2025-06-30",
    scenario: str = "none", scenario_start: str | None = None, scenario_site: str | None = None,
) -> GeneratedData:  # fmt: skip
    """Generate exactly `rows` spells admitted from `start` to `end` (inclusive), reproducibly.

    Spells still running at the end of `end` have no discharge fields (current inpatients).
    `scenario` plants a change from `scenario_start` at `scenario_site` (drawn when not given).
    """
    t0 = pd.Timestamp(start).floor("min")
    horizon = int((pd.Timestamp(end).normalize() + pd.Timedelta(days=1) - t0).total_seconds() // 60)
    if rows < 1 or horizon < DAY:
        raise ValueError("rows must be >= 1 and end must be on or after start")
    planted = choose_scenario(scenario, scenario_start, seed, t0, pd.Timestamp(end), scenario_site)
    rng = np.random.default_rng(seed)
    pool_size = int(rows / (SPELLS_PER_PATIENT_YEAR * horizon / YEAR) * 1.05) + 20
    while True:
        spells = Simulation(rng, pool_size, horizon, t0, planted).run()
        if len(spells) >= rows:
            break
        pool_size = int(pool_size * 1.2 * rows / max(len(spells), 1)) + 20
    data = _assemble(spells.loc[_trim(rng, spells, rows)])
    if planted.name == "none":
        return data
    truth = data.truth.assign(
        scenario_site=planted.site, scenario_affected=planted.affected(data.admissions)
    )
    return GeneratedData(planted.recorded(data.admissions), truth, planted)


def _trim(rng: np.random.Generator, spells: pd.DataFrame, rows: int) -> np.ndarray:
    """Keep exactly `rows` spells: drop whole random patients, then last spells of a few more.

    Only whole patients or a patient's latest spell go, so every kept spell's history stays.
    """
    patient = spells["_pat"].to_numpy()
    counts = np.bincount(patient)
    order = rng.permutation(np.flatnonzero(counts))
    whole = order[: np.searchsorted(np.cumsum(counts[order]), len(spells) - rows, side="right")]
    keep = ~np.isin(patient, whole)
    while (excess := keep.sum() - rows) > 0:
        live = np.flatnonzero(keep)[::-1]  # rows are in round order: first seen = latest spell
        last = live[np.unique(patient[live], return_index=True)[1]]
        keep[rng.choice(last, min(excess, last.size), replace=False)] = False
    return keep


def _assemble(spells: pd.DataFrame) -> GeneratedData:
    """Sort by admission, assign pseudonymous keys, and split the table from the truth."""
    spells = spells.sort_values(["admission_datetime", "_pat"], kind="stable", ignore_index=True)
    n = len(spells)
    spell_id = pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(max(7, len(str(n)))).radd("S")
    codes = pd.factorize(spells["_pat"])[0] + 1
    patient_id = pd.Series(codes).astype(str).str.zfill(max(6, len(str(codes.max())))).radd("P")
    admissions = spells.assign(spell_id=spell_id, patient_id=patient_id)
    for column in COLUMNS:
        kind: dict[str, Any] = {"str": "str", "datetime": "M8[ns]", "int": "int64", "float": float}
        dtype = float if column.nullable and column.kind == "int" else kind[column.kind]
        admissions[column.name] = admissions[column.name].astype(dtype)
    truth = {
        "p_long_stay": "_p_long_stay",
        "p_long_stay_21": "_p_super_stranded",
        "p_nctr": "_pn",
    }
    probabilities = pd.DataFrame({"spell_id": spell_id, **{k: spells[v] for k, v in truth.items()}})
    return GeneratedData(
        admissions=admissions[[c.name for c in COLUMNS]],
        truth=probabilities.join(stay_truth_columns(spells)),
    )
