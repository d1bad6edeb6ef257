"""The daily risk list on hand-built census frames, with a scorer whose probabilities are given.

The scorer stand-in returns the probabilities written in the census (`p_long_stay`, `p_nctr`),
so ranking, capacity, left-off counts, roll-ups and the three output formats are checked exactly.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from los.errors import DataSourceError
from los.targets import Target
from models.reasons import Reason
from models.registry import ModelIdentity
from models.risk_list import build_risk_list, write_risk_list
from models.scorer import TargetScores
from tests.factories import admission, frame

TARGETS = ("long_stay", "long_stay_21", "nctr")


class GivenScorer:
    """Scores are the census's `p_<target>` columns; flagged at 0.5; one reason each way."""

    def __init__(self) -> None:
        self.models = {
            t: SimpleNamespace(
                identity=ModelIdentity(f"los-{t.replace('_', '-')}", "4", "champion"),
                bundle=SimpleNamespace(
                    metadata={"description": "length of stay of 7 days"},
                    label_target=Target.derived(t, "length of stay of 7 days"),
                ),
            )
            for t in TARGETS
        }
        self.history: Any = None
        self.stay = None  # no stay distribution model: the list has no outlook

    @property
    def targets(self) -> list[str]:
        return list(TARGETS)

    def score(self, admissions: pd.DataFrame, history: Any = None, **_: Any) -> dict:
        self.history = history
        out = {}
        for t in TARGETS:
            p = admissions.get(f"p_{t}", pd.Series(0.1, index=admissions.index)).to_numpy(float)
            why = [
                [
                    Reason("age", "age", 90, 0.5, "Age 90 (raises risk)"),
                    Reason("frailty_score", "frailty_score", 2.0, -0.3, "Frailty (lowers risk)"),
                ]
                for _ in p
            ]
            band = np.where(p >= 0.7, "high", np.where(p >= 0.5, "medium", "low"))
            out[t] = TargetScores(t, p, p >= 0.5, band, 0.5, why, self.models[t].identity)
        return out


def census(*rows: dict[str, Any]) -> pd.DataFrame:
    return frame(*rows)


def inpatient(spell: str, p_ls: float, p_nctr: float, **kw: Any) -> dict[str, Any]:
    return admission(
        spell_id=spell, patient_id=f"P{spell}", discharge_datetime=pd.NaT,
        discharge_ready_datetime=pd.NaT, p_long_stay=p_ls, p_nctr=p_nctr, **kw,
    )  # fmt: skip


@pytest.fixture
def ward_census() -> pd.DataFrame:
    return census(
        inpatient("A", 0.9, 0.1, ward="W1", admission_datetime=pd.Timestamp("2024-03-01 23:00")),
        inpatient("B", 0.6, 0.6, ward="W1", admission_datetime=pd.Timestamp("2024-03-09 08:00")),
        inpatient("C", 0.2, 0.2, ward="W2", admission_datetime=pd.Timestamp("2024-03-10 09:00")),
        inpatient("D", 0.5, 0.8, ward="W2", admission_datetime=pd.Timestamp("2024-03-10 11:00")),
        admission(spell_id="GONE", p_long_stay=0.99, p_nctr=0.99),  # discharged: left off
    )


def test_ranks_by_mean_of_long_stay_and_nctr(ward_census: pd.DataFrame) -> None:
    result = build_risk_list(GivenScorer(), ward_census)  # type: ignore[arg-type]
    assert [r.spell_id for r in result.rows] == ["D", "B", "A", "C"]  # .65, .6, .5, .2
    assert [r.rank for r in result.rows] == [1, 2, 3, 4]
    assert result.rows[0].combined_risk == pytest.approx(0.65)
    assert result.counts["left_off_discharged"] == 1 and result.counts["inpatients"] == 4


@pytest.mark.parametrize(("capacity", "flagged"), [(0, []), (2, ["D", "B"]), (9, list("DBAC"))])
def test_capacity_flags_the_top_k(
    ward_census: pd.DataFrame, capacity: int, flagged: list[str]
) -> None:
    result = build_risk_list(GivenScorer(), ward_census, capacity=capacity)  # type: ignore[arg-type]
    assert [r.spell_id for r in result.rows if r.flagged] == flagged
    assert result.counts["flagged"] == len(flagged)


def test_ties_are_broken_by_spell_id() -> None:
    tied = census(inpatient("F", 0.3, 0.3), inpatient("E", 0.3, 0.3), inpatient("G", 0.3, 0.3))
    result = build_risk_list(GivenScorer(), tied, capacity=1)  # type: ignore[arg-type]
    assert [r.spell_id for r in result.rows] == ["E", "F", "G"]
    assert [r.flagged for r in result.rows] == [True, False, False]


def test_without_capacity_the_top_tenth_is_marked(ward_census: pd.DataFrame) -> None:
    """Issue 15 item 9: not every model-flagged patient (A, B and D here), but the top 10%,
    rounded up: one of four."""
    result = build_risk_list(GivenScorer(), ward_census)  # type: ignore[arg-type]
    assert {r.spell_id for r in result.rows if r.flagged} == {"D"}
    assert result.cut.text == "Top 10% by risk (no capacity given)"


def test_list_date_days_in_hospital_and_later_admissions(ward_census: pd.DataFrame) -> None:
    default = build_risk_list(GivenScorer(), ward_census)  # type: ignore[arg-type]
    assert default.list_date == date(2024, 3, 10)  # the latest admission's date
    days = {r.spell_id: r.days_in_hospital for r in default.rows}
    assert days == {"A": 9, "B": 1, "C": 0, "D": 0}  # calendar days
    earlier = build_risk_list(GivenScorer(), ward_census, on=date(2024, 3, 9))  # type: ignore[arg-type]
    assert {r.spell_id for r in earlier.rows} == {"A", "B"}
    assert earlier.counts["left_off_admitted_after_list_date"] == 2


def test_site_filter_counts_other_sites(ward_census: pd.DataFrame) -> None:
    other = census(inpatient("X", 0.9, 0.9, site="RAS01"))
    both = pd.concat([ward_census, other], ignore_index=True)
    result = build_risk_list(GivenScorer(), both, site="RAS01")  # type: ignore[arg-type]
    assert [r.spell_id for r in result.rows] == ["X"]
    assert result.counts["left_off_other_site"] == 4


def test_history_defaults_to_the_extract_itself(ward_census: pd.DataFrame) -> None:
    scorer = GivenScorer()
    build_risk_list(scorer, ward_census)  # type: ignore[arg-type]
    assert scorer.history is ward_census  # discharged spells feed the history features
    given = ward_census.head(1)
    build_risk_list(scorer, ward_census, history=given)  # type: ignore[arg-type]
    assert scorer.history is given


def test_roll_up_by_ward_and_site(ward_census: pd.DataFrame) -> None:
    result = build_risk_list(GivenScorer(), ward_census, capacity=2)  # type: ignore[arg-type]
    wards = {g.ward: g for g in result.wards}
    assert (wards["W1"].patients, wards["W1"].flagged) == (2, 1)
    assert wards["W2"].expected["long_stay"] == pytest.approx(0.7)
    (site,) = result.sites
    assert site.patients == 4 and site.flagged == 2
    assert site.expected["nctr"] == pytest.approx(0.1 + 0.6 + 0.2 + 0.8)


def test_main_reasons_are_plain_words_that_raise_risk(ward_census: pd.DataFrame) -> None:
    row = build_risk_list(GivenScorer(), ward_census).rows[0]  # type: ignore[arg-type]
    assert row.main_reasons(("long_stay", "nctr")) == ["Age 90"]


def test_outputs_by_extension(ward_census: pd.DataFrame, tmp_path: Path) -> None:
    result = build_risk_list(GivenScorer(), ward_census, capacity=2, site="RYJ01")  # type: ignore[arg-type]
    csv = pd.read_csv(write_risk_list(result, tmp_path / "list.csv"))
    assert list(csv["spell_id"]) == ["D", "B", "A", "C"]
    assert list(csv["flagged"]) == [True, True, False, False]
    assert {"long_stay_probability", "nctr_reasons", "nctr_model_version"} <= set(csv.columns)
    data = json.loads(write_risk_list(result, tmp_path / "list.json").read_text())
    assert data["capacity"] == 2 and data["list_date"] == "2024-03-10"
    assert data["patients"][0]["targets"]["nctr"]["reasons"][0]["feature"] == "age"
    assert {w["ward"] for w in data["wards"]} == {"W1", "W2"}
    html = write_risk_list(result, tmp_path / "list.html").read_text()
    text = re.sub(r"<style.*?</style>|<[^>]+>", " ", html, flags=re.S)
    assert "Review today" in text and "los-long-stay version 4" in text
    assert "10 March 2024" in text
    assert not re.search(r"https?://|//cdn|src=", html)  # nothing fetched from outside
    for raw in ("long_stay", "nctr_", "frailty_score", "_probability", "admission_method"):
        assert raw not in text, raw
    assert "@page" in html and "A4 landscape" in html
    with pytest.raises(DataSourceError, match="unsupported"):
        write_risk_list(result, tmp_path / "list.xlsx")


def test_empty_census_still_writes_every_format(tmp_path: Path) -> None:
    everyone_gone = census(admission(spell_id="GONE"))
    result = build_risk_list(GivenScorer(), everyone_gone, capacity=3)  # type: ignore[arg-type]
    assert result.rows == [] and result.counts["inpatients"] == 0
    for ext in ("csv", "json", "html"):
        assert write_risk_list(result, tmp_path / f"empty.{ext}").stat().st_size > 0
    assert "No patients in hospital" in (tmp_path / "empty.html").read_text()


def test_the_page_footer_cannot_end_the_style_sheet(tmp_path: Path) -> None:
    """The footer line goes into a CSS string (`@page` margin box): a site named to break out of
    it stays text."""
    site = 'X"}</style><script>alert(1)</script>'
    rows = census(inpatient("A", 0.5, 0.5, site=site))
    result = build_risk_list(GivenScorer(), rows, site=site)  # type: ignore[arg-type]
    html = write_risk_list(result, tmp_path / "list.html").read_text()
    style = html[html.index("<style>") : html.index("</style>")]
    assert "<script>" not in html and "</style>" not in style
    assert "\\22 " in style and "\\3c " in style  # the quote and the "<", escaped for CSS


def test_each_stage_is_told_as_it_starts(ward_census: pd.DataFrame) -> None:
    stages: list[str] = []
    build_risk_list(GivenScorer(), ward_census, progress=stages.append)  # type: ignore[arg-type]
    assert [s.split()[0] for s in stages] == ["history", "scoring", "ranking"]
    assert "4 inpatients" in stages[0] and "4 inpatients" in stages[1]
