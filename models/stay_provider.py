"""Bed probabilities from the stay distribution model (`los-stay-distribution`), and which
provider a bed forecast or the risk list's stay outlook rests on.

`StayModelProvider` reads each census patient's own curve (`Scorer.stay_curves`: the feature
path `los score` uses) conditioned on the days already stayed (`models.bed_provider`:
P(in a bed on day h) = S(elapsed + h) / S(elapsed)).

NCTR from the model's NCTR wait part (`models.stay_model.NctrWait`): a spell with an NCTR delay
spends its last W days waiting (W its expected wait), so P(past ready | in a bed on day d) =
P(NCTR) * P(LOS < d + W | LOS > d) = p * (1 - S(d + W) / S(d)); summed over the stay this is
p * W, the `nctr_expected_days` of `los score`. P(NCTR) is the NCTR flag model's probability.
Without an NCTR champion or a wait model, only patients whose ready date is recorded count as
waiting, and the provider's name says so. A patient whose ready date is recorded by the origin
counts as waiting either way (`models.bed_provider.ready_by`).

`forecast_models`: the registry's champions for a forecast, and why the stay model is not among
them. `choose_provider`: the model when a stay champion is loaded; else the Kaplan-Meier baseline
(`models.stay_table`), with the reason in words; else (no ended spell to learn from) none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from los.config import Settings
from los.errors import DataQualityError, ModelNotFoundError, RegistryUnavailableError
from los.targets import STAY_DISTRIBUTION
from models.bed_provider import BedProbabilities, BedProvider, SurvivalProvider
from models.scorer import Scorer
from models.stay_curve import HORIZON, StayCurves, survival_at
from models.stay_model import nctr_wait_of
from models.stay_table import StayTable, as_known_at

NCTR_TARGET = "nctr"
NO_STAY_MODEL = "no stay distribution model is loaded"


def nctr_share(curves: StayCurves, p_nctr: np.ndarray, wait: np.ndarray) -> np.ndarray:
    """(n, HORIZON + 1): P(past the ready date | in a bed on elapsed day d), d = 0..HORIZON,
    for spells with P(NCTR) `p_nctr` and expected wait `wait` days (see the module doc)."""
    grid = np.broadcast_to(np.arange(HORIZON + 1, dtype=float), (len(curves), HORIZON + 1))
    now = survival_at(curves.survival, grid)
    later = survival_at(curves.survival, grid + np.asarray(wait, dtype=float)[:, None])
    # no mass left at d (a stay past every curve): the rest of it is taken as waiting
    stays = np.divide(later, now, out=np.zeros_like(later), where=now > 0)
    p = np.clip(np.asarray(p_nctr, dtype=float), 0.0, 1.0)[:, None]
    return np.asarray(np.clip(p * (1.0 - stays), 0.0, 1.0), dtype=float)


@dataclass(frozen=True)
class StayModelProvider:
    """A `BedProvider` from the served stay model (and the NCTR model, when served)."""

    scorer: Scorer  # holds the stay distribution model (`Scorer.stay`)
    history: pd.DataFrame | None = None  # earlier spells for the history features
    name: str = "stay distribution model"

    def bed_probabilities(
        self, census: pd.DataFrame, origin: pd.Timestamp, days: int
    ) -> BedProbabilities:
        """Each patient's curve conditioned on the days stayed at `origin`, days 1..`days`."""
        curves = self.scorer.stay_curves(census, self.history)
        share = self._share(census, curves)
        curve = SurvivalProvider(curves.survival, share, self.name, curves.within_day)
        return curve.bed_probabilities(census, origin, days)

    def _share(self, census: pd.DataFrame, curves: StayCurves) -> np.ndarray:
        wait = nctr_wait_of(self.scorer.stay.bundle) if self.scorer.stay else None
        nctr = self.scorer.models.get(NCTR_TARGET)
        if wait is None or nctr is None or not len(census):
            return np.zeros_like(curves.survival)  # only recorded ready dates count
        scores = Scorer({NCTR_TARGET: nctr}).score(census, self.history, reasons=False)
        return nctr_share(curves, scores[NCTR_TARGET].probability, wait.expected(curves))


def model_provider(scorer: Scorer, history: pd.DataFrame | None = None) -> StayModelProvider:
    """The provider of a scorer holding a stay model, named for the versions it rests on."""
    if scorer.stay is None:
        raise ValueError(NO_STAY_MODEL)
    stay = scorer.stay.identity
    name = f"stay distribution model {stay.name} version {stay.version}"
    nctr = scorer.models.get(NCTR_TARGET)
    if nctr is not None and nctr_wait_of(scorer.stay.bundle) is not None:
        name += f", NCTR waits with {nctr.identity.name} version {nctr.identity.version}"
    else:
        name += ", NCTR counted only where a ready date is recorded (no NCTR model or wait)"
    return StayModelProvider(scorer, history, name)


@dataclass(frozen=True)
class ProviderChoice:
    """The provider a forecast rests on, and why when it is not the stay model."""

    provider: BedProvider | None  # None: no curve could be made (`problem` says why)
    reason: str | None  # None when the stay distribution model is used
    problem: str | None = None  # why there is no provider at all


def choose_provider(
    spells: pd.DataFrame, origin: pd.Timestamp, scorer: Scorer | None, missing: str | None = None
) -> ProviderChoice:
    """The stay model when `scorer` holds one (history: `spells` as known at `origin`); else the
    Kaplan-Meier baseline fitted on `spells` as known at `origin`, the reason being `missing`
    (why there is no stay champion, in words) or that none is loaded."""
    if scorer is not None and scorer.stay is not None:
        return ProviderChoice(model_provider(scorer, as_known_at(spells, origin)), None)
    why = f"Kaplan-Meier baseline used: {missing or NO_STAY_MODEL}"
    try:
        return ProviderChoice(StayTable().fit(spells, origin), why)
    except DataQualityError as exc:  # no ended spell to learn from
        return ProviderChoice(None, why, f"no forecast: {exc}")


def forecast_models(settings: Settings) -> tuple[Scorer | None, str | None]:
    """The champions a forecast can use (None without a registry or any champion) and, when the
    stay distribution model is not among them, why in one line (`models.availability`)."""
    from models.availability import load_available
    from models.registry import connect, describe_registry_error

    try:
        connect(settings.tracking_uri, settings.los_data_dir / "mlartifacts")
        models, missing = load_available()
    except (RegistryUnavailableError, ModelNotFoundError) as exc:
        return None, f"no champion to use ({describe_registry_error(exc)})"
    gap = missing.get(STAY_DISTRIBUTION)
    return Scorer(models), gap.line if gap is not None else None
