"""Issue 11 items 4, 5 and 10: the service cannot be opened by accident, logs nothing it should
not, and follows the registry that is at its path.

4. `LOS_API_KEYS=" , "` used to serve every endpoint without a key. A blank, short or malformed
   key setting now stops `los serve` with one line; running without keys needs
   `LOS_ALLOW_NO_KEYS=1`, is logged as a warning and reported by `/ready` (`auth`).
5. uvicorn's access log printed the request line verbatim (`?nhs_number=...&api_key=...`) and
   the client address (which `X-Forwarded-For` can set). It now holds method, path and status;
   unknown query parameters on `/v1` routes are a 422 that names the parameter, not its value.
10. A deleted registry left `/ready` green, and a new registry at the path was never read (the
   pooled SQLite connection kept the old file open). Each poll now checks the file's identity
   and the served versions' artifact files, retires the models of a registry that is gone and
   follows the `champion` of whatever registry is at the path.

Real parts throughout: `los serve` subprocesses on 127.0.0.1, MLflow registries on SQLite.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from los.config import Settings
from los.errors import ConfigError
from serving.access_log import AccessLogFilter
from serving.auth import MIN_KEY_LENGTH, api_key_policy
from serving.holder import ModelHolder
from serving.metrics import ServiceMetrics
from tests.conftest import TrainedRegistry
from tests.hostile.test_service_inputs import EXTRA_NUMBER, ExtrasRegistry, extras_registry
from tests.integration.test_service_server import (
    LOS,
    Server,
    free_port,
    json_rows,
    server_env,
    start_server,
)

__all__ = ["extras_registry"]  # a session fixture shared with test_service_inputs.py

KEY = "hostile-service-key-7d2c9a41"
GOOD = "k" * MIN_KEY_LENGTH


# --- item 4: keys ---------------------------------------------------------------------------

BAD_KEY_SETTINGS = {
    # name: (LOS_API_KEYS or None for unset, LOS_ALLOW_NO_KEYS or None, words in the error)
    "blank entries": (" , ", None, "entry 1 of 2 is blank"),
    "empty": ("", None, "entry 1 of 1 is blank"),
    "whitespace only": ("   ", None, "is blank"),
    "trailing comma": (f"{GOOD},", None, "entry 2 of 2 is blank"),
    "too short": ("QSECRET-short", None, "too short to be secret"),
    "one of two short": (f"{GOOD}, QSECRET-x", None, "entry 2 of 2 is 9 characters long"),
    "space inside": ("QSECRET with-a-space-inside", None, "space or a character"),
    "not ascii": ("QSECRET-schlüssel-0123456789", None, "visible ASCII"),
    "unset": (None, None, "LOS_ALLOW_NO_KEYS=1"),
    "unset, opt-out off": (None, "0", "LOS_API_KEYS is not set"),
    "keys and opt-out": (GOOD, "1", "both set"),
    "blank with opt-out": (" , ", "1", "both set"),
}


def _settings(keys: str | None, allow: str | None) -> Settings:
    values: dict[str, Any] = {"los_api_keys": keys}
    if allow is not None:
        values["los_allow_no_keys"] = allow
    return Settings(**values)


@pytest.mark.parametrize("case", list(BAD_KEY_SETTINGS))
def test_unclear_key_settings_are_refused_in_one_line(case: str) -> None:
    keys, allow, words = BAD_KEY_SETTINGS[case]
    with pytest.raises(ConfigError) as refused:
        api_key_policy(_settings(keys, allow))
    message = str(refused.value)
    assert words in message and "\n" not in message, message
    assert "QSECRET" not in message  # a key is never repeated back


def test_keys_are_trimmed_and_deduplicated_and_open_mode_is_explicit() -> None:
    other = "o" * 20
    policy = api_key_policy(_settings(f" {GOOD} ,{other},{GOOD}", None))
    assert policy.keys == (GOOD, other) and policy.mode == "api-key"
    assert api_key_policy(_settings(None, "1")).mode == "disabled"
    with pytest.raises(ConfigError, match="setting LOS_ALLOW_NO_KEYS"):
        _settings(None, "QSECRET-maybe")


def _serve_env(base: dict[str, str], keys: str | None, allow: str | None) -> dict[str, str]:
    env = {k: v for k, v in base.items() if not k.startswith("LOS_") or k == "LOS_DATA_DIR"}
    if keys is not None:
        env["LOS_API_KEYS"] = keys
    if allow is not None:
        env["LOS_ALLOW_NO_KEYS"] = allow
    return env


@pytest.mark.parametrize(
    "case", ["blank entries", "empty", "too short", "unset", "keys and opt-out"]
)
def test_los_serve_refuses_to_start_with_unclear_keys(
    case: str, trained_registry: TrainedRegistry, tmp_path: Path
) -> None:
    keys, allow, words = BAD_KEY_SETTINGS[case]
    port = free_port()
    done = subprocess.run(
        [LOS, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=_serve_env(trained_registry.env, keys, allow),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    said = (done.stdout + done.stderr).strip().splitlines()
    assert done.returncode == 1, said
    assert len(said) == 1 and said[0].startswith("error:") and words in said[0], said
    assert "Traceback" not in done.stderr
    with socket.socket() as s:  # it never listened: the port is still free
        s.bind(("127.0.0.1", port))


@pytest.fixture(scope="module")
def keyed(
    trained_registry: TrainedRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server with one key, on the session's registry."""
    tmp = tmp_path_factory.mktemp("keyed")
    env = server_env(trained_registry.env, api_keys=KEY, audit_url=f"sqlite:///{tmp / 'a.db'}")
    server = start_server(env, tmp / "server.log", key=KEY)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def test_running_without_keys_is_logged_and_reported(
    trained_registry: TrainedRegistry, keyed: Server, tmp_path: Path
) -> None:
    env = server_env(trained_registry.env, audit_url=f"sqlite:///{tmp_path / 'a.db'}")
    assert env["LOS_ALLOW_NO_KEYS"] == "1" and "LOS_API_KEYS" not in env
    server = start_server(env, tmp_path / "server.log", key="")
    row = json_rows(trained_registry.admissions.head(1))[0]
    try:
        server.wait_ready()
        with server.client() as c:
            assert c.get("/ready").json()["auth"] == "disabled"
            assert c.post("/v1/score", json=row).status_code == 200
    finally:
        server.stop()
    assert "WARNING" in server.log() and "API keys are disabled" in server.log()
    with keyed.client() as c:
        assert c.get("/ready").json()["auth"] == "api-key"
    with keyed.client(key="") as c:
        assert c.post("/v1/score", json=row).status_code == 401
    assert "API keys are disabled" not in keyed.log()


# --- item 5: the access log and query strings -----------------------------------------------

MARKERS = {
    "nhs": "9434765919",
    "dob": "1950-01-01",
    "query_key": "QKEY-in-query-31415",
    "agent": "QAGENT-patient-27182",
    "forwarded": "203.0.113.77",
    "referer": "QREFERER-16180",
}


def test_access_log_has_method_path_and_status_only(
    keyed: Server, trained_registry: TrainedRegistry
) -> None:
    row = json_rows(trained_registry.admissions.head(1))[0]
    headers = {
        "User-Agent": MARKERS["agent"],
        "X-Forwarded-For": MARKERS["forwarded"],
        "Referer": MARKERS["referer"],
    }
    with keyed.client() as c:
        c.headers.update(headers)
        scored = c.post(f"/v1/score?nhs_number={MARKERS['nhs']}&dob={MARKERS['dob']}", json=row)
        health = c.get(f"/health?nhs_number={MARKERS['nhs']}")
        models = c.get(f"/v1/models?api_key={MARKERS['query_key']}")
        plain = c.post("/v1/score", json=row)
    assert (scored.status_code, health.status_code, models.status_code) == (422, 200, 422)
    assert plain.status_code == 200
    time.sleep(0.5)  # let the server's log reach the file
    log = keyed.log()
    for name, value in [*MARKERS.items(), ("key header", KEY), ("spell", row["spell_id"])]:
        assert value not in log, f"{name} reached the server log"
    access = [line for line in log.splitlines() if '" 422' in line or '" 200' in line]
    assert any('"POST /v1/score HTTP/1.1" 422' in line for line in access), access
    assert any('"GET /v1/models HTTP/1.1" 422' in line for line in access), access
    assert any('"GET /health HTTP/1.1" 200' in line for line in access), access
    assert not [line for line in access if "?" in line or "127.0.0.1" in line], access


UNKNOWN_QUERIES = {
    # name: (method, path with query, loc expected or None when the name is not shown)
    "score": ("POST", f"/v1/score?nhs_number={MARKERS['nhs']}", ["query", "nhs_number"]),
    "batch": ("POST", f"/v1/score/batch?dob={MARKERS['dob']}", ["query", "dob"]),
    "models": ("GET", f"/v1/models?api_key={MARKERS['query_key']}", ["query", "api_key"]),
    "risk list": ("POST", f"/v1/risk-list?format=csv&ward={MARKERS['nhs']}", ["query", "ward"]),
    "name like data": ("POST", f"/v1/score?{MARKERS['nhs']}=1", ["query"]),
}


@pytest.mark.parametrize("case", list(UNKNOWN_QUERIES))
def test_unknown_query_parameters_are_422_without_the_value(
    case: str, keyed: Server, trained_registry: TrainedRegistry
) -> None:
    method, url, loc = UNKNOWN_QUERIES[case]
    rows = json_rows(trained_registry.admissions.head(2))
    body: Any = {"/v1/score": rows[0], "/v1/score/batch": rows}.get(url.split("?")[0])
    if url.startswith("/v1/risk-list"):
        body = {"admissions": rows}
    with keyed.client() as c:
        r = c.request(method, url, json=body)
    assert r.status_code == 422, r.text
    assert loc in [e["loc"] for e in r.json()["detail"]], r.text
    assert all(value not in r.text for value in MARKERS.values()), r.text
    with keyed.client(key="") as c:  # without the key it is still a 401 first
        assert c.request(method, url, json=body).status_code == 401


def test_the_query_parameters_a_route_takes_still_work(
    keyed: Server, trained_registry: TrainedRegistry
) -> None:
    rows = json_rows(trained_registry.admissions.head(2))
    with keyed.client() as c:
        r = c.post("/v1/risk-list?format=csv", json={"admissions": rows})
        schema = c.get("/openapi.json").json()
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "422" in schema["paths"]["/v1/models"]["get"]["responses"]


def _record(args: Any) -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access", logging.INFO, "h11", 1, "%s - %s %s %s %d", args, None
    )


def test_access_log_filter_rewrites_uvicorn_records_and_drops_other_shapes() -> None:
    access = AccessLogFilter()
    record = _record(("203.0.113.7:5", "POST", "/v1/score?nhs_number=943", "1.1", 422))
    assert access.filter(record)
    assert record.args == ("-", "POST", "/v1/score", "1.1", 422)
    assert not access.filter(_record(("POST", "/v1/score?nhs_number=943", 422)))


# --- item 10: a registry deleted or replaced under the service ------------------------------


def _copy_db(source: Path, target: Path) -> None:
    """Put a copy of a registry database at `target` in one step (a new file, a new inode)."""
    staging = target.with_name(target.name + ".new")
    shutil.copyfile(source, staging)
    os.replace(staging, target)


def _holder(path: Path) -> ModelHolder:
    settings = Settings(los_data_dir=path.parent, mlflow_tracking_uri=f"sqlite:///{path}")
    return ModelHolder(settings, ServiceMetrics())


def _runs(holder: ModelHolder) -> dict[str, tuple[str, str | None]]:
    assert holder.current is not None
    return holder.current.runs


def test_deleted_registry_is_not_ready_and_comes_back(
    trained_registry: TrainedRegistry, tmp_path: Path
) -> None:
    db = tmp_path / "registry" / "mlflow.db"
    db.parent.mkdir()
    _copy_db(trained_registry.data_dir / "mlflow.db", db)
    holder = _holder(db)
    assert holder.poll() is True and holder.ready
    served = _runs(holder)
    db.unlink()
    assert holder.poll() is False
    assert not holder.ready and holder.current is None
    reason = holder.not_ready_reason
    assert reason is not None and "registry database not found" in reason and str(db) in reason
    assert holder.metrics.ready._value.get() == 0
    assert holder.poll() is False and not db.exists()  # never recreated by polling
    _copy_db(trained_registry.data_dir / "mlflow.db", db)
    assert holder.poll() is True and holder.ready and _runs(holder) == served


@pytest.mark.parametrize("how", ["renamed over", "overwritten in place"])
def test_replaced_registry_is_followed(
    how: str, trained_registry: TrainedRegistry, extras_registry: ExtrasRegistry, tmp_path: Path
) -> None:
    db = tmp_path / "mlflow.db"
    _copy_db(trained_registry.data_dir / "mlflow.db", db)
    holder = _holder(db)
    assert holder.poll() is True
    assert _runs(holder) != extras_registry.champions
    assert not holder.current.scorer.extra_inputs  # type: ignore[union-attr]
    inode = db.stat().st_ino
    replacement = extras_registry.data_dir / "mlflow.db"
    if how == "renamed over":
        _copy_db(replacement, db)
    else:
        shutil.copyfile(replacement, db)
        assert db.stat().st_ino == inode  # same file: only the champions' run ids tell
    assert holder.poll() is True and holder.ready, holder.not_ready_reason
    assert _runs(holder) == extras_registry.champions
    names = [e.name for e in holder.current.scorer.extra_inputs]  # type: ignore[union-attr]
    assert EXTRA_NUMBER in names


def test_artifact_store_removed_is_not_ready_and_comes_back(
    extras_registry: ExtrasRegistry, tmp_path: Path
) -> None:
    db = tmp_path / "mlflow.db"
    _copy_db(extras_registry.data_dir / "mlflow.db", db)  # artifacts stay in the fixture's store
    holder = _holder(db)
    assert holder.poll() is True and holder.ready
    store = extras_registry.data_dir / "mlartifacts"
    aside = extras_registry.data_dir / "mlartifacts-aside"
    store.rename(aside)
    try:
        assert holder.poll() is False and not holder.ready
        reason = holder.not_ready_reason or ""
        assert "files are gone from the artifact store" in reason and "\n" not in reason, reason
    finally:
        aside.rename(store)
    assert holder.poll() is True and holder.ready
    assert _runs(holder) == extras_registry.champions


def test_ready_follows_a_registry_deleted_then_replaced(
    trained_registry: TrainedRegistry, extras_registry: ExtrasRegistry, tmp_path: Path
) -> None:
    db = tmp_path / "registry" / "mlflow.db"
    db.parent.mkdir()
    _copy_db(trained_registry.data_dir / "mlflow.db", db)
    env = server_env(trained_registry.env, poll_seconds=0.3, audit_url=f"sqlite:///{tmp_path}/a.db")
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{db}"
    server = start_server(env, tmp_path / "server.log")
    row = json_rows(trained_registry.admissions.head(1))[0]
    try:
        server.wait_ready()
        with server.client() as c:
            assert c.post("/v1/score", json=row).status_code == 200
            db.unlink()
            gone = _wait(c, lambda body: not body["ready"])
            assert "registry database not found" in gone["reason"], gone
            assert gone["models"] == {}
            assert c.post("/v1/score", json=row).status_code == 503
            _copy_db(extras_registry.data_dir / "mlflow.db", db)
            back = _wait(c, lambda body: body["ready"])
            wanted = {name: v for name, (v, _) in extras_registry.champions.items()}
            assert back["models"] == wanted
            refused = c.post("/v1/score", json=row)  # the new champions need news2_score
            assert refused.status_code == 422
            assert ["body", EXTRA_NUMBER] in [e["loc"] for e in refused.json()["detail"]]
    finally:
        server.stop()
    assert "Traceback" not in server.log()


def _wait(client: httpx.Client, done: Any, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get("/ready").json()
        if done(body):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"/ready never changed: {body}")
        time.sleep(0.2)
