"""Following `champion`: a promotion under load swaps versions with no failed request; a registry
that is down at start leaves the service up but not ready until it appears; a registry that fails
later leaves the loaded versions serving.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from los.config import Settings
from serving.holder import ModelHolder
from serving.metrics import ServiceMetrics
from tests.conftest import TrainedRegistry
from tests.integration.test_service_server import json_rows, server_env, start_server

REGISTER_AGAIN = """
import sys
import mlflow
import pandas as pd
from los.schema import LABEL_COLUMNS
from models import registry
uri, data, name = sys.argv[1], sys.argv[2], sys.argv[3]
experiment = registry.connect(uri)
bundle, _ = registry.load_bundle(name, "champion")
example = pd.read_parquet(data).drop(columns=list(LABEL_COLUMNS)).head(5)
with registry.fluent_tracking(), mlflow.start_run(experiment_id=experiment):
    identity = registry.log_bundle(bundle, name, example)
registry.promote(name, identity.version)
print(identity.version)
"""


def _copy_registry(trained: TrainedRegistry, target: Path) -> str:
    """A private copy of the registry database (artifacts stay where they are)."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(trained.data_dir / "mlflow.db", target / "mlflow.db")
    return f"sqlite:///{target / 'mlflow.db'}"


def _load(
    url: str, row: dict, target: str, stop: threading.Event, seen: list[tuple[int, str]]
) -> None:
    """One client: score `row` again and again until told to stop (at most 120 s)."""
    deadline = time.monotonic() + 120
    with httpx.Client(base_url=url, timeout=30) as c:
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                r = c.post("/v1/score", json=row)
                version = r.json()["scores"][target]["model"]["version"] if r.is_success else ""
                seen.append((r.status_code, version))
            except httpx.HTTPError as exc:
                seen.append((-1, type(exc).__name__))


@pytest.mark.slow
def test_promotion_under_load_swaps_without_failed_requests(
    trained_registry: TrainedRegistry, tmp_path: Path
) -> None:
    uri = _copy_registry(trained_registry, tmp_path / "registry")
    env = server_env(trained_registry.env, poll_seconds=0.3, audit_url=f"sqlite:///{tmp_path}/a.db")
    env["MLFLOW_TRACKING_URI"] = uri
    server = start_server(env, tmp_path / "server.log")
    row = json_rows(trained_registry.admissions.head(1))[0]
    stop, seen = threading.Event(), [[] for _ in range(4)]
    try:
        server.wait_ready()
        with server.client() as c:
            before = c.get("/v1/models").json()["models"]
        target, name = before[0]["target"], before[0]["name"]
        clients = [
            threading.Thread(target=_load, args=(server.url, row, target, stop, s), daemon=True)
            for s in seen
        ]
        for t in clients:
            t.start()
        time.sleep(1.0)
        done = subprocess.run(
            [sys.executable, "-c", REGISTER_AGAIN, uri, str(trained_registry.data_path), name],
            env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        new = done.stdout.split()[-1]
        deadline = time.monotonic() + 30
        with server.client() as c:
            while time.monotonic() < deadline:
                models = {m["name"]: m["version"] for m in c.get("/v1/models").json()["models"]}
                if models[name] == new:
                    break
                time.sleep(0.1)
            time.sleep(1.0)  # keep the load on after the swap
            stop.set()
            for t in clients:
                t.join(60)
            metrics = c.get("/metrics").text
            ready = c.get("/ready").json()
    finally:
        stop.set()
        server.stop()
    assert models == {m["name"]: new if m["name"] == name else m["version"] for m in before}
    assert ready["models"][name] == new
    assert "los_model_reloads_total 2.0" in metrics
    for s in seen:
        assert s and all(code == 200 for code, _ in s), [x for x in s if x[0] != 200][:5]
        versions = [v for _, v in s]
        assert versions[-1] == new
        first_new = versions.index(new)
        assert set(versions[first_new:]) == {new}  # never back to the old version


@pytest.mark.slow
def test_registry_down_at_start_then_available(
    trained_registry: TrainedRegistry, tmp_path: Path
) -> None:
    later = tmp_path / "later"  # does not exist yet: SQLite cannot open the registry
    env = server_env(trained_registry.env, poll_seconds=0.3, audit_url=f"sqlite:///{tmp_path}/a.db")
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{later / 'mlflow.db'}"
    server = start_server(env, tmp_path / "server.log")
    row = json_rows(trained_registry.admissions.head(1))[0]
    try:
        server.wait_up()
        with server.client() as c:
            assert c.get("/health").status_code == 200
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not c.get("/ready").json()["registry_error"]:
                time.sleep(0.2)
            not_ready = c.get("/ready")
            assert not_ready.status_code == 503 and not_ready.json()["registry_error"]
            assert c.post("/v1/score", json=row).status_code == 503
            # the registry appears in one step (a directory rename), never half-written
            _copy_registry(trained_registry, tmp_path / "staging")
            (tmp_path / "staging").rename(later)
            server.wait_ready(timeout=60)
            assert c.post("/v1/score", json=row).status_code == 200
    finally:
        server.stop()


def test_registry_failing_later_keeps_the_loaded_models(
    trained_registry: TrainedRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    from models import registry

    settings = Settings(
        los_data_dir=trained_registry.data_dir,
        mlflow_tracking_uri=trained_registry.settings.tracking_uri,
    )
    holder = ModelHolder(settings, ServiceMetrics())
    assert holder.poll() is True and holder.ready
    loaded = holder.current

    def down(*args: object, **kwargs: object) -> list[str]:
        raise ConnectionError("registry unreachable")

    monkeypatch.setattr(registry, "registered_names", down)
    assert holder.poll() is False
    assert holder.current is loaded and holder.ready
    assert holder.last_error is not None and "ConnectionError" in holder.last_error
    monkeypatch.undo()
    assert holder.poll() is False and holder.last_error is None  # back, nothing new to load
