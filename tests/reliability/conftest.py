"""Shared fixtures of the reliability suite: a real `los serve` on 127.0.0.1 and request rows.

Generic on purpose (fault tests use them too): `running_service(...)` starts a server with any
LOS_* settings on the session's trained registry and stops it afterwards; `service` is one such
server per test module with the usual settings (API key, audit store, limits, history source);
`request_rows` are valid request bodies drawn from the generated admissions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from features.history import compute_history
from tests.conftest import TrainedRegistry
from tests.integration.test_service_server import Server, json_rows, server_env, start_server

API_KEY = "reliability-key-7f3a9c"
MAX_BATCH = 50
MAX_BODY_BYTES = 200_000


def vm_rss_kib(pid: int) -> int:
    """Resident set size of a process in KiB, from /proc/<pid>/status (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


@contextmanager
def running_service(
    registry: TrainedRegistry, workdir: Path, *, key: str = API_KEY, **settings: Any
) -> Iterator[Server]:
    """A ready `los serve` on 127.0.0.1 with the given LOS_* settings; stopped on exit.

    Defaults: one API key, an audit store in `workdir`, batch and body limits, and the registry's
    admissions as the history source. Pass `name=value` to override or add (`poll_seconds=0.5`).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    chosen: dict[str, Any] = {
        "api_keys": key,
        "audit_url": f"sqlite:///{workdir / 'audit.db'}",
        "max_batch": MAX_BATCH,
        "max_body_bytes": MAX_BODY_BYTES,
        "history_source": registry.data_path,
        **settings,
    }
    env = server_env(registry.env, **{k: v for k, v in chosen.items() if v is not None})
    server = start_server(env, workdir / "server.log", key=key)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def service(
    trained_registry: TrainedRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One server per test module with the usual settings (key `API_KEY`)."""
    with running_service(trained_registry, tmp_path_factory.mktemp("reliability")) as server:
        yield server


@pytest.fixture(scope="session")
def request_rows(trained_registry: TrainedRegistry) -> list[dict[str, Any]]:
    """200 valid `/v1/score` bodies (history given explicitly), drawn from the generated data."""
    sample = trained_registry.admissions.sample(200, random_state=11).reset_index(drop=True)
    history = compute_history(sample, trained_registry.admissions)
    return json_rows(pd.concat([sample, history], axis=1))
