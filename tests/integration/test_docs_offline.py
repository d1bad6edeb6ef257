"""`/docs` (Swagger UI) and `/redoc` (ReDoc) render in headless Chromium with the network blocked.

A hospital network often cannot reach a CDN, so the service serves the docs' JavaScript and CSS
itself (fastapi-offline). The browser here can reach 127.0.0.1 only: every other host fails to
resolve and any other request goes to a dead proxy. The pages must still show every operation
(DOM text after the scripts ran, not just an HTTP 200), and Chromium's network log must show that
the page asked for nothing outside the service. The key rules are as before: the docs pages and
their files need no key, the API still does.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.chromium import chromium_or_skip, headless_command
from tests.integration.test_service_server import Server, server_env, start_server

KEY = "docs-offline-test-key-0123456789"
# ReDoc's footer ("API docs by Redocly") asks for its logo from Redocly's CDN, hard-coded in
# redoc.standalone.js with no option to turn it off; offline the image fails and ReDoc hides it.
# It is the one request allowed to leave the service, and only from /redoc.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`los serve` on 127.0.0.1 with a key and an empty registry (the docs need no model)."""
    data_dir = tmp_path_factory.mktemp("docs-offline")
    base = {
        **os.environ,
        "LOS_DATA_DIR": str(data_dir),
        "MLFLOW_TRACKING_URI": f"sqlite:///{data_dir / 'mlflow.db'}",
    }
    running = start_server(server_env(base, api_keys=KEY), data_dir / "server.log", KEY)
    try:
        running.wait_up()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def openapi(server: Server) -> dict:
    with server.client() as c:
        return dict(c.get("/openapi.json").json())


class _Dom(HTMLParser):
    """Visible text and the Swagger UI operation paths of a serialised DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.paths: set[str] = set()
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "noscript"):
            self._hidden += 1
        found = dict(attrs)
        if "opblock-summary-path" in (found.get("class") or "").split():
            self.paths.add(found.get("data-path") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "noscript"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.text.append(data.strip())


def render_offline(url: str, work: Path) -> tuple[_Dom, list[str]]:
    """The page's DOM after its scripts ran, and every URL the page itself requested.

    Only 127.0.0.1 is reachable: other host names resolve to nothing and other requests are
    sent to a closed proxy port. `--virtual-time-budget` lets the page's scripts fetch
    `/openapi.json` and draw before the DOM is dumped. The network log names each request's
    initiator: the page's own requests are those initiated by the service's origin (Chromium's
    background requests, which the blocking also stops, are not the page's).
    """
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    netlog = work / "netlog.json"
    command = headless_command(
        chromium_or_skip(),
        work / "profile",
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=127.0.0.1",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--log-net-log={netlog}",
        "--virtual-time-budget=20000",
        "--dump-dom",
        url,
    )
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    dom = _Dom()
    dom.feed(result.stdout)
    log = json.loads(netlog.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    requested = [
        event["params"]["url"]
        for event in log["events"]
        if event["type"] == start and event.get("params", {}).get("initiator") == origin
    ]
    return dom, requested


def _operations(openapi: dict) -> list[tuple[str, str]]:
    """(path, summary) of every documented operation."""
    return [
        (path, operation["summary"])
        for path, methods in openapi["paths"].items()
        for operation in methods.values()
    ]


def _off_host(requested: list[str], server: Server, allowed: tuple[str, ...] = ()) -> list[str]:
    return [u for u in requested if not u.startswith(f"{server.url}/") and u not in allowed]


@pytest.mark.browser
def test_swagger_ui_renders_every_operation_offline(
    server: Server, openapi: dict, tmp_path: Path
) -> None:
    dom, requested = render_offline(f"{server.url}/docs", tmp_path)
    assert dom.paths == set(openapi["paths"])  # one drawn operation block per documented path
    assert {"/v1/score", "/v1/score/batch", "/v1/risk-list", "/v1/models"} <= dom.paths
    text = " ".join(dom.text)
    for _, summary in _operations(openapi):
        assert summary in text
    assert f"{server.url}/openapi.json" in requested
    assert any(u.endswith("/swagger-ui-bundle.js") for u in requested)
    assert _off_host(requested, server) == []


@pytest.mark.browser
def test_redoc_renders_every_operation_offline(
    server: Server, openapi: dict, tmp_path: Path
) -> None:
    dom, requested = render_offline(f"{server.url}/redoc", tmp_path)
    for path, summary in _operations(openapi):  # text ReDoc drew (its <noscript> is not counted)
        assert summary in dom.text, summary
        assert path in dom.text, path
    assert any(u.endswith("/redoc.standalone.js") for u in requested)
    assert _off_host(requested, server, allowed=(REDOC_LOGO,)) == []


def test_docs_pages_reference_only_the_service(server: Server) -> None:
    """The served HTML names no other host, and its files come from the service without a key."""
    with server.client(key="") as c:
        for page in ("/docs", "/redoc"):
            response = c.get(page)
            assert response.status_code == 200
            assert "//" not in response.text.replace("http://www.w3.org", ""), page
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
            response = c.get(f"/static-offline-docs/{asset}")
            assert response.status_code == 200 and len(response.content) > 100_000, asset
        assert c.get("/openapi.json").status_code == 200
        assert c.get("/v1/models").status_code == 401  # the API itself still needs the key
    with server.client() as c:
        assert c.get("/v1/models").status_code != 401
    assert httpx.get(f"{server.url}/docs", headers={"X-API-Key": "wrong"}).status_code == 200
