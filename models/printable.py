"""What the printable outputs (the risk list, the bed forecast) share: one writer that picks CSV,
HTML or JSON by the file's extension, and one template environment for their A4 pages
(`models/templates/`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from los.errors import DataSourceError
from los.schema import LIST_SUFFIXES

OUTPUT_TYPES: tuple[str, ...] = LIST_SUFFIXES


class Tabular(Protocol):
    """A result with a CSV and a JSON form."""

    def to_csv(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=Tabular)


def write_by_suffix(result: R, path: str | Path, what: str, render: Callable[[R], str]) -> Path:
    """Write `result` as CSV, HTML (`render`) or JSON by the extension of `path` (its folder is
    created); returns the path. `what` names the output in the error for another extension."""
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in OUTPUT_TYPES:
        raise DataSourceError(f"unsupported {what} type: {out.name} (use .csv, .html or .json)")
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        out.write_text(result.to_csv(), encoding="utf-8", newline="")
    elif suffix == ".json":
        out.write_text(json.dumps(result.to_dict(), indent=2))
    else:
        out.write_text(render(result), encoding="utf-8")
    return out


def css_string(text: str) -> Markup:
    """`text` as a quoted CSS string (for `@page` margin boxes): nothing in it can end the string
    or the style sheet."""
    escaped = "".join(
        ch if ch.isalnum() or ch in " .,:;·–-_+/()'&%" else f"\\{ord(ch):x} " for ch in str(text)
    )
    return Markup(f'"{escaped}"')


def page_environment() -> Environment:
    """The jinja environment of the printable pages, with their `percent` and `css_string`
    filters."""
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["percent"] = lambda p: f"{100 * p:.0f}%"
    env.filters["css_string"] = css_string
    return env
