"""End to end: a held NCTR version, the service serving what exists, and people's decisions.

A real registry (tests/held_registry.py: `long_stay` champion, NCTR held by the `min_auroc`
gate), the real `los` command in a subprocess and a real `los serve` on 127.0.0.1 polling the
`champion` alias. The service answers without NCTR and says why; a refused `los promote`
changes nothing; an accepted one records who, when, why and what was accepted on the version,
in the decisions log, the model card and the report, and the service picks NCTR up without a
restart; a rejection takes it away again and only a new decision brings it back.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.conftest import TrainedRegistry
from tests.held_registry import private_copy, run_artifact
from tests.integration.test_service_server import LOS, Server, json_rows, server_env, start_server

WHO = ["--by", "Dr Grace Hopper, deputy medical director", "--reason"]
POLL_SECONDS = 0.3


@pytest.fixture(scope="module")
def copy(
    held_registry: TrainedRegistry, tmp_path_factory: pytest.TempPathFactory
) -> TrainedRegistry:
    return private_copy(held_registry, tmp_path_factory.mktemp("promote") / "registry")


@pytest.fixture(scope="module")
def server(copy: TrainedRegistry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("promote-server")
    env = server_env(
        copy.env, poll_seconds=POLL_SECONDS, audit_url=f"sqlite:///{work / 'audit.db'}"
    )
    running = start_server(env, work / "server.log")
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


def promote(copy: TrainedRegistry, *args: str) -> subprocess.CompletedProcess[str]:
    """`los promote ARGS` in a subprocess, as a person runs it."""
    return subprocess.run(
        [LOS, "promote", *args], capture_output=True, text=True, env=copy.env, timeout=300
    )


def until(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Poll `check` until it returns something true (the service polls the alias)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def version_tags(copy: TrainedRegistry, name: str, version: str) -> dict[str, str]:
    from models import registry

    registry.connect(copy.settings.tracking_uri)
    return dict(registry.connected().client.get_model_version(name, version).tags)


def champion(copy: TrainedRegistry, name: str) -> str | None:
    from models import registry

    registry.connect(copy.settings.tracking_uri)
    try:
        return registry.resolve(name, registry.CHAMPION).version
    except registry.ModelNotFoundError:
        return None


def scored(client: httpx.Client, row: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/score", json=row)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_held_nctr_version_is_not_served_and_every_output_says_so(
    copy: TrainedRegistry, server: Server
) -> None:
    assert champion(copy, "los-long-stay") == "1" and champion(copy, "los-nctr") is None
    tags = version_tags(copy, "los-nctr", "1")
    assert json.loads(tags["gates.status"]) == "held"
    assert json.loads(tags["gates.blocking"]) == ["min_auroc"]
    assert not [k for k in tags if k.startswith("decision.")]
    row = json_rows(copy.admissions.head(1))[0]
    with server.client() as client:
        ready = client.get("/ready")
        assert ready.status_code == 200
        missing = ready.json()["unavailable"]
        assert missing["nctr"].startswith("NCTR model awaiting review: no champion (version 1")
        assert "min_auroc" in missing["nctr"]
        body = scored(client, row)
        assert set(body["scores"]) == {"long_stay"}
        assert body["unavailable"]["nctr"] == missing["nctr"]
        models = client.get("/v1/models").json()
        assert [m["target"] for m in models["models"]] == ["long_stay"]
        assert models["models"][0]["decision"] is None  # promoted by its gates
        assert models["unavailable"]["nctr"]["latest_version"] == "1"
        census = json_rows(copy.admissions[copy.admissions["discharge_datetime"].isna()].head(20))
        listed = client.post("/v1/risk-list", json={"admissions": census})
        assert listed.status_code == 200, listed.text
        assert listed.json()["unavailable"]["nctr"] == missing["nctr"]
        page = client.post("/v1/risk-list?format=html", json={"admissions": census}).text
        assert "Not on this list:</strong> NCTR model awaiting review" in page


def test_promotion_needs_every_finding_accepted_then_the_service_picks_it_up(
    copy: TrainedRegistry, server: Server
) -> None:
    from models.decisions import history

    row = json_rows(copy.admissions.head(1))[0]
    refused = promote(copy, "--model", "los-nctr", "--version", "1", *WHO, "pilot on one ward")
    assert refused.returncode == 1 and refused.stderr.count("error:") == 1, refused.stderr
    assert "not promoted, nothing changed" in refused.stderr and "min_auroc" in refused.stderr
    assert champion(copy, "los-nctr") is None
    assert not [k for k in version_tags(copy, "los-nctr", "1") if k.startswith("decision.")]
    assert history() == []

    done = promote(
        copy, "--model", "los-nctr", "--version", "1", *WHO, "pilot on one ward",
        "--accept-findings",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "champion of los-nctr: version 1 (was none)" in done.stdout
    tags = version_tags(copy, "los-nctr", "1")
    assert tags["decision.kind"] == "promote"
    assert tags["decision.by"] == "Dr Grace Hopper, deputy medical director"
    assert tags["decision.reason"] == "pilot on one ward"
    assert json.loads(tags["decision.accepted"]) == ["min_auroc"]
    at = datetime.fromisoformat(tags["decision.at"])
    assert at.tzinfo is not None and abs((datetime.now(UTC) - at).total_seconds()) < 300
    assert champion(copy, "los-nctr") == "1"

    with server.client() as client:
        body = until(lambda: (b := scored(client, row))["scores"].get("nctr") and b, "NCTR")
        assert body["scores"]["nctr"]["model"] == {
            "name": "los-nctr",
            "version": "1",
            "alias": "champion",
        }
        assert "nctr" not in body["unavailable"]
        assert "nctr" not in client.get("/ready").json()["unavailable"]
        models = {m["target"]: m for m in client.get("/v1/models").json()["models"]}
        decision = models["nctr"]["decision"]
        assert decision["by"] == tags["decision.by"] and decision["kind"] == "promote"
        assert decision["accepted"] == ["min_auroc"] and decision["at"] == tags["decision.at"]

    from models import registry

    run_id = registry.resolve("los-nctr", "1").run_id
    assert run_id is not None
    card = run_artifact(copy, run_id, "reports/model_card.md")
    report = run_artifact(copy, run_id, "reports/report.html")
    for text in (card, report):
        assert "Dr Grace Hopper, deputy medical director" in text and "min_auroc" in text
        assert "pilot on one ward" in text
    local = (copy.data_dir / "reports" / "latest" / "model_card.md").read_text()
    assert "## Decisions" in local and "pilot on one ward" in local
    logged = json.loads(run_artifact(copy, run_id, "reports/decisions.json"))
    assert [d["kind"] for d in logged["decisions"]] == ["promote"]
    assert [d.kind for d in history("los-nctr")] == ["promote"]


def test_a_rejection_withdraws_the_model_and_only_a_new_decision_restores_it(
    copy: TrainedRegistry, server: Server
) -> None:
    from models import registry
    from models.decisions import history

    row = json_rows(copy.admissions.head(1))[0]
    done = promote(
        copy, "--model", "los-nctr", "--version", "1", *WHO, "too many missed patients",
        "--reject",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "champion of los-nctr removed (was version 1)" in done.stdout
    assert champion(copy, "los-nctr") is None
    registry.connect(copy.settings.tracking_uri)
    with pytest.raises(registry.PromotionRefusedError):
        registry.promote("los-nctr", "1")
    with server.client() as client:
        body = until(lambda: (b := scored(client, row))["unavailable"].get("nctr") and b, "gone")
        assert set(body["scores"]) == {"long_stay"}
        assert body["unavailable"]["nctr"].startswith(
            "NCTR model rejected: no champion (version 1 rejected by Dr Grace Hopper"
        )
        gone = client.get("/v1/models").json()["unavailable"]["nctr"]
        assert gone["decision"]["kind"] == "reject"
        assert gone["decision"]["reason"] == "too many missed patients"

    again = promote(
        copy, "--model", "los-nctr", "--version", "1", *WHO, "second review: acceptable",
        "--accept", "min_auroc",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    with server.client() as client:
        until(lambda: "nctr" in scored(client, row)["scores"], "NCTR back")
    kinds = [(d.kind, d.champion_before, d.champion_after) for d in history("los-nctr")]
    assert kinds == [("promote", None, "1"), ("reject", "1", None), ("promote", None, "1")]
    run_id = registry.resolve("los-nctr", "1").run_id
    assert run_id is not None
    card = run_artifact(copy, run_id, "reports/model_card.md")
    assert card.count("## Decisions") == 1 and card.count("by Dr Grace Hopper") == 3
    report = run_artifact(copy, run_id, "reports/report.html")
    assert report.count("<tr data-kind='reject'>") == 1
    assert report.count("<tr data-kind='promote'>") == 2
