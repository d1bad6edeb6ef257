"""The generator's true length-of-stay distribution per spell, and its expected NCTR days
(CONTRACT §7 truth columns), computed exactly from the mechanism in `features.synthetic.labels`.

A spell's stay is a mixture. The outcome is death, NCTR or neither (`risk_logits`); given the
outcome, the band (< 7, 7-21, >= 21 days) has the ordinal logits `stay + SHIFT_LONG_STAY` and
`stay + SHIFT_SUPER_STRANDED`; inside
its band the stay has one of five fixed shapes (`tables.SAME_DAY`, `SHORT_STAY`, `NCTR_SHORT_STAY`,
`MIDDLE_STAY`, `TAIL_STAY`). Only the mixture weights differ between spells, so

    P(LOS >= t) = sum_c weight_c * P(shape_c >= t),

and a quantile is that curve inverted numerically (bisection over 0-366 days, to under a
microsecond). P(LOS >= 7) and P(LOS >= 21) equal the truth's `p_long_stay` and `p_long_stay_21`.
The generator rounds stays to whole minutes: quantiles here are of the unrounded stay, so a
drawn stay's quantile can differ by under a minute.

Expected NCTR days: an NCTR spell of `l` days waits `max(1, l * B)` days, B ~ Beta(1.2, 2.4)
(`tables.NCTR_DELAY_BETA`; the generator takes the ceiling in minutes: under a minute more). So
E[wait | l] = P(B <= 1/l) + l * E[B; B > 1/l], averaged over the NCTR stay shapes by quadrature.
`nctr_expected_days` is unconditional, as the NCTR label counts it (a wait of at least a day): a
spell that ends in death or goes home within the day counts 0, so it is
P(survive) * P(NCTR) * E[wait | NCTR].
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
from scipy import integrate
from scipy.special import betainc, expit

from features.synthetic.labels import risk_logits, same_day_share
from features.synthetic.tables import (
    MIDDLE_STAY,
    NCTR_DELAY_BETA,
    NCTR_SHORT_STAY,
    SAME_DAY,
    SHIFT_LONG_STAY,
    SHIFT_SUPER_STRANDED,
    SHORT_STAY,
    TAIL_STAY,
)

HORIZON = 60  # days: the curve's grid, as `models.stay_curve` carries it
SHAPES = ("same_day", "short", "nctr_short", "middle", "tail")
_BISECTIONS = 42  # 366 days / 2^42: under a microsecond
_TAIL_END = TAIL_STAY[0] + TAIL_STAY[2]  # the longest stay the generator draws (365 days)


def _beta_shape_survival(t: np.ndarray, shape: tuple[float, float, float, float]) -> np.ndarray:
    """P(start + width * Beta(a, b) >= t)."""
    start, width, a, b = shape
    x = np.clip((np.asarray(t, dtype=float) - start) / width, 0.0, 1.0)
    return 1.0 - betainc(a, b, x)


def shape_survival(t: np.ndarray) -> np.ndarray:
    """P(shape >= t) for each of the five shapes (`SHAPES`): array (5, *t.shape)."""
    t = np.asarray(t, dtype=float)
    start, width = SAME_DAY
    same_day = np.clip((start + width - t) / width, 0.0, 1.0)
    t0, scale, _ = TAIL_STAY
    tail = np.where(t <= t0, 1.0, (1.0 + np.maximum(t - t0, 0.0) / scale) ** -2.0)
    tail = np.where(t > _TAIL_END, 0.0, tail)
    return np.stack(
        [
            same_day,
            _beta_shape_survival(t, SHORT_STAY),
            _beta_shape_survival(t, NCTR_SHORT_STAY),
            _beta_shape_survival(t, MIDDLE_STAY),
            tail,
        ]
    )


def _wait_given_stay(stay: float, delay_beta: tuple[float, float]) -> float:
    """E[max(1, stay * B)] days, B ~ Beta(delay_beta), for an NCTR stay of `stay` days."""
    a, b = delay_beta
    c = min(1.0 / stay, 1.0)
    return float(betainc(a, b, c) + stay * a / (a + b) * (1.0 - betainc(a + 1, b, c)))


@cache
def nctr_wait_by_band(
    delay_beta: tuple[float, float] = NCTR_DELAY_BETA,
) -> tuple[float, float, float]:
    """E[wait days | NCTR, band] for the bands < 7, 7-21 and >= 21 days, when the share of the
    stay spent waiting is Beta(`delay_beta`)."""

    def over_beta(shape: tuple[float, float, float, float]) -> float:
        start, width, a, b = shape
        density = lambda x: x ** (a - 1) * (1 - x) ** (b - 1)  # noqa: E731
        norm = integrate.quad(density, 0, 1)[0]
        value = integrate.quad(
            lambda x: _wait_given_stay(start + width * x, delay_beta) * density(x), 0, 1
        )
        return value[0] / norm

    t0, scale, cap = TAIL_STAY
    capped = (1.0 + cap / scale) ** -2.0  # P(the tail's excess reaches its cap)
    lomax = integrate.quad(
        lambda u: _wait_given_stay(t0 + scale * (u**-0.5 - 1.0), delay_beta), capped, 1.0, limit=200
    )[0]
    tail = capped * _wait_given_stay(_TAIL_END, delay_beta) + lomax
    return over_beta(NCTR_SHORT_STAY), over_beta(MIDDLE_STAY), tail


@dataclass(frozen=True)
class TrueStay:
    """Each spell's true stay distribution: weights (n, 5) over the shapes `SHAPES`, and the
    expected NCTR days. Quacks like `models.stay_curve.StayCurves` (`survival`, `quantile`),
    so the evaluation can score it as the oracle."""

    weights: np.ndarray
    nctr_expected_days: np.ndarray

    def survival_at(self, days: np.ndarray) -> np.ndarray:
        """P(LOS >= t) per spell (rows) and per t in `days` (columns)."""
        return self.weights @ shape_survival(np.atleast_1d(np.asarray(days, dtype=float)))

    @property
    def survival(self) -> np.ndarray:
        """(n, HORIZON + 1): column d holds P(LOS >= d days), d = 0..60."""
        return self.survival_at(np.arange(HORIZON + 1))

    def quantile(self, q: float) -> np.ndarray:
        """The q-quantile of each spell's stay in days: the least t with P(LOS <= t) >= q."""
        if not 0.0 < q < 1.0:
            raise ValueError("quantile q must be strictly between 0 and 1")
        lo = np.zeros(len(self.weights))
        hi = np.full(len(self.weights), _TAIL_END + 1.0)  # no stay is longer
        for _ in range(_BISECTIONS):
            mid = (lo + hi) / 2
            above = np.einsum("ij,ji->i", self.weights, shape_survival(mid)) > 1.0 - q
            lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
        return hi


def true_stay(spells: pd.DataFrame) -> TrueStay:
    """The true stay distribution of each spell.

    `spells` holds what `labels.true_probabilities` needs: the at-admission columns and the
    history columns (`features.history.compute_history`).
    """
    stay, nctr_logit, death_logit = risk_logits(spells)
    p_death, p_nctr = expit(death_logit), expit(nctr_logit)
    outcome = np.stack([p_death, (1 - p_death) * p_nctr, (1 - p_death) * (1 - p_nctr)])
    seven = expit(stay + SHIFT_LONG_STAY[:, None])  # (3 outcomes, n): P(LOS >= 7 | outcome)
    twenty_one = expit(stay + SHIFT_SUPER_STRANDED[:, None])
    under_7, middle, tail = (
        outcome * (1 - seven),
        outcome * (seven - twenty_one),
        outcome * twenty_one,
    )
    n = len(spells)
    same_day = np.stack([same_day_share(spells, np.full(n, died)) for died in (True, False)])
    short = under_7[[0, 2]]  # died, neither: same-day or short
    weights = np.column_stack(
        [
            (short * same_day).sum(axis=0),
            (short * (1 - same_day)).sum(axis=0),
            under_7[1],
            middle.sum(axis=0),
            tail.sum(axis=0),
        ]
    )
    wait = np.array(nctr_wait_by_band())
    nctr_days = under_7[1] * wait[0] + middle[1] * wait[1] + tail[1] * wait[2]
    return TrueStay(weights, nctr_days)


def true_survival(spells: pd.DataFrame) -> np.ndarray:
    """(n, 61) true P(LOS >= d days), d = 0..60, per spell: the oracle curve."""
    return true_stay(spells).survival


def stay_truth_columns(spells: pd.DataFrame) -> pd.DataFrame:
    """CONTRACT §7 truth columns: `los_p10_days`, `los_median_days`, `los_p90_days`,
    `nctr_expected_days`, indexed like `spells`."""
    truth = true_stay(spells)
    return pd.DataFrame(
        {
            "los_p10_days": truth.quantile(0.1),
            "los_median_days": truth.quantile(0.5),
            "los_p90_days": truth.quantile(0.9),
            "nctr_expected_days": truth.nctr_expected_days,
        },
        index=spells.index,
    )
