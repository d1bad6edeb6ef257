"""Property tests: a few rows (the service's single admission) take the value-by-value route
through the feature path and one LightGBM thread, a large batch the pandas route and OpenMP;
both must give the same features, matrix, probabilities and reasons for the same row."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.build import SMALL, _chapter, _clean_code, derive_columns, map_unique
from models import registry
from models.bundle import FEW_ROWS
from models.scorer import Scorer
from tests.conftest import TrainedRegistry

# Code columns hold text (the loader and the API schema both type them so) or a missing marker.
CODE_VALUES = st.one_of(
    st.none(),
    st.just(np.nan),
    st.just(pd.NA),
    st.sampled_from(["", " ", "1", " 2 ", "21", "A41", "i10", "Z99 ", "9", "300", "x"]),
    st.text(max_size=4),
    st.integers(-3, 300).map(str),
)


def _as_batch(values: list[Any]) -> list[Any]:
    """The same values, repeated past SMALL so the batch route is taken."""
    reps = SMALL // max(len(values), 1) + 1
    return values * reps


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return all(
        (x is y) or (x == x and x == y) or (x != x and y != y) for x, y in zip(a, b, strict=True)
    )


@settings(max_examples=200, deadline=None)
@given(values=st.lists(CODE_VALUES, min_size=1, max_size=SMALL - 1))
def test_small_and_batch_code_mapping_agree(values: list[Any]) -> None:
    arr = np.array(values, dtype=object)
    for fn in (_clean_code, _chapter):
        small = map_unique(arr, fn)
        batch = map_unique(np.array(_as_batch(values), dtype=object), fn)[: len(values)]
        assert _same(small, batch), (fn.__name__, values, small, batch)


@pytest.fixture(scope="module")
def scorer(trained_registry: TrainedRegistry) -> Scorer:
    registry.connect(trained_registry.settings.tracking_uri)
    return Scorer(registry.load_models("champion"))


@pytest.fixture(scope="module")
def batch(trained_registry: TrainedRegistry) -> pd.DataFrame:
    rows = trained_registry.admissions.tail(max(SMALL, FEW_ROWS) * 3)
    return rows.reset_index(drop=True)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_one_admission_scores_as_it_does_in_a_batch(
    scorer: Scorer, batch: pd.DataFrame, data: st.DataObject
) -> None:
    i = data.draw(st.integers(0, len(batch) - 1))
    whole = scorer.score(batch, reasons=True, top_k=3)
    one = scorer.score(batch.iloc[[i]].reset_index(drop=True), history=batch, reasons=True)
    for target, s in whole.items():
        assert one[target].probability[0] == pytest.approx(s.probability[i], abs=1e-12)
        assert one[target].flagged[0] == s.flagged[i]
        assert one[target].reasons is not None and s.reasons is not None
        assert [r.field for r in one[target].reasons[0]] == [r.field for r in s.reasons[i]]


def test_dict_columns_derive_like_a_frame(batch: pd.DataFrame) -> None:
    frame = batch.head(3)
    as_dict = {c: frame[c].to_numpy() for c in frame.columns}
    from_frame = derive_columns(frame, history=batch)
    from_dict = derive_columns(as_dict, history=batch)
    for name, values in from_frame.items():
        assert _same(values, from_dict[name]), name


def test_chunked_table_equals_one_pass(scorer: Scorer, batch: pd.DataFrame) -> None:
    whole = scorer.score_table(batch, chunk_rows=len(batch))
    seen: list[int] = []
    chunked = scorer.score_table(batch, chunk_rows=37, progress=seen.append)
    pd.testing.assert_frame_equal(chunked, whole)
    assert seen[-1] == len(batch) and seen == sorted(seen) and len(seen) > 1
    empty = scorer.score_table(batch.iloc[:0])
    assert list(empty.columns) == list(whole.columns) and empty.empty
