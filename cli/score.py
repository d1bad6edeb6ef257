"""`los score`: probabilities and reasons for every spell in a source, written as a table."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from cli import loading
from cli.console import out, progress, progress_bar, reporting_errors
from cli.options import TABLE_HELP, TABLE_OUT, DataOpt, MappingOpt, ModelOpt, QueryOpt, SchedulerOpt


class ReasonsFor(StrEnum):
    """Which rows `los score` explains."""

    all = "all"
    flagged = "flagged"


def score(
    data: DataOpt,
    out_path: Annotated[
        Path, typer.Option("--out", parser=TABLE_OUT, metavar="PATH", help=TABLE_HELP)
    ],
    model: ModelOpt = "champion",
    query: QueryOpt = None,
    mapping: MappingOpt = None,
    reasons: Annotated[
        ReasonsFor,
        typer.Option(
            "--reasons",
            help="all: every row (exact tree SHAP, slow for millions); flagged: only rows a "
            "target flags, the others left blank",
        ),
    ] = ReasonsFor.all,
    scheduler: SchedulerOpt = None,
) -> None:
    """Score admissions with reasons; one output row per input spell, in input order."""
    with reporting_errors():
        loading.check_source(data, query)
        from features.load import write_frame
        from models.inputs import loader_columns
        from models.scorer import Scorer

        settings, models, _ = loading.registered(model)
        for m in models.values():
            out.print(f"model {m.identity.name} version {m.identity.version} ({model})")
        scorer = Scorer(models)
        quarantine = settings.los_data_dir / "quarantine" / "score.csv"
        frame = loading.load(data, query, mapping, quarantine,
                             extra=loader_columns(scorer.extra_inputs))  # fmt: skip
        progress(f"scoring {len(frame):,} spells (reasons: {reasons.value})")
        address = scheduler or settings.los_dask_scheduler
        if address:
            from scale.partitioned import score_table

            table = score_table(frame, scorer, address, reasons_for=reasons.value)
        else:
            table = _score_here(scorer, frame, reasons)
        write_frame(table, out_path)
        out.print(f"wrote {len(table):,} scores to {out_path}")


def _score_here(scorer: Any, frame: Any, reasons: ReasonsFor) -> Any:
    """The score table computed in this process, with a progress bar."""
    with progress_bar(len(frame), "scoring") as advance:
        # chunks small enough for the bar to move every second or two (exact reasons for
        # every row run at about 1,000 rows/s on 2 cores); a score never depends on them
        chunk = 2_000 if reasons is ReasonsFor.all else 20_000
        return scorer.score_table(
            frame, reasons_for=reasons.value, progress=advance, chunk_rows=chunk
        )
