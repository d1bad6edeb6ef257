"""`los serve` as several worker processes: one per core, sharing nothing but the registry.

One process scores on one core: its scoring thread holds the GIL while it runs the models, and
LightGBM uses one thread for a few rows. So `los serve --workers N` runs N uvicorn worker
processes on one port (the kernel spreads connections between them). Each is a complete
service built by `serving.app.create_app` from the same environment: it follows the `champion`
alias itself (its own poller, so both pick up a promotion within `LOS_POLL_SECONDS`), holds its
own models and history index (memory grows with N), and writes its own audit rows to the shared
audit store (`serving.audit`: SQLite in WAL mode with a busy timeout, or a database server).

Each worker predicts on one OpenMP thread (`OMP_NUM_THREADS=1` unless set): the workers already
use every core, and OpenMP threads on top of them contend for the same cores. Measured on the
loaded 2-core machine, in one process: a batch of 100 admissions scored without reasons in
36 ms with OpenMP's two threads and in 1.6 ms on one; with reasons for the flagged rows, 36 ms
against 14 ms.

Prometheus metrics are summed over the workers: the parent sets `PROMETHEUS_MULTIPROC_DIR` to
a fresh directory (removed at exit) unless one is set already, each worker writes its values
there and `/metrics`, whichever worker answers it, renders all of them (`serving.metrics`).

The default is one worker per core available to this process, and one where several would not
be one service: a single core, or an in-memory SQLite audit store (each process would keep its
own trail, invisible to the others and lost at exit).
"""

from __future__ import annotations

import os
import shutil
import tempfile

import sqlalchemy as sa

from los.config import Settings
from serving.auth import api_key_policy

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
THREADS_ENV = "OMP_NUM_THREADS"
APP_FACTORY = "serving.app:create_app"


def cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def in_memory_audit(url: str) -> bool:
    """True for an SQLite audit URL without a file (each process would hold its own trail)."""
    made = sa.engine.make_url(url)
    return made.get_backend_name() == "sqlite" and made.database in (None, "", ":memory:")


def default_workers(settings: Settings) -> int:
    """One worker per core, or one where several cannot share the audit trail (module doc)."""
    if in_memory_audit(settings.audit_url):
        return 1
    return max(1, cores())


def serve(settings: Settings, host: str, port: int, workers: int | None = None) -> None:
    """Run the service until stopped: in this process for one worker, else N workers.

    The settings are checked here first (`ConfigError` for unclear API-key settings), so a bad
    setting stops `los serve` before anything listens, with any number of workers.
    """
    import uvicorn

    count = default_workers(settings) if workers is None else workers
    if count <= 1:
        from serving.app import create_app

        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
        return
    api_key_policy(settings)  # each worker builds its settings from the same environment
    os.environ.setdefault(THREADS_ENV, "1")  # one OpenMP thread per worker (module doc)
    made_dir = None
    if not os.environ.get(MULTIPROC_ENV):
        made_dir = tempfile.mkdtemp(prefix="los-metrics-")
        os.environ[MULTIPROC_ENV] = made_dir  # inherited by the workers
    try:
        uvicorn.run(
            APP_FACTORY, factory=True, workers=count, host=host, port=port, log_level="info"
        )
    finally:
        if made_dir is not None:
            os.environ.pop(MULTIPROC_ENV, None)
            shutil.rmtree(made_dir, ignore_errors=True)
