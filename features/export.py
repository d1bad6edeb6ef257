"""CSV export that a spreadsheet cannot run: text cells that would start a formula are defused.

Every CSV the product writes (scores, risk lists, quarantine files, reports) goes through
`safe_for_spreadsheet`, following OWASP's CSV-injection guidance: a text cell (or column name)
starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a single quote in front,
so Excel, LibreOffice and Google Sheets show it as text instead of evaluating it (a `spell_id` of
``=HYPERLINK(...)`` would otherwise become a live link). Numbers stay numbers: numeric columns are
never touched, and a text cell that is only a plain number (``-3``, ``+1.5e2``) cannot be a
formula, so it is written as it is. Parquet and JSON are not spreadsheet formats and are left
alone.

Lines end in CRLF (RFC 4180). With pandas' default LF a cell holding a bare carriage return was
written unquoted, and every CSV reader split the row there: `x\r=1+1` became a second row whose
first cell is a live formula. With CRLF the writer quotes any cell holding either character.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

FORMULA_STARTS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
LINE_END = "\r\n"
# ASCII digits only, so the vectorised (pyarrow) and the per-cell (Python) paths agree.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def safe_cell(value: object) -> object:
    """`value` with a leading `'` when it is text a spreadsheet would read as a formula."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_STARTS)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def _safe_column(column: pd.Series) -> pd.Series | None:
    """The column with its formula-like text cells defused; None when nothing needs changing."""
    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype):  # vectorised: the usual case under pandas 3
        risky = column.str.startswith(FORMULA_STARTS, na=False)
        if risky.any():
            risky &= ~column.str.fullmatch(_PLAIN_NUMBER.pattern, na=False)
        return column.mask(risky, "'" + column) if risky.any() else None
    if isinstance(dtype, pd.CategoricalDtype):
        if all(safe_cell(c) is c for c in dtype.categories):
            return None
        column = column.astype(object)
    elif not pd.api.types.is_object_dtype(dtype):
        return None  # numbers, booleans, dates: never text
    values = column.to_numpy(dtype=object)
    hits = [i for i, v in enumerate(values) if safe_cell(v) is not v]
    if not hits:
        return None
    safe = values.copy()
    for i in hits:
        safe[i] = safe_cell(values[i])
    return pd.Series(safe, index=column.index, name=column.name, dtype=object)


def safe_for_spreadsheet(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells and column names cannot start a spreadsheet formula.

    The input is never changed; columns that need no change are shared, not copied.
    """
    out = frame.copy(deep=False)
    for i in range(frame.shape[1]):
        safe = _safe_column(frame.iloc[:, i])
        if safe is not None:
            out.isetitem(i, safe.array)
    out.columns = pd.Index([safe_cell(c) for c in frame.columns], dtype=object)
    return out


def csv_text(frame: pd.DataFrame) -> str:
    """`frame` as CSV text (no index), safe to open in a spreadsheet."""
    return str(safe_for_spreadsheet(frame).to_csv(index=False, lineterminator=LINE_END))


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write `frame` as CSV (no index; gzip for ``.gz``), safe to open in a spreadsheet."""
    safe_for_spreadsheet(frame).to_csv(path, index=False, lineterminator=LINE_END)
