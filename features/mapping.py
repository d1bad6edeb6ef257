"""Source-to-contract mappings: the YAML format (`SourceMapping`), `load_mapping`, `apply_mapping`.

A mapping file turns a source extract (HES APC, a trust's warehouse view, a foreign discharge
abstract) into the admissions table of CONTRACT §1. Steps run in a fixed order:

1. ``spells``: collapse episode rows into spells (first episode's fields, ``last`` columns from
   the last episode), optionally writing the joined key as a spell id;
2. ``rename``: source column → contract (or extra) column;
3. ``constants``: a column with one value for every row (declared assumptions);
4. ``age_bands`` and ``codes``: value maps on a column (unlisted values pass through unchanged,
   so validation quarantines them rather than anything being guessed);
5. ``date_formats``: parse dates written in a non-ISO format;
6. ``derive``: new columns from others (copy, value map over one or more columns, date plus a
   number of days, source row number, a deterministic synthetic date sequence);
7. with ``keep_unmapped: false``, only the columns the mapping produced are kept.

``unmapped`` documents contract columns the source cannot supply, and why.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from features.validate import as_text
from los.errors import ConfigError, MissingColumnError
from los.schema import COLUMNS_BY_NAME

logger = logging.getLogger(__name__)

MAPPINGS_DIR = Path(__file__).resolve().parents[1] / "mappings"


def _key_text(value: Any) -> Any:
    """YAML reads unquoted codes such as 19 or 7001 as numbers; keys are matched as text."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


Key = Annotated[str, BeforeValidator(_key_text)]
Value = Annotated[str | None, BeforeValidator(_key_text)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SpellCollapse(_Strict):
    """Episodes sharing ``key`` form one spell, ordered by ``order_by`` (numeric when possible)."""

    key: list[str] = Field(min_length=1)
    order_by: list[str] = Field(default_factory=list)
    last: list[str] = Field(default_factory=list, description="columns from the last episode")
    id_to: str | None = Field(None, description="write the joined key to this column")
    id_separator: str = ":"


class DateSequence(_Strict):
    """Synthetic dates: source row r gets ``start + (r - 1) mod cycle_days`` days."""

    start: date
    cycle_days: int = Field(ge=1)


class DeriveStep(_Strict):
    """One derived column; exactly one operation besides ``to`` (``from`` alone copies)."""

    to: str
    from_: str | list[str] | None = Field(None, alias="from")
    values: dict[Key, Value] | None = None
    separator: str = " | "
    add_days: str | None = None
    row_number: str | None = Field(None, description="prefix for the 1-based source row number")
    date_sequence: DateSequence | None = None

    @model_validator(mode="after")
    def _one_operation(self) -> DeriveStep:
        ops = [self.values, self.add_days, self.row_number, self.date_sequence]
        chosen = sum(op is not None for op in ops)
        if chosen > 1:
            raise ValueError(
                f"derive '{self.to}': give one of values, add_days, row_number, date_sequence"
            )
        needs_from = self.values is not None or self.add_days is not None or chosen == 0
        if needs_from and self.from_ is None:
            raise ValueError(f"derive '{self.to}': needs 'from'")
        if not needs_from and self.from_ is not None:
            raise ValueError(f"derive '{self.to}': 'from' is not used by this operation")
        if self.values is None and isinstance(self.from_, list):
            raise ValueError(f"derive '{self.to}': several 'from' columns need 'values'")
        return self

    @property
    def sources(self) -> list[str]:
        """Columns this step reads."""
        cols = [self.from_] if isinstance(self.from_, str) else list(self.from_ or [])
        return cols + ([self.add_days] if self.add_days else [])


class SourceMapping(_Strict):
    """A mapping file (see the module docstring for the order the steps run in)."""

    name: str
    description: str = ""
    spells: SpellCollapse | None = None
    rename: dict[str, str] = Field(default_factory=dict)
    keep_unmapped: bool = True
    constants: dict[str, Annotated[str, BeforeValidator(_key_text)]] = Field(default_factory=dict)
    age_bands: dict[str, dict[Key, float]] = Field(default_factory=dict)
    codes: dict[str, dict[Key, Value]] = Field(default_factory=dict)
    date_formats: dict[str, str] = Field(default_factory=dict)
    derive: list[DeriveStep] = Field(default_factory=list)
    unmapped: dict[str, str] = Field(default_factory=dict, description="column -> why not")
    _path: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _consistent(self) -> SourceMapping:
        targets = list(self.rename.values())
        doubled = sorted({t for t in targets if targets.count(t) > 1})
        if doubled:
            raise ValueError(f"rename: several source columns renamed to {', '.join(doubled)}")
        for column in self.unmapped:
            if column not in COLUMNS_BY_NAME:
                raise ValueError(f"unmapped: '{column}' is not a contract column")
            if column in self.produced:
                raise ValueError(f"unmapped: '{column}' is also produced by the mapping")
        return self

    @property
    def produced(self) -> set[str]:
        """Columns the mapping writes."""
        out = set(self.rename.values()) | set(self.constants) | {d.to for d in self.derive}
        if self.spells and self.spells.id_to:
            out.add(self.spells.id_to)
        return out

    @property
    def path(self) -> str:
        """The file the mapping was read from (its name when built in code)."""
        return self._path or self.name


def load_mapping(path: str | Path) -> SourceMapping:
    """Read and check a mapping file; a bare name such as ``hes_apc`` looks in ``mappings/``."""
    p = Path(path)
    if not p.exists() and not p.suffix:
        candidates = [Path("mappings") / f"{p}.yaml", MAPPINGS_DIR / f"{p}.yaml"]
        p = next((c for c in candidates if c.exists()), p)
    if not p.is_file():
        raise ConfigError(f"mapping file not found: {path}")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"mapping file {p} is not valid YAML: {exc}") from exc
    try:
        mapping = SourceMapping.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "(top level)"
        message = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        raise ConfigError(f"mapping file {p}: {where}: {message}") from exc
    mapping._path = str(p)
    return mapping


def _require(frame: pd.DataFrame, columns: list[str], mapping: SourceMapping, step: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingColumnError(missing, hint=f"needed by {step} in mapping {mapping.path}")


def _collapse(
    frame: pd.DataFrame, rows: np.ndarray, spec: SpellCollapse, mapping: SourceMapping
) -> tuple[pd.DataFrame, np.ndarray]:
    _require(frame, spec.key + spec.order_by + spec.last, mapping, "spells")
    keys = [as_text(frame[c]).fillna("") for c in spec.key]
    group = pd.DataFrame(dict(enumerate(keys))).groupby(list(range(len(keys))), sort=False)
    group_id = group.ngroup().to_numpy()
    order = []
    for col in spec.order_by:
        number = pd.to_numeric(frame[col], errors="coerce")
        order.append(
            number.to_numpy()
            if number.notna().sum() == frame[col].notna().sum()
            else as_text(frame[col]).fillna("").to_numpy()
        )
    # lexsort: last key is primary; the source position breaks ties so order is stable.
    sorted_pos = np.lexsort([np.arange(len(frame)), *reversed(order), group_id])
    g = group_id[sorted_pos]
    first = sorted_pos[np.r_[True, g[1:] != g[:-1]]]
    last = sorted_pos[np.r_[g[1:] != g[:-1], True]]
    out = frame.iloc[first].reset_index(drop=True)
    for col in spec.last:
        out[col] = frame[col].iloc[last].to_numpy()
    if spec.id_to:
        joined = keys[0].iloc[first].reset_index(drop=True)
        for k in keys[1:]:
            joined = joined + spec.id_separator + k.iloc[first].reset_index(drop=True)
        out[spec.id_to] = joined
    return out, rows[first]


def _map_values(values: pd.Series, table: dict[str, Any]) -> pd.Series:
    text = as_text(values)
    listed = text.isin(list(table))
    mapped = text.map({k: None if v is None else str(v) for k, v in table.items()})
    return text.where(~listed, mapped).astype("str")


def _parse_dates(values: pd.Series, fmt: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    text = as_text(values)
    parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    failed = text.notna() & parsed.isna()
    if not failed.any():
        return parsed
    # Keep what did not parse as it was, so validation quarantines it with the raw value.
    return parsed.dt.strftime("%Y-%m-%dT%H:%M:%S").where(~failed, text)


def _add_days(start: pd.Series, days: pd.Series) -> pd.Series:
    begin = (
        start
        if pd.api.types.is_datetime64_any_dtype(start.dtype)
        else pd.to_datetime(as_text(start), format="ISO8601", errors="coerce")
    )
    text = as_text(days)
    number = pd.to_numeric(text, errors="coerce")
    result = begin + pd.to_timedelta(number, unit="D")
    invalid = text.notna() & number.isna()
    if not invalid.any():
        return result
    return result.dt.strftime("%Y-%m-%dT%H:%M:%S").where(~invalid, "invalid days: " + text)


def _derive(
    frame: pd.DataFrame, rows: np.ndarray, step: DeriveStep, mapping: SourceMapping
) -> pd.Series:
    _require(frame, step.sources, mapping, f"derive '{step.to}'")
    if step.row_number is not None:
        return step.row_number + pd.Series(rows, index=frame.index).astype("str")
    if step.date_sequence is not None:
        offset = (rows - 1) % step.date_sequence.cycle_days
        start = pd.Timestamp(step.date_sequence.start)
        return pd.Series(start + pd.to_timedelta(offset, unit="D"), index=frame.index)
    if step.add_days is not None:
        return _add_days(frame[str(step.from_)], frame[step.add_days])
    if step.values is not None:
        parts = [as_text(frame[c]) for c in step.sources]
        key = parts[0]
        for part in parts[1:]:
            key = key.fillna("") + step.separator + part.fillna("")
        return _map_values(key, step.values)
    return frame[str(step.from_)].copy()


def apply_mapping(frame: pd.DataFrame, mapping: SourceMapping) -> tuple[pd.DataFrame, np.ndarray]:
    """Apply `mapping` to a raw source frame (not modified).

    Returns the mapped frame and, for each of its rows, the 1-based row number in the source
    (for a collapsed spell, its first episode's row), used to name rows in the quarantine.
    """
    out = frame.reset_index(drop=True)
    rows = np.arange(1, len(out) + 1)
    if mapping.spells is not None:
        out, rows = _collapse(out, rows, mapping.spells, mapping)
    absent = [c for c in mapping.rename if c not in out.columns]
    if absent:
        logger.warning(
            "mapping %s: %d renamed column(s) not in the source: %s",
            mapping.path,
            len(absent),
            ", ".join(absent),
        )
    clash = [
        t
        for s, t in mapping.rename.items()
        if t in out.columns and t not in mapping.rename and s in out.columns
    ]
    if clash:
        raise ConfigError(
            f"mapping {mapping.path}: rename target(s) already in the source: {', '.join(clash)}"
        )
    out = out.rename(columns=mapping.rename)
    for column, value in mapping.constants.items():
        out[column] = pd.Series(value, index=out.index, dtype="str")
    for tables in (mapping.age_bands, mapping.codes):
        for column, table in tables.items():
            if column in out.columns:
                out[column] = _map_values(out[column], table)
    for column, fmt in mapping.date_formats.items():
        if column in out.columns:
            out[column] = _parse_dates(out[column], fmt)
    for step in mapping.derive:
        out[step.to] = _derive(out, rows, step, mapping)
    if not mapping.keep_unmapped:
        out = out[[c for c in out.columns if c in mapping.produced]]
    return out, rows
