"""A fork server for `los train` runs in the fault tests (not a test module).

Each `los train` process would spend most of its time importing (mlflow, lightgbm, pandas,
matplotlib: ~5-10 s on a busy 2-core machine). This script imports them once, then for every request
forks a child that runs the real `los train` command line (`cli.app.app`) with its own
environment, the faults asked for installed (`fault_hooks.install`: e.g. `{"kill_at":
"after_fit"}`) and its output in a log file; the child may be killed by SIGKILL, exactly as
`los train` would be. The parent never trains or touches MLflow, so no
thread or OpenMP pool exists when it forks.

Protocol (JSON lines): it prints `{"ready": true}` once imported; then, for each request line
`{"args": [...], "env": {...}, "log": "path", "faults": {...}}` on stdin, runs one child and prints
`{"returncode": N}` (negative: killed by signal -N).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import traceback
from typing import Any


def _child(request: dict[str, Any]) -> None:
    code = 70
    try:
        os.environ.update(request["env"])
        fd = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        from cli.app import app
        from tests.reliability.fault_hooks import install

        install(**request.get("faults", {}))
        try:
            app(args=request["args"], prog_name="los")
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    """Import once, then fork one `los train` per request line."""
    import lightgbm  # noqa: F401
    import matplotlib.pyplot  # noqa: F401
    import mlflow.pyfunc
    import mlflow.store.model_registry.sqlalchemy_store
    import mlflow.store.tracking.sqlalchemy_store  # noqa: F401
    from mlflow.utils import requirements_utils

    import cli.app  # noqa: F401
    import evaluation.report  # noqa: F401
    import features.load  # noqa: F401
    import models.pyfunc  # noqa: F401
    import training.register  # noqa: F401

    with contextlib.suppress(Exception):  # ~1 s per `log_model` otherwise (a cache of MLflow's)
        requirements_utils._init_modules_to_packages_map()

    if threading.active_count() != 1:  # forking with other threads alive could deadlock
        print(json.dumps({"error": f"{threading.active_count()} threads before fork"}), flush=True)
        return
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}), flush=True)


if __name__ == "__main__":
    main()
