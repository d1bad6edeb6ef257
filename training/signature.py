"""The MLflow signature of a registered version: the fields its model reads, nullable ones optional.

A version reads the admissions fields its features come from (`FeatureSpec.source_of`), plus the
history columns (given by the caller, or scored as missing). Nothing else: not `spell_id`, not
`ethnic_category` (a fairness grouping, an input only with `features.include_ethnicity`). A field
the contract lets be empty (`nullable`), a history column, or an extra configured input is
optional (`ColSpec(required=False)`), so MLflow does not demand it.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import pandas as pd

from features.build import FeatureSpec
from los.schema import COLUMNS, COLUMNS_BY_NAME, HISTORY_COLUMNS

if TYPE_CHECKING:
    from mlflow.models import ModelSignature

_TYPES = {"str": "string", "int": "long", "float": "double", "datetime": "datetime"}


def model_inputs(spec: FeatureSpec) -> list[str]:
    """The fields a model reads, in the table's column order, then history, then extras."""
    sources = {spec.source_of(c) for c in spec.columns}
    ordered = [c.name for c in COLUMNS if c.name in sources]
    ordered += [c for c in HISTORY_COLUMNS if c in sources and c not in ordered]
    return ordered + sorted(sources - set(ordered))


def is_required(field: str) -> bool:
    """Whether the contract demands a value for `field` (required and never empty)."""
    column = COLUMNS_BY_NAME.get(field)
    return column is not None and column.required and not column.nullable


def input_example(rows: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """`rows` cut to the model's inputs (those present)."""
    return rows[[c for c in model_inputs(spec) if c in rows.columns]]


def model_signature(example: pd.DataFrame, spec: FeatureSpec) -> ModelSignature:
    """Inputs typed as MLflow infers them from `example` (by the contract where absent),
    required only when the contract requires a value; output: one probability."""
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types import ColSpec, Schema, TensorSpec

    with warnings.catch_warnings():  # its hint on integer columns: handled below
        warnings.simplefilter("ignore", UserWarning)
        inferred = infer_signature(input_example(example, spec)).inputs
    found = {c.name: c.type for c in inferred.inputs} if inferred is not None else {}
    columns: list[ColSpec | TensorSpec] = []
    for name in model_inputs(spec):
        column = COLUMNS_BY_NAME.get(name)
        numeric = name in spec.numeric or name in HISTORY_COLUMNS
        fallback = _TYPES[column.kind] if column else ("double" if numeric else "string")
        kind = found.get(name, fallback)
        if column is not None and column.kind == "int" and column.nullable:
            kind = "double"  # an empty value arrives as NaN, which a `long` column refuses
        columns.append(ColSpec(kind, name, required=is_required(name)))
    outputs = Schema([ColSpec("double", "probability")])
    return ModelSignature(inputs=Schema(columns), outputs=outputs)
