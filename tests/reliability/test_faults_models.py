"""A champion that cannot be used: someone moves `champion` by hand to a version whose files are
broken or incompatible. The running service keeps serving the version it had, says so in
`/ready` (`load_errors`) and in its log (no patient data), never swaps to the broken version, and
follows `champion` again as soon as it points at a usable version.

(`los train` refusing to promote such a version is in test_faults_training.py.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from models import registry
from models.bundle import BOOSTER_FILE, BUNDLE_FILE, ModelBundle
from tests.conftest import TrainedRegistry
from tests.integration.test_service_server import json_rows, server_env, start_server
from tests.reliability.fault_helpers import copy_registry, register_files, wait_for

NAME = "los-long-stay"


def _garbage_booster(d: Path) -> None:
    (d / BOOSTER_FILE).write_text("tree\nversion=v4\nthis is not a model\n")


def _truncated_booster(d: Path) -> None:
    text = (d / BOOSTER_FILE).read_text()
    (d / BOOSTER_FILE).write_text(text[: len(text) // 3])


def _renamed_feature(d: Path) -> None:  # feature code of another version of the product
    state = json.loads((d / BUNDLE_FILE).read_text())
    state["encoder"]["numeric"][0] = "feature_from_another_version"
    (d / BUNDLE_FILE).write_text(json.dumps(state))


def _unchanged(d: Path) -> None:
    pass


def _checksums(d: Path) -> str:
    return json.dumps(
        {f: hashlib.sha256((d / f).read_bytes()).hexdigest() for f in (BOOSTER_FILE, BUNDLE_FILE)}
    )


# (files change, version tags, text the reported error must contain)
BROKEN: dict[str, tuple[Callable[[Path], None], dict[str, str], str]] = {
    "garbage booster": (_garbage_booster, {}, "booster.txt is not a valid model"),
    # LightGBM aborts the process on this one: only the throwaway parser process may crash
    "truncated booster": (_truncated_booster, {}, "booster.txt is not a valid model"),
    "files changed since registration": (
        _truncated_booster,
        {registry.STATE_TAG: registry.COMPLETE, registry.CHECKSUM_TAG: "from the good files"},
        "booster.txt changed since registration",
    ),
    "feature list of another version": (_renamed_feature, {}, "feature list does not match"),
    "unknown bundle format": (
        _unchanged,
        {registry.STATE_TAG: registry.COMPLETE, registry.FORMAT_TAG: "99"},
        "bundle format 99",
    ),
    "incomplete version": (_unchanged, {registry.STATE_TAG: registry.INCOMPLETE}, "incomplete"),
}


@pytest.mark.slow
def test_broken_champion_is_not_served_and_is_reported(
    trained_registry: TrainedRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = copy_registry(trained_registry, tmp_path / "registry")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # restored after the test
    registry.connect(uri)
    good, served = registry.load_bundle(NAME, registry.CHAMPION)
    env = server_env(trained_registry.env, poll_seconds=0.3, audit_url=f"sqlite:///{tmp_path}/a.db")
    env["MLFLOW_TRACKING_URI"] = uri
    row = json_rows(trained_registry.admissions.head(1))[0]
    server = start_server(env, tmp_path / "server.log")
    try:
        broken: dict[str, str] = {}  # registered while the server starts
        for case, (damage, tags, _) in BROKEN.items():
            files = good.save(tmp_path / case.replace(" ", "-") / "bundle")
            if registry.CHECKSUM_TAG in tags:
                tags = {**tags, registry.CHECKSUM_TAG: _checksums(files)}
            damage(files)
            broken[case] = register_files(NAME, files, tags)
        fixed = register_files(NAME, good.save(tmp_path / "good" / "bundle"))
        server.wait_ready()
        with server.client() as c:
            before = c.get("/ready").json()["models"]
            assert before[NAME] == served.version
            for case, (_, _, expected) in BROKEN.items():
                version = broken[case]
                registry.connected().client.set_registered_model_alias(NAME, "champion", version)

                def reported(version: str = version) -> dict | None:
                    body = c.get("/ready").json()
                    failure = body["load_errors"].get(NAME)
                    return body if failure and failure["version"] == version else None

                ready = wait_for(reported, 30, f"the service to report '{case}'")
                error = ready["load_errors"][NAME]["error"]
                assert expected in error and f"version {version}" in error, (case, error)
                assert "Traceback" not in error and "\n" not in error
                assert ready["ready"] is True and ready["models"] == before, (case, ready)
                scored = c.post("/v1/score", json=row)
                assert scored.status_code == 200, (case, scored.text)
                assert scored.json()["scores"]["long_stay"]["model"]["version"] == served.version
                listed = c.get("/v1/models").json()
                models = {m["name"]: m["version"] for m in listed["models"]}
                assert models == before
                assert listed["load_errors"][NAME]["version"] == version
            # champion moved to a usable version again: followed at once, errors cleared
            registry.promote(NAME, fixed)
            ready = wait_for(
                lambda: (b := c.get("/ready").json())["models"][NAME] == fixed and b,
                30,
                "the swap to the fixed version",
            )
            assert ready["load_errors"] == {} and ready["ready"] is True
            scored = c.post("/v1/score", json=row).json()
            assert scored["scores"]["long_stay"]["model"]["version"] == fixed
            metrics = c.get("/metrics").text
    finally:
        server.stop()
    assert "los_model_reloads_total 2.0" in metrics  # the start and the fixed version only
    log = server.log()
    assert log.count("champion not loaded (still serving version") >= len(BROKEN)
    assert "Traceback" not in log
    for value in (row["spell_id"], row["patient_id"]):
        assert value not in log


def test_loader_refuses_what_the_service_refuses(
    trained_registry: TrainedRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`load_bundle` (used by `los score`, `los risk-list` and the service) and `promote`."""
    uri = copy_registry(trained_registry, tmp_path / "registry")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    registry.connect(uri)
    good, served = registry.load_bundle(NAME, registry.CHAMPION)
    files = good.save(tmp_path / "renamed" / "bundle")
    _renamed_feature(files)
    with pytest.raises(registry.ModelLoadError, match="feature list does not match"):
        registry.check_bundle(ModelBundle.load(files))
    tags = {registry.STATE_TAG: registry.INCOMPLETE}
    incomplete = register_files(NAME, good.save(tmp_path / "ok" / "bundle"), tags)
    with pytest.raises(registry.ModelLoadError, match="incomplete"):
        registry.load_bundle(NAME, incomplete)
    with pytest.raises(registry.PromotionRefusedError, match="incomplete"):
        registry.promote(NAME, incomplete)
    assert registry.resolve(NAME, registry.CHAMPION).version == served.version


def test_broken_champion_at_start_keeps_the_service_not_ready(
    trained_registry: TrainedRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With nothing loaded yet, one unusable champion: not ready (never a partial set), with the
    reason; ready once `champion` points at a usable version again."""
    from los.config import Settings
    from serving.holder import ModelHolder
    from serving.metrics import ServiceMetrics

    uri = copy_registry(trained_registry, tmp_path / "registry")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    registry.connect(uri)
    good, served = registry.load_bundle(NAME, registry.CHAMPION)
    files = good.save(tmp_path / "garbage" / "bundle")
    _garbage_booster(files)
    broken = register_files(NAME, files)
    client = registry.connected().client
    client.set_registered_model_alias(NAME, "champion", broken)
    settings = Settings(los_data_dir=tmp_path, mlflow_tracking_uri=uri)
    holder = ModelHolder(settings, ServiceMetrics())
    assert holder.poll() is False and not holder.ready and holder.current is None
    reason = holder.not_ready_reason or ""
    assert "not serving an incomplete set of models" in reason
    assert f"{NAME} version {broken} cannot be loaded" in reason
    assert set(holder.load_errors) == {NAME}
    client.set_registered_model_alias(NAME, "champion", served.version)
    assert holder.poll() is True and holder.ready and holder.load_errors == {}
    assert holder.current is not None and holder.current.versions[NAME] == served.version
