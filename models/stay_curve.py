"""A length-of-stay distribution per spell on a daily grid (CONTRACT §7), and expected NCTR days.

`StayCurves.survival[:, d]` is P(LOS >= d days) for d = 0..HORIZON (column 0 is 1, the columns
never rise). Between grid days the curve follows `within_day`, the shape of when within its day
a stay ends (`models.within_day`; None: linear between days), so quantiles are read on the
continuous scale stays are measured on; beyond HORIZON it carries on with the last day's hazard
(a geometric tail: S(60 + t) = S(60) * (S(60) / S(59)) ** t), so quantiles and conditional
curves past the grid are defined without inventing a new shape. When S(59) is 0 the tail is 0.

A current inpatient who has stayed `s` days has P(LOS >= s + d | LOS >= s) = S(s + d) / S(s)
(`conditional`, on a whole-day grid from `s`; `quantile(q, stayed=s)` reads the same ratio at
full resolution); where S(s) is 0 the curve has no mass left there, and the conditional curve
says discharge within the day (1 at d = 0, then 0).

Expected NCTR days (`nctr_expected_days`): P(NCTR) times the expected wait of a spell that has
one. The NCTR probability comes from the NCTR flag model, which excludes deaths (CONTRACT §2);
multiplying by P(survive) turns it into the unconditional expectation the truth file reports
(a spell that ends in death counts 0 NCTR days: death is the competing event).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.within_day import check_shape, fraction_at, share_ended

HORIZON = 60
"""Days: survival beyond it is carried as P(LOS >= 60) with a geometric tail."""
_MAX_DAYS = 366.0
"""Quantiles are capped here (a year): beyond it the tail carries no information."""


def _tail_ratio(survival: np.ndarray) -> np.ndarray:
    """The last day's survival ratio S(60) / S(59) per row (0 where S(59) is 0)."""
    last, before = survival[:, HORIZON], survival[:, HORIZON - 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(before > 0, last / np.where(before > 0, before, 1.0), 0.0)
    return np.clip(ratio, 0.0, 1.0)


def survival_at(
    survival: np.ndarray, days: np.ndarray, within_day: np.ndarray | None = None
) -> np.ndarray:
    """P(LOS >= t) per row at that row's `days` (shape (n,) or (n, k)): between grid days by
    the `within_day` shape (None: linearly), geometric beyond HORIZON."""
    t = np.clip(np.asarray(days, dtype=float), 0.0, None)
    squeeze = t.ndim == 1
    t2 = t[:, None] if squeeze else t
    rows = np.arange(len(survival))[:, None]
    inside = np.minimum(t2, HORIZON)
    low = np.minimum(np.floor(inside).astype(int), HORIZON - 1)
    frac = inside - low
    if within_day is not None:
        frac = share_ended(within_day, low, frac)
    value = survival[rows, low] * (1 - frac) + survival[rows, low + 1] * frac
    beyond = t2 > HORIZON
    if beyond.any():
        ratio = _tail_ratio(survival)[:, None]
        with np.errstate(divide="ignore"):
            tail = survival[:, HORIZON][:, None] * np.power(ratio, np.maximum(t2 - HORIZON, 0))
        value = np.where(beyond, tail, value)
    return value[:, 0] if squeeze else value


@dataclass(frozen=True)
class StayCurves:
    """Per-row stay distributions: `survival` (n, HORIZON + 1), P(LOS >= d days), d = 0..60,
    read between whole days by the `within_day` shape (HORIZON, STEPS + 1) shared by all rows
    (`models.within_day`; None: linearly)."""

    survival: np.ndarray
    within_day: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.within_day is not None:
            object.__setattr__(self, "within_day", check_shape(self.within_day, HORIZON))
        s = np.asarray(self.survival, dtype=float)
        if s.ndim != 2 or s.shape[1] != HORIZON + 1:
            raise ValueError(f"survival must be (n, {HORIZON + 1}), got {s.shape}")
        if not np.allclose(s[:, 0], 1.0):
            raise ValueError("survival[:, 0] must be 1 (every stay lasts at least 0 days)")
        if np.any(np.diff(s, axis=1) > 1e-12) or s.min(initial=0.0) < 0 or s.max(initial=1) > 1:
            raise ValueError("survival must be within 0-1 and non-increasing along days")
        object.__setattr__(self, "survival", s)

    @classmethod
    def from_hazards(cls, hazards: np.ndarray, within_day: np.ndarray | None = None) -> StayCurves:
        """Curves from daily discharge hazards (n, HORIZON): hazards[:, k] = P(LOS < k + 1 |
        LOS >= k), so S(d) = prod_{k<d} (1 - h_k). Monotone by construction."""
        h = np.clip(np.asarray(hazards, dtype=float), 0.0, 1.0)
        if h.ndim != 2 or h.shape[1] != HORIZON:
            raise ValueError(f"hazards must be (n, {HORIZON}), got {h.shape}")
        ones = np.ones((len(h), 1))
        return cls(np.hstack([ones, np.cumprod(1.0 - h, axis=1)]), within_day)

    def __len__(self) -> int:
        return len(self.survival)

    def probability_at_least(self, days: float) -> np.ndarray:
        """P(LOS >= days) per row."""
        return survival_at(self.survival, np.full(len(self), float(days)), self.within_day)

    def mean_days(self) -> np.ndarray:
        """The mean stay within the grid, E[min(LOS, HORIZON)] per row: each day's area under
        the curve, S(k) - (S(k) - S(k + 1)) * (area under that day's within-day shape; 1/2
        when linear)."""
        s = self.survival
        shape = self.within_day
        area = (
            np.full(HORIZON, 0.5) if shape is None else (shape[:, :-1] + shape[:, 1:]).mean(1) / 2
        )
        drop = s[:, :-1] - s[:, 1:]
        return np.asarray(s[:, :-1].sum(axis=1) - drop @ area, dtype=float)

    def quantile(self, q: float, stayed: np.ndarray | None = None) -> np.ndarray:
        """The q-quantile of each row's stay in days: the least t with S(t) <= 1 - q, read by
        the within-day shape, geometric beyond HORIZON, capped at a year. With `stayed` (days
        per row), the q-quantile of the stay still to come after those days: the least t >= 0
        with S(stayed + t) <= (1 - q) * S(stayed) (q days where S(stayed) is 0: discharge
        within the day, as `conditional` says)."""
        if not 0.0 < q < 1.0:
            raise ValueError("quantile q must be strictly between 0 and 1")
        if stayed is None:
            return self._days_at_level(np.full(len(self), 1.0 - q))
        start = np.clip(np.asarray(stayed, dtype=float).reshape(-1), 0.0, None)
        if len(start) != len(self):
            raise ValueError("stayed needs one value per row")
        at_start = survival_at(self.survival, start, self.within_day)
        alive = at_start > 0
        level = np.where(alive, (1.0 - q) * at_start, 1.0)
        ahead = np.maximum(self._days_at_level(level) - start, 0.0)
        return np.where(alive, np.minimum(ahead, _MAX_DAYS), q)

    def _days_at_level(self, level: np.ndarray) -> np.ndarray:
        """Per row, the least t with S(t) <= level (level in (0, 1]), capped at a year."""
        s = self.survival
        n = len(s)
        out = np.full(n, _MAX_DAYS)
        below = s[:, 1:] <= level[:, None]
        found = below.any(axis=1)
        first = np.argmax(below, axis=1) + 1  # the first whole day at or below the level
        rows = np.flatnonzero(found)
        d, lv = first[rows], level[rows]
        upper, lower = s[rows, d - 1], s[rows, d]
        span = np.where(upper > lower, upper - lower, 1.0)
        share = np.clip((upper - lv) / span, 0.0, 1.0)
        if self.within_day is not None:
            share = fraction_at(self.within_day, d - 1, share)
        out[rows] = d - 1 + share
        tail_rows = np.flatnonzero(~found)
        if len(tail_rows):
            ratio = _tail_ratio(s)[tail_rows]
            last, lv = s[tail_rows, HORIZON], level[tail_rows]
            with np.errstate(divide="ignore", invalid="ignore"):
                extra = np.where(
                    (ratio > 0) & (ratio < 1), np.log(lv / last) / np.log(ratio), np.inf
                )
            extra = np.where(ratio == 0, 0.0, extra)
            out[tail_rows] = np.minimum(HORIZON + extra, _MAX_DAYS)
        return out

    def conditional(self, stayed_days: np.ndarray) -> StayCurves:
        """The curves of the stay still to come for rows that have stayed `stayed_days`:
        column d is P(LOS >= stayed + d | LOS >= stayed). Rows with 0 days stayed are
        unchanged."""
        stayed = np.clip(np.asarray(stayed_days, dtype=float).reshape(-1), 0.0, None)
        if len(stayed) != len(self):
            raise ValueError("stayed_days needs one value per row")
        grid = stayed[:, None] + np.arange(HORIZON + 1)[None, :]
        ahead = survival_at(self.survival, grid, self.within_day)
        start = ahead[:, :1]
        alive = start[:, 0] > 0
        out = np.zeros_like(ahead)
        out[:, 0] = 1.0
        out[alive] = np.minimum(ahead[alive] / start[alive], 1.0)
        out[alive, 0] = 1.0
        return StayCurves(np.minimum.accumulate(out, axis=1))


def nctr_expected_days(
    p_nctr: np.ndarray, expected_wait: np.ndarray, p_death: np.ndarray | None = None
) -> np.ndarray:
    """Expected NCTR days per spell: P(survive) * P(NCTR | survive) * E[wait | NCTR].

    `p_nctr` is the NCTR flag model's probability (deaths excluded from its label), and
    `expected_wait` the delay model's expected days of a spell with an NCTR delay. `p_death`
    (None: treated as 0) is the competing event: a spell that ends in death counts 0 days.
    """
    p = np.clip(np.asarray(p_nctr, dtype=float), 0.0, 1.0)
    wait = np.clip(np.asarray(expected_wait, dtype=float), 0.0, None)
    survive = 1.0 if p_death is None else 1.0 - np.clip(np.asarray(p_death, dtype=float), 0, 1)
    return np.asarray(survive * p * wait, dtype=float)
