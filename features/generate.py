"""Synthetic North West London admissions: spells, labels drawn from known risks, and the truth.

`generate_admissions(rows, seed)` returns `GeneratedData`: an admissions table in the shape of
CONTRACT §1 and, per spell, the exact probabilities its labels were drawn from (the oracle).
Figures come from shared/REFERENCE-FIGURES.md (§ numbers below); where that file says "not
found" the value is our plausible choice, marked (ours). docs/synthetic-data.md has the details.

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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import norm

from los.schema import CARE_HOME_CODES, COLUMNS, DIED_DESTINATION, ETHNIC_CODES

DAY = 1440  # minutes
YEAR = 365.25 * DAY
WINDOW = 365 * DAY  # history window of CONTRACT §1
SPELLS_PER_PATIENT_YEAR = 0.37  # measured: spells per pool member per year of window
PLANTED_ETHNIC = ("M", "N", "P", "J", "K")
PLANTED_NCTR_ODDS_RATIO = 2.0
_AGE_BANDS = np.array([16, 45, 65, 75, 85])  # bands 0-15, 16-44, 45-64, 65-74, 75-84, 85+
_DETAIL = np.array(ETHNIC_CODES[:16], dtype=object)  # A..S
_GROUP_OF = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 4])  # W, Mx, A, B, Other
# London 2011 detailed shares, % (§1): A B C | D E F G | H J K L | M N P | R S
_LONDON = np.array([44.9, 2.2, 12.7, 1.5, 0.8, 1.2, 1.5, 6.6, 2.7, 2.7, 4.9, 4.2, 7, 2.1, 1.5, 3.4])
# Per year of age above 45: log-weight change of each category (older: White British, Irish).
_AGE_SLOPE = np.array([25, 20, 0, -25, -25, -25, -25, 0, 0, 0, 0, 10, -10, 0, 0, 0]) / 1000
_ETHNIC_IMD_SHIFT = np.array([-1, 0, 0, 2, 2, 0, 0, -1, 4.5, 4.5, 0, 4.5, 4.5, 4.5, -2, 2]) / 10
_LONDON_IMD_CUMULATIVE = np.array([2, 16, 33, 47, 58, 69, 78, 87, 96]) / 100  # deciles 1-9, §2


class _Site(NamedTuple):
    """An acute site and its catchment."""

    code: str
    share: float  # of spells
    groups: tuple[float, ...]  # White, Mixed, Asian, Black, Other, % (Census 2021 boroughs)
    asian: tuple[float, ...] | None  # H, J, K, L detail when the borough differs from London
    imd_shift: float  # + = more deprived catchment
    stay: float  # log-odds shifts of long stay and NCTR (local flow, care market)
    nctr: float
    unknown: float  # share of ethnicity Z / 99 / blank
    maternity: int  # site index where its births happen


_SITES = (
    _Site("RYJ01", 0.13, (55, 7, 17, 8, 13), (4, 1.5, 3.5, 5), 0.1, 0.05, 0.1, 0.12, 0),
    _Site("RYJ02", 0.10, (62, 7, 11, 12, 8), None, -0.1, 0.0, 0.0, 0.12, 2),
    _Site("RYJ03", 0.06, (50, 6, 20, 15, 9), None, 0.2, 0.1, 0.05, 0.12, 2),
    _Site("RQM01", 0.12, (65, 7, 11, 8, 9), None, -0.3, -0.1, -0.2, 0.10, 3),
    _Site("RQM91", 0.13, (44, 5, 37, 8, 6), (15, 5, 1, 7), 0.1, 0.0, 0.0, 0.10, 4),
    _Site("R1K01", 0.20, (35, 5, 40, 14, 6), (17.3, 4.7, 0.5, 10.5), 0.1, 0.1, 0.15, 0.16, 5),
    _Site("R1K04", 0.08, (43, 6, 30, 11, 10), None, 0.2, 0.05, 0.1, 0.16, 5),
    _Site("RAS01", 0.18, (48, 5, 33, 8, 6), (12, 4, 1, 6), -0.2, -0.05, 0.25, 0.14, 7),
)
_SITE_CODES = np.array([s.code for s in _SITES], dtype=object)
_SITE_SHARES = np.array([s.share for s in _SITES])

# (specialty, ICD-10 codes commonest first, weights by age band, sex: "" any, "1" or "2")
_EMERGENCY = (
    ("300", ("J18.9", "J18.1", "J69.0"), (3, 4, 6, 9, 11, 12), ""),
    ("340", ("J44.1", "J44.0", "J45.9"), (1, 3, 4, 6, 5, 3), ""),
    ("420", ("J21.9", "J06.9", "R50.9", "A09.9"), (30, 0, 0, 0, 0, 0), ""),
    ("300", ("N39.0", "N10"), (1, 2, 2, 4, 7, 10), ""),
    ("300", ("A41.9",), (1, 1.5, 2.5, 3.5, 4, 4), ""),
    ("320", ("I50.9", "I48.9", "I50.0"), (0, 0.5, 3, 6, 8, 8), ""),
    ("320", ("R07.4", "I21.4", "I20.0"), (0, 3, 7, 6, 4, 2), ""),
    ("328", ("I63.9", "G45.9", "I61.9"), (0, 0.5, 2.5, 4, 5, 5), ""),
    ("300", ("R55", "R06.0", "R51"), (1, 4, 3, 3, 4, 4), ""),
    ("430", ("R29.6", "F05.9", "R41.0"), (0, 0, 0, 1, 5, 10), ""),
    ("110", ("S72.0", "S72.1", "S72.2"), (0, 0.3, 0.7, 1.5, 4, 7), ""),
    ("110", ("S82.8", "S52.5", "S42.2"), (3, 4, 2.5, 1.5, 1.5, 1.5), ""),
    ("100", ("S06.0", "T14.9"), (1, 2, 1, 1, 1.5, 2), ""),
    ("300", ("L03.1",), (0.5, 2, 3, 3, 3, 3), ""),
    ("300", ("N17.9", "E87.1"), (0, 0.3, 1.5, 2.5, 3.5, 5), ""),
    ("301", ("K92.2", "K92.1", "K70.3"), (0, 1.5, 2.5, 2, 2.5, 2.5), ""),
    ("100", ("R10.4", "K35.8", "K80.2", "K56.6"), (3, 9, 6, 4, 3, 2), ""),
    ("300", ("U07.1",), (0.3, 1, 1.5, 2, 2.5, 3), ""),
    ("300", ("E10.1", "E11.6", "E16.2"), (0.5, 1.5, 1.5, 1.5, 1.5, 1.5), ""),
    ("300", ("T39.1", "F10.0", "T42.4"), (0.5, 4, 2, 0.5, 0.2, 0.1), ""),
    ("502", ("O03.9", "O00.9", "N83.2"), (0, 5, 0.5, 0, 0, 0), "2"),
    ("101", ("N20.0", "R33"), (0, 2, 2, 2, 2, 1.5), ""),
    ("370", ("C34.9", "C18.9", "D70"), (0.2, 0.5, 2, 3, 2.5, 1), ""),
    ("180", ("R06.0", "R07.4", "R10.4"), (1, 4, 3, 2, 2, 2), ""),
)
_ELECTIVE = (
    ("110", ("M17.9", "M16.9"), (0, 0.5, 4, 7, 5, 1), ""),
    ("110", ("M23.2", "M75.1", "M51.1"), (1, 4, 4, 2, 1, 0.3), ""),
    ("130", ("H25.9", "H40.1"), (0.2, 0.3, 2, 5, 6, 3), ""),
    ("100", ("K40.9", "K80.2", "K42.9"), (1, 4, 5, 4, 2, 0.5), ""),
    ("104", ("C18.9", "C20"), (0, 0.3, 2, 3, 2.5, 0.8), ""),
    ("301", ("K57.3", "K63.5", "K21.9"), (0, 3, 6, 6, 4, 1.5), ""),
    ("101", ("N40",), (0, 0.3, 3, 5, 4.5, 1.5), "1"),
    ("101", ("C67.9", "N20.0"), (0, 1, 2, 2, 2, 1), ""),
    ("502", ("N92.0", "D25.9", "N81.2"), (0, 8, 5, 2, 0.5, 0.1), "2"),
    ("320", ("I25.1", "I48.9"), (0, 0.5, 3, 4, 3, 1), ""),
    ("370", ("Z51.1",), (0.1, 2, 5, 5, 3.5, 1), ""),
    ("120", ("J35.0", "J34.2"), (6, 3, 1, 0.5, 0.2, 0.1), ""),
    ("303", ("D64.9", "D50.9"), (0.2, 0.5, 1.5, 2, 2.5, 2), ""),
    ("420", ("K40.9", "Q53.1"), (4, 0, 0, 0, 0, 0), ""),
)
_EMERGENCY_METHODS = ("21", "22", "23", "24", "25", "28", "2A", "2B", "2D")
_EMERGENCY_METHOD_SHARES = (0.73, 0.08, 0.01, 0.05, 0.005, 0.04, 0.02, 0.03, 0.035)

# Log-odds effects (ours, tuned to the figures above): long stay, NCTR, death; then wards.
_SPECIALTIES: dict[str, tuple[float, float, float, tuple[str, ...]]] = {
    "100": (-0.2, -0.2, 0, ("SURG-1", "SURG-2", "SAU")),
    "101": (-0.5, 0, 0, ("UROLOGY",)),
    "104": (1.0, 0, 0, ("SURG-2",)),
    "110": (0.45, 0.3, 0, ("ORTHO-1", "ORTHO-2")),
    "120": (-1.5, -1.5, 0, ("DAYCASE",)),
    "130": (-2.5, -2.0, 0, ("DAYCASE",)),
    "180": (-1.3, -0.8, -1.0, ("CDU",)),
    "300": (0, 0, 0, ("AMU", "AMU", "MED-1", "MED-2")),
    "301": (-0.3, 0, 0, ("GASTRO", "ENDO-DAY")),
    "303": (-0.2, 0, 0, ("HAEM-DAY",)),
    "320": (-0.25, 0, 0, ("CARDIO", "CCU")),
    "328": (0.7, 0.5, 0, ("STROKE",)),
    "340": (0.05, 0, 0, ("RESP-1", "RESP-2")),
    "370": (0.2, 0, 0, ("ONC-DAY", "ONCOLOGY")),
    "420": (-1.0, -1.5, 0, ("PAEDS",)),
    "424": (-0.5, -3.0, 0, ("POSTNATAL",)),
    "430": (0.55, 0.4, 0, ("ELDERLY-1", "ELDERLY-2", "ELDERLY-3")),
    "501": (-0.5, -1.5, 0, ("LABOUR", "MATERNITY")),
    "502": (-0.8, -1.5, 0, ("GYNAE",)),
}
_CHAPTERS = {  # ICD-10 chapter letter of the primary diagnosis (the model sees the chapter)
    "A": (0.35, 0, 0.9),
    "C": (0.4, 0, 1.0),
    "F": (0.35, 0.5, 0),
    "I": (0, 0, 0.25),
    "J": (0.05, 0, 0.35),
    "K": (-0.1, 0, 0),
    "L": (-0.1, 0, 0),
    "M": (-0.3, 0, 0),
    "N": (0, 0, 0.1),
    "O": (-0.5, 0, -2.0),
    "P": (1.2, 0, 0),
    "R": (-0.45, -0.2, -0.6),
    "S": (0.45, 0.3, 0.2),
    "T": (-0.6, 0.3, -0.3),
    "U": (0.25, 0, 0.7),
    "Z": (-1.0, 0, -1.0),
}
_GROUPS = {  # elective, emergency, maternity, transfer 81, births 82/83
    "1": (-2.2, -1.4, 0),
    "2": (-1.65, 0, 2.5),
    "3": (-3.0, -5.0, -3.0),
    "81": (-0.3, 0.3, 1.5),
    "82": (-3.5, -5.0, -2.5),
    "83": (-3.5, -5.0, -2.5),
}
_SITE_EFFECTS = {s.code: (s.stay, s.nctr, 0.0) for s in _SITES}
# Long-stay logit shifts by outcome (died, NCTR, neither): at 7 days and at 21 days.
_SHIFT_7 = np.array([0.4, 1.5, 0.0])
_SHIFT_21 = np.array([-2.2, -0.6, -2.5])


@dataclass(frozen=True)
class GeneratedData:
    """Generated spells (CONTRACT §1 columns, schema order) and their true probabilities."""

    admissions: pd.DataFrame
    truth: pd.DataFrame  # spell_id, p_long_stay, p_long_stay_21, p_nctr


def generate_admissions(
    rows: int, seed: int, *, start: str = "2023-01-01", end: str = "2025-06-30"
) -> GeneratedData:
    """Generate exactly `rows` spells admitted from `start` to `end` (inclusive), reproducibly.

    Spells still running at the end of `end` have no discharge fields (current inpatients).
    """
    t0 = pd.Timestamp(start).floor("min")
    horizon = int((pd.Timestamp(end).normalize() + pd.Timedelta(days=1) - t0).total_seconds() // 60)
    if rows < 1 or horizon < DAY:
        raise ValueError("rows must be >= 1 and end must be on or after start")
    rng = np.random.default_rng(seed)
    pool_size = int(rows / (SPELLS_PER_PATIENT_YEAR * horizon / YEAR) * 1.05) + 20
    while True:
        spells = _Simulation(rng, pool_size, horizon, t0).run()
        if len(spells) >= rows:
            break
        pool_size = int(pool_size * 1.2 * rows / max(len(spells), 1)) + 20
    return _assemble(spells.loc[_trim(rng, spells, rows)])


def true_probabilities(spells: pd.DataFrame) -> pd.DataFrame:
    """The oracle per spell: `p_long_stay`, `p_long_stay_21`, `p_nctr` (if alive), `p_death`.

    `spells` holds the at-admission columns of CONTRACT §1 (ethnicity too: it carries the planted
    NCTR disparity) and `prior_emergency_admissions_365d` and `prior_bed_days_365d` as
    `features.history.compute_history` derives them.
    """
    stay, nctr, death = _risk(spells)
    p_death, p_nctr = expit(death), expit(nctr)
    return pd.DataFrame(
        {
            "p_long_stay": _long_stay(stay, p_death, p_nctr, _SHIFT_7),
            "p_long_stay_21": _long_stay(stay, p_death, p_nctr, _SHIFT_21),
            "p_nctr": p_nctr,
            "p_death": p_death,
        },
        index=spells.index,
    )


@dataclass
class _Pool:
    """Patients who may be admitted: fixed traits and the state carried from spell to spell."""

    birth: np.ndarray  # minutes from the window start
    entry: np.ndarray  # when they join the population at risk (0: at the start)
    sex: np.ndarray
    ethnic: np.ndarray  # recorded code, None when blank
    imd: np.ndarray
    site: np.ndarray  # home site index
    frail: np.ndarray  # latent frailty, N(0, 1)
    rate: np.ndarray  # admissions per minute
    regular: np.ndarray  # planned regular day attender (chemotherapy, transfusion)
    death: np.ndarray  # death outside hospital (minutes)
    care_home: np.ndarray  # ADMISORC of the care home they live in, or None
    newborn: np.ndarray
    last_delivery: np.ndarray
    last_discharge: np.ndarray


def _patients(rng: np.random.Generator, n: int, horizon: int) -> _Pool:
    """Draw the patient pool: age, sex, site, ethnicity, deprivation, frailty and rates."""
    band = rng.choice(6, n, p=np.array([13, 36, 27, 10.5, 8.5, 5]) / 100)
    lo, hi = np.array([0, 16, 45, 65, 75, 85])[band], np.array([16, 45, 65, 75, 85, 86])[band]
    age = np.where(band == 5, 85 + np.minimum(rng.exponential(5, n), 19), rng.uniform(lo, hi))
    newborn = rng.random(n) < 0.025
    age[newborn] = 0.0
    frail = rng.standard_normal(n)
    male = rng.random(n) < np.interp(age, [0, 16, 80, 95], [0.51, 0.47, 0.42, 0.33])
    sex = np.where(rng.random(n) < 0.001, "9", np.where(male, "1", "2")).astype(object)
    site = rng.choice(len(_SITES), n, p=_SITE_SHARES)
    ethnic = _draw_ethnicity(rng, site, age)
    latent = np.array([s.imd_shift for s in _SITES])[site] + _ETHNIC_IMD_SHIFT[ethnic]
    cuts = norm.ppf(1 - _LONDON_IMD_CUMULATIVE)
    imd = 1 + (latent[:, None] + rng.standard_normal(n)[:, None] < cuts).sum(axis=1)
    knots = [0, 1, 5, 16, 45, 65, 75, 85, 95]
    log_rate = np.interp(age, knots, [0.3, -0.2, -0.5, -0.4, -0.1, 0.35, 0.75, 1.05, 1.2]) - 1.35
    log_rate += 0.5 * frail * np.interp(age, [0, 50, 65], [0.3, 0.6, 1.0])
    log_rate += 0.45 * ((sex == "2") & (age >= 16) & (age < 43))  # pregnancy
    regular = (rng.random(n) < 0.003) & (age > 30)
    # Deaths outside hospital end a patient's admissions; entrants (moving in, ageing into
    # frailty) replace them, so the population at risk and the volume stay steady.
    mortality = np.exp(-9.5 + 0.085 * age + 0.4 * frail)
    years = horizon / YEAR
    entrant = newborn | (rng.random(n) < mortality * years / (1 + mortality * years))
    entry = np.where(entrant, rng.uniform(0, horizon, n), 0.0)
    in_home = rng.random(n) < expit(-7 + 0.06 * age + 0.8 * frail) * (age >= 65)
    homes = rng.choice(CARE_HOME_CODES, n, p=[0.1, 0.2, 0.7])
    return _Pool(
        birth=entry - age * YEAR,
        entry=entry,
        sex=sex,
        ethnic=_record_ethnicity(rng, ethnic, site),
        imd=imd,
        site=site,
        frail=frail,
        rate=np.where(regular, 6.0 / YEAR, np.exp(log_rate) / YEAR),
        regular=regular,
        death=entry + rng.exponential(1 / mortality) * YEAR,
        care_home=_blank(homes, ~in_home),
        newborn=newborn,
        last_delivery=np.full(n, -np.inf),
        last_discharge=np.full(n, -np.inf),
    )


def _draw_ethnicity(rng: np.random.Generator, site: np.ndarray, age: np.ndarray) -> np.ndarray:
    """True ethnic category index (0-15) by home site and age."""
    base = np.empty((len(_SITES), 16))
    for i, s in enumerate(_SITES):
        within = _LONDON.copy()
        if s.asian is not None:
            within[7:11] = s.asian
        totals = np.bincount(_GROUP_OF, weights=within)
        base[i] = np.array(s.groups)[_GROUP_OF] * within / totals[_GROUP_OF]
    return _categorical(rng, base[site] * np.exp(np.outer(age - 45, _AGE_SLOPE)))


def _record_ethnicity(rng: np.random.Generator, true: np.ndarray, site: np.ndarray) -> np.ndarray:
    """Recorded code: Z, 99 or blank for ~13%; some specific groups coded "Other" (§1)."""
    code = _DETAIL[true]
    u = rng.random(true.size)
    code[np.isin(true, [7, 8, 9]) & (u < 0.1)] = "L"
    code[np.isin(true, [11, 12]) & (u < 0.1)] = "P"
    unknown = rng.random(true.size) / np.array([s.unknown for s in _SITES])[site]
    code[unknown < 1] = "Z"
    code[unknown < 7 / 13] = "99"
    code[unknown < 3 / 13] = None
    return code


def _categorical(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One draw per row of a (rows, categories) weight matrix."""
    cum = np.cumsum(weights, axis=1)
    return (rng.random(len(cum)) * cum[:, -1] > cum[:, :-1].T).sum(axis=0)


class _Simulation:
    """A pool of patients followed through the window, round by round: the k-th spell of every
    patient at once, so history (earlier spells) is known when the next spell is drawn."""

    def __init__(self, rng: np.random.Generator, size: int, horizon: int, t0: pd.Timestamp):
        self.rng, self.horizon, self.t0 = rng, horizon, t0
        self.pool = _patients(rng, size, horizon)
        self.history: list[tuple[np.ndarray, ...]] = []

    def run(self) -> pd.DataFrame:
        """All spells, in round order."""
        pool, rounds = self.pool, []
        after = pool.entry.copy()  # a newborn's first spell is its birth
        after[~pool.newborn] = self._next_times(pool.entry, pool.rate)[~pool.newborn]
        active = np.flatnonzero((after < self.horizon) & (after < pool.death))
        while active.size:
            frame = _outcomes(self.rng, self._admit(active, after[active]), self.horizon)
            rounds.append(frame)
            self._carry(frame)
            going = (frame["_dis"].to_numpy() < self.horizon) & ~frame["_died"].to_numpy()
            idx, dis = active[going], frame["_dis"].to_numpy()[going]
            early = self.rng.random(idx.size) < frame["_readmit"].to_numpy()[going]
            nxt = self._next_times(dis + 60, np.where(early, 1 / (20 * DAY), pool.rate[idx]))
            keep = (nxt < self.horizon) & (nxt < pool.death[idx])
            active = idx[keep]
            after[active] = nxt[keep]
        return pd.concat(rounds, ignore_index=True)

    def _next_times(self, after: np.ndarray, rate: np.ndarray) -> np.ndarray:
        """Next event of a seasonal Poisson process after `after` (by thinning): +5% in
        mid-January, -5% in mid-July (ours); >= horizon when there is none."""
        t, pending = after.astype(float).copy(), np.ones(after.size, bool)
        while pending.any():
            idx = np.flatnonzero(pending)
            t[idx] += self.rng.exponential(1 / (rate[idx] * 1.05))
            day_of_year = self.t0.day_of_year - 1 + t[idx] / DAY
            season = 1 + 0.05 * np.cos(2 * np.pi * (day_of_year - 15) / 365.25)
            pending[idx] = (self.rng.random(idx.size) * 1.05 >= season) & (t[idx] < self.horizon)
        return t

    def _admit(self, idx: np.ndarray, adm: np.ndarray) -> pd.DataFrame:
        """At-admission fields of the next spell of patients `idx` (labels follow)."""
        pool, rng, n = self.pool, self.rng, idx.size
        age = np.floor((adm - pool.birth[idx]) / YEAR).clip(0, 110).astype(int)
        first_birth = pool.newborn[idx] & (adm == pool.birth[idx])
        month, _ = self._calendar(adm)
        group = self._group(idx, age, first_birth, np.isin(month, [12, 1, 2]))
        adm = self._timing(idx, adm, group, first_birth)
        method, source, spec, diagnosis = self._clinical(idx, age, group, adm)
        home = pool.site[idx]
        site = np.where(rng.random(n) < 0.9, home, rng.choice(len(_SITES), n, p=_SITE_SHARES))
        site = np.where(np.isin(group, [2, 4]), np.array([s.maternity for s in _SITES])[site], site)
        count, emergency, bed_days = self._prior(idx, adm)
        frailty, comorbidity = _measures(rng, pool.frail[idx], age, group == 1, count)
        stamp = np.datetime64(self.t0, "m") + adm.astype("int64").astype("timedelta64[m]")
        return pd.DataFrame(
            {
                "_pat": idx,
                "_adm": adm,
                "site": _SITE_CODES[site],
                "ward": _blank(_ward(rng, _SITE_CODES[site], spec, group), rng.random(n) < 0.01),
                "specialty": _blank(spec, rng.random(n) < 0.005),
                "admission_datetime": stamp,
                "age": age,
                "sex": pool.sex[idx],
                "ethnic_category": pool.ethnic[idx],
                "imd_decile": np.where(rng.random(n) < 0.03, np.nan, pool.imd[idx]),
                "admission_method": method,
                "admission_source": source,
                "primary_diagnosis": _blank(diagnosis, rng.random(n) < 0.04),
                "frailty_score": frailty,
                "comorbidity_count": comorbidity,
                "prior_emergency_admissions_365d": emergency,
                "prior_bed_days_365d": bed_days,
            }
        )

    def _calendar(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Month (1-12) and weekday (Monday = 0) of times in minutes from the start."""
        start = np.datetime64(self.t0, "m")
        days = (start + t.astype("int64").astype("timedelta64[m]")).astype("M8[D]")
        return days.astype("M8[M]").astype("int64") % 12 + 1, (days.astype("int64") + 3) % 7

    def _group(
        self, idx: np.ndarray, age: np.ndarray, first_birth: np.ndarray, winter: np.ndarray
    ) -> np.ndarray:
        """0 elective, 1 emergency, 2 maternity, 3 transfer (81), 4 birth (82/83)."""
        frail, women = self.pool.frail[idx], (self.pool.sex[idx] == "2") & (age >= 16)
        knots = [0, 16, 45, 65, 75, 85, 100]
        emergency = np.interp(age, knots, [0.6, -0.6, -0.55, 0.0, 0.4, 0.55, 0.7]) + 0.5 * frail
        maternity = np.interp(age, [16, 22, 30, 38, 45], [-0.6, 0.9, 1.5, 0.9, -1.1])
        logits = np.column_stack(
            [
                -0.1 * winter,
                emergency + 0.1 * winter,
                np.where(women & (age <= 45), maternity, -np.inf),
                -4.5 + 0.5 * (age >= 65),
            ]
        )
        group = _categorical(self.rng, np.exp(logits))
        group[self.pool.regular[idx] & (self.rng.random(idx.size) < 0.9)] = 0
        group[first_birth] = 4
        return group

    def _timing(
        self, idx: np.ndarray, adm: np.ndarray, group: np.ndarray, first_birth: np.ndarray
    ) -> np.ndarray:
        """Admission minute: most weekend electives move to Monday; electives arrive in the
        morning, emergencies mostly in the afternoon and evening; never before the last
        discharge of the same patient."""
        rng, n = self.rng, idx.size
        _, weekday = self._calendar(adm)
        day = np.floor(adm / DAY)
        monday = day + 7 - weekday
        move = (
            (group == 0) & (weekday >= 5) & (rng.random(n) < 0.85) & (monday * DAY < self.horizon)
        )
        day = np.where(move, monday, day)
        tod = np.where(rng.random(n) < 0.6, rng.normal(840, 210, n) % DAY, rng.uniform(0, DAY, n))
        tod = np.where(group == 0, 420 + np.minimum(rng.exponential(75, n), 600), tod)
        tod = np.where(group >= 2, rng.uniform(0, DAY, n), tod)
        adm = np.floor(np.where(first_birth, adm, day * DAY + tod))
        earliest = np.ceil(self.pool.last_discharge[idx] + 60)
        return np.minimum(np.maximum(adm, earliest), self.horizon - 1)

    def _clinical(
        self, idx: np.ndarray, age: np.ndarray, group: np.ndarray, adm: np.ndarray
    ) -> tuple[np.ndarray, ...]:
        """Method, source, specialty and diagnosis consistent with age, sex and group."""
        rng, pool, n = self.rng, self.pool, idx.size
        band, sex, u = np.searchsorted(_AGE_BANDS, age, side="right"), pool.sex[idx], rng.random(n)
        elective, maternity, birth = group == 0, group == 2, group == 4
        spec, diagnosis = _pick(rng, _EMERGENCY, band, sex)
        e_spec, e_diagnosis = _pick(rng, _ELECTIVE, band, sex)
        spec, diagnosis = (
            np.where(elective, e_spec, spec),
            np.where(elective, e_diagnosis, diagnosis),
        )
        regular = elective & pool.regular[idx]
        spec[regular] = np.where(u[regular] < 0.7, "370", "303")
        diagnosis[regular] = np.where(u[regular] < 0.7, "Z51.1", "D64.9")
        medical = np.isin(spec, ["300", "340", "320", "301", "328", "370", "303"]) & ~elective
        spec[medical & (age < 16)] = "420"
        spec[medical & (age >= 80) & np.isin(spec, ["300", "340", "320"]) & (u < 0.35)] = "430"
        delivery = (u < 0.6) & (adm - pool.last_delivery[idx] > 280 * DAY)
        antenatal = np.array(["O47.0", "O26.8", "O42.0", "O99.8"], dtype=object)[
            rng.integers(0, 4, n)
        ]
        spec[maternity] = "501"
        diagnosis[maternity] = np.where(delivery, np.where(u < 0.45, "O80", "O82"), antenatal)[
            maternity
        ]
        sick = u < 0.08
        spec[birth] = np.where(sick, "420", "424")[birth]
        diagnosis[birth] = np.where(sick, np.where(u < 0.04, "P59.9", "P07.3"), "Z38.0")[birth]
        method = rng.choice(_EMERGENCY_METHODS, n, p=_EMERGENCY_METHOD_SHARES).astype(object)
        planned = rng.choice(["11", "12", "13"], n, p=[0.55, 0.3, 0.15])
        method[elective] = np.where(regular, "13", planned)[elective]
        method[maternity] = np.where(u < 0.92, "31", "32")[maternity]
        method[group == 3] = "81"
        method[birth] = np.where(u < 0.97, "82", "83")[birth]
        source = np.where(rng.random(n) < 0.01, "29", "19").astype(object)
        in_home = pd.notna(pool.care_home[idx]) & ~maternity
        source[in_home] = pool.care_home[idx][in_home]
        source[np.isin(method, ["2B", "81"])] = "51"
        source[method == "82"] = "79"
        return method, source, spec, diagnosis

    def _prior(self, idx: np.ndarray, adm: np.ndarray) -> tuple[np.ndarray, ...]:
        """Admissions, emergency admissions and bed days ended in the 365 days before `adm`."""
        count, emergency, bed_days = np.zeros(idx.size), np.zeros(idx.size), np.zeros(idx.size)
        for patients, r_adm, r_dis, r_emergency in self.history:
            pos = np.searchsorted(patients, idx)  # every active patient was in earlier rounds
            hit = (r_dis[pos] < adm) & (r_dis[pos] >= adm - WINDOW)
            count += hit
            emergency += hit & r_emergency[pos]
            bed_days += np.where(hit, (r_dis[pos] - r_adm[pos]) / DAY, 0.0)
        return count, emergency, bed_days

    def _carry(self, frame: pd.DataFrame) -> None:
        """Keep the round for later history; care-home moves, deliveries, last discharge."""
        self.history.append(tuple(frame[c].to_numpy() for c in ("_pat", "_adm", "_dis", "_em")))
        pool, pat = self.pool, frame["_pat"].to_numpy()
        moved = (frame["discharge_pathway"] == 3).to_numpy()
        pool.care_home[pat[moved]] = frame["discharge_destination"].to_numpy()[moved]
        delivered = frame["primary_diagnosis"].isin(["O80", "O82"]).to_numpy()
        pool.last_delivery[pat[delivered]] = frame["_adm"].to_numpy()[delivered]
        pool.last_discharge[pat] = frame["_dis"].to_numpy()


def _pick(
    rng: np.random.Generator, table: tuple, band: np.ndarray, sex: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Specialty and ICD-10 code from a condition table, by age band and sex."""
    allowed = np.array([[row[3] in ("", s) for row in table] for s in ("1", "2", "9")])
    weights = np.array([row[2] for row in table], float)[:, band].T
    weights = weights * allowed[np.searchsorted(["1", "2", "9"], sex)] + 1e-12
    cond = _categorical(rng, weights)
    sizes = np.array([len(row[1]) for row in table])
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    codes = np.array([c for row in table for c in row[1]], dtype=object)
    which = (rng.random(band.size) ** 1.6 * sizes[cond]).astype(int)  # commonest first
    return np.array([row[0] for row in table], dtype=object)[cond], codes[first[cond] + which]


def _blank(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """`values` as objects, None where `missing` (not recorded)."""
    out = values.astype(object).copy()
    out[missing] = None
    return out


def _ward(
    rng: np.random.Generator, site: np.ndarray, spec: np.ndarray, group: np.ndarray
) -> np.ndarray:
    """Ward names like RYJ01-AMU by site and specialty."""
    out, u = np.empty(site.size, dtype=object), rng.random(site.size)
    for code, (*_, stems) in _SPECIALTIES.items():
        hit = spec == code
        out[hit] = np.array(stems, dtype=object)[(u[hit] * len(stems)).astype(int)]
    out[(group == 0) & (u < 0.3) & ~np.isin(spec, ["110", "104"])] = "DAYCASE"
    return site + "-" + out


def _measures(
    rng: np.random.Generator,
    frail: np.ndarray,
    age: np.ndarray,
    emergency: np.ndarray,
    prior: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Hospital Frailty Risk Score and comorbidity count (~5% and ~4% not recorded)."""
    n = age.size
    log_h = np.interp(age, [0, 40, 60, 75, 85, 95], [-1.5, -0.5, 0.3, 0.95, 1.45, 1.75])
    log_h += 0.85 * frail + 0.35 * rng.standard_normal(n) + 0.1 * np.minimum(prior, 5)
    frailty = np.round(np.clip(np.exp(log_h + 0.25 * emergency) - 1.5, 0.0, 80.0), 1)
    frailty[rng.random(n) < np.where(age < 16, 0.3, 0.05)] = np.nan
    lam = np.exp(-0.8 + 0.027 * np.minimum(age, 95) + 0.3 * frail + 0.15 * emergency)
    comorbidity = rng.poisson(lam).astype(float)
    comorbidity[rng.random(n) < 0.04] = np.nan
    return frailty, comorbidity


def _effects(values: pd.Series, table: dict) -> np.ndarray:
    """(rows, 3) log-odds effects on long stay, NCTR and death; zeros for other codes."""
    keys = list(table)
    effects = np.array([list(table[k][:3]) for k in keys] + [[0.0, 0.0, 0.0]])
    pos = values.map({k: i for i, k in enumerate(keys)}).astype(float).fillna(len(keys))
    return effects[pos.to_numpy(int)]


def _risk(spells: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log-odds of a stay >= 7 days (for a survivor without NCTR), of NCTR and of death."""
    age = spells["age"].to_numpy(float)
    method = spells["admission_method"].astype(object)
    group = method.where(method.isin(["81", "82", "83"]), method.str[0])
    fx = (
        _effects(group, _GROUPS)
        + _effects(spells["specialty"], _SPECIALTIES)
        + _effects(spells["primary_diagnosis"].str[0], _CHAPTERS)
        + _effects(spells["site"], _SITE_EFFECTS)
    )
    frailty = spells["frailty_score"].to_numpy(float)
    fill = np.interp(age, [0, 40, 60, 75, 85, 95], [0, 0.3, 1.0, 2.5, 4.5, 6])  # typical value
    frailty = np.minimum(np.where(np.isnan(frailty), fill, frailty), 35)
    comorbid = spells["comorbidity_count"].to_numpy(float)
    fill = np.exp(-0.8 + 0.027 * np.minimum(age, 95))
    comorbid = np.minimum(np.where(np.isnan(comorbid), fill, comorbid), 10)
    care_home = spells["admission_source"].isin(CARE_HOME_CODES).to_numpy()
    from_hospital = spells["admission_source"].eq("51").to_numpy()
    winter = pd.to_datetime(spells["admission_datetime"]).dt.month.isin([12, 1, 2]).to_numpy()
    prior = np.minimum(spells["prior_emergency_admissions_365d"].to_numpy(float), 6)
    bed_days = np.log1p(spells["prior_bed_days_365d"].to_numpy(float))
    imd = spells["imd_decile"].to_numpy(float)
    planted = spells["ethnic_category"].isin(PLANTED_ETHNIC).to_numpy() & (imd <= 2)

    age_stay = np.interp(age, [0, 15, 16, 40, 60, 95], [-0.6, -0.6, -0.25, 0, 0.2, 0.2])
    patient = 0.04 * frailty + 0.05 * comorbid + 0.2 * care_home + 0.5 * from_hospital
    context = 0.1 * prior + 0.18 * bed_days + 0.15 * winter + 0.1 * (imd <= 3)
    stay = fx[:, 0] + age_stay + patient + context

    age_nctr = np.interp(age, [0, 16, 50, 65, 75, 85, 95], [-2, -2, -1.2, -0.5, 0.3, 0.65, 0.9])
    patient = 0.05 * frailty + 0.04 * comorbid + 0.6 * care_home
    context = 0.05 * prior + 0.12 * bed_days + 0.1 * winter + 0.1 * (imd <= 2)
    disparity = np.log(PLANTED_NCTR_ODDS_RATIO) * planted
    nctr = -2.9 + fx[:, 1] + age_nctr + patient + context + disparity

    patient = 0.025 * frailty + 0.08 * comorbid + 0.5 * care_home
    death = -6.8 + fx[:, 2] + 0.035 * np.maximum(age - 50, 0) + patient + 0.1 * winter
    return stay, nctr, death


def _long_stay(
    stay: np.ndarray, p_death: np.ndarray, p_nctr: np.ndarray, shift: np.ndarray
) -> np.ndarray:
    """P(stay beyond a threshold), marginalised over death and NCTR (exact mixture)."""
    died, nctr, neither = (expit(stay + s) for s in shift)
    return p_death * died + (1 - p_death) * (p_nctr * nctr + (1 - p_nctr) * neither)


def _outcomes(rng: np.random.Generator, frame: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """Draw death, NCTR, stay, ready date, pathway and destination from the true risks."""
    n = len(frame)
    stay, nctr_logit, death_logit = _risk(frame)
    p_death, p_nctr = expit(death_logit), expit(nctr_logit)
    died = rng.random(n) < p_death
    nctr = ~died & (rng.random(n) < p_nctr)
    state = np.where(died, 0, np.where(nctr, 1, 2))
    u = rng.random(n)
    band = (u < expit(stay + _SHIFT_7[state])).astype(int) + (u < expit(stay + _SHIFT_21[state]))
    los = _stay_minutes(rng, frame, band, nctr, died)
    dis = frame["_adm"].to_numpy() + los
    delay = np.where(nctr, np.maximum(DAY, np.ceil(los * rng.beta(1.2, 2.4, n))), 0.0)
    sub_day = ~nctr & ~died & (rng.random(n) < 0.25)  # ready in the morning, gone by evening
    delay = np.minimum(np.where(sub_day, np.floor(rng.random(n) * 0.95 * DAY), delay), los)
    pathway, destination = _discharge(rng, frame, nctr, died)
    still_in = dis >= horizon
    age, frailty = frame["age"].to_numpy(), frame["frailty_score"].fillna(0).to_numpy()
    emergency = frame["admission_method"].str.startswith("2").to_numpy(bool)
    admitted = frame["admission_datetime"]
    return frame.assign(
        discharge_datetime=(admitted + pd.to_timedelta(los, "min")).where(~still_in),
        discharge_ready_datetime=(admitted + pd.to_timedelta(los - delay, "min")).where(
            ~still_in & ~died
        ),
        discharge_destination=_blank(destination, still_in),
        discharge_pathway=np.where(still_in | died, np.nan, pathway),
        _dis=dis,
        _died=died,
        _em=emergency,
        _p7=_long_stay(stay, p_death, p_nctr, _SHIFT_7),
        _p21=_long_stay(stay, p_death, p_nctr, _SHIFT_21),
        _pn=p_nctr,
        _readmit=0.06 + 0.08 * emergency + 0.06 * (age >= 75) + 0.05 * (frailty > 15),
    )


def _stay_minutes(
    rng: np.random.Generator,
    frame: pd.DataFrame,
    band: np.ndarray,
    nctr: np.ndarray,
    died: np.ndarray,
) -> np.ndarray:
    """Length of stay in whole minutes inside its band (< 7, 7-21, >= 21 days)."""
    n, spec, method = band.size, frame["specialty"], frame["admission_method"]
    day_case = spec.isin(["130", "301", "370", "303", "120", "502"]).to_numpy()
    emergency, elective = (method.str.startswith(c).to_numpy(bool) for c in ("2", "1"))
    same_day = np.where(emergency, np.where(frame["age"].to_numpy() < 75, 0.45, 0.3), 0.3)
    same_day = np.where(elective, np.where(day_case, 0.85, 0.15), same_day)
    same_day = np.where(spec.eq("180").to_numpy(), 0.85, np.where(died, 0.15, same_day))
    short = np.where(
        rng.random(n) < same_day, 0.08 + 0.87 * rng.random(n), 1 + 6 * rng.beta(1, 2.2, n)
    )
    short = np.where(nctr, 2 + 5 * rng.beta(1.1, 1.6, n), short)  # room for a delay >= 1 day
    middle = 7 + 14 * rng.beta(1.0, 1.3, n)
    tail = 21 + np.minimum(30 * (rng.random(n) ** -0.5 - 1), 344)  # Lomax: heavy right tail
    low = np.choose(band, [np.where(nctr, 2 * DAY, 1), 7 * DAY, 21 * DAY])
    high = np.choose(band, [7 * DAY - 1, 21 * DAY - 1, 400 * DAY])
    return np.clip(np.round(np.choose(band, [short, middle, tail]) * DAY), low, high)


def _discharge(
    rng: np.random.Generator, frame: pd.DataFrame, nctr: np.ndarray, died: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Discharge pathway (0-3) and DISDEST, consistent with each other and with the stay.

    Care-home residents go back as P0 (DHSC, §6); NCTR patients mostly need P1-P3.
    """
    n, age = len(frame), frame["age"].to_numpy(float)
    frailty = np.minimum(frame["frailty_score"].fillna(0).to_numpy(), 30)
    emergency = frame["admission_method"].str.startswith("2").to_numpy(bool)
    source = frame["admission_source"].astype(object).to_numpy()
    u, w, v = rng.random(n), rng.random(n), rng.random(n)
    p1 = expit(-1.1 + 0.04 * (age - 45) + 0.8 * emergency + 0.04 * frailty)
    plain = np.where(u < p1, 1, np.where(u > 0.995, 2, 0))
    p3 = np.where(age < 65, 0.03, 0.10)
    delayed = np.where(w < 0.06, 0, np.where(w < 0.30, 2, np.where(w < 0.30 + p3, 3, 1)))
    care_home = np.isin(source, CARE_HOME_CODES)
    pathway = np.where(care_home, 0, np.where(nctr, delayed, plain))
    destination = np.where(care_home, source, "19").astype(object)
    destination[(pathway == 0) & emergency & ~care_home & (v < 0.02)] = "51"
    destination[pathway == 2] = np.where(v < 0.65, "51", "85")[pathway == 2]
    destination[pathway == 3] = rng.choice(["85", "54", "65"], n, p=[0.7, 0.1, 0.2])[pathway == 3]
    destination[died] = DIED_DESTINATION
    return pathway.astype(float), destination


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
    truth = {"p_long_stay": "_p7", "p_long_stay_21": "_p21", "p_nctr": "_pn"}
    return GeneratedData(
        admissions=admissions[[c.name for c in COLUMNS]],
        truth=pd.DataFrame({"spell_id": spell_id, **{k: spells[v] for k, v in truth.items()}}),
    )
