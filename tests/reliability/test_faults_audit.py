"""The audit trail's disk fills up while the service is answering.

Policy (docs/service.md "The audit trail"): answer and count. Every request is still answered
200; every audit row is either written or counted in `los_audit_rows_failed_total` (none
vanishes uncounted); `/ready` says `"audit": "failing"` while rows are being lost and `"ok"` once
writing resumes, by itself, when space is back; the log has counts and error types only.

Two real ways to make the audit database's writes fail, on a real server process:

- `RLIMIT_FSIZE` set on the running server (`prlimit`) after its models are loaded: every write
  that would grow a file fails with EFBIG (Python ignores SIGXFSZ), which SQLite reports as
  "database or disk is full". Needs no privileges; the server's log goes through a pipe, which
  the limit does not touch.
- A 1 MiB tmpfs holding the audit database, filled up: ENOSPC, a disk that is really full. Needs
  `mount` (root); skipped where it is not permitted.
"""

from __future__ import annotations

import contextlib
import errno
import re
import resource
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TrainedRegistry
from tests.integration.test_service_server import Server, json_rows, server_env
from tests.reliability.fault_helpers import start_piped_server, wait_for

TARGETS = 3  # one audit row per target per scored admission


@dataclass
class AuditServer:
    server: Server
    directory: Path
    tmpfs: bool

    @property
    def database(self) -> Path:
        return self.directory / "audit.db"


@pytest.fixture(scope="module")
def audit_server(
    trained_registry: TrainedRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AuditServer]:
    """A ready server whose audit database is on a 1 MiB tmpfs when mounting is permitted."""
    base = tmp_path_factory.mktemp("audit-fault")
    directory = base / "audit"
    directory.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(directory)]
    try:
        mounted = subprocess.run(mount, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        mounted = False
    env = server_env(
        trained_registry.env, poll_seconds=60, audit_url=f"sqlite:///{directory / 'audit.db'}"
    )
    server = start_piped_server(env, base / "server.log")
    try:
        server.wait_ready()
        yield AuditServer(server, directory, mounted)
    finally:
        server.stop()
        if mounted:
            done = subprocess.run(["umount", str(directory)], capture_output=True, timeout=30)
            if done.returncode != 0:
                subprocess.run(["umount", "-l", str(directory)], capture_output=True, timeout=30)


def _counter(client: httpx.Client, name: str) -> float:
    text = client.get("/metrics").text
    found = re.search(rf"^{name} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def _rows(trained: TrainedRegistry, tag: str, n: int) -> list[dict[str, Any]]:
    rows = json_rows(trained.admissions.sample(n, random_state=len(tag)))
    for i, row in enumerate(rows):
        row["spell_id"] = f"AUDITFAULT-{tag}-{i:04d}"
    return rows


def _audited(database: Path, tag: str) -> int:
    with contextlib.closing(sqlite3.connect(database, timeout=10)) as db:
        (n,) = db.execute(
            "SELECT count(*) FROM score_audit WHERE spell_id LIKE ?", (f"AUDITFAULT-{tag}-%",)
        ).fetchone()
    return int(n)


def _score_all(client: httpx.Client, rows: list[dict[str, Any]], batch: int) -> None:
    """Post `rows` (one by one, or in batches); every request must be answered 200."""
    if batch == 1:
        for row in rows:
            r = client.post("/v1/score", json=row)
            assert r.status_code == 200, r.text
    else:
        for i in range(0, len(rows), batch):
            r = client.post("/v1/score/batch", json=rows[i : i + batch])
            assert r.status_code == 200, r.text


def _check_disk_full(
    audit: AuditServer,
    trained: TrainedRegistry,
    tag: str,
    fill: Any,
    free: Any,
    n: int,
    batch: int,
    error: str,
) -> None:
    server = audit.server
    with server.client() as c:
        failed0 = _counter(c, "los_audit_rows_failed_total")
        written0 = _counter(c, "los_audit_rows_written_total")
        assert c.get("/ready").json()["audit"] == "ok"
        fill()
        try:
            lost = _rows(trained, f"{tag}-full", n)
            _score_all(c, lost, batch)
            wait_for(
                lambda: _counter(c, "los_audit_rows_failed_total") > failed0,
                30,
                "audit failures to be counted",
            )
            ready = c.get("/ready")
            assert ready.status_code == 200 and ready.json()["ready"] is True
            assert ready.json()["audit"] == "failing"

            def accounted() -> tuple[float, float] | None:
                failed = _counter(c, "los_audit_rows_failed_total") - failed0
                written = _counter(c, "los_audit_rows_written_total") - written0
                return (failed, written) if failed + written >= TARGETS * n else None

            # every row either written or counted as lost; nothing vanished
            failed, written = wait_for(accounted, 30, "every audit row written or counted")
            assert failed + written == TARGETS * n and failed > 0
        finally:
            free()
        back = _rows(trained, f"{tag}-back", 5)
        _score_all(c, back, 1)
        wait_for(lambda: _audited(audit.database, f"{tag}-back") == TARGETS * 5, 30, "recovery")
        assert c.get("/ready").json()["audit"] == "ok"
    assert _audited(audit.database, f"{tag}-full") == written
    log = server.log()
    not_written = rf"audit: \d+ score rows not written \(OperationalError: {error}\)"
    assert re.search(not_written, log), log[-3000:]
    assert "audit: writing again" in log
    assert "Traceback" not in log
    for row in lost + back:
        assert row["spell_id"] not in log and row["patient_id"] not in log


@pytest.mark.slow
def test_audit_file_size_limit_answers_and_counts(
    audit_server: AuditServer, trained_registry: TrainedRegistry
) -> None:
    pid = audit_server.server.process.pid
    _, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)

    def fill() -> None:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (0, hard))  # no file may grow at all

    def free() -> None:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (hard, hard))

    # SQLite reports EFBIG as an I/O error (ENOSPC as "full")
    _check_disk_full(
        audit_server, trained_registry, "fsize", fill, free, n=20, batch=1, error="disk I/O error"
    )


@pytest.mark.slow
def test_audit_disk_full_answers_and_counts(
    audit_server: AuditServer, trained_registry: TrainedRegistry
) -> None:
    if not audit_server.tmpfs:
        pytest.skip("mounting a tmpfs is not permitted here")
    filler = audit_server.directory / "filler"

    def fill() -> None:
        chunk = b"\0" * 65536
        with filler.open("wb", buffering=0) as f:
            with contextlib.suppress(OSError):
                while True:
                    f.write(chunk)
            with contextlib.suppress(OSError):  # the last few bytes
                while True:
                    f.write(b"\0" * 512)
        probe = audit_server.directory / "probe"
        with pytest.raises(OSError) as full, probe.open("wb", buffering=0) as f:
            f.write(b"\0" * 4096)
        assert full.value.errno == errno.ENOSPC
        probe.unlink(missing_ok=True)

    def free() -> None:
        filler.unlink(missing_ok=True)

    # enough rows that SQLite must grow its files (a small write can reuse WAL space)
    _check_disk_full(
        audit_server,
        trained_registry,
        "tmpfs",
        fill,
        free,
        n=400,
        batch=200,
        error="database or disk is full",
    )
