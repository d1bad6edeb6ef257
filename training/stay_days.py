"""Patient-day rows of the length-of-stay distribution model (`training.stay_fit`).

A spell that stayed L days gives rows k = 0..min(floor(L), HORIZON - 1), event 1 on day floor(L)
(discharged before day k + 1), 0 before. A death ends the stay like any discharge (the stay
distribution is of LOS, as `long_stay` counts it with deaths kept; death as a competing event
matters for NCTR days, `models.stay_curve.nctr_expected_days`). A spell still in hospital at the
data's end contributes its complete days, all 0 (censored); a stay past HORIZON contributes days
0..HORIZON - 1, all 0 (beyond the grid the curve carries the last day's hazard).

Bounded expansion: every event row is kept; non-event rows are sampled at a rate that keeps at
most a given number of rows per spell on average, each kept row weighted 1 / rate (an unbiased
log-likelihood). At the generator's mean stay (~6 days, ~7 rows a spell) and 4 rows a spell
this keeps about half the rows.

`hazard_rows` draws each period's rows as `training.stay_fit` fits on them; they reach LightGBM
a block at a time (`PatientDaySequence`), with the bin-sampling seed stated (`hazard_params`).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.build import FeatureSpec, derive_features
from los.config import TrainingConfig
from models.stay_curve import HORIZON
from training.fit import booster_params
from training.prepare import PreparedData
from training.split import assign_periods

_DAY = pd.Timedelta(days=1)
ROWS_PER_SPELL = 4.0
"""The expansion's bound: patient-day rows kept per spell on average."""
_BLOCK = 262_144  # patient-day rows gathered at a time by `patient_day_matrix`


@dataclass(frozen=True)
class PatientDays:
    """Patient-day rows: the spell (row of the spells' matrix), day, event and weight."""

    spell: np.ndarray
    day: np.ndarray
    event: np.ndarray
    weight: np.ndarray


def expand(stayed: np.ndarray, ended: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every patient-day row of spells that stayed `stayed` days (whole stay if `ended`, else
    so far): (spell, day, event)."""
    stayed = np.clip(np.asarray(stayed, dtype=float), 0.0, None)
    whole = np.floor(stayed).astype(int)
    # ended: days 0..floor(L) (the last holds the discharge); censored: complete days only
    count = np.where(ended, whole + 1, whole)
    count = np.minimum(count, HORIZON)
    spell = np.repeat(np.arange(len(stayed)), count)
    start = np.repeat(np.cumsum(count) - count, count)
    day = np.arange(len(spell)) - start
    event = (ended[spell] & (day == whole[spell])).astype(float)
    return spell, day, event


def sample_days(
    stayed: np.ndarray, ended: np.ndarray, rng: np.random.Generator, per_spell: float
) -> PatientDays:
    """The patient-day rows with non-event rows sampled to about `per_spell` rows per spell,
    weighted by the inverse of their sampling rate."""
    spell, day, event = expand(stayed, ended)
    events = event == 1
    budget = per_spell * len(stayed) - events.sum()
    others = int((~events).sum())
    rate = 1.0 if others == 0 else float(np.clip(budget / others, 0.05, 1.0))
    keep = events | (rng.random(len(spell)) < rate)
    weight = np.where(events, 1.0, 1.0 / rate)[keep]
    return PatientDays(spell[keep], day[keep], event[keep], weight)


def stays_at(admissions: pd.DataFrame, as_of: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
    """Days each spell stayed (the whole stay if ended, else up to `as_of`) and whether it ended."""
    admitted = pd.to_datetime(admissions["admission_datetime"])
    discharged = pd.to_datetime(admissions["discharge_datetime"])
    ended = discharged.notna().to_numpy()
    end = discharged.where(discharged.notna(), as_of)
    return ((end - admitted) / _DAY).to_numpy(float), ended


def spell_times(matrix: SpellMatrix) -> pd.DataFrame:
    """Admission and discharge times of every spell of `matrix`, in its order (for `stays_at`)."""
    return pd.DataFrame({c: matrix.column(c) for c in ("admission_datetime", "discharge_datetime")})


def data_end(admissions: pd.DataFrame) -> pd.Timestamp:
    """The extract's end: its latest admission or discharge time."""
    admitted = pd.to_datetime(admissions["admission_datetime"]).max()
    discharged = pd.to_datetime(admissions["discharge_datetime"]).max()
    return max(admitted, discharged) if pd.notna(discharged) else admitted


@dataclass(frozen=True)
class SpellMatrix:
    """Ended spells (prepared, first) then the spells still in hospital (censored): their
    labels in the extract (`source`), encoded features and periods.

    The two parts are kept as they are (the prepared spells and matrix are not copied, at a
    million spells each copy is hundreds of MB); `rows` and `spells_at` read across both as if
    they were one table, position `len(prepared)` being the first spell still in hospital."""

    prepared: pd.DataFrame
    open_rows: pd.DataFrame
    source: pd.Index
    x_prepared: np.ndarray
    x_open: np.ndarray
    period: pd.Series

    def __len__(self) -> int:
        return len(self.prepared) + len(self.open_rows)

    def rows(self, positions: np.ndarray) -> np.ndarray:
        """The encoded rows at `positions` (as `np.vstack([x_prepared, x_open])[positions]`)."""
        positions = np.asarray(positions, dtype=np.int64)
        first = len(self.x_prepared)
        if len(positions) == 0 or positions.max() < first:
            return self.x_prepared[positions]
        out = np.empty((len(positions), self.x_prepared.shape[1]))
        ended = positions < first
        out[ended] = self.x_prepared[positions[ended]]
        out[~ended] = self.x_open[positions[~ended] - first]
        return out

    def column(self, name: str) -> pd.Series:
        """One column of every spell, in matrix order (index 0..n-1)."""
        return pd.concat([self.prepared[name], self.open_rows[name]], ignore_index=True)

    def spells_at(self, positions: np.ndarray) -> pd.DataFrame:
        """The spells at `positions` (ended ones first, then those still in hospital), indexed
        by position, as the one concatenated table's `.iloc[positions]` would be."""
        positions = np.asarray(positions, dtype=np.int64)
        first = len(self.prepared)
        is_open = positions >= first
        if np.any(np.diff(is_open.astype(np.int8)) < 0):
            raise ValueError("spells_at takes ended spells first, then those still in hospital")
        ended, still_in = positions[~is_open], positions[is_open]
        parts = [self.prepared.iloc[ended], self.open_rows.iloc[still_in - first]]
        table = pd.concat([p for p in parts if len(p)] or parts[:1])
        table.index = pd.RangeIndex(0, 0) if len(positions) == 0 else pd.Index(positions)
        return table


def patient_day_matrix(matrix: SpellMatrix, spell: np.ndarray, day: np.ndarray) -> np.ndarray:
    """The hazard model's input rows: each patient-day's spell row (`spell`: positions in
    `matrix`) with its day appended, as `models.stay_model.with_day(matrix.rows(spell), day)`
    gives, filled in blocks into one allocation (no gathered copy beside the result)."""
    width = matrix.x_prepared.shape[1]
    out = np.empty((len(spell), width + 1))
    for start in range(0, len(spell), _BLOCK):
        end = start + _BLOCK
        out[start:end, :width] = matrix.rows(spell[start:end])
        out[start:end, width] = day[start:end]
    return out


class PatientDaySequence(lgb.Sequence):
    """The rows `patient_day_matrix(matrix, spell, day)` returns, built a block at a time for
    `lgb.Dataset`: it reads the rows it samples for the bins by position (in increasing order,
    served from one cached block), then every row in batches, so the whole float64 matrix (at a
    million spells ~600 MB of training rows) is never allocated. The bins and the binned rows
    are those of the full matrix when the bin-sampling seed is stated (`hazard_params`)."""

    batch_size = 65_536
    _SAMPLE_BLOCK = 4_096

    def __init__(self, matrix: SpellMatrix, spell: np.ndarray, day: np.ndarray) -> None:
        self.matrix, self.spell, self.day = matrix, spell, day
        self._block: tuple[int, np.ndarray] = (0, np.empty((0, matrix.x_prepared.shape[1] + 1)))

    def __len__(self) -> int:
        return len(self.spell)

    def __getitem__(self, idx: int | slice | list[int]) -> np.ndarray:
        if isinstance(idx, numbers.Integral):
            i = int(idx) + (len(self) if int(idx) < 0 else 0)
            start, rows = self._block
            if not start <= i < start + len(rows):
                start, rows = i, self[i : i + self._SAMPLE_BLOCK]
                self._block = (start, rows)
            return rows[i - start]
        if isinstance(idx, slice):
            first, stop, step = idx.indices(len(self))
            if step == 1:
                return patient_day_matrix(self.matrix, self.spell[first:stop], self.day[first:stop])
            idx = list(range(first, stop, step))
        positions = np.asarray(idx, dtype=np.int64)
        return patient_day_matrix(self.matrix, self.spell[positions], self.day[positions])


def spell_matrix(prepared: PreparedData, admissions: pd.DataFrame) -> SpellMatrix:
    """Ended spells (prepared) plus the spells still in hospital (censored), with their encoded
    features and periods; history from the whole extract."""
    ended = admissions.index[admissions["discharge_datetime"].notna()]
    open_rows = admissions.loc[admissions["discharge_datetime"].isna()]
    spec: FeatureSpec = prepared.encoder.spec_
    if open_rows.empty:
        x_open = np.empty((0, prepared.x.shape[1]))
    else:
        x_open = prepared.encoder.transform(derive_features(open_rows, spec, admissions))
    admitted = pd.concat(
        [prepared.admissions["admission_datetime"], open_rows["admission_datetime"]],
        ignore_index=True,
    )
    period = assign_periods(admitted, prepared.boundaries)
    return SpellMatrix(
        prepared.admissions, open_rows, ended.append(open_rows.index), prepared.x, x_open, period
    )


@dataclass
class HazardRows:
    """The hazard model's patient-day rows, drawn period by period from one seeded generator:
    drawn in the same order (train, validation, calibration) they are the rows the fit used."""

    matrix: SpellMatrix
    stayed: np.ndarray  # days in hospital at the data's end (or to discharge), per spell
    ended: np.ndarray  # discharged by the data's end
    rng: np.random.Generator

    def sequence(
        self, name: str, per_spell: float = ROWS_PER_SPELL
    ) -> tuple[PatientDaySequence, PatientDays]:
        """The period's patient-day rows (features then the day), built a block at a time,
        and their days, events and weights; at most `per_spell` rows per spell on average."""
        idx = np.flatnonzero((self.matrix.period == name).to_numpy())
        days = sample_days(self.stayed[idx], self.ended[idx], self.rng, per_spell)
        return PatientDaySequence(self.matrix, idx[days.spell], days.day), days


def hazard_rows(
    prepared: PreparedData,
    admissions: pd.DataFrame,
    config: TrainingConfig,
    matrix: SpellMatrix | None = None,
) -> HazardRows:
    """The patient-day rows `fit_hazard` fits on (for it, and for a plain fit to compare)."""
    matrix = matrix or spell_matrix(prepared, admissions)
    stayed, ended = stays_at(spell_times(matrix), data_end(admissions))
    return HazardRows(matrix, stayed, ended, np.random.default_rng(config.seed))


def hazard_params(config: TrainingConfig) -> dict[str, object]:
    """The hazard booster's LightGBM parameters: the flag models' (`booster_params`), and the
    seed of the rows LightGBM samples for the bins stated, so that rows given a block at a time
    (`PatientDaySequence`) bin as the whole matrix would (from `seed` alone LightGBM derives a
    different sampling seed for the two)."""
    return {**booster_params(config.lightgbm, config.seed), "data_random_seed": config.seed}
