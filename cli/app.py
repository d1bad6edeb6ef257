"""The `los` command: one typer command per contract verb (CONTRACT §3).

Every failure is one line on stderr and a non-zero exit (`cli.console`). Arguments are checked by
click while parsing (`cli.params`), before any registry or data load: a typo fails at once.

The product's packages are imported inside the command that uses them, on purpose: they pull in
pandas, LightGBM, SHAP and MLflow (about 3 s on 2 cores, against 0.3 s for this module), and
`los --help` or a mistyped option should answer at once. Nothing else imports this package.
"""

from __future__ import annotations

import logging
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from cli import params
from cli.console import OneLineErrors, console, out, progress, progress_bar, reporting_errors

app = typer.Typer(
    cls=OneLineErrors,
    help="Length-of-stay and NCTR risk at admission, for NHS discharge teams.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

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
_TABLE_OUT = params.output_file(*params.TABLE_SUFFIXES)
_TABLE_HELP = "output file, .csv or .parquet by extension (its folder is created)"


def _check_source(data: str, query: str | None) -> None:
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


class Period(StrEnum):
    """Which rows `los evaluate` scores."""

    test = "test"
    all = "all"


class Scenario(StrEnum):
    """Planted changes `los generate` can make (`features.synthetic.scenarios`)."""

    none = "none"
    site_capacity_shock = "site-capacity-shock"
    coding_change = "coding-change"


class ReasonsFor(StrEnum):
    """Which rows `los score` explains."""

    all = "all"
    flagged = "flagged"


def _settings() -> Any:
    from los.config import Settings

    return Settings()


def _registered(alias: str) -> tuple[Any, Any, dict[str, str]]:
    """Runtime settings, the registered models with `alias` (or version), and one line per
    target without one (printed here: the command goes on with the others)."""
    from models.availability import load_available
    from models.registry import connect

    settings = _settings()
    connect(settings.tracking_uri, settings.los_data_dir / "mlartifacts")
    models, missing = load_available(alias)
    for gap in missing.values():
        out.print(gap.line, highlight=False, markup=False, soft_wrap=True)
    return settings, models, {t: gap.line for t, gap in missing.items()}


def _load(data: str, query: str | None, mapping: Path | None, quarantine: Path | None,
          max_bad: float = 0.05, extra: tuple[Any, ...] = ()) -> Any:  # fmt: skip
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
    )
    for reason, n in sorted(report.by_reason.items(), key=lambda kv: -kv[1])[:10]:
        console.print(f"  quarantined {n:,}: {reason}", highlight=False, markup=False)
    for missing in report.missing_inputs:
        console.print(f"  missing input {missing.describe()}", highlight=False, markup=False)
    return loaded.frame


@app.callback()
def main(
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="log stages and timings to stderr (never patient data)"
        ),
    ] = False,
) -> None:
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
    rows: Annotated[
        int, typer.Option("--rows", min=1, metavar="N", help="number of spells")
    ] = 200_000,
    seed: Annotated[
        int, typer.Option("--seed", min=0, metavar="N", help="random seed (same seed, same data)")
    ] = 42,
    out_path: Annotated[
        Path, typer.Option("--out", parser=_TABLE_OUT, metavar="PATH", help=_TABLE_HELP)
    ] = Path("data/admissions.parquet"),
    truth_out: Annotated[
        Path | None,
        typer.Option(
            "--truth-out",
            parser=_TABLE_OUT,
            metavar="PATH",
            help="true probabilities per spell, .csv or .parquet",
        ),
    ] = None,
    scenario: Annotated[
        Scenario, typer.Option("--scenario", help="a planted change, for testing the monitor")
    ] = Scenario.none,
    scenario_start: Annotated[
        date | None,
        typer.Option(
            "--scenario-start",
            parser=params.list_date,
            metavar="YYYY-MM-DD",
            help="first admission date the scenario touches (default: 3/4 through the window)",
        ),
    ] = None,
    scenario_site: Annotated[
        str | None,
        typer.Option(
            "--scenario-site", metavar="CODE", help="the site it touches (default: drawn)"
        ),
    ] = None,
) -> None:
    """Generate realistic synthetic North West London admissions."""
    with reporting_errors():
        from features.generate import generate_admissions
        from features.load import write_frame

        progress(f"generating {rows:,} spells (seed {seed})")
        try:
            data = generate_admissions(
                rows, seed, scenario=scenario.value, scenario_site=scenario_site,
                scenario_start=scenario_start.isoformat() if scenario_start else None,
            )  # fmt: skip
        except ValueError as exc:
            raise typer.BadParameter(
                str(exc), param_hint="'--scenario-start/--scenario-site'"
            ) from None
        if data.scenario.name != "none":
            out.print(f"scenario {data.scenario.name} at site {data.scenario.site} from "
                      f"{data.scenario.start:%Y-%m-%d}")  # fmt: skip
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
    reports: Annotated[
        Path | None,
        typer.Option(
            "--reports", parser=params.output_folder, metavar="DIR", help="report directory"
        ),
    ] = None,
    show_gates: Annotated[
        bool, typer.Option("--show-gates", help="print every gate, not only failed ones")
    ] = False,
) -> None:
    """Train every target, register versions as `challenger`, promote those passing the gates."""
    with reporting_errors():
        _check_source(data, query)
        from los.config import TrainingConfig
        from training.register import train_and_register
        from training.summary import summary_lines

        cfg = TrainingConfig.from_file(config)
        settings = _settings()
        quarantine = settings.los_data_dir / "quarantine" / "train.csv"
        frame = _load(data, query, mapping, quarantine, cfg.max_quarantine_share)
        report_dir = reports or settings.los_data_dir / "reports" / "latest"
        summary = train_and_register(frame, cfg, settings, report_dir, progress)
        for line in summary_lines(summary, show_gates):
            out.print(line, highlight=False, markup=False, soft_wrap=True)


@app.command()
def evaluate(
    data: DataOpt,
    out_dir: Annotated[
        Path,
        typer.Option("--out", parser=params.output_folder, metavar="DIR", help="report directory"),
    ],
    model: Annotated[
        str, typer.Option("--model", metavar="ALIAS|VERSION", help="alias or version")
    ] = "champion",
    config: ConfigOpt = None,
    query: QueryOpt = None,
    mapping: MappingOpt = None,
    period: Annotated[
        Period, typer.Option("--period", help="test: the models' test window onwards; all")
    ] = Period.test,
    scheduler: SchedulerOpt = None,
) -> None:
    """Write metrics.json and report.html for every target."""
    with reporting_errors():
        _check_source(data, query)
        from evaluation.assess import evaluate_models
        from los.config import TrainingConfig

        cfg = TrainingConfig.from_file(config)
        settings, models, _ = _registered(model)
        frame = _load(data, query, mapping, settings.los_data_dir / "quarantine" / "evaluate.csv")
        probabilities = None
        address = scheduler or settings.los_dask_scheduler
        if address:
            from models.scorer import Scorer
            from scale.partitioned import probabilities as partitioned_probabilities

            progress(f"scoring {len(frame):,} spells on {address}")
            probabilities = partitioned_probabilities(frame, Scorer(models), address)
        result = evaluate_models(
            frame, models, cfg, out_dir, period.value, probabilities, progress=progress
        )
        out.print(result.scope, highlight=False, markup=False, soft_wrap=True)
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
    out_path: Annotated[
        Path, typer.Option("--out", parser=_TABLE_OUT, metavar="PATH", help=_TABLE_HELP)
    ],
    model: Annotated[
        str, typer.Option("--model", metavar="ALIAS|VERSION", help="alias or version")
    ] = "champion",
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
        _check_source(data, query)
        from features.load import write_frame
        from models.inputs import loader_columns
        from models.scorer import Scorer

        settings, models, _ = _registered(model)
        for m in models.values():
            out.print(f"model {m.identity.name} version {m.identity.version} ({model})")
        scorer = Scorer(models)
        frame = _load(data, query, mapping, settings.los_data_dir / "quarantine" / "score.csv",
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


@app.command("risk-list")
def risk_list(
    data: DataOpt,
    out_path: Annotated[
        Path,
        typer.Option(
            "--out",
            parser=params.output_file(*params.LIST_SUFFIXES),
            metavar="PATH",
            help="output file, .csv, .html or .json by extension",
        ),
    ],
    on: Annotated[
        date | None,
        typer.Option(
            "--date",
            parser=params.list_date,
            metavar="YYYY-MM-DD",
            help="list date (default: the latest admission date on or before today, UTC)",
        ),
    ] = None,
    site: Annotated[
        str | None,
        typer.Option("--site", metavar="CODE", help="only this site (must be in the data)"),
    ] = None,
    capacity: Annotated[
        int | None,
        typer.Option(
            "--capacity",
            min=0,
            metavar="N",
            help="patients the team can review today (default: LOS_REVIEW_CAPACITY_PER_WARD "
            "per ward, else the top 10%)",
        ),
    ] = None,
    history: Annotated[
        str | None,
        typer.Option(
            "--history",
            parser=params.source,
            metavar="SOURCE",
            help="source of earlier spells for history",
        ),
    ] = None,
    query: QueryOpt = None,
    mapping: MappingOpt = None,
) -> None:
    """The daily ranked list of current inpatients, with reasons."""
    with reporting_errors():
        _check_source(data, query)
        if history is not None:
            _check_source(history, None)
        from models.review_cut import ReviewCut
        from models.risk_list import build_risk_list, write_risk_list
        from models.scorer import Scorer

        settings, models, missing = _registered("champion")
        scorer = Scorer(models)
        frame = _load(data, query, mapping, settings.los_data_dir / "quarantine" / "census.csv")
        hist = _load(history, None, mapping, None) if history else None
        cut = ReviewCut.choose(capacity, settings)  # given, else configured, else the top 10%
        result = build_risk_list(scorer, frame, on=on, site=site, capacity=capacity,
                                 history=hist, unavailable=missing, cut=cut,
                                 progress=progress)  # fmt: skip
        out.print(result.list_date_text, highlight=False, markup=False, soft_wrap=True)
        out.print(f"review: {cut.text}", highlight=False, markup=False, soft_wrap=True)
        for note in result.notes:
            out.print(f"note: {note}", highlight=False, markup=False, soft_wrap=True)
        write_risk_list(result, out_path)
        out.print(f"wrote risk list of {len(result.rows):,} inpatients to {out_path}")


@app.command()
def monitor(
    data: DataOpt,
    out_dir: Annotated[
        Path,
        typer.Option("--out", parser=params.output_folder, metavar="DIR", help="report directory"),
    ],
    reference: Annotated[
        str | None,
        typer.Option(
            "--reference",
            parser=params.source,
            metavar="SOURCE",
            help="reference spells (default: the rows of --data in the models' test period; "
            "recent: the rows after it)",
        ),
    ] = None,
    model: Annotated[
        str, typer.Option("--model", metavar="ALIAS|VERSION", help="alias or version")
    ] = "champion",
    config: ConfigOpt = None,
    query: QueryOpt = None,
    mapping: MappingOpt = None,
) -> None:
    """Compare recent admissions with a reference, per target and segment: write monitor.json
    and monitor.html with drift, estimated and realised performance, and alerts."""
    with reporting_errors():
        _check_source(data, query)
        if reference is not None:
            _check_source(reference, None)
        from los.config import TrainingConfig
        from monitoring.assess import run_monitor
        from monitoring.report import write_monitor
        from monitoring.windows import split_windows

        cfg = TrainingConfig.from_file(config)
        settings, models, _ = _registered(model)
        quarantine = settings.los_data_dir / "quarantine"
        frame = _load(data, query, mapping, quarantine / "monitor.csv")
        ref = _load(reference, None, mapping, quarantine / "reference.csv") if reference else None
        ref_rows, recent = split_windows(frame, ref, models)
        result = run_monitor(ref_rows, recent, models, cfg, progress)
        for alert in result.document["alerts"]:
            out.print(f"alert {alert['target']} {alert['attribute']}={alert['group']} "
                      f"{alert['kind']}: {alert['detail']}", highlight=False, markup=False,
                      soft_wrap=True)  # fmt: skip
        out.print(f"{len(result.document['alerts'])} alerts")
        for p in write_monitor(result, out_dir):
            out.print(f"wrote {p}")


@app.command()
def forecast(
    data: DataOpt,
    out_path: Annotated[
        Path,
        typer.Option(
            "--out",
            parser=params.output_file(*params.LIST_SUFFIXES),
            metavar="PATH",
            help="output file, .csv, .html or .json by extension",
        ),
    ],
    on: Annotated[
        date | None,
        typer.Option(
            "--date",
            parser=params.list_date,
            metavar="YYYY-MM-DD",
            help="list date (default: the latest admission date on or before today, UTC)",
        ),
    ] = None,
    days: Annotated[
        int, typer.Option("--days", min=1, max=60, metavar="N", help="days ahead (default 7)")
    ] = 7,
    at_least: Annotated[
        list[int] | None,
        typer.Option(
            "--at-least", min=0, metavar="N", help="also give P(at least N beds); repeatable"
        ),
    ] = None,
    site: Annotated[
        str | None,
        typer.Option("--site", metavar="CODE", help="only this site (must be in the data)"),
    ] = None,
    history: Annotated[
        str | None,
        typer.Option("--history", parser=params.source, metavar="SOURCE", help="more ended spells"),
    ] = None,
    query: QueryOpt = None,
    mapping: MappingOpt = None,
) -> None:
    """Beds still occupied, and held while waiting (NCTR), per ward for the next days."""
    with reporting_errors():
        _check_source(data, query)
        if history is not None:
            _check_source(history, None)
        from models.forecast import forecast_spells, write_forecast
        from models.stay_provider import forecast_models

        settings = _settings()
        frame = _load(data, query, mapping, settings.los_data_dir / "quarantine" / "census.csv")
        hist = _load(history, None, mapping, None) if history else None
        scorer, why = forecast_models(settings)  # the stay champion, else why not (KM is used)
        result = forecast_spells(frame, scorer, why, on=on, days=days,
                                 at_least=tuple(at_least or ()), site=site,
                                 history=hist)  # fmt: skip
        out.print(f"estimates from: {result.provider_text}", highlight=False, markup=False,
                  soft_wrap=True)  # fmt: skip
        out.print(f"list date {result.list_date.isoformat()}: {result.list_date_rule}",
                  highlight=False, markup=False, soft_wrap=True)  # fmt: skip
        for note in result.notes:
            out.print(f"note: {note}", highlight=False, markup=False, soft_wrap=True)
        write_forecast(result, out_path)
        out.print(f"wrote forecast for {len(result.wards):,} wards, {days} days to {out_path}")


@app.command()
def promote(
    model: Annotated[
        str, typer.Option("--model", metavar="NAME", help="registered model name, e.g. los-nctr")
    ],
    version: Annotated[
        str, typer.Option("--version", metavar="N", help="the version number to decide on")
    ],
    by: Annotated[str, typer.Option("--by", metavar="WHO", help="who decides (name and role)")],
    reason: Annotated[str, typer.Option("--reason", metavar="TEXT", help="why, in words")],
    accept_findings: Annotated[
        bool,
        typer.Option(
            "--accept-findings",
            help="accept every failed gate and fairness finding the version holds, as listed",
        ),
    ] = False,
    accept: Annotated[
        list[str] | None,
        typer.Option(
            "--accept", metavar="NAME", help="accept one failed gate or finding by name (repeat)"
        ),
    ] = None,
    reject: Annotated[
        bool, typer.Option("--reject", help="record a refusal: the version is never promoted")
    ] = False,
) -> None:
    """Record a person's decision: promote a version to champion, or reject it (CONTRACT §6).

    A version held by failed gates or fairness findings is promoted only when every one of them
    is accepted; otherwise nothing changes and the names to accept are listed.
    """
    with reporting_errors():
        from training.decide import DecisionRequest, decide

        request = DecisionRequest(
            model, version, by, reason, reject, accept_findings, tuple(accept or ())
        )
        result = decide(request, _settings(), progress)
        for line in result.lines():
            out.print(line, highlight=False, markup=False, soft_wrap=True)


@app.command()
def serve(
    host: Annotated[
        str, typer.Option("--host", metavar="HOST", help="address to listen on")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, metavar="PORT", help="TCP port to listen on")
    ] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            metavar="N",
            help="worker processes, each following the champion alias (default: one per core; "
            "one with an in-memory audit store)",
        ),
    ] = None,
) -> None:
    """Run the HTTP scoring service (CONTRACT §4); the champions are followed while it runs.

    Environment: LOS_API_KEYS (comma-separated keys, 16+ characters each, sent as X-API-Key) or
    LOS_ALLOW_NO_KEYS=1 to run without keys (refused when neither is set); LOS_DATA_DIR (default
    data/) and MLFLOW_TRACKING_URI (default: SQLite in LOS_DATA_DIR) locate the registry;
    LOS_HISTORY_SOURCE (earlier spells for history counts); LOS_POLL_SECONDS (how often the
    champion alias is checked, default 30); LOS_MAX_BATCH (rows per batch request, default 1000);
    LOS_AUDIT_URL (SQLAlchemy URL of the audit log; default SQLite in LOS_DATA_DIR).
    """
    with reporting_errors():
        from serving.processes import serve as run_service

        run_service(_settings(), host, port, workers)
