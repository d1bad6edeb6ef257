"""Parsers for the `los` command's arguments: dates, sources and output paths, checked on parsing.

Click runs them before a command starts, so a typo fails in a fraction of a second with one
line naming the option, not after a registry and a data load. Each raises `typer.BadParameter`
(click adds the option's name). Only the standard library and typer are imported here: the
checks must stay cheap.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import typer

from los.schema import TABLE_SUFFIXES

# The same bounds as the service's dates (serving/schemas.py): outside them a date cannot be real.
FIRST_YEAR, LAST_YEAR = 1900, 2199
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def list_date(text: str | date) -> date:
    """A calendar date written YYYY-MM-DD, in the years 1900-2199."""
    if isinstance(text, date):
        return text
    if not _ISO_DATE.fullmatch(text.strip()):
        raise typer.BadParameter(f"{text!r} is not a date written YYYY-MM-DD")
    try:
        day = date.fromisoformat(text.strip())
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not a real date ({exc})") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise typer.BadParameter(f"{text!r}: the year must be {FIRST_YEAR}-{LAST_YEAR}")
    return day


def _existing_ancestor(path: Path) -> Path:
    """The nearest part of `path` that exists (the folder an output would be created under)."""
    here = path.absolute()
    while not here.exists() and here != here.parent:
        here = here.parent
    return here


def output_problem(path: Path, *, directory: bool = False) -> str | None:
    """Why `path` cannot be written as a file (or created as a folder), or None when it can."""
    if path.is_dir() and not directory:
        return f"{path} is a folder; give a file name"
    if path.exists() and not path.is_dir() and directory:
        return f"{path} is a file; give a folder"
    base = _existing_ancestor(path if directory else path.parent)
    if not base.is_dir():
        return f"cannot write under {base}: it is a file, not a folder"
    target = path if path.exists() else base
    if not os.access(target, os.W_OK) or (target.is_dir() and not os.access(target, os.X_OK)):
        return f"cannot write to {target}: permission denied"
    return None


def output_file(*suffixes: str) -> Callable[[str | Path], Path]:
    """A parser for an output file whose type comes from its extension (one of `suffixes`)."""
    kinds = ", ".join(suffixes)

    def parse(text: str | Path) -> Path:
        path = Path(text)
        problem = output_problem(path)
        if problem:
            raise typer.BadParameter(problem)
        if not path.name.lower().endswith(suffixes):
            raise typer.BadParameter(f"{path.name}: unsupported file type (use {kinds})")
        return path

    return parse


def output_folder(text: str | Path) -> Path:
    """A folder that exists and is writable, or can be created."""
    path = Path(text)
    problem = output_problem(path, directory=True)
    if problem:
        raise typer.BadParameter(problem)
    return path


def source(text: str) -> str:
    """A data source: a SQLAlchemy URL (checked when read) or an existing CSV/Parquet file."""
    if "://" in text:
        return text
    path = Path(text)
    if not path.exists():
        raise typer.BadParameter(f"no such file: {text}")
    if not path.is_file():
        raise typer.BadParameter(f"{text} is not a file")
    if not path.name.lower().endswith(TABLE_SUFFIXES):
        kinds = ", ".join(TABLE_SUFFIXES)
        raise typer.BadParameter(f"{path.name}: unsupported file type (use {kinds} or a URL)")
    return text
