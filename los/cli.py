"""The `los` command: one typer command per contract verb (CONTRACT §3)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from los.errors import LosError

app = typer.Typer(
    help="Length-of-stay and NCTR risk at admission, for NHS discharge teams.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
out = Console()

DataOpt = Annotated[
    str, typer.Option("--data", help="CSV/Parquet path or SQLAlchemy URL (?table=... or --query)")
]
QueryOpt = Annotated[str | None, typer.Option("--query", help="SQL query, for a URL source")]
MappingOpt = Annotated[
    Path | None, typer.Option("--mapping", help="YAML column/code mapping for the source")
]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="training config YAML")]


@contextmanager
def _errors() -> Iterator[None]:
    """Turn product errors into one line on stderr and exit code 1."""
    try:
        yield
    except LosError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    except FileNotFoundError as exc:
        console.print(f"[red]error:[/red] file not found: {exc.filename}", highlight=False)
        raise typer.Exit(1) from None


def _progress(message: str) -> None:
    console.print(f"[dim]…[/dim] {message}", highlight=False)


@contextmanager
def _progress_bar(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A rows-done bar on stderr; yields `advance(rows_done)`."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    columns = (label, BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)


class Period(StrEnum):
    """Which rows `los evaluate` scores."""

    test = "test"
    all = "all"


class ReasonsFor(StrEnum):
    """Which rows `los score` explains."""

    all = "all"
    flagged = "flagged"


def _settings() -> Any:
    from los.config import Settings

    return Settings()


def _registered(alias: str) -> tuple[Any, Any]:
    """Runtime settings and the registered models with `alias` (or version)."""
    from models.registry import connect, load_models

    settings = _settings()
    connect(settings.tracking_uri, settings.los_data_dir / "mlartifacts")
    return settings, load_models(alias)


def _load(data: str, query: str | None, mapping: Path | None, quarantine: Path | None,
          max_bad: float = 0.05) -> Any:  # fmt: skip
    from features.load import load_admissions

    _progress(f"loading {data.split('?')[0] if '://' in data else data}")
    loaded = load_admissions(
        data, query=query, mapping=mapping, quarantine_to=quarantine, max_bad_share=max_bad
    )
    report = loaded.report
    console.print(
        f"rows read {report.rows_in:,}; valid {report.rows_valid:,}; "
        f"quarantined {report.rows_quarantined:,}"
        + (f" -> {report.quarantine_path}" if report.quarantine_path else ""),
        highlight=False,
    )
    for reason, n in sorted(report.by_reason.items(), key=lambda kv: -kv[1])[:10]:
        console.print(f"  quarantined {n:,}: {reason}", highlight=False)
    return loaded.frame


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Set up logging (counts and timings only; no patient data is ever logged)."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("alembic", "mlflow", "urllib3", "numba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@app.command()
def generate(
    rows: Annotated[int, typer.Option("--rows", min=1, help="number of spells")] = 200_000,
    seed: Annotated[int, typer.Option("--seed")] = 42,
    out_path: Annotated[Path, typer.Option("--out", help=".csv or .parquet")] = Path(
        "data/admissions.parquet"
    ),
    truth_out: Annotated[
        Path | None, typer.Option("--truth-out", help="true probabilities per spell")
    ] = None,
) -> None:
    """Generate realistic synthetic North West London admissions."""
    with _errors():
        from features.generate import generate_admissions
        from features.load import write_frame

        _progress(f"generating {rows:,} spells (seed {seed})")
        data = generate_admissions(rows, seed)
        write_frame(data.admissions, out_path)
        out.print(f"wrote {len(data.admissions):,} admissions to {out_path}")
        if truth_out is not None:
            write_frame(data.truth, truth_out)
            out.print(f"wrote true probabilities to {truth_out}")


@app.command()
def train(
    data: DataOpt = "data/admissions.parquet",
    config: ConfigOpt = None,
    query: QueryOpt = None,
    mapping: MappingOpt = None,
    reports: Annotated[Path | None, typer.Option("--reports", help="report directory")] = None,
    show_gates: Annotated[
        bool, typer.Option("--show-gates", help="print every gate, not only failed ones")
    ] = False,
) -> None:
    """Train every target, register versions as `challenger`, promote those passing the gates."""
    with _errors():
        from los.config import TrainingConfig
        from training.register import train_and_register

        cfg = TrainingConfig.from_file(config)
        settings = _settings()
        quarantine = settings.los_data_dir / "quarantine" / "train.csv"
        frame = _load(data, query, mapping, quarantine, cfg.max_quarantine_share)
        report_dir = reports or settings.los_data_dir / "reports" / "latest"
        summary = train_and_register(frame, cfg, settings, report_dir, _progress)
        out.print(f"run id: {summary.run_id}")
        out.print(f"in-hospital spells skipped (no discharge yet): {summary.rows_in_hospital:,}")
        for o in summary.outcomes:
            verdict = "promoted to champion" if o.promoted else "NOT promoted (gates failed)"
            failed = [g for g in o.gates if not g.passed]
            out.print(
                f"{o.registered_name} version {o.version}: test AUROC {o.metrics['auroc']:.3f}, "
                f"calibration error {o.metrics['calibration_error']:.3f}; "
                f"gates passed {len(o.gates) - len(failed)}/{len(o.gates)} -> {verdict}",
                highlight=False,
                soft_wrap=True,
            )
            for g in o.gates if show_gates else failed:
                mark = "pass" if g.passed else "FAIL"
                out.print(f"    [{mark}] {g.name}: {g.detail}", highlight=False, soft_wrap=True)
        out.print(f"reports: {summary.report_dir}")


@app.command()
def evaluate(
    data: DataOpt,
    out_dir: Annotated[Path, typer.Option("--out", help="report directory")],
    model: Annotated[str, typer.Option("--model", help="alias or version")] = "champion",
    config: ConfigOpt = None,
    query: QueryOpt = None,
    mapping: MappingOpt = None,
    period: Annotated[
        Period, typer.Option("--period", help="test: the models' test window onwards; all")
    ] = Period.test,
) -> None:
    """Write metrics.json and report.html for every target."""
    with _errors():
        from los.config import TrainingConfig
        from training.assess import evaluate_models

        cfg = TrainingConfig.from_file(config)
        settings, models = _registered(model)
        frame = _load(data, query, mapping, settings.los_data_dir / "quarantine" / "evaluate.csv")
        result = evaluate_models(frame, models, cfg, out_dir, period.value)
        for name, ev in result.evaluations.items():
            out.print(
                f"{name}: n={ev.overall.n:,} AUROC {ev.overall.auroc:.3f} "
                f"calibration error {ev.overall.calibration_error:.3f}"
            )
        for p in result.paths:
            out.print(f"wrote {p}")


@app.command()
def score(
    data: DataOpt,
    out_path: Annotated[Path, typer.Option("--out", help=".csv or .parquet")],
    model: Annotated[str, typer.Option("--model", help="alias or version")] = "champion",
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
) -> None:
    """Score admissions with reasons; one output row per input spell, in input order."""
    with _errors():
        from features.load import write_frame
        from models.scorer import Scorer

        settings, models = _registered(model)
        for m in models.values():
            out.print(f"model {m.identity.name} version {m.identity.version} ({model})")
        frame = _load(data, query, mapping, settings.los_data_dir / "quarantine" / "score.csv")
        _progress(f"scoring {len(frame):,} spells (reasons: {reasons.value})")
        with _progress_bar(len(frame), "scoring") as advance:
            table = Scorer(models).score_table(frame, reasons_for=reasons.value, progress=advance)
        write_frame(table, out_path)
        out.print(f"wrote {len(table):,} scores to {out_path}")


@app.command("risk-list")
def risk_list(
    data: DataOpt,
    out_path: Annotated[Path, typer.Option("--out", help=".csv, .html or .json")],
    on: Annotated[str | None, typer.Option("--date", help="list date (YYYY-MM-DD)")] = None,
    site: Annotated[str | None, typer.Option("--site", help="only this site")] = None,
    capacity: Annotated[
        int | None, typer.Option("--capacity", min=0, help="patients the team can review")
    ] = None,
    history: Annotated[
        str | None, typer.Option("--history", help="source of earlier spells for history")
    ] = None,
    query: QueryOpt = None,
    mapping: MappingOpt = None,
) -> None:
    """The daily ranked list of current inpatients, with reasons."""
    with _errors():
        from models.risk_list import build_risk_list, write_risk_list
        from models.scorer import Scorer

        settings, models = _registered("champion")
        scorer = Scorer(models)
        frame = _load(data, query, mapping, settings.los_data_dir / "quarantine" / "census.csv")
        hist = _load(history, None, mapping, None) if history else None
        when = date.fromisoformat(on) if on else None
        result = build_risk_list(scorer, frame, on=when, site=site, capacity=capacity,
                                 history=hist)  # fmt: skip
        write_risk_list(result, out_path)
        out.print(f"wrote risk list of {len(result.rows):,} inpatients to {out_path}")


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
) -> None:
    """Run the HTTP scoring service."""
    with _errors():
        import uvicorn

        from serving.app import create_app

        uvicorn.run(create_app(_settings()), host=host, port=port, log_level="info")
