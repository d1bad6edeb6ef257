"""The synthetic label model: true risks from at-admission fields and history, the outcomes
drawn from them (death, NCTR, stay, ready date, pathway, destination), and the oracle."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from features.synthetic.draws import blank
from features.synthetic.scenarios import NONE, SHOCK_DELAY_BETA, Scenario
from features.synthetic.tables import (
    CHAPTERS,
    DAY,
    GROUPS,
    MIDDLE_STAY,
    NCTR_SHORT_STAY,
    PLANTED_ETHNIC,
    PLANTED_NCTR_ODDS_RATIO,
    SAME_DAY,
    SHIFT_LONG_STAY,
    SHIFT_SUPER_STRANDED,
    SHORT_STAY,
    SITE_EFFECTS,
    SPECIALTIES,
    TAIL_STAY,
)
from los.config import LONG_STAY_DAYS, SUPER_STRANDED_DAYS
from los.schema import CARE_HOME_CODES, DIED_DESTINATION


def true_probabilities(spells: pd.DataFrame, scenario: Scenario = NONE) -> pd.DataFrame:
    """The oracle per spell: `p_long_stay`, `p_long_stay_21`, `p_nctr` (if alive), `p_death`.

    `spells` holds the at-admission columns of CONTRACT §1 (ethnicity too: it carries the planted
    NCTR disparity) and `prior_emergency_admissions_365d` and `prior_bed_days_365d` as
    `features.history.compute_history` derives them. A planted `scenario` (its truths shift)
    needs the spells' real frailty, not a recoded one.
    """
    stay, nctr, death = risk_logits(spells, scenario)
    p_death, p_nctr = expit(death), expit(nctr)
    return pd.DataFrame(
        {
            "p_long_stay": long_stay_probability(stay, p_death, p_nctr, SHIFT_LONG_STAY),
            "p_long_stay_21": long_stay_probability(stay, p_death, p_nctr, SHIFT_SUPER_STRANDED),
            "p_nctr": p_nctr,
            "p_death": p_death,
        },
        index=spells.index,
    )


def _effects(values: pd.Series, table: dict) -> np.ndarray:
    """(rows, 3) log-odds effects on long stay, NCTR and death; zeros for other codes."""
    keys = list(table)
    effects = np.array([list(table[k][:3]) for k in keys] + [[0.0, 0.0, 0.0]])
    pos = values.map({k: i for i, k in enumerate(keys)}).astype(float).fillna(len(keys))
    return effects[pos.to_numpy(int)]


def risk_logits(
    spells: pd.DataFrame, scenario: Scenario = NONE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log-odds of a long stay (`LONG_STAY_DAYS`+, for a survivor without NCTR), of NCTR and
    of death."""
    age = spells["age"].to_numpy(float)
    method = spells["admission_method"].astype(object)
    group = method.where(method.isin(["81", "82", "83"]), method.str[0])
    fx = (
        _effects(group, GROUPS)
        + _effects(spells["specialty"], SPECIALTIES)
        + _effects(spells["primary_diagnosis"].str[0], CHAPTERS)
        + _effects(spells["site"], SITE_EFFECTS)
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
    nctr = nctr + scenario.nctr_shift(spells)

    patient = 0.025 * frailty + 0.08 * comorbid + 0.5 * care_home
    death = -6.8 + fx[:, 2] + 0.035 * np.maximum(age - 50, 0) + patient + 0.1 * winter
    return stay, nctr, death


def long_stay_probability(
    stay: np.ndarray, p_death: np.ndarray, p_nctr: np.ndarray, shift: np.ndarray
) -> np.ndarray:
    """P(stay beyond a threshold), marginalised over death and NCTR (exact mixture)."""
    died, nctr, neither = (expit(stay + s) for s in shift)
    return p_death * died + (1 - p_death) * (p_nctr * nctr + (1 - p_nctr) * neither)


def draw_outcomes(
    rng: np.random.Generator, frame: pd.DataFrame, horizon: int, scenario: Scenario = NONE
) -> pd.DataFrame:
    """Draw death, NCTR, stay, ready date, pathway and destination from the true risks."""
    n = len(frame)
    stay, nctr_logit, death_logit = risk_logits(frame, scenario)
    p_death, p_nctr = expit(death_logit), expit(nctr_logit)
    died = rng.random(n) < p_death
    nctr = ~died & (rng.random(n) < p_nctr)
    state = np.where(died, 0, np.where(nctr, 1, 2))
    u = rng.random(n)
    band = (u < expit(stay + SHIFT_LONG_STAY[state])).astype(int)
    band += u < expit(stay + SHIFT_SUPER_STRANDED[state])
    los = _stay_minutes(rng, frame, band, nctr, died)
    dis = frame["_adm"].to_numpy() + los
    waiting = rng.beta(1.2, 2.4, n)  # share of the stay spent waiting
    if (shocked := scenario.delay_shocked(frame)).any():
        waiting[shocked] = rng.beta(*SHOCK_DELAY_BETA, int(shocked.sum()))
    delay = np.where(nctr, np.maximum(DAY, np.ceil(los * waiting)), 0.0)
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
        discharge_destination=blank(destination, still_in),
        discharge_pathway=np.where(still_in | died, np.nan, pathway),
        _dis=dis,
        _died=died,
        _em=emergency,
        _p_long_stay=long_stay_probability(stay, p_death, p_nctr, SHIFT_LONG_STAY),
        _p_super_stranded=long_stay_probability(stay, p_death, p_nctr, SHIFT_SUPER_STRANDED),
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
    """Length of stay in whole minutes inside its band: below `LONG_STAY_DAYS`, from it to
    below `SUPER_STRANDED_DAYS`, from that on."""
    n, same_day = band.size, same_day_share(frame, died)
    (s0, s1), (a0, a1, a2, a3), (n0, n1, n2, n3) = SAME_DAY, SHORT_STAY, NCTR_SHORT_STAY
    (m0, m1, m2, m3), (t0, t1, t2) = MIDDLE_STAY, TAIL_STAY
    short = np.where(
        rng.random(n) < same_day, s0 + s1 * rng.random(n), a0 + a1 * rng.beta(a2, a3, n)
    )
    short = np.where(nctr, n0 + n1 * rng.beta(n2, n3, n), short)  # room for a delay >= 1 day
    middle = m0 + m1 * rng.beta(m2, m3, n)
    tail = t0 + np.minimum(t1 * (rng.random(n) ** -0.5 - 1), t2)  # Lomax: heavy right tail
    low = np.choose(
        band, [np.where(nctr, 2 * DAY, 1), LONG_STAY_DAYS * DAY, SUPER_STRANDED_DAYS * DAY]
    )
    high = np.choose(band, [LONG_STAY_DAYS * DAY - 1, SUPER_STRANDED_DAYS * DAY - 1, 400 * DAY])
    return np.clip(np.round(np.choose(band, [short, middle, tail]) * DAY), low, high)


def same_day_share(frame: pd.DataFrame, died: np.ndarray) -> np.ndarray:
    """Per spell, the chance that a stay under 7 days (not NCTR) is a same-day one."""
    spec, method = frame["specialty"], frame["admission_method"]
    day_case = spec.isin(["130", "301", "370", "303", "120", "502"]).to_numpy()
    emergency, elective = (method.str.startswith(c).to_numpy(bool) for c in ("2", "1"))
    same_day = np.where(emergency, np.where(frame["age"].to_numpy() < 75, 0.45, 0.3), 0.3)
    same_day = np.where(elective, np.where(day_case, 0.85, 0.15), same_day)
    return np.where(spec.eq("180").to_numpy(), 0.85, np.where(died, 0.15, same_day))


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
