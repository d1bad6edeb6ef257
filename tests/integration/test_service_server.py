"""Helpers for the service tests: a real `los serve` on 127.0.0.1 and JSON rows from a frame.

No tests here; the service tests import these. The server runs in a subprocess with its own
environment (registry, keys, limits) and its stdout/stderr captured to a file.
"""

from __future__ import annotations

import math
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from los.schema import ADMISSION_COLUMNS, HISTORY_COLUMNS

LOS = str(Path(sys.executable).with_name("los"))


def free_port() -> int:
    """A port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running `los serve` subprocess."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    key: str | None

    def client(self, key: str | None = None, timeout: float = 30.0) -> httpx.Client:
        """A client sending `key` (None: the server's key; "": no key header)."""
        key = self.key if key is None else key
        headers = {"X-API-Key": key} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def log(self) -> str:
        """Everything the server wrote to stdout and stderr so far."""
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Poll `/ready` until 200; fail with the server log otherwise."""
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.url, timeout=5) as c:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(f"server exited:\n{self.log()}")
                try:
                    if c.get("/ready").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
        raise AssertionError(f"server not ready after {timeout}s:\n{self.log()}")

    def wait_up(self, timeout: float = 60.0) -> None:
        """Poll `/health` until the process answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError(f"server not up after {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        """SIGTERM (graceful: the audit queue is flushed), then kill if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_server(
    env: dict[str, str], log_path: Path, key: str | None = None, workers: int = 1
) -> Server:
    """Start `los serve --workers N` on a free port of 127.0.0.1 (not waiting for readiness).

    One worker by default: a test about one process's state (metrics, swaps) is then
    deterministic; tests/integration/test_service_workers.py runs several."""
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [LOS, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Server(process, f"http://127.0.0.1:{port}", log_path, key)


@contextmanager
def running_server(
    env: dict[str, str], log_path: Path, key: str | None = None, workers: int = 1
) -> Iterator[Server]:
    """`start_server`, ready, stopped on leaving (for module fixtures that yield a server)."""
    server = start_server(env, log_path, key, workers)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def server_env(base: dict[str, str], **settings: Any) -> dict[str, str]:
    """`base` plus LOS_* settings (`poll_seconds=0.5` -> LOS_POLL_SECONDS=0.5).

    Without `api_keys` the server runs open, which must be chosen explicitly
    (`LOS_ALLOW_NO_KEYS=1`, else it refuses to start).
    """
    env = {k: v for k, v in base.items() if not k.startswith("LOS_") or k == "LOS_DATA_DIR"}
    if "api_keys" not in settings:
        env["LOS_ALLOW_NO_KEYS"] = "1"
    env.update({f"LOS_{k.upper()}": str(v) for k, v in settings.items()})
    return env


def json_rows(frame: pd.DataFrame, extra: tuple[str, ...] = HISTORY_COLUMNS) -> list[dict]:
    """API request rows: the 'at admission' columns (and `extra` present), NaN as null."""
    columns = [c for c in (*ADMISSION_COLUMNS, *extra) if c in frame.columns]
    rows = []
    for rec in frame[columns].to_dict("records"):
        row: dict[str, Any] = {}
        for k, v in rec.items():
            if isinstance(v, pd.Timestamp):
                v = v.isoformat()
            elif (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
                v = None
            row[k] = v
        rows.append(row)
    return rows


def probabilities(result: dict) -> dict[str, float]:
    """target -> probability of one `/v1/score` result."""
    return {t: s["probability"] for t, s in result["scores"].items()}
