"""The one feature path: pure, admission-time only, no labels, ethnicity only when configured."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features.build import FeatureSpec, derive_features
from features.encoder import FeatureEncoder
from los.config import FeaturesConfig
from los.errors import NotFittedError
from los.schema import LABEL_COLUMNS
from tests.factories import admission, frame, random_admissions


def test_derive_does_not_mutate_input() -> None:
    df = random_admissions(20, seed=1)
    before = df.copy()
    derive_features(df)
    pd.testing.assert_frame_equal(df, before)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), shift=st.floats(1, 500))
def test_labels_never_reach_features(seed: int, shift: float) -> None:
    """Changing this spell's label columns (not earlier spells') changes no feature."""
    df = random_admissions(30, seed)
    history = df.copy()
    changed = df.assign(
        discharge_datetime=df["discharge_datetime"] + pd.Timedelta(days=shift),
        discharge_ready_datetime=pd.NaT,
        discharge_destination="79",
        discharge_pathway=3.0,
    )
    a = derive_features(df, history=history)
    b = derive_features(changed, history=history)
    pd.testing.assert_frame_equal(a, b)
    assert not set(LABEL_COLUMNS) & set(a.columns)


def test_identifiers_and_ward_do_not_change_features() -> None:
    df = random_admissions(25, seed=3)
    renamed = df.assign(spell_id="X" + df["spell_id"], ward="Some other ward")
    pd.testing.assert_frame_equal(derive_features(df), derive_features(renamed))


def test_ethnicity_is_not_an_input_unless_configured() -> None:
    assert "ethnic_category" not in FeatureSpec().columns
    spec = FeatureSpec.from_config(FeaturesConfig(include_ethnicity=True))
    assert "ethnic_category" in spec.columns


def test_label_columns_cannot_be_configured_as_features() -> None:
    with pytest.raises(ValueError, match="discharge_pathway"):
        FeatureSpec.from_config(FeaturesConfig(extra_numeric=["discharge_pathway"]))


def test_entirely_empty_nullable_columns_are_fine() -> None:
    df = random_admissions(40, seed=4).assign(
        imd_decile=np.nan, frailty_score=np.nan, primary_diagnosis=None, admission_source=None
    )
    feats = derive_features(df)
    assert feats["imd_decile"].isna().all()
    assert feats["diagnosis_chapter"].isna().all()
    x = FeatureEncoder(min_count=1).fit(feats).transform(feats)
    assert x.shape == (40, len(FeatureSpec().columns))


def test_derived_values() -> None:
    df = frame(
        admission(
            admission_source="54",
            primary_diagnosis="s72.0",
            admission_method="2A",
            admission_datetime=pd.Timestamp("2024-03-08 22:15"),
        )
    )
    row = derive_features(df).iloc[0]
    assert row["from_care_home"] == 1.0
    assert row["diagnosis_chapter"] == "S"
    assert row["admission_group"] == "emergency"
    assert (row["admission_hour"], row["admission_weekday"], row["admission_month"]) == (22, 4, 3)


def test_encoder_unfitted_and_unseen_levels() -> None:
    df = random_admissions(50, seed=5)
    feats = derive_features(df)
    enc = FeatureEncoder(min_count=1)
    with pytest.raises(NotFittedError):
        enc.transform(feats)
    enc.fit(feats)
    odd = feats.assign(site="NEWSITE")
    x = enc.transform(odd)
    assert np.isnan(x[:, enc.columns_.index("site")]).all()
    again = FeatureEncoder.from_dict(enc.to_dict())
    np.testing.assert_array_equal(again.transform(feats), enc.transform(feats))
