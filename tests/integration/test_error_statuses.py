"""Product errors over real HTTP: the service answers the status each error class states.

The app is the real one (`serving.app.create_app`: its handlers, middleware and lifespan) with
one extra route that raises a given product error, served by uvicorn on 127.0.0.1. The registry
errors were once missing from the service's status table and would have answered 400.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from los.config import Settings
from los.errors import (
    DecisionError,
    LosError,
    ModelLoadError,
    PromotionRefusedError,
    RegistryUnavailableError,
)
from serving.app import create_app
from tests.integration.test_service_server import free_port

RAISED: dict[str, LosError] = {
    "registry": RegistryUnavailableError("registry database not found: /nowhere/mlflow.db"),
    "load": ModelLoadError("model los-nctr version 3 cannot be loaded"),
    "promotion": PromotionRefusedError("champion not moved: version 3 is incomplete"),
    "decision": DecisionError("--by is blank: a decision needs a person and a reason"),
}


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir: Path = tmp_path_factory.mktemp("errors")
    settings = Settings(los_data_dir=data_dir, los_allow_no_keys=True, los_poll_seconds=60)
    app = create_app(settings)

    @app.get("/probe/{name}")
    def probe(name: str) -> None:
        raise RAISED[name]

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(15)


def test_a_registry_unavailable_error_answers_503_with_retry_after(url: str) -> None:
    r = httpx.get(f"{url}/probe/registry", timeout=10)
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == "5"
    assert r.json() == {"detail": str(RAISED["registry"])}


@pytest.mark.parametrize("name", sorted(RAISED))
def test_each_error_answers_the_status_its_class_states(url: str, name: str) -> None:
    r = httpx.get(f"{url}/probe/{name}", timeout=10)
    assert r.status_code == type(RAISED[name]).http_status != 400, r.text
    assert r.json() == {"detail": str(RAISED[name])}
