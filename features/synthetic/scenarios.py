"""Planted changes for testing the monitor (CONTRACT §8): what changes, where and from when.

- `none`: nothing changes.
- `site-capacity-shock`: from the start date, one site's care market tightens: the log-odds of
  NCTR rise by `SHOCK_NCTR_LOGIT` for spells admitted there (odds x2.7), and the delays of its
  NCTR patients grow longer (a larger share of the stay waits for a package). The stay follows
  (NCTR lengthens stays), so the long-stay truths rise too. The inputs do not change: only
  labels can show it.
- `coding-change`: from the start date, one site records frailty on the Clinical Frailty Scale
  (1-9) in the `frailty_score` column instead of the Hospital Frailty Risk Score. Outcomes are
  drawn from the patient's real frailty, so the true probabilities are unchanged; the model sees
  a different input.

The site is given, or drawn from the seed on a stream of its own (so choosing it leaves the
spells' draws alone). The truth file of a scenario names the site in
`scenario_site` and marks the spells it touches in `scenario_affected`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.synthetic.tables import SITE_CODES

SCENARIOS = ("none", "site-capacity-shock", "coding-change")
SHOCK_NCTR_LOGIT = 1.0
SHOCK_DELAY_BETA = (2.4, 1.6)  # fraction of the stay spent waiting (usual: beta(1.2, 2.4))
CODED_INPUT = "frailty_score"


@dataclass(frozen=True)
class Scenario:
    """One planted change: its name, the first admission it touches and the site."""

    name: str = "none"
    start: pd.Timestamp | None = None
    site: str | None = None

    def affected(self, spells: pd.DataFrame) -> np.ndarray:
        """Spells the change touches: admitted at the site on or after the start."""
        if self.name == "none" or self.start is None:
            return np.zeros(len(spells), dtype=bool)
        at_site = spells["site"].to_numpy(dtype=object) == self.site
        admitted = pd.to_datetime(spells["admission_datetime"]).to_numpy()
        return at_site & (admitted >= np.datetime64(self.start))

    def nctr_shift(self, spells: pd.DataFrame) -> np.ndarray:
        """Added NCTR log-odds per spell (the capacity shock; zero otherwise)."""
        if self.name != "site-capacity-shock":
            return np.zeros(len(spells))
        return SHOCK_NCTR_LOGIT * self.affected(spells)

    def delay_shocked(self, spells: pd.DataFrame) -> np.ndarray:
        """Spells whose NCTR delays run longer (the capacity shock)."""
        if self.name != "site-capacity-shock":
            return np.zeros(len(spells), dtype=bool)
        return self.affected(spells)

    def recorded(self, admissions: pd.DataFrame) -> pd.DataFrame:
        """The table as the hospital records it: the coding change rewrites frailty at the site
        (a copy; outcomes were drawn before, from the real value)."""
        if self.name != "coding-change":
            return admissions
        hit = self.affected(admissions)
        out = admissions.copy()
        hfrs = out.loc[hit, CODED_INPUT]
        out.loc[hit, CODED_INPUT] = np.clip(np.round(2 + hfrs / 3), 1, 9)  # NaN stays NaN
        return out


NONE = Scenario()


def choose_scenario(
    name: str, start: str | None, seed: int, first: pd.Timestamp, last: pd.Timestamp,
    site: str | None = None,
) -> Scenario:  # fmt: skip
    """The scenario `name` from `start` (default: three quarters through the window) at `site`
    (default: one of the sites, drawn from the seed on a stream of its own)."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    if name == "none":
        return NONE
    when = pd.Timestamp(start) if start else first + (last - first) * 0.75
    if not first <= when <= last:
        raise ValueError(
            f"scenario start {when.date()} is outside the generated window "
            f"({first.date()} to {last.date()})"
        )
    if site is None:
        site = str(np.random.default_rng([seed, 14]).choice(SITE_CODES))
    elif site not in set(SITE_CODES):
        raise ValueError(f"unknown site {site!r}; known: {', '.join(SITE_CODES)}")
    return Scenario(name, when.normalize(), site)
