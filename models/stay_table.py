"""The baseline bed provider: Kaplan-Meier stay curves per specialty and age band.

Fitted from the spells known at a cut-off (`as_known_at`): a spell discharged by then is an
event at its stay in days; one still in hospital is censored at the cut-off, so a recent period
with only short stays finished does not shorten the curve. A patient is read from the finest
stratum (specialty and age band, then specialty, then everyone) that has at least
`min_at_risk` spells still in hospital at the patient's elapsed stay: conditional on the days
already stayed, P(in bed h days on) = S(elapsed + h) / S(elapsed).

NCTR: among spells in a bed on elapsed day d, the share past their discharge-ready date (same
strata and fall-back, on whole days, capped at `HORIZON`); a patient whose ready date is
recorded by the origin counts as waiting. P(in bed and waiting) = P(in bed) x that share. When
the census records ready dates as they happen (any current inpatient has one), a patient without
one is not ready yet, and the share is taken among spells not ready on the patient's elapsed
day (`share_after`); a feed that fills ready dates only at discharge gets the plain share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from features.groups import age_band
from los.errors import DataQualityError
from models.bed_provider import BedProbabilities, elapsed_days, ready_by

HORIZON = 60  # days: the NCTR share is held flat beyond it
MIN_AT_RISK = 20  # spells in hospital at the patient's elapsed stay, for a stratum to be used
_DAY = np.timedelta64(1, "D")


def as_known_at(
    frame: pd.DataFrame, cutoff: pd.Timestamp, *, drop_later: bool = True
) -> pd.DataFrame:
    """The spells as a feed would show them at `cutoff`: discharges and ready dates after it
    blanked, and (`drop_later`) later admissions dropped (a copy; `frame` is not changed)."""
    admitted = pd.to_datetime(frame["admission_datetime"])
    keep = (admitted < cutoff).to_numpy() if drop_later else np.ones(len(frame), dtype=bool)
    out = frame.loc[keep].copy()
    for column in ("discharge_datetime", "discharge_ready_datetime"):
        if column in out:
            when = pd.to_datetime(out[column])
            out[column] = when.where(when <= cutoff)
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class _Curve:
    """One stratum's Kaplan-Meier curve and its NCTR share by whole day."""

    times: np.ndarray  # sorted distinct event times (days)
    survival: np.ndarray  # S just after each event time
    durations: np.ndarray  # sorted observed times (events and censorings), for the risk set
    share: np.ndarray  # (HORIZON + 1,): P(past ready | in bed on elapsed day d)
    ready: np.ndarray  # days from admission to ready, in `durations` order (inf: never)

    @cached_property
    def share_after(self) -> np.ndarray:
        """(HORIZON + 1, HORIZON + 1): [e, d] = P(past ready on day d | in a bed on day d and
        not ready on day e); made on first use (a live feed's census), not at every fit."""
        d, r = self.durations, self.ready
        rows = [_share(d[m], r[m]) for m in ((r > e) & (d > e) for e in range(HORIZON + 1))]
        return np.vstack(rows)

    def at(self, t: np.ndarray) -> np.ndarray:
        """S(t) = P(stay > t)."""
        idx = np.searchsorted(self.times, t, side="right")
        return np.where(idx > 0, self.survival[np.maximum(idx - 1, 0)], 1.0)

    def at_risk(self, t: np.ndarray) -> np.ndarray:
        """Spells observed beyond `t`."""
        return self.durations.size - np.searchsorted(self.durations, t, side="right")


def _curve(duration: np.ndarray, event: np.ndarray, ready: np.ndarray) -> _Curve:
    order = np.argsort(duration, kind="stable")
    duration, event, ready = duration[order], event[order], ready[order]
    times, deaths = np.unique(duration[event], return_counts=True)
    at_risk = duration.size - np.searchsorted(duration, times, side="left")
    survival = np.cumprod(1.0 - deaths / np.maximum(at_risk, 1))
    never = np.where(np.isnan(ready), np.inf, ready)  # not recorded: never ready
    return _Curve(times, survival, duration, _share(duration, never), never)


def _share(duration: np.ndarray, ready: np.ndarray) -> np.ndarray:
    """P(past ready | in a bed on whole elapsed day d), d = 0..HORIZON; `duration` sorted."""
    days = np.arange(HORIZON + 1, dtype=float)
    in_bed = duration.size - np.searchsorted(duration, days, side="right")  # stay > d
    # ready by whole day d and still in a bed then: d in [ceil(ready), ceil(stay)) per spell
    known = np.isfinite(ready)
    start = np.clip(np.ceil(ready[known]), 0, HORIZON + 1).astype(int)
    stop = np.clip(np.ceil(duration[known]), 0, HORIZON + 1).astype(int)
    step = np.zeros(HORIZON + 2)
    np.add.at(step, start, 1.0)
    np.add.at(step, np.maximum(stop, start), -1.0)
    waiting = np.cumsum(step)[: HORIZON + 1]
    return np.divide(waiting, in_bed, out=np.zeros_like(waiting), where=in_bed > 0)


@dataclass
class StayTable:
    """Kaplan-Meier stay curves by stratum, fitted by `fit` (scikit-learn's rules: learned
    attributes end in `_`)."""

    min_at_risk: int = MIN_AT_RISK
    name: str = "Kaplan-Meier stay curves by specialty and age band"
    curves_: dict[tuple[str, ...], _Curve] = field(default_factory=dict)
    cutoff_: pd.Timestamp | None = None

    def fit(self, spells: pd.DataFrame, cutoff: pd.Timestamp) -> StayTable:
        """Fit on `spells` as known at `cutoff` (events: discharged by then; others censored)."""
        known = as_known_at(spells, cutoff)
        admitted = pd.to_datetime(known["admission_datetime"]).to_numpy("datetime64[ns]")
        discharged = pd.to_datetime(known["discharge_datetime"]).to_numpy("datetime64[ns]")
        event = ~np.isnat(discharged)
        if not event.any():  # nothing to learn how long stays last from
            raise DataQualityError(
                "no spell in the data has ended by the list date, so stay lengths cannot be "
                "learnt: include discharged spells (e.g. the last year's) with the inpatients"
            )
        end = np.where(event, discharged, cutoff.to_datetime64().astype("datetime64[ns]"))
        duration = ((end - admitted) / _DAY).astype(float)
        ready = np.full(len(known), np.nan)
        if "discharge_ready_datetime" in known:
            r = pd.to_datetime(known["discharge_ready_datetime"]).to_numpy("datetime64[ns]")
            ready = np.where(np.isnat(r), np.nan, ((r - admitted) / _DAY).astype(float))
        self.curves_ = {}
        for key, rows in _strata(known).items():
            self.curves_[key] = _curve(duration[rows], event[rows], ready[rows])
        self.cutoff_ = cutoff
        return self

    def bed_probabilities(
        self, census: pd.DataFrame, origin: pd.Timestamp, days: int
    ) -> BedProbabilities:
        """P(in bed) and P(in bed and waiting) for days 1..`days` after `origin`."""
        if self.cutoff_ is None:
            raise RuntimeError("StayTable is not fitted: call fit(spells, cutoff) first")
        n = len(census)
        elapsed = elapsed_days(census, origin)
        ahead = elapsed[:, None] + np.arange(1, days + 1)[None, :]
        in_bed = np.ones((n, days))
        share = np.zeros((n, days))
        keys = _keys(census)
        ready = ready_by(census, origin)
        live = "discharge_ready_datetime" in census and bool(
            census["discharge_ready_datetime"].notna().any()
        )  # ready dates recorded as they happen: no date means not ready yet
        for i in range(n):
            curve = self._curve_for(keys[i], elapsed[i])
            if curve is None:
                continue  # nobody observed this long: kept in a bed, not counted as waiting
            now = curve.at(elapsed[i : i + 1])[0]
            if now > 0:
                in_bed[i] = curve.at(ahead[i]) / now
            day = np.minimum(ahead[i].astype(int), HORIZON)
            since = min(int(elapsed[i]), HORIZON)
            share[i] = curve.share_after[since, day] if live else curve.share[day]
        share = np.where(ready[:, None], 1.0, share)
        return BedProbabilities(in_bed, in_bed * share)

    def _curve_for(self, key: tuple[str, str], elapsed: float) -> _Curve | None:
        for level in ((key[0], key[1]), (key[0],), ()):
            curve = self.curves_.get(level)
            if curve is not None and curve.at_risk(np.array([elapsed]))[0] >= self.min_at_risk:
                return curve
        overall = self.curves_.get(())
        if overall is not None and overall.at_risk(np.array([elapsed]))[0] > 0:
            return overall
        return None


def _key_columns(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    n = len(frame)
    specialty = (
        frame["specialty"].astype("string").fillna("not recorded").astype(str).to_numpy()
        if "specialty" in frame
        else np.full(n, "not recorded", dtype=object)
    )
    bands = (
        age_band({"age": frame["age"].to_numpy()})
        if "age" in frame
        else np.full(n, "Not known", dtype=object)
    )
    return specialty.astype(object), np.asarray(bands, dtype=object)


def _keys(frame: pd.DataFrame) -> list[tuple[str, str]]:
    specialty, bands = _key_columns(frame)
    return list(zip(specialty.tolist(), bands.tolist(), strict=True))


def _strata(frame: pd.DataFrame) -> dict[tuple[str, ...], np.ndarray]:
    specialty, bands = _key_columns(frame)
    keys = pd.DataFrame({"s": specialty, "b": bands})
    out: dict[tuple[str, ...], np.ndarray] = {(): np.arange(len(keys))}
    for spec, rows in keys.groupby("s", sort=False).indices.items():
        out[(str(spec),)] = np.asarray(rows)
    for pair, rows in keys.groupby(["s", "b"], sort=False).indices.items():
        spec, band = (str(v) for v in pair)  # type: ignore[attr-defined]
        out[(spec, band)] = np.asarray(rows)
    return out
