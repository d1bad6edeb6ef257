"""`los promote`: a person's recorded decision on a registered version (CONTRACT §6)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli import loading
from cli.console import out, progress, reporting_errors


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
        result = decide(request, loading.settings(), progress)
        for line in result.lines():
            out.print(line, highlight=False, markup=False, soft_wrap=True)
