"""The daily risk list: current inpatients ranked by combined risk, with a ward and site roll-up.

One function builds the list (`build_risk_list`, used by `los risk-list` and `POST /v1/risk-list`)
and one writes it as CSV, HTML (a printable page for the ward: `models/templates/`) or JSON by
the file extension (`write_risk_list`). What it builds, `RiskList` with its rows, roll-ups and
layouts, is `models/risk_list_result.py`.

Ranking: the combined risk is the mean of the `long_stay` and `nctr` probabilities (of whichever
of the two are loaded; all targets when neither is). Who is flagged "review today" is the list's
`ReviewCut` (`models/review_cut.py`): a capacity given, else a configured capacity per ward, else
the top 10%; every output states the cut.

Who is on the list and on which date (`models/census.py`) is stated on the list itself: the rule
that chose the date and how many patients were left off for their dates.

Reasons (exact tree SHAP, tens of times a prediction) are given where a patient is flagged: a
target's reasons where that target's model flags the patient (as `/v1/score/batch` gives them),
and every target's for a patient flagged for review today whom no model flags; the others have
none (`reasons_for="all"` explains everyone). That keeps a large trust's census (10,000
inpatients) to seconds; history is computed once for all of them.

Stay outlook: when the scorer holds the stay distribution model, each listed patient's likely
discharge dates and expected wait once ready come from the patient's own curve given the days
already stayed (`models.stay_outlook`, `models.stay_provider`), and every output names that
model (`outlook_source`); without one the list has no outlook and `unavailable` says why.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from features.build import with_default_history
from models.census import census_notes, select_census, site_known
from models.list_render import render_risk_list
from models.printable import write_by_suffix
from models.reasons import Reason
from models.review_cut import ReviewCut
from models.risk_list_result import (
    BAND_ORDER,
    RANKING_TARGETS,
    GroupSummary,
    RiskList,
    RiskListRow,
    ranking_targets_of,
)
from models.scorer import Scorer, TargetScores
from models.stay_outlook import with_outlook
from models.stay_provider import model_provider

# the list's types live in `models.risk_list_result`; their callers may import them from here
__all__ = [
    "BAND_ORDER",
    "RANKING_TARGETS",
    "GroupSummary",
    "RiskList",
    "RiskListRow",
    "build_risk_list",
    "write_risk_list",
]


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return str(value)


def _explain_rows(
    scorer: Scorer,
    census: pd.DataFrame,
    history: pd.DataFrame | None,
    rows: np.ndarray,
    why: dict[str, list[list[Reason]]],
) -> None:
    """Put every target's reasons for the census rows `rows` into `why`. A row's reasons do not
    depend on the other rows scored with it, so scoring the chosen rows alone is exact."""
    if len(rows) == 0:
        return
    picked = census.iloc[rows].reset_index(drop=True)
    for t, s in scorer.score(picked, history=history, reasons=True, top_k=3).items():
        for i, r in zip(rows, s.reasons or [[] for _ in rows], strict=True):
            why[t][i] = r


@contextmanager
def _no_gc() -> Iterator[None]:
    """Cyclic garbage collection paused while tens of thousands of small objects are made (it
    would otherwise walk every object alive, again and again: seconds for a large census, about
    a second of a 10,000-patient list's build and page in a process that has loaded the models);
    reference counting still frees everything as usual, and any cyclic garbage made meanwhile
    is collected once collection resumes."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _rows(
    census: pd.DataFrame,
    on: date,
    scores: dict[str, TargetScores],
    ranking: tuple[str, ...],
    cut: ReviewCut,
    explain: Any,
) -> list[RiskListRow]:
    """The ranked rows; `explain(review_flags)` gives the reasons per target (`_explained`)."""
    n = len(census)
    if n == 0:
        return []
    targets = list(scores)
    combined = np.mean([scores[t].probability for t in ranking], axis=0)
    order = np.lexsort((census["spell_id"].astype(str).to_numpy(), -combined))
    admitted = pd.to_datetime(census["admission_datetime"])
    days = (pd.Timestamp(on) - admitted.dt.normalize()).dt.days.clip(lower=0).to_numpy()
    ward = census["ward"] if "ward" in census else pd.Series(None, index=census.index)
    flagged = cut.flags(order, [_text(w) for w in ward])
    specialty = (
        census["specialty"] if "specialty" in census else pd.Series(None, index=census.index)
    )
    why = explain(np.asarray(flagged, dtype=bool))
    when = list(admitted.dt.to_pydatetime())
    # plain Python values once per column: a pandas look-up per cell costs more than the rest
    spell, patient, site = (census[c].tolist() for c in ("spell_id", "patient_id", "site"))
    wards, specialties = ward.tolist(), specialty.tolist()
    band = {t: scores[t].band.tolist() for t in targets}
    probability = {t: scores[t].probability.tolist() for t in targets}
    model_flag = {t: scores[t].flagged.tolist() for t in targets}
    day, risk, review = days.tolist(), combined.tolist(), flagged.tolist()
    rows = []
    for rank, i in enumerate(order.tolist(), start=1):
        bands = {t: str(band[t][i]) for t in targets}
        rows.append(
            RiskListRow(
                rank=rank,
                spell_id=str(spell[i]),
                patient_id=str(patient[i]),
                site=str(site[i]),
                ward=_text(wards[i]),
                specialty=_text(specialties[i]),
                admission_datetime=when[i],
                days_in_hospital=int(day[i]),
                combined_risk=float(risk[i]),
                risk_band=max((bands[t] for t in ranking), key=BAND_ORDER.__getitem__),
                flagged=bool(review[i]),
                probabilities={t: float(probability[t][i]) for t in targets},
                bands=bands,
                model_flags={t: bool(model_flag[t][i]) for t in targets},
                reasons={t: list(why[t][i]) for t in targets},
            )
        )
    return rows


def build_risk_list(
    scorer: Scorer,
    frame: pd.DataFrame,
    on: date | None = None,
    site: str | None = None,
    capacity: int | None = None,
    history: pd.DataFrame | None = None,
    *,
    unknown_site_is_error: bool = True,
    today: date | None = None,
    unavailable: dict[str, str] | None = None,
    cut: ReviewCut | None = None,
    reasons_for: Literal["flagged", "all"] = "flagged",
    progress: Callable[[str], None] = lambda stage: None,
) -> RiskList:
    """Rank the current inpatients of `frame` (rows without a discharge) on the list date.

    `on` defaults to the latest admission date of `frame` not after `today` (default: today,
    UTC): an extract's snapshot day, or today for a live feed; `RiskList.list_date_rule` says
    which rule chose it. Admissions after `on` and, with `site`, other sites are left off and
    counted. A `site` absent from `frame` raises `UnknownSiteError` (with
    `unknown_site_is_error=False` the list is empty and its notes say why). History comes from
    the census rows' own history columns when present, else from `history`, else from the
    discharged spells of `frame` itself. `unavailable` names the targets without a champion
    (target -> one line, `models.availability`): the list ranks by the others and says so.
    `cut` says who is flagged for review (default: `ReviewCut.choose(capacity)`, the given
    capacity or else the top 10%); callers with runtime settings pass
    `ReviewCut.choose(capacity, settings)` so a configured capacity per ward applies.
    `reasons_for`: `flagged` explains a target where its model flags the patient, and every
    target for a patient flagged for review by no model (module doc); `all` every patient.
    `progress` is told each stage as it starts (the CLI prints it).
    """
    with _no_gc():  # the whole build: a full collection would walk every object alive
        return _build(scorer, frame, on, site, capacity, history, unknown_site_is_error, today,
                      unavailable, cut, reasons_for, progress)  # fmt: skip


def _build(
    scorer: Scorer,
    frame: pd.DataFrame,
    on: date | None,
    site: str | None,
    capacity: int | None,
    history: pd.DataFrame | None,
    unknown_site_is_error: bool,
    today: date | None,
    unavailable: dict[str, str] | None,
    cut: ReviewCut | None,
    reasons_for: Literal["flagged", "all"],
    progress: Callable[[str], None],
) -> RiskList:
    cut = cut or ReviewCut.choose(capacity)
    known = site_known(frame, site, strict=unknown_site_is_error)
    chosen = on is None
    census, on, rule, counts = select_census(frame, on, site, today or datetime.now(UTC).date())
    ended = "discharge_datetime" in frame and bool(frame["discharge_datetime"].notna().any())
    if history is None and ended:
        history = frame
    scores: dict[str, TargetScores] = {}
    if len(census):
        # history once for the whole census (the scorer then reads it from the columns)
        progress(f"history for {len(census):,} inpatients on {on:%d %b %Y}")
        census = pd.DataFrame(with_default_history(census, history))
        progress(f"scoring {len(census):,} inpatients with reasons ({reasons_for})")
        scores = scorer.score(census, history=history, top_k=3, reasons_for=reasons_for)
    progress("ranking and writing the reasons in words")

    def explain(review: np.ndarray) -> dict[str, list[list[Reason]]]:
        why = {t: list(s.reasons or [[] for _ in review]) for t, s in scores.items()}
        if reasons_for == "flagged":  # flagged for review, but by no model: every target's
            by_model = np.logical_or.reduce([s.flagged for s in scores.values()])
            _explain_rows(scorer, census, history, np.flatnonzero(review & ~by_model), why)
        return why

    targets = scorer.targets
    ranking = ranking_targets_of(targets)
    rows = _rows(census, on, scores, ranking, cut, explain)
    counts["flagged"] = sum(r.flagged for r in rows)
    result = RiskList(
        list_date=on,
        generated_at=datetime.now(UTC).replace(microsecond=0),
        site=site,
        capacity=cut.capacity if cut.rule == "capacity" else None,
        rows=rows,
        wards=_roll_up(rows, targets, by_ward=True),
        sites=_roll_up(rows, targets, by_ward=False),
        models={t: scorer.models[t].identity for t in targets},
        definitions={t: scorer.models[t].bundle.label_target for t in targets},
        counts=counts,
        list_date_rule=rule,
        notes=census_notes(counts, site, known, chosen),
        unavailable=dict(unavailable or {}),
        cut=cut,
    )
    if scorer.stay is None or not rows:  # no stay model: no outlook (`unavailable` says why)
        return result
    progress("each patient's likely discharge dates from the stay distribution model")
    return with_outlook(result, frame, model_provider(scorer, history), today=today)


def _roll_up(rows: list[RiskListRow], targets: list[str], by_ward: bool) -> list[GroupSummary]:
    groups: dict[tuple[str, str | None], list[RiskListRow]] = {}
    for r in rows:
        groups.setdefault((r.site, r.ward if by_ward else None), []).append(r)
    out = [
        GroupSummary(
            site=site,
            ward=ward,
            patients=len(members),
            flagged=sum(r.flagged for r in members),
            expected={t: float(sum(r.probabilities[t] for r in members)) for t in targets},
        )
        for (site, ward), members in groups.items()
    ]
    return sorted(out, key=lambda g: (g.site, g.ward or ""))


def write_risk_list(result: RiskList, path: str | Path) -> Path:
    """Write the list as CSV, HTML or JSON by extension; returns the path."""
    with _no_gc():  # a row's worth of objects per patient, as in the build
        return write_by_suffix(result, path, "risk list", render_risk_list)
