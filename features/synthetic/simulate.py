"""The synthetic spell simulation: a patient pool followed through the window, round by round."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.synthetic.draws import blank, categorical
from features.synthetic.labels import draw_outcomes
from features.synthetic.patients import draw_patients
from features.synthetic.scenarios import NONE, Scenario
from features.synthetic.tables import (
    AGE_BANDS,
    DAY,
    ELECTIVE,
    EMERGENCY,
    EMERGENCY_METHOD_SHARES,
    EMERGENCY_METHODS,
    SITE_CODES,
    SITE_SHARES,
    SITES,
    SPECIALTIES,
    WINDOW,
    YEAR,
)


class Simulation:
    """A pool of patients followed through the window, round by round: the k-th spell of every
    patient at once, so history (earlier spells) is known when the next spell is drawn."""

    def __init__(
        self, rng: np.random.Generator, size: int, horizon: int, t0: pd.Timestamp,
        scenario: Scenario = NONE,
    ):  # fmt: skip
        self.rng, self.horizon, self.t0, self.scenario = rng, horizon, t0, scenario
        self.pool = draw_patients(rng, size, horizon)
        self.history: list[tuple[np.ndarray, ...]] = []

    def run(self) -> pd.DataFrame:
        """All spells, in round order."""
        pool, rounds = self.pool, []
        after = pool.entry.copy()  # a newborn's first spell is its birth
        after[~pool.newborn] = self._next_times(pool.entry, pool.rate)[~pool.newborn]
        active = np.flatnonzero((after < self.horizon) & (after < pool.death))
        while active.size:
            admitted = self._admit(active, after[active])
            frame = draw_outcomes(self.rng, admitted, self.horizon, self.scenario)
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
        site = np.where(rng.random(n) < 0.9, home, rng.choice(len(SITES), n, p=SITE_SHARES))
        site = np.where(np.isin(group, [2, 4]), np.array([s.maternity for s in SITES])[site], site)
        count, emergency, bed_days = self._prior(idx, adm)
        frailty, comorbidity = _measures(rng, pool.frail[idx], age, group == 1, count)
        stamp = np.datetime64(self.t0, "m") + adm.astype("int64").astype("timedelta64[m]")
        return pd.DataFrame(
            {
                "_pat": idx,
                "_adm": adm,
                "site": SITE_CODES[site],
                "ward": blank(_ward(rng, SITE_CODES[site], spec, group), rng.random(n) < 0.01),
                "specialty": blank(spec, rng.random(n) < 0.005),
                "admission_datetime": stamp,
                "age": age,
                "sex": pool.sex[idx],
                "ethnic_category": pool.ethnic[idx],
                "imd_decile": np.where(rng.random(n) < 0.03, np.nan, pool.imd[idx]),
                "admission_method": method,
                "admission_source": source,
                "primary_diagnosis": blank(diagnosis, rng.random(n) < 0.04),
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
        group = categorical(self.rng, np.exp(logits))
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
        band, sex, u = np.searchsorted(AGE_BANDS, age, side="right"), pool.sex[idx], rng.random(n)
        elective, maternity, birth = group == 0, group == 2, group == 4
        spec, diagnosis = _pick(rng, EMERGENCY, band, sex)
        e_spec, e_diagnosis = _pick(rng, ELECTIVE, band, sex)
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
        method = rng.choice(EMERGENCY_METHODS, n, p=EMERGENCY_METHOD_SHARES).astype(object)
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
    cond = categorical(rng, weights)
    sizes = np.array([len(row[1]) for row in table])
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    codes = np.array([c for row in table for c in row[1]], dtype=object)
    which = (rng.random(band.size) ** 1.6 * sizes[cond]).astype(int)  # commonest first
    return np.array([row[0] for row in table], dtype=object)[cond], codes[first[cond] + which]


def _ward(
    rng: np.random.Generator, site: np.ndarray, spec: np.ndarray, group: np.ndarray
) -> np.ndarray:
    """Ward names like RYJ01-AMU by site and specialty."""
    out, u = np.empty(site.size, dtype=object), rng.random(site.size)
    for code, (*_, stems) in SPECIALTIES.items():
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
