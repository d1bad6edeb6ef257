"""How many of n patients, each with its own probability, are counted: the Poisson-binomial law.

Exact, never a normal approximation: dynamic programming over the patients,
P_i(k) = P_{i-1}(k) (1 - p_i) + P_{i-1}(k - 1) p_i, batched over the days ahead (O(n^2) per day,
trivial at ward and site sizes). Above `FFT_ABOVE` patients the polynomial
prod_i (1 - p_i + p_i z) is multiplied as a tree of FFT convolutions over exact DP blocks, which
agrees with the DP to rounding error (tests/unit/test_forecast.py). Patients are independent:
the one assumption, stated on every forecast output.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.signal import fftconvolve

FFT_ABOVE = 1500  # patients; below this the plain DP is as fast and exact
_BLOCK = 256  # patients per exact DP block before the FFT tree
QUANTILES: tuple[tuple[str, float], ...] = (("p10", 0.1), ("p50", 0.5), ("p90", 0.9))


def _dp(p: np.ndarray) -> np.ndarray:
    """(n, m) probabilities -> (m, n + 1) exact distributions of the count, by DP."""
    n, m = p.shape
    out = np.zeros((m, n + 1))
    out[:, 0] = 1.0
    for i in range(n):
        pi = p[i][:, None]
        head = out[:, : i + 1].copy()
        out[:, : i + 1] *= 1.0 - pi
        out[:, 1 : i + 2] += head * pi
    return out


def count_distribution(p: np.ndarray) -> np.ndarray:
    """The distribution of how many are counted: `p` is (n,) or (n, m) probabilities (m columns,
    e.g. days ahead); returns (n + 1,) or (m, n + 1) with [..., k] = P(count = k)."""
    probs = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    flat = probs.ndim == 1
    if flat:
        probs = probs[:, None]
    if probs.shape[0] <= FFT_ABOVE:
        out = _dp(probs)
    else:
        parts = [_dp(probs[i : i + _BLOCK]) for i in range(0, probs.shape[0], _BLOCK)]
        while len(parts) > 1:
            paired = [
                fftconvolve(a, b, axes=1) for a, b in zip(parts[::2], parts[1::2], strict=False)
            ]
            parts = paired + ([parts[-1]] if len(parts) % 2 else [])
        out = np.clip(parts[0], 0.0, None)
        out /= out.sum(axis=1, keepdims=True)
    return out[0] if flat else out


@dataclass(frozen=True)
class CountSummary:
    """What a bed manager reads from one count distribution."""

    expected: float
    p10: int
    p50: int
    p90: int
    p_at_least: dict[int, float]  # N -> P(count >= N)
    band_mass: float  # P(p10 <= count <= p90): the band's own probability (>= 0.8, discrete)
    cdf: np.ndarray = field(repr=False, compare=False, default_factory=lambda: np.ones(1))

    def pit_inside(self, observed: int) -> float:
        """For an observed count y, the chance that a randomised PIT value, uniform on
        [P(count < y), P(count <= y)], falls in [0.1, 0.9]: averaged over a backtest it is 0.8
        exactly when the forecasts are calibrated, whatever the sizes (unlike [p10, p90])."""
        below = float(self.cdf[min(observed, self.cdf.size) - 1]) if observed > 0 else 0.0
        upto = float(self.cdf[observed]) if observed < self.cdf.size else 1.0
        width = upto - below
        if width <= 0:
            return float(0.1 <= upto <= 0.9)
        return max(0.0, min(upto, 0.9) - max(below, 0.1)) / width

    def to_dict(self) -> dict[str, float | int]:
        """`expected`, `p10`, `p50`, `p90` and `p_at_least_<N>` (CONTRACT §7)."""
        out: dict[str, float | int] = {
            "expected": round(self.expected, 3),
            "p10": self.p10,
            "p50": self.p50,
            "p90": self.p90,
        }
        out |= {f"p_at_least_{n}": round(v, 4) for n, v in self.p_at_least.items()}
        return out


def quantile(pmf: np.ndarray, q: float) -> int:
    """The smallest count k with P(count <= k) >= q."""
    cdf = np.cumsum(pmf)
    return int(np.searchsorted(cdf, q - 1e-12))


def summarise(pmf: np.ndarray, at_least: tuple[int, ...] = ()) -> CountSummary:
    """Expected count, p10/p50/p90 and P(count >= N) for each N in `at_least`."""
    k = np.arange(pmf.size)
    lo, mid, hi = (quantile(pmf, q) for _, q in QUANTILES)
    tail = np.cumsum(pmf[::-1])[::-1]  # tail[k] = P(count >= k)
    return CountSummary(
        expected=float(k @ pmf),
        p10=lo,
        p50=mid,
        p90=hi,
        p_at_least={n: float(tail[n]) if 0 <= n < pmf.size else float(n <= 0) for n in at_least},
        band_mass=float(pmf[lo : hi + 1].sum()),
        cdf=np.cumsum(pmf),
    )
