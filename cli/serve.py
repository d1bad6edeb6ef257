"""`los serve`: the HTTP scoring service (CONTRACT §4), in one or more worker processes."""

from __future__ import annotations

from typing import Annotated

import typer

from cli import loading
from cli.console import reporting_errors


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

        run_service(loading.settings(), host, port, workers)
