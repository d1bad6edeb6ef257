"""What the commands load: runtime settings, the registered models, and a data source.

The product's packages are imported inside these functions, on purpose: they pull in pandas,
LightGBM, SHAP and MLflow (about 3 s on 2 cores), and `los --help` or a mistyped option should
answer at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from cli.console import console, out, progress


def check_source(data: str, query: str | None) -> None:
    """The source's form, before any registry or data load: a query needs a database URL; a URL
    needs a table or a query (and a SQLite file that exists). Files were checked by the parser."""
    if "://" not in data:
        if query is not None:
            raise typer.BadParameter(
                "a query needs a database URL as --data", param_hint="'--query'"
            )
        return
    from features.sql_source import parse_sql_source

    parse_sql_source(data, query)


def settings() -> Any:
    """The runtime settings (`los.config.Settings`, from the environment)."""
    from los.config import Settings

    return Settings()


def registered(alias: str) -> tuple[Any, Any, dict[str, str]]:
    """Runtime settings, the registered models with `alias` (or version), and one line per
    target without one (printed here: the command goes on with the others)."""
    from models.availability import load_available
    from models.registry import connect

    runtime = settings()
    connect(runtime.tracking_uri, runtime.los_data_dir / "mlartifacts")
    models, missing = load_available(alias)
    for gap in missing.values():
        out.print(gap.line, highlight=False, markup=False, soft_wrap=True)
    return runtime, models, {t: gap.line for t, gap in missing.items()}


def load(data: str, query: str | None, mapping: Path | None, quarantine: Path | None,
         max_bad: float = 0.05, extra: tuple[Any, ...] = ()) -> Any:  # fmt: skip
    """The valid rows of a source, with a summary of what was read and quarantined on stderr."""
    from features.load import load_admissions

    progress(f"loading {data.split('?')[0] if '://' in data else data}")
    loaded = load_admissions(
        data, query=query, mapping=mapping, quarantine_to=quarantine, max_bad_share=max_bad,
        extra_columns=extra,  # the models' extra inputs (models.inputs), typed like the rest
    )  # fmt: skip
    report = loaded.report
    console.print(
        f"rows read {report.rows_in:,}; valid {report.rows_valid:,}; "
        f"quarantined {report.rows_quarantined:,}"
        + (f" -> {report.quarantine_path}" if report.quarantine_path else ""),
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    for reason, n in sorted(report.by_reason.items(), key=lambda kv: -kv[1])[:10]:
        console.print(
            f"  quarantined {n:,}: {reason}", highlight=False, markup=False, soft_wrap=True
        )
    for missing in report.missing_inputs:
        console.print(
            f"  missing input {missing.describe()}", highlight=False, markup=False, soft_wrap=True
        )
    return loaded.frame
