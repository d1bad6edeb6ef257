"""The printed risk list (issue 15 item 7): a 143-patient list printed to PDF by headless
Chromium, checked page by page, and its layout checked in print media.

Real parts: generated admissions, the session's trained registry and the real scorer, the real
HTML writer, and Chromium itself (its PDF read by `tests/pdf_text.py`, its layout by the
DevTools protocol in `tests/chromium.py`). Skipped when Chromium is not installed.
"""

from __future__ import annotations

import itertools
import re

import pandas as pd
import pytest

from los.schema import LABEL_COLUMNS
from models.list_render import specialty_name
from models.registry import connect, load_models
from models.risk_list import RiskList, build_risk_list, write_risk_list
from models.scorer import Scorer
from tests.chromium import Browser, chromium_or_skip
from tests.conftest import TrainedRegistry
from tests.pdf_text import PdfText

PATIENTS = 143
MM = 72 / 25.4  # points per millimetre
FOOTER_BAND = 13 * MM  # the page's bottom margin (models/templates/risk_list.html.j2 @page)
PRINT_WIDTH_PX = round((297 - 18) / 25.4 * 96)  # A4 landscape less its side margins, CSS px
RANK = re.compile(r"^(\d+) (?:Review today|Review|–)")


@pytest.fixture(scope="module")
def census(trained_registry: TrainedRegistry) -> tuple[pd.DataFrame, str]:
    """143 inpatients of one site (the latest admissions there, labels blanked), after the
    site's earlier, discharged spells, which give the history."""
    table = trained_registry.admissions.sort_values("admission_datetime", kind="stable")
    table = table[table["discharge_datetime"].notna()]  # the generator leaves a few in hospital
    site = str(table["site"].value_counts().index[0])
    here = table[table["site"] == site].tail(PATIENTS + 600).reset_index(drop=True)
    current = here.index[-PATIENTS:]
    for col in LABEL_COLUMNS:
        here[col] = here[col].astype(object)
        here.loc[current, col] = None
    return here, site


@pytest.fixture(scope="module")
def printed(
    trained_registry: TrainedRegistry,
    census: tuple[pd.DataFrame, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[RiskList, PdfText, dict]:
    """The list, its PDF as Chromium prints it, and its layout in print media."""
    binary = chromium_or_skip()
    frame, site = census
    connect(trained_registry.settings.tracking_uri)
    result = build_risk_list(Scorer(load_models("champion")), frame, site=site)
    assert len(result.rows) == PATIENTS
    folder = tmp_path_factory.mktemp("print")
    page = write_risk_list(result, folder / "list.html")
    browser = Browser(binary, folder / "profile")
    try:
        browser.open(page.resolve().as_uri())
        browser.print_media(PRINT_WIDTH_PX, 700)
        layout = browser.evaluate(LAYOUT_SCRIPT)
        pdf = browser.pdf()
    finally:
        browser.close()
    (folder / "list.pdf").write_bytes(pdf)
    return result, PdfText(pdf), layout


def body_lines(pdf: PdfText, page: int) -> list[str]:
    """Lines above the page's footer band."""
    return pdf.lines(page, bottom=pdf.heights[page] - FOOTER_BAND)


def footer_lines(pdf: PdfText, page: int) -> list[str]:
    """Lines in the page's footer band (the bottom margin)."""
    return pdf.lines(page, top=pdf.heights[page] - FOOTER_BAND)


def ranks(pdf: PdfText, page: int) -> list[int]:
    """Patients (by their order number) whose row starts on the page."""
    return [int(m[1]) for line in body_lines(pdf, page) if (m := RANK.match(line))]


@pytest.mark.browser
def test_pages_hold_rows_in_order_and_nothing_is_left_to_a_page_of_its_own(
    printed: tuple[RiskList, PdfText, dict],
) -> None:
    _, pdf, _ = printed
    n = len(pdf.pages)
    per_page = [ranks(pdf, i) for i in range(n)]
    assert [r for page in per_page for r in page] == list(range(1, PATIENTS + 1))
    patient_pages = [i for i, page in enumerate(per_page) if page]
    assert patient_pages == list(range(len(patient_pages)))  # then only the ward summary
    assert n == len(patient_pages) + 1
    assert "By ward" in body_lines(pdf, n - 1)[0]
    most = max(len(page) for page in per_page)
    # as few pages as the rows need: page 1 holds the heading, every page after it is full
    # but the last of the patients', and the summary has its own page. Rows differ in height
    # (the flagged ones at the top carry more reasons, and every row its stay outlook), so
    # "full" is judged between neighbours: no two pages after the first could share one page
    after_first = per_page[1 : len(patient_pages)]
    for page, following in itertools.pairwise(after_first):
        assert len(page) + len(following) > most, [len(p) for p in per_page]
    for i in range(n):
        assert len(body_lines(pdf, i)) >= 3, f"page {i + 1} holds no content above its footer"


@pytest.mark.browser
def test_every_page_has_the_footer_and_its_number(printed: tuple[RiskList, PdfText, dict]) -> None:
    result, pdf, _ = printed
    n = len(pdf.pages)
    for i in range(n):
        foot = " ".join(footer_lines(pdf, i))
        assert f"Page {i + 1} of {n}" in foot, f"page {i + 1}"
        assert "Discharge planning list for site" in foot and result.site in foot
        assert "version" in foot and "decision support only" in foot
        assert len(footer_lines(pdf, i)) == 1, "the footer fits one line"
    assert result.cut.text in " ".join(body_lines(pdf, 0))  # the cut is said on the list


@pytest.mark.browser
def test_specialty_names_never_break_inside_a_word(
    printed: tuple[RiskList, PdfText, dict],
) -> None:
    result, pdf, layout = printed
    names = {specialty_name(r.specialty) for r in result.rows}
    assert not any(n.startswith("Treatment function code") for n in names)
    words = {w for n in names for w in n.split() if len(w) > 3}
    assert "Gastroenterology" in words or len(words) > 5
    tokens = {
        t.strip(";,.()-")
        for i in range(len(pdf.pages))
        for line in pdf.lines(i)
        for t in line.split()
    }
    for word in words:
        assert word in tokens, word
        for k in range(2, len(word) - 1):
            split = word[:k] in tokens and word[k:] in tokens
            assert not split, f"{word} printed as {word[:k]} | {word[k:]}"
    # the layout agrees: every word of every specialty cell sits on one line
    assert layout["split_words"] == []


@pytest.mark.browser
def test_no_cell_spills_into_its_neighbour(printed: tuple[RiskList, PdfText, dict]) -> None:
    _, _, layout = printed
    assert layout["cells"] > PATIENTS * 8
    assert layout["spills"] == []  # e.g. "Review today" into the patient column
    review, patient = layout["review_right"], layout["ids_left"]
    assert review <= patient, "Review today runs into the patient column"
    admitted, days = layout["admitted_right"], layout["days_left"]
    assert admitted <= days, "dates run into the days column"


# In print media at the printable width: for each body cell of the patients' table, the extent
# of its text must lie inside the cell; for each specialty cell, every word on one line.
LAYOUT_SCRIPT = r"""
(() => {
  const spills = [], split = [];
  let cells = 0, reviewRight = 0, idsLeft = Infinity, admittedRight = 0, daysLeft = Infinity;
  for (const td of document.querySelectorAll("table.patients tbody td")) {
    cells += 1;
    const box = td.getBoundingClientRect();
    const range = document.createRange();
    range.selectNodeContents(td);
    const text = range.getBoundingClientRect();
    if (text.width && (text.left < box.left - 0.5 || text.right > box.right + 0.5)) {
      spills.push(td.className + ": " + td.innerText.slice(0, 40));
    }
    if (td.classList.contains("review")) reviewRight = Math.max(reviewRight, text.right);
    if (td.classList.contains("ids")) idsLeft = Math.min(idsLeft, text.left);
    if (td.classList.contains("admitted")) admittedRight = Math.max(admittedRight, text.right);
    if (td.classList.contains("days")) daysLeft = Math.min(daysLeft, text.left);
    if (td.classList.contains("specialty")) {
      const node = td.firstChild;
      const re = /\S+/g;
      let m;
      while (node && (m = re.exec(node.textContent)) !== null) {
        const word = document.createRange();
        word.setStart(node, m.index);
        word.setEnd(node, m.index + m[0].length);
        const tops = new Set([...word.getClientRects()].map(r => Math.round(r.top)));
        if (tops.size > 1) split.push(m[0]);
      }
    }
  }
  return {cells, spills, split_words: split, review_right: reviewRight, ids_left: idsLeft,
          admitted_right: admittedRight, days_left: daysLeft};
})()
"""
