"""Registry faults at start: a SQLite registry that is missing or held locked by another process.

The service starts anyway (`/health` 200), says why it is not ready in one line (`/ready` 503,
`reason`), never creates a registry where one is missing, and becomes ready once the registry can
be read. (`tests/integration/test_service_swap.py` covers a registry directory that appears
later and a registry failing after start.)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from los.config import Settings
from serving.holder import ModelHolder
from serving.metrics import ServiceMetrics
from tests.conftest import TrainedRegistry
from tests.integration.test_service_server import json_rows, server_env, start_server
from tests.reliability.fault_helpers import copy_registry, wait_for

HOLD_LOCK = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")  # no other connection can read or write until COMMIT
print("locked", flush=True)
sys.stdin.read()  # until the test closes our stdin
db.execute("COMMIT")
"""


def _holder(data_dir: Path, uri: str) -> ModelHolder:
    settings = Settings(los_data_dir=data_dir, mlflow_tracking_uri=uri, los_poll_seconds=0.3)
    return ModelHolder(settings, ServiceMetrics())


@pytest.mark.parametrize("case", ["missing_file", "missing_directory", "empty_file"])
def test_missing_registry_is_reported_and_never_created(
    case: str, trained_registry: TrainedRegistry, tmp_path: Path
) -> None:
    where = {
        "missing_file": tmp_path / "registry" / "mlflow.db",
        "missing_directory": tmp_path / "no-such-dir" / "mlflow.db",
        "empty_file": tmp_path / "registry" / "mlflow.db",
    }[case]
    (tmp_path / "registry").mkdir()
    if case == "empty_file":
        where.touch()
    holder = _holder(tmp_path, f"sqlite:///{where}")
    assert holder.poll() is False and holder.poll() is False
    assert not holder.ready and holder.current is None
    reason = holder.not_ready_reason
    assert reason is not None and str(where) in reason
    assert ("empty" if case == "empty_file" else "not found") in reason
    assert "Traceback" not in reason and "\n" not in reason
    assert holder.metrics.registry_errors._value.get() == 2
    # nothing was created in its place: not the file, not its directory, not an empty registry
    if case == "empty_file":
        assert where.stat().st_size == 0
    else:
        assert not where.exists()
    assert not (tmp_path / "no-such-dir").exists()
    assert not (tmp_path / "mlruns").exists() and not (Path.cwd() / "mlruns").exists()
    if case == "missing_file":  # the registry appears: the next poll loads the champions
        copy_registry(trained_registry, where.parent)
        assert holder.poll() is True and holder.ready and holder.not_ready_reason is None
        assert set(holder.current.versions) == {
            "los-long-stay", "los-long-stay-21", "los-nctr", "los-stay-distribution"
        }  # fmt: skip


@pytest.mark.slow
def test_locked_registry_at_start_then_released(
    trained_registry: TrainedRegistry, tmp_path: Path
) -> None:
    uri = copy_registry(trained_registry, tmp_path / "registry")
    database = uri.removeprefix("sqlite:///")
    lock = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, database],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    env = server_env(trained_registry.env, poll_seconds=0.3, audit_url=f"sqlite:///{tmp_path}/a.db")
    # SQLite waits `timeout` seconds for a lock (pysqlite default 5); shorter keeps the test quick
    env["MLFLOW_TRACKING_URI"] = f"{uri}?timeout=0.5"
    row = json_rows(trained_registry.admissions.head(1))[0]
    server = None
    try:
        assert lock.stdout is not None and lock.stdout.readline().strip() == "locked"
        server = start_server(env, tmp_path / "server.log")
        server.wait_up()
        with server.client() as c:
            assert c.get("/health").json() == {"status": "ok"}
            locked = wait_for(
                lambda: (r := c.get("/ready")).json()["registry_error"] and r, 90, "the lock error"
            )
            body = locked.json()
            assert locked.status_code == 503 and body["ready"] is False
            assert "locked by another process" in body["reason"], body
            assert body["registry_error"] == body["reason"] and body["models"] == {}
            assert "Traceback" not in locked.text
            refused = c.post("/v1/score", json=row)
            assert refused.status_code == 503 and "Traceback" not in refused.text
            assert refused.headers.get("retry-after")
            lock.communicate("", timeout=30)  # COMMIT: the lock is released
            server.wait_ready(timeout=60)
            ready = c.get("/ready").json()
            assert ready["reason"] is None and ready["registry_error"] is None
            assert set(ready["models"]) == {
                "los-long-stay", "los-long-stay-21", "los-nctr", "los-stay-distribution"
            }  # fmt: skip
            assert c.post("/v1/score", json=row).status_code == 200
        log = server.log()
        assert "locked by another process" in log and "Traceback" not in log
        assert row["spell_id"] not in log
    finally:
        if lock.poll() is None:
            lock.kill()
        if server is not None:
            server.stop()
