"""Validation of the admissions table: the typed canonical frame, the quarantine and the report.

Every per-column rule is read from `los.schema.COLUMNS` (kind, required, nullable, code list,
range, text length); the cross-field rules of CONTRACT §1 (discharge after admission, ready
date inside the stay, unique `spell_id`, no date after the run's clock) are declared once in
`_cross_field_problems`. Bad rows are never dropped silently: each problem becomes one
quarantine entry (row, spell_id, column, value, reason) and the report counts them, with the
optional inputs absent or blank (`features.completeness`). Only counts are logged, never
patient values.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.completeness import MissingInput, missing_input_columns
from los.errors import DataQualityError, DataSourceError, MissingColumnError
from los.log_records import IN_SUMMARY
from los.schema import (
    COLUMNS,
    COLUMNS_BY_NAME,
    ETHNICITY_NOT_KNOWN,
    NA_VALUES,
    REQUIRED_COLUMNS,
    Column,
)

logger = logging.getLogger(__name__)

QUARANTINE_COLUMNS: tuple[str, ...] = ("row", "spell_id", "column", "value", "reason")
VALUE_MAX_CHARS = 50
_SPELL_ID_MAX = COLUMNS_BY_NAME["spell_id"].max_length
# Labels needed by training: without a discharge date no target can be built.
REQUIRED_LABEL_COLUMNS: tuple[str, ...] = ("discharge_datetime",)
_FLOAT_INT = r"^(-?\d+)\.0+$"
# Nanosecond datetimes cover 1677-2262; anything outside cannot be a real admission.
_EARLIEST, _LATEST = pd.Timestamp("1677-09-22"), pd.Timestamp("2262-04-10")
# A date later than the run's clock by more than this is quarantined (one future-dated row
# once made the whole risk list's date 2099); a day covers clocks and time zones off a little.
FUTURE_TOLERANCE = pd.Timedelta(days=1)
DATETIME_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.kind == "datetime")


@dataclass(frozen=True)
class ValidationReport:
    """Counts of one validation run; `rows_in == rows_valid + rows_quarantined` always."""

    rows_in: int
    rows_valid: int
    rows_quarantined: int
    by_reason: dict[str, int] = field(default_factory=dict)
    quarantine_path: str | None = None
    missing_inputs: tuple[MissingInput, ...] = ()

    @property
    def bad_share(self) -> float:
        """Share of input rows quarantined (0 for an empty input)."""
        return self.rows_quarantined / self.rows_in if self.rows_in else 0.0

    def summary(self) -> str:
        """A few human-readable lines: totals, the commonest reasons, the quarantine file."""
        lines = [
            f"rows read: {self.rows_in}, valid: {self.rows_valid}, "
            f"quarantined: {self.rows_quarantined} ({self.bad_share:.1%})"
        ]
        ranked = sorted(self.by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
        lines += [f"  {count:>7}  {reason}" for reason, count in ranked[:10]]
        if len(ranked) > 10:
            lines.append(f"  ... and {len(ranked) - 10} more reasons")
        if self.quarantine_path:
            lines.append(f"quarantine written to {self.quarantine_path}")
        lines += [f"missing input {m.describe()}" for m in self.missing_inputs]
        return "\n".join(lines)


@dataclass
class _Problem:
    """Rows failing one rule: boolean mask over positions, the column and the reason."""

    mask: np.ndarray
    column: str
    reason: str


def as_text(values: pd.Series) -> pd.Series:
    """Codes and keys as text: stripped, blank/null marker → NaN, ``"21.0"`` → ``"21"``."""
    if pd.api.types.is_bool_dtype(values.dtype):
        values = values.astype("object")
    if pd.api.types.is_float_dtype(values.dtype):
        known = values.dropna().to_numpy()
        exact = np.isfinite(known).all() and (np.abs(known) < 2**53).all()
        if exact and (known % 1 == 0).all():  # whole floats (NULLs made ints float): 21.0 → "21"
            return values.astype("Int64").astype("str")
    text = values.astype("str").str.strip()
    text = text.mask(text.isin(NA_VALUES))
    if text.str.contains(".", regex=False).any():
        text = text.str.replace(_FLOAT_INT, r"\1", regex=True)
    return text


def _to_float(text: pd.Series) -> pd.Series:
    """Parse text to float64; unparseable values become NaN (the caller flags them)."""
    try:  # fast path: arrow casts a clean column in one pass
        return pd.Series(
            pc.cast(pa.array(text), pa.float64()).to_numpy(zero_copy_only=False), index=text.index
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return pd.to_numeric(text, errors="coerce").astype("float64")


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _type_str(col: Column, raw: pd.Series) -> tuple[pd.Series, list[_Problem]]:
    text = as_text(raw)
    if col.name == "ethnic_category":
        text = text.fillna(ETHNICITY_NOT_KNOWN)
    problems = []
    if col.codes is not None:  # a value longer than every code is simply not in the list
        bad = text.notna() & ~text.isin(col.codes)
        problems.append(_Problem(bad.to_numpy(), col.name, f"{col.name}: not in code list"))
    elif col.max_length is not None:
        too_long = (text.str.len() > col.max_length).fillna(False).to_numpy(dtype=bool)
        reason = f"{col.name}: longer than {col.max_length} characters"
        problems.append(_Problem(too_long, col.name, reason))
    return text, problems


def _type_datetime(col: Column, raw: pd.Series) -> tuple[pd.Series, list[_Problem]]:
    problems = []
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        parsed = raw.dt.tz_convert("UTC").dt.tz_localize(None)
    elif pd.api.types.is_datetime64_dtype(raw.dtype):
        parsed = raw
    else:
        text = as_text(raw)
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
        parsed = parsed.dt.tz_localize(None)
        bad = (text.notna() & parsed.isna()).to_numpy()
        problems.append(_Problem(bad, col.name, f"{col.name}: unparseable datetime"))
    outside = parsed.notna() & ((parsed < _EARLIEST) | (parsed > _LATEST))
    if outside.any():
        problems.append(
            _Problem(outside.to_numpy(), col.name, f"{col.name}: datetime out of range")
        )
        parsed = parsed.mask(outside)
    return parsed.astype("datetime64[ns]"), problems


def _type_number(col: Column, raw: pd.Series) -> tuple[pd.Series, list[_Problem]]:
    problems = []
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        number = raw.astype("float64")
    else:
        text = as_text(raw)
        number = _to_float(text)
        bad = (text.notna() & number.isna()).to_numpy()
        problems.append(_Problem(bad, col.name, f"{col.name}: not numeric"))
    present = number.notna().to_numpy()
    values = number.to_numpy()
    if col.kind == "int":
        with np.errstate(invalid="ignore"):
            fractional = present & np.isfinite(values) & (np.mod(values, 1) != 0)
        problems.append(_Problem(fractional, col.name, f"{col.name}: not a whole number"))
    if col.minimum is not None or col.maximum is not None:
        lo = -np.inf if col.minimum is None else col.minimum
        hi = np.inf if col.maximum is None else col.maximum
        with np.errstate(invalid="ignore"):
            outside = present & ((values < lo) | (values > hi) | ~np.isfinite(values))
        span = f"{_number(col.minimum)}-{_number(col.maximum)}"
        problems.append(_Problem(outside, col.name, f"{col.name}: out of range {span}"))
    return number, problems


_TYPERS = {"str": _type_str, "datetime": _type_datetime, "int": _type_number, "float": _type_number}


def _empty(col: Column, n: int) -> pd.Series:
    if col.kind == "datetime":
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    if col.kind == "str":
        return pd.Series(np.nan, index=range(n), dtype="str")
    return pd.Series(np.nan, index=range(n), dtype="float64")


def _future_problems(typed: pd.DataFrame, now: datetime | None) -> list[_Problem]:
    """Dates after the run's clock (naive UTC, as the typed frame) plus `FUTURE_TOLERANCE`."""
    clock = pd.Timestamp(now if now is not None else datetime.now(UTC))
    if clock.tzinfo is not None:
        clock = clock.tz_convert("UTC").tz_localize(None)
    latest = clock + FUTURE_TOLERANCE
    return [
        _Problem((typed[c] > latest).to_numpy(), c, f"{c}: in the future (after the run's clock)")
        for c in DATETIME_COLUMNS
    ]


def _cross_field_problems(typed: pd.DataFrame, now: datetime | None) -> list[_Problem]:
    """The rules that involve more than one column or more than one row, or the clock."""
    adm, dis = typed["admission_datetime"], typed["discharge_datetime"]
    ready = typed["discharge_ready_datetime"]
    before = (dis < adm).to_numpy()  # NaT compares False: missing dates never fail here
    outside = ((ready < adm) | (ready > dis)).to_numpy()
    spell = typed["spell_id"]
    duplicate = (spell.notna() & spell.duplicated(keep="first")).to_numpy()
    return [
        _Problem(before, "discharge_datetime", "discharge_datetime: before admission_datetime"),
        _Problem(
            outside,
            "discharge_ready_datetime",
            "discharge_ready_datetime: outside admission-discharge",
        ),
        _Problem(duplicate, "spell_id", "spell_id: duplicate"),
        *_future_problems(typed, now),
    ]


def _check_columns(frame: pd.DataFrame, require_labels: bool) -> None:
    if frame.columns.has_duplicates:
        dups = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise DataSourceError(f"duplicate column names in the source: {', '.join(dups)}")
    needed = REQUIRED_COLUMNS + (REQUIRED_LABEL_COLUMNS if require_labels else ())
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise MissingColumnError(missing)


def _quarantine(
    frame: pd.DataFrame, spell: pd.Series, rows: np.ndarray, problems: list[_Problem]
) -> pd.DataFrame:
    parts = []
    for problem in problems:
        where = np.flatnonzero(problem.mask)
        if len(where) == 0:
            continue
        raw = frame[problem.column].iloc[where]
        value = raw.astype("str").fillna("").str.slice(0, VALUE_MAX_CHARS)
        part = {
            "row": rows[where],
            "spell_id": spell.iloc[where].str.slice(0, _SPELL_ID_MAX).to_numpy(),
            "column": problem.column,
            "value": value.to_numpy(),
            "reason": problem.reason,
        }
        parts.append(pd.DataFrame(part))
    if not parts:
        return pd.DataFrame(
            {c: pd.Series(dtype="int64" if c == "row" else "str") for c in QUARANTINE_COLUMNS}
        )
    out = pd.concat(parts, ignore_index=True).sort_values("row", kind="stable")
    return out.astype({"row": "int64", "spell_id": "str", "value": "str"}).reset_index(drop=True)


def check_bad_share(
    report: ValidationReport, max_bad_share: float, quarantine: pd.DataFrame | None = None
) -> None:
    """Raise `DataQualityError` when the quarantined share exceeds `max_bad_share`.

    The message names the commonest reason (hence the column) and, given the quarantine, the
    first row that failed it.
    """
    if report.bad_share <= max_bad_share:
        return
    reason, count = max(report.by_reason.items(), key=lambda kv: kv[1])
    first = ""
    if quarantine is not None and len(quarantine):
        first = f", first at row {int(quarantine.loc[quarantine['reason'] == reason, 'row'].min())}"
    where = f"; quarantine in {report.quarantine_path}" if report.quarantine_path else ""
    raise DataQualityError(
        f"{report.rows_quarantined} of {report.rows_in} rows ({report.bad_share:.1%}) failed "
        f"validation, above the {max_bad_share:.1%} limit; commonest: {reason} ({count} rows"
        f"{first}){where}"
    )


def quarantine_rows(
    frame: pd.DataFrame,
    *,
    require_labels: bool = False,
    source_rows: np.ndarray | None = None,
    now: datetime | None = None,
    extra_columns: tuple[Column, ...] = (),
) -> tuple[pd.DataFrame, pd.DataFrame, ValidationReport]:
    """`validate_admissions` without the bad-share limit (callers save the quarantine first).

    `extra_columns`: rules for columns beyond the contract that the models to be used read
    (`models.inputs.loader_columns`), checked like the contract's (e.g. a number that is not one
    is quarantined rather than scored as missing).

    `source_rows` gives the 1-based source row number of each row (default: position + 1),
    e.g. the first episode's line when episodes were collapsed into spells. `now` is the run's
    clock for the future-date rule (default: UTC now; naive means UTC).
    """
    _check_columns(frame, require_labels)
    n = len(frame)
    rows = np.arange(1, n + 1) if source_rows is None else np.asarray(source_rows, dtype="int64")
    if len(rows) != n:
        raise ValueError(f"source_rows has {len(rows)} entries for {n} rows")
    source = frame.reset_index(drop=True)
    typed: dict[str, pd.Series] = {}
    problems: list[_Problem] = []
    for col in (*COLUMNS, *extra_columns):
        if col.name not in source.columns:
            typed[col.name] = _empty(col, n)
            continue
        typed[col.name], found = _TYPERS[col.kind](col, source[col.name])
        problems += found
        if col.required and not col.nullable:
            missing = typed[col.name].isna().to_numpy() & ~np.any(
                [p.mask for p in found] or [np.zeros(n, bool)], axis=0
            )
            problems.append(_Problem(missing, col.name, f"{col.name}: required value missing"))
    extras = [c for c in source.columns if c not in typed]
    canonical = pd.DataFrame(typed | {c: source[c] for c in extras}, index=range(n))
    problems += _cross_field_problems(canonical, now)
    bad = np.any([p.mask for p in problems], axis=0) if problems else np.zeros(n, bool)
    quarantine = _quarantine(source, canonical["spell_id"], rows, problems)
    valid = canonical.loc[~bad].reset_index(drop=True)
    by_reason = {str(k): int(v) for k, v in quarantine["reason"].value_counts().items()}
    missing = missing_input_columns(valid, source.columns)
    report = ValidationReport(n, len(valid), int(bad.sum()), by_reason, missing_inputs=missing)
    logger.info(
        "validated %d rows: %d valid, %d quarantined", n, report.rows_valid, report.rows_quarantined
    )
    for m in missing:  # also a line of the report's summary, which a console prints instead
        logger.warning("missing input %s", m.describe(), extra={IN_SUMMARY: True})
    return valid, quarantine, report


def validate_admissions(
    frame: pd.DataFrame,
    *,
    max_bad_share: float = 0.05,
    require_labels: bool = False,
    source_rows: np.ndarray | None = None,
    now: datetime | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, ValidationReport]:
    """Type and check an admissions frame against CONTRACT §1.

    Returns ``(valid, quarantine, report)``: `valid` is the canonical typed frame (contract
    columns in schema order, then extra columns unchanged; input order kept, index reset);
    `quarantine` has one row per problem (row, spell_id, column, value, reason). Raises
    `MissingColumnError` naming absent required columns (with `require_labels`, also
    `discharge_datetime`) and `DataQualityError` when more than `max_bad_share` of the rows
    are bad. The input frame is never modified.
    """
    valid, quarantine, report = quarantine_rows(
        frame, require_labels=require_labels, source_rows=source_rows, now=now
    )
    check_bad_share(report, max_bad_share, quarantine)
    return valid, quarantine, report
