"""The `los` command: one typer command per contract verb (CONTRACT §3), gathered here.

Each command lives in the module of its group (`cli.generate`, `cli.train`, `cli.score`,
`cli.lists`, `cli.monitor`, `cli.registry`, `cli.serve`); options two commands share are defined
once in `cli.options`, loading in `cli.loading`. Every failure is one line on stderr and a
non-zero exit (`cli.console`). Arguments are checked by click while parsing (`cli.params`), before
any registry or data load: a typo fails at once.

The product's packages are imported inside the command that uses them, on purpose: they pull in
pandas, LightGBM, SHAP and MLflow (about 3 s on 2 cores, against 0.3 s for this module), and
`los --help` or a mistyped option should answer at once. Nothing else imports this package.
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from cli.console import OneLineErrors
from cli.generate import generate
from cli.lists import forecast, risk_list
from cli.monitor import monitor
from cli.registry import promote
from cli.score import score
from cli.serve import serve
from cli.train import evaluate, train
from los.log_records import not_in_summary
from los.openmp import short_openmp_spin

short_openmp_spin()  # before any command loads LightGBM (los.openmp)

app = typer.Typer(
    cls=OneLineErrors,
    help="Length-of-stay and NCTR risk at admission, for NHS discharge teams.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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
    console_log = logging.StreamHandler(sys.stderr)
    console_log.addFilter(not_in_summary)  # the command's summary prints those lines itself
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=[console_log],
    )
    for noisy in ("alembic", "mlflow", "urllib3", "numba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


# In the order `los --help` lists them.
app.command()(generate)
app.command()(train)
app.command()(evaluate)
app.command()(score)
app.command("risk-list")(risk_list)
app.command()(monitor)
app.command()(forecast)
app.command()(promote)
app.command()(serve)
