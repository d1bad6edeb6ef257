"""The options several `los` commands share, each defined once (typer `Annotated` aliases).

A command's own options stay beside it; an option used by two or more commands lives here so its
name, metavar, parser and help read the same everywhere (`los risk-list` and `los forecast` share
their census block: `--out`, `--date`, `--allow-future-date`, `--site`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from cli import params
from los.schema import LIST_SUFFIXES, TABLE_SUFFIXES

DataOpt = Annotated[
    str,
    typer.Option(
        "--data",
        parser=params.source,
        metavar="SOURCE",
        help="CSV/Parquet file (must exist) or SQLAlchemy URL (?table=... or --query)",
    ),
]
QueryOpt = Annotated[
    str | None, typer.Option("--query", metavar="SQL", help="SQL query, for a URL source")
]
MappingOpt = Annotated[
    Path | None,
    typer.Option(
        "--mapping",
        exists=True,
        dir_okay=False,
        metavar="FILE",
        help="YAML column/code mapping for the source",
    ),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler (tcp://host:8786): run partitioned there (default: "
        "LOS_DASK_SCHEDULER; neither: in this process)",
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", exists=True, dir_okay=False, metavar="FILE", help="training config YAML"
    ),
]
ModelOpt = Annotated[str, typer.Option("--model", metavar="ALIAS|VERSION", help="alias or version")]
ReportDirOpt = Annotated[
    Path,
    typer.Option("--out", parser=params.output_folder, metavar="DIR", help="report directory"),
]

TABLE_OUT = params.output_file(*TABLE_SUFFIXES)
TABLE_HELP = "output file, .csv or .parquet by extension (its folder is created)"

# The census block of `los risk-list` and `los forecast`.
ListOutOpt = Annotated[
    Path,
    typer.Option(
        "--out",
        parser=params.output_file(*LIST_SUFFIXES),
        metavar="PATH",
        help="output file, .csv, .html or .json by extension",
    ),
]
ListDateOpt = Annotated[
    date | None,
    typer.Option(
        "--date",
        parser=params.list_date,
        metavar="YYYY-MM-DD",
        help="list date (default: the latest admission date on or before today, UTC)",
    ),
]
AllowFutureOpt = Annotated[
    bool,
    typer.Option(
        "--allow-future-date",
        help="accept a --date after the latest admission date in the data (refused otherwise: "
        "the census cannot say who is in hospital then)",
    ),
]
SiteOpt = Annotated[
    str | None,
    typer.Option("--site", metavar="CODE", help="only this site (must be in the data)"),
]
