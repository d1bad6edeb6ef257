"""Extra inputs: fields a model reads that are not columns of the admissions table contract.

A model trained with `features.extra_numeric` / `features.extra_categorical` (los/config.py)
reads those columns of the source as they are. Its bundle's feature list says which they are, so
everything that feeds a model (the API's request check, the batch loader, `Scorer`) follows the
loaded models' own list instead of the contract's: a needed field that is absent is an error
naming it, and a field present but blank is scored as missing and counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from features.build import BASE_CATEGORICAL, BASE_NUMERIC, Columns
from los.errors import MissingColumnError, ModelLoadError
from los.schema import COLUMNS_BY_NAME, HISTORY_COLUMNS, Column
from models.registry import LoadedModel

InputKind = Literal["number", "text"]


@dataclass(frozen=True)
class ExtraInput:
    """One extra input field and the registered models that read it."""

    name: str
    kind: InputKind
    models: tuple[str, ...]

    def describe(self) -> str:
        """For messages: the field and who needs it."""
        return f"{self.name} ({self.kind}, needed by {', '.join(self.models)})"

    def loader_column(self) -> Column | None:
        """A column rule for the batch loader: numbers are typed there (a value that is not a
        number is quarantined, not scored as missing); text is left as the model saw it in
        training (None)."""
        if self.kind != "number":
            return None
        return Column(self.name, "float", False, True, True, description=self.describe())


def _extras_of(model: LoadedModel) -> Iterable[tuple[str, InputKind]]:
    spec = model.bundle.spec
    contract = set(COLUMNS_BY_NAME) | set(HISTORY_COLUMNS)
    for column in spec.numeric:
        if column not in BASE_NUMERIC and spec.source_of(column) not in contract:
            yield spec.source_of(column), "number"
    for column in spec.categorical:
        if column not in BASE_CATEGORICAL and spec.source_of(column) not in contract:
            yield spec.source_of(column), "text"


def extra_inputs(models: Mapping[str, LoadedModel]) -> tuple[ExtraInput, ...]:
    """The extra inputs of a set of models, by name; `ModelLoadError` when two models read the
    same field as different kinds (no request could satisfy both)."""
    kinds: dict[str, InputKind] = {}
    readers: dict[str, list[str]] = {}
    for model in models.values():
        for name, kind in _extras_of(model):
            if kinds.setdefault(name, kind) != kind:
                raise ModelLoadError(
                    f"models {', '.join(readers[name])} and {model.identity.name} read the extra "
                    f"input {name} as different kinds ({kinds[name]}, {kind}): they cannot be "
                    "served together"
                )
            if model.identity.name not in readers.setdefault(name, []):
                readers[name].append(model.identity.name)
    return tuple(ExtraInput(n, kinds[n], tuple(readers[n])) for n in sorted(kinds))


def loader_columns(extras: tuple[ExtraInput, ...]) -> tuple[Column, ...]:
    """The column rules the batch loader applies to these extra inputs (numbers only)."""
    return tuple(c for c in (e.loader_column() for e in extras) if c is not None)


def check_extra_inputs(admissions: Columns, extras: tuple[ExtraInput, ...]) -> None:
    """`MissingColumnError` naming every extra input absent from `admissions`."""
    absent = [e for e in extras if e.name not in admissions]
    if absent:
        needed = "; ".join(f"{e.name} by {', '.join(e.models)}" for e in absent)
        hint = f"extra inputs the served models were trained with, needed: {needed}"
        raise MissingColumnError([e.name for e in absent], hint=hint)


def blank_extra_inputs(frame: pd.DataFrame, extras: tuple[ExtraInput, ...]) -> dict[str, int]:
    """Rows without a value (missing or blank text), per extra input present in `frame`; only
    inputs with some are listed."""
    counts: dict[str, int] = {}
    for extra in extras:
        if extra.name not in frame:
            continue
        values = frame[extra.name]
        blank = values.isna()
        if not pd.api.types.is_numeric_dtype(values.dtype):
            blank |= values.astype("string").str.strip().eq("").fillna(False)
        if int(blank.sum()):
            counts[extra.name] = int(blank.sum())
    return counts
