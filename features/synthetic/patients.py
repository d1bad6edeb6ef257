"""The synthetic patient pool: who may be admitted, with fixed traits and carried state."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit
from scipy.stats import norm

from features.synthetic.draws import blank, categorical
from features.synthetic.tables import (
    AGE_SLOPE,
    DETAIL,
    ETHNIC_IMD_SHIFT,
    GROUP_OF,
    LONDON,
    LONDON_IMD_CUMULATIVE,
    SITE_SHARES,
    SITES,
    YEAR,
)
from los.schema import CARE_HOME_CODES


@dataclass
class Pool:
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


def draw_patients(rng: np.random.Generator, n: int, horizon: int) -> Pool:
    """Draw the patient pool: age, sex, site, ethnicity, deprivation, frailty and rates."""
    band = rng.choice(6, n, p=np.array([13, 36, 27, 10.5, 8.5, 5]) / 100)
    lo, hi = np.array([0, 16, 45, 65, 75, 85])[band], np.array([16, 45, 65, 75, 85, 86])[band]
    age = np.where(band == 5, 85 + np.minimum(rng.exponential(5, n), 19), rng.uniform(lo, hi))
    newborn = rng.random(n) < 0.025
    age[newborn] = 0.0
    frail = rng.standard_normal(n)
    male = rng.random(n) < np.interp(age, [0, 16, 80, 95], [0.51, 0.47, 0.42, 0.33])
    sex = np.where(rng.random(n) < 0.001, "9", np.where(male, "1", "2")).astype(object)
    site = rng.choice(len(SITES), n, p=SITE_SHARES)
    ethnic = _draw_ethnicity(rng, site, age)
    latent = np.array([s.imd_shift for s in SITES])[site] + ETHNIC_IMD_SHIFT[ethnic]
    cuts = norm.ppf(1 - LONDON_IMD_CUMULATIVE)
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
    return Pool(
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
        care_home=blank(homes, ~in_home),
        newborn=newborn,
        last_delivery=np.full(n, -np.inf),
        last_discharge=np.full(n, -np.inf),
    )


def _draw_ethnicity(rng: np.random.Generator, site: np.ndarray, age: np.ndarray) -> np.ndarray:
    """True ethnic category index (0-15) by home site and age."""
    base = np.empty((len(SITES), 16))
    for i, s in enumerate(SITES):
        within = LONDON.copy()
        if s.asian is not None:
            within[7:11] = s.asian
        totals = np.bincount(GROUP_OF, weights=within)
        base[i] = np.array(s.groups)[GROUP_OF] * within / totals[GROUP_OF]
    return categorical(rng, base[site] * np.exp(np.outer(age - 45, AGE_SLOPE)))


def _record_ethnicity(rng: np.random.Generator, true: np.ndarray, site: np.ndarray) -> np.ndarray:
    """Recorded code: Z, 99 or blank for ~13%; some specific groups coded "Other" (§1)."""
    code = DETAIL[true]
    u = rng.random(true.size)
    code[np.isin(true, [7, 8, 9]) & (u < 0.1)] = "L"
    code[np.isin(true, [11, 12]) & (u < 0.1)] = "P"
    unknown = rng.random(true.size) / np.array([s.unknown for s in SITES])[site]
    code[unknown < 1] = "Z"
    code[unknown < 7 / 13] = "99"
    code[unknown < 3 / 13] = None
    return code
