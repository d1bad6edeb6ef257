"""`los serve --workers 2`: two processes on one port, each following `champion` by itself.

A real server on 127.0.0.1 with a private copy of the session's registry: both workers answer
(`/ready` names the process), a promotion is followed by both, every score lands in the shared
SQLite audit trail exactly once, and `/metrics` (whichever worker answers) sums both workers'
counts. Also: the settings are checked before any worker starts, and the default worker count.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from los.config import Settings
from serving.processes import default_workers
from tests.conftest import TrainedRegistry
from tests.integration.test_service_server import LOS, Server, json_rows, server_env, start_server
from tests.integration.test_service_swap import REGISTER_AGAIN, _copy_registry


def _ready_by_worker(server: Server, want: int, until: Any, timeout: float = 120.0) -> dict:
    """`/ready` bodies by worker pid, asked on fresh connections until `want` workers each gave
    a body for which `until(body)` holds."""
    seen: dict[int, dict] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"server exited:\n{server.log()}")
        try:
            r = httpx.get(f"{server.url}/ready", timeout=5)  # a new connection each time
        except httpx.TransportError:
            time.sleep(0.2)
            continue
        body = r.json()
        if r.status_code == 200 and until(body):
            seen[body["worker"]] = body
            if len(seen) >= want:
                return seen
        time.sleep(0.05)
    raise AssertionError(f"only {sorted(seen)} of {want} workers after {timeout}s:\n{server.log()}")


def test_two_workers_answer_follow_a_promotion_and_audit_every_score(
    trained_registry: TrainedRegistry, tmp_path: Path
) -> None:
    uri = _copy_registry(trained_registry, tmp_path / "registry")
    audit = tmp_path / "audit.db"
    env = server_env(trained_registry.env, poll_seconds=0.5, audit_url=f"sqlite:///{audit}")
    env["MLFLOW_TRACKING_URI"] = uri
    server = start_server(env, tmp_path / "server.log", workers=2)
    rows = json_rows(trained_registry.admissions.sample(60, random_state=4))
    scored = 0
    try:
        before = _ready_by_worker(server, 2, lambda b: True)
        assert len({tuple(sorted(b["models"].items())) for b in before.values()}) == 1
        versions = next(iter(before.values()))["models"]
        name = sorted(versions)[0]
        for pid in before:  # each worker predicts on one OpenMP thread; metrics shared
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            assert b"OMP_NUM_THREADS=1" in environ
            assert any(v.startswith(b"PROMETHEUS_MULTIPROC_DIR=") for v in environ)

        for row in rows:  # one connection per request: the kernel spreads them over workers
            r = httpx.post(f"{server.url}/v1/score", json=row, timeout=30)
            assert r.status_code == 200, r.text
            scored += 1
        with server.client() as c:
            r = c.post("/v1/score/batch", json=rows)
            assert r.status_code == 200, r.text
            scored += len(rows)

        done = subprocess.run(
            [sys.executable, "-c", REGISTER_AGAIN, uri, str(trained_registry.data_path), name],
            env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        new = done.stdout.split()[-1]
        after = _ready_by_worker(server, 2, lambda b: b["models"].get(name) == new)
        assert set(after) == set(before)  # the same two processes, each on the new version
        for body in after.values():
            assert body["models"] == {**versions, name: new}

        with server.client() as c:
            r = c.post("/v1/score", json=rows[0])
            assert r.status_code == 200
            answer = r.json()["scores"].values()
            served = {s["model"]["name"]: s["model"]["version"] for s in answer}
            assert served[name] == new
            scored += 1
            metrics = c.get("/metrics").text
    finally:
        server.stop()

    targets = len([n for n in versions if n != "los-stay-distribution"])  # flags: counted per model
    total = sum(
        float(m.group(1))
        for m in re.finditer(r'^los_scores_total\{model="[^"]+",version="[^"]+"\} (\S+)$',
                             metrics, re.MULTILINE)
    )  # fmt: skip
    assert total == scored * targets  # summed over both workers, not one worker's share
    ready_lines = re.findall(r'^los_ready\{pid="(\d+)"\} 1\.0$', metrics, re.MULTILINE)
    assert {int(p) for p in ready_lines} == set(before)
    with sqlite3.connect(audit) as db:
        n, distinct = db.execute(
            "SELECT count(*), count(DISTINCT spell_id || model_name || model_version) "
            "FROM score_audit"
        ).fetchone()
    assert n == scored * targets  # every score, once, from both processes
    assert distinct <= n


def test_bad_key_settings_stop_before_any_worker_starts(
    trained_registry: TrainedRegistry, tmp_path: Path
) -> None:
    env = server_env(trained_registry.env, api_keys="short")
    done = subprocess.run(
        [LOS, "serve", "--port", "1", "--workers", "2"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert "LOS_API_KEYS" in done.stderr + done.stdout
    assert "Started server process" not in done.stderr + done.stdout


def test_default_is_one_worker_per_core_but_one_with_an_in_memory_audit(tmp_path: Path) -> None:
    from serving.processes import cores

    on_disk = Settings(los_data_dir=tmp_path, los_audit_url=f"sqlite:///{tmp_path}/a.db")
    assert default_workers(on_disk) == cores()
    assert default_workers(Settings(los_data_dir=tmp_path, los_audit_url="sqlite://")) == 1
    assert default_workers(Settings(los_data_dir=tmp_path, los_audit_url="sqlite:///:memory:")) == 1
