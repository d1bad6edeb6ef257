"""The daily risk list as built: its rows, the ward and site roll-ups, and its layouts.

`RiskList` holds what `models.risk_list.build_risk_list` makes: the ranked `RiskListRow`s, the
`GroupSummary` roll-ups by ward and by site, the models, the list date and its rule, the notes and
the review cut. It lays itself out as the CSV table (`to_frame`, `to_csv`) and the JSON document
(`to_dict`); the HTML page is `models.list_render`. The combined risk is the mean of the
`RANKING_TARGETS` probabilities (`ranking_targets_of`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd

from features.export import csv_text
from los.targets import Target
from models.reasons import Reason, reasons_text
from models.registry import ModelIdentity
from models.review_cut import ReviewCut

RANKING_TARGETS: tuple[str, ...] = ("long_stay", "nctr")
BAND_ORDER: dict[str, int] = {"low": 0, "medium": 1, "high": 2}
_RAISES = " (raises risk)"


@dataclass(frozen=True)
class RiskListRow:
    """One inpatient on the list."""

    rank: int
    spell_id: str
    patient_id: str
    site: str
    ward: str | None
    specialty: str | None
    admission_datetime: datetime
    days_in_hospital: int
    combined_risk: float
    risk_band: str
    flagged: bool
    probabilities: dict[str, float]
    bands: dict[str, str]
    model_flags: dict[str, bool]
    reasons: dict[str, list[Reason]]

    def main_reasons(self, targets: tuple[str, ...], top_k: int = 3) -> list[str]:
        """The strongest reasons raising the ranking targets' risk, one per field, in words."""
        best: dict[str, Reason] = {}
        for target in targets:
            for r in self.reasons.get(target, []):
                if r.contribution > 0 and (
                    r.field not in best or r.contribution > best[r.field].contribution
                ):
                    best[r.field] = r
        ranked = sorted(best.values(), key=lambda r: -r.contribution)[:top_k]
        return [r.text.removesuffix(_RAISES) for r in ranked]


@dataclass(frozen=True)
class GroupSummary:
    """Roll-up of one ward (or a whole site when `ward` is None)."""

    site: str
    ward: str | None
    patients: int
    flagged: int
    expected: dict[str, float]  # sum of probabilities per target: expected number of cases


@dataclass(frozen=True)
class RiskList:
    """The ranked list, its roll-ups and what produced it."""

    list_date: date
    generated_at: datetime
    site: str | None
    capacity: int | None
    rows: list[RiskListRow]
    wards: list[GroupSummary]
    sites: list[GroupSummary]
    models: dict[str, ModelIdentity]
    definitions: dict[str, Target]  # each model's own target, with its label definition
    counts: dict[str, int] = field(default_factory=dict)
    list_date_rule: str = "given"  # how the list date was chosen, in words
    notes: list[str] = field(default_factory=list)  # what a reader must know: rows left off
    # targets without a model to rank by (`models.availability`): target -> one line, said at
    # the top of every output (JSON `unavailable`, the page's first notice, a CSV column)
    unavailable: dict[str, str] = field(default_factory=dict)
    cut: ReviewCut = field(default_factory=ReviewCut)  # who is flagged for review, and why
    # each patient's stay outlook by spell (`models.stay_outlook.with_outlook`), when a provider
    # with stay curves was given; empty otherwise, and then no output mentions it
    outlooks: dict[str, Any] = field(default_factory=dict)
    outlook_source: str | None = None

    @property
    def list_date_text(self) -> str:
        """The list date and how it was chosen, for the console and the page."""
        return f"list date {self.list_date.isoformat()}: {self.list_date_rule}"

    @property
    def targets(self) -> list[str]:
        """Targets in the models' order."""
        return list(self.models)

    @property
    def ranking_targets(self) -> tuple[str, ...]:
        """Targets whose probabilities make the combined risk."""
        return ranking_targets_of(self.targets)

    def to_frame(self) -> pd.DataFrame:
        """One row per patient (the CSV layout)."""
        records = []
        for r in self.rows:
            rec = _base(r)
            for t in self.targets:
                rec[f"{t}_probability"] = round(r.probabilities[t], 6)
                rec[f"{t}_risk_band"] = r.bands[t]
                rec[f"{t}_flagged"] = r.model_flags[t]
                rec[f"{t}_reasons"] = reasons_text(r.reasons[t])
                rec[f"{t}_model_version"] = f"{self.models[t].name}/{self.models[t].version}"
            records.append(rec)
        per = ["probability", "risk_band", "flagged", "reasons", "model_version"]
        columns = list(_base_fields()) + [f"{t}_{p}" for t in self.targets for p in per]
        table = pd.DataFrame(records, columns=columns)
        if self.outlooks:
            table = table.assign(**_outlook_columns(self))
        # days_in_hospital counts from the list date: every row says which date and why
        return table.assign(
            list_date=self.list_date.isoformat(),
            list_date_rule=self.list_date_rule,
            unavailable_targets="; ".join(self.unavailable.values()),
            review_cut=self.cut.text,
        )

    def to_csv(self) -> str:
        """The CSV layout as text, with formula-like cells defused (`features.export`)."""
        return csv_text(self.to_frame())

    def to_dict(self) -> dict[str, Any]:
        """The JSON layout."""
        return {
            "list_date": self.list_date.isoformat(),
            "list_date_rule": self.list_date_rule,
            "unavailable": self.unavailable,
            "notes": self.notes,
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "site": self.site,
            "capacity": self.capacity,
            "review_cut": self.cut.to_dict(),
            "ranking": {"combined_risk": f"mean of {' and '.join(self.ranking_targets)}"},
            "counts": self.counts,
            "models": {t: m.to_dict() for t, m in self.models.items()},
            "patients": [_row_dict(r, self.outlooks.get(r.spell_id)) for r in self.rows],
            "wards": [_group_dict(g) for g in self.wards],
            "sites": [_group_dict(g) for g in self.sites],
        } | (self._outlook_dict() if self.outlooks else {})

    def _outlook_dict(self) -> dict[str, Any]:
        from models.stay_outlook import ward_waiting

        wards, sites = ward_waiting(self)
        return {
            "outlook_source": self.outlook_source,
            "nctr_bed_days_this_week": {
                "wards": [
                    {"site": s, "ward": w, "expected": round(v, 2)} for (s, w), v in wards.items()
                ],
                "sites": [{"site": s, "expected": round(v, 2)} for s, v in sites.items()],
            },
        }


def _base_fields() -> tuple[str, ...]:
    return (
        "rank", "spell_id", "patient_id", "site", "ward", "specialty", "admission_datetime",
        "days_in_hospital", "combined_risk", "risk_band", "flagged",
    )  # fmt: skip


def _base(r: RiskListRow) -> dict[str, Any]:
    rec = {name: getattr(r, name) for name in _base_fields()}
    rec["combined_risk"] = round(r.combined_risk, 6)
    return rec


def _outlook_columns(result: RiskList) -> dict[str, list[Any]]:
    """The stay outlook's CSV columns (`models.stay_outlook`), in row order."""
    found = [result.outlooks.get(r.spell_id) for r in result.rows]
    parts = [o.to_dict() if o is not None else {} for o in found]
    names = ("likely_discharge_earliest", "likely_discharge_latest", "nctr_expected_days")
    out = {name: [p.get(name) for p in parts] for name in names}
    out["discharge_outlook"] = [p.get("text") for p in parts]
    out["outlook_source"] = [result.outlook_source] * len(parts)
    return out


def _row_dict(r: RiskListRow, outlook: Any = None) -> dict[str, Any]:
    rec = _base(r) | {"admission_datetime": r.admission_datetime.isoformat()}
    if outlook is not None:
        rec["outlook"] = outlook.to_dict()
    rec["targets"] = {
        t: {
            "probability": round(p, 6),
            "risk_band": r.bands[t],
            "flagged": r.model_flags[t],
            "reasons": [x.to_dict() for x in r.reasons[t]],
        }
        for t, p in r.probabilities.items()
    }
    return rec


def _group_dict(g: GroupSummary) -> dict[str, Any]:
    out: dict[str, Any] = {"site": g.site}
    if g.ward is not None or g.patients == 0:
        out["ward"] = g.ward
    out |= {"patients": g.patients, "flagged": g.flagged}
    out["expected"] = {t: round(v, 2) for t, v in g.expected.items()}
    return out


def ranking_targets_of(targets: list[str]) -> tuple[str, ...]:
    """The targets whose mean is the combined risk: those of `RANKING_TARGETS` present, else all."""
    chosen = tuple(t for t in RANKING_TARGETS if t in targets)
    return chosen or tuple(targets)
