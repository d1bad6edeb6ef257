"""Why a held version is held, in the words a discharge team reads on its list."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from models.availability import REVIEW_BLOCKING_TAG, REVIEW_FINDINGS_TAG, _claim, held_words

SENTENCE = (
    "Black or Black British patients in the most deprived areas (IMD quintile 1) have 1.85x the "
    "NCTR rate the model expects (relative to White patients outside the most deprived areas; "
    "95% CI 1.47-2.33; 1.32-2.60 allowing for the 13 groups compared; band 0.80-1.25)"
)
FINDING = "calibration_ratio:ethnicity_deprivation:Black or Black British, Core20"
GATE = "calibration_ratio:ethnicity_deprivation"


def _tags(blocking: list[str], findings: list[dict[str, str]]) -> dict[str, str]:
    return {REVIEW_BLOCKING_TAG: json.dumps(blocking), REVIEW_FINDINGS_TAG: json.dumps(findings)}


def test_a_finding_is_said_as_its_claim_and_its_gate_is_not_repeated() -> None:
    tags = _tags([GATE, FINDING], [{"name": FINDING, "gate": GATE, "sentence": SENTENCE}])
    assert held_words(tags) == (
        "held for review: Black or Black British patients in the most deprived areas "
        "(IMD quintile 1) have 1.85x the NCTR rate the model expects"
    )


def test_failed_gates_say_what_they_mean_and_keep_their_names() -> None:
    tags = _tags(["min_auroc", "calibration_error"], [])
    assert held_words(tags) == (
        "held for review: its accuracy is below the minimum (min_auroc); its chances are further "
        "from what happened than allowed (calibration_error)"
    )


def test_an_unknown_gate_is_named_and_long_lists_are_counted() -> None:
    tags = _tags(["min_auroc", "new_kind_of_gate", "auroc_vs_champion"], [])
    words = held_words(tags)
    assert words.startswith("held for review: its accuracy is below the minimum (min_auroc); ")
    assert words.endswith("new_kind_of_gate; and 1 more")


def test_unreadable_or_missing_tags_still_say_held() -> None:
    assert held_words({}) == "held"
    assert held_words({REVIEW_FINDINGS_TAG: "{not json", REVIEW_BLOCKING_TAG: '["min_auroc"]'}) == (
        "held for review: its accuracy is below the minimum (min_auroc)"
    )


@given(st.text(max_size=60), st.text(alphabet="abc ;.-0123456789", max_size=40))
def test_the_claim_is_the_sentence_before_its_last_bracket(head: str, tail: str) -> None:
    sentence = f"{head} ({tail})"
    assert _claim(sentence) == (head.rstrip() or sentence)


def test_a_sentence_without_figures_is_kept_whole() -> None:
    assert _claim("the model under-estimates NCTR risk") == "the model under-estimates NCTR risk"
