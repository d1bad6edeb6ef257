"""`los train` killed midway, and a version that cannot be loaded back from the registry.

Each run is a real `los train` process (forked from `fault_train_runner.py`, which pays the
imports once) on a small generated dataset, against a copy of the session registry that already
has champions. Faults are installed from the test side (`fault_hooks.install`, which wraps
stages of `training.register` in the forked child): `kill_at=<stage>` (SIGKILL at that stage)
and `corrupt=booster|bundle`.

Invariant: `champion` and `challenger` only ever point at complete versions. A killed run leaves
the aliases where they were and at most unaliased versions tagged `los_state=incomplete`, which
are never loaded or promoted; the next run works normally.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from models import registry
from tests.conftest import TrainedRegistry
from tests.reliability.fault_helpers import TrainRunner, copy_registry, versions

NAME = "los-long-stay"
NAMES = ("los-long-stay", "los-long-stay-21", "los-nctr")
# one target, few trees, one thread (OpenMP threads spin badly on a busy 2-core machine: 40x
# slower); gates that a sound model passes (groups too small to gate on), so the only gate that
# can fail is the registry round trip
CONFIG = """
targets: {extra_long_stay_days: [], nctr: false}
lightgbm: {n_estimators: 40, learning_rate: 0.2, min_child_samples: 30, early_stopping_rounds: 10,
           num_threads: 1}
evaluation: {n_bootstrap: 5, shap_sample: 100}
gates: {auroc_margin: 1.0, min_auroc: 0.5, max_calibration_error: 0.5, min_group_size: 100000}
"""


@pytest.fixture(scope="module")
def small_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """4,000 generated spells and the config above."""
    from features.generate import generate_admissions
    from features.load import write_frame

    d = tmp_path_factory.mktemp("fault-train")
    data = write_frame(generate_admissions(4000, seed=23).admissions, d / "admissions.parquet")
    config = d / "config.yaml"
    config.write_text(CONFIG)
    return data, config


@pytest.fixture(scope="module")
def runner() -> Iterator[TrainRunner]:
    """One fork server for the module's `los train` runs."""
    started = TrainRunner(Path(__file__).resolve().parents[2])
    yield started
    started.close()


def _aliases() -> dict[str, dict[str, str]]:
    """name -> alias -> version, for the product's registered models."""
    out: dict[str, dict[str, str]] = {}
    for name in NAMES:
        out[name] = {}
        for alias in (registry.CHAMPION, registry.CHALLENGER):
            with contextlib.suppress(registry.ModelNotFoundError):
                out[name][alias] = registry.resolve(name, alias).version
    return out


def _scores(alias_or_version: str, rows: object) -> np.ndarray:
    bundle, _ = registry.load_bundle(NAME, alias_or_version)
    p = bundle.probability(bundle.encode(rows))  # type: ignore[arg-type]
    assert np.all((p >= 0) & (p <= 1)) and len(p) == 20
    return np.asarray(p)


@pytest.fixture()
def registry_copy(
    trained_registry: TrainedRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """A private registry with champions; the environment for `los train` against it."""
    uri = copy_registry(trained_registry, tmp_path / "data")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # connect() sets it; restored afterwards
    registry.connect(uri)
    return {"MLFLOW_TRACKING_URI": uri, "LOS_DATA_DIR": str(tmp_path / "data")}


@pytest.mark.slow
def test_training_killed_midway_leaves_the_registry_consistent(
    runner: TrainRunner,
    small_data: tuple[Path, Path],
    registry_copy: dict[str, str],
    trained_registry: TrainedRegistry,
    tmp_path: Path,
) -> None:
    data, config = small_data
    rows = trained_registry.admissions.head(20)
    aliases = _aliases()
    old = set(versions(NAME))
    champion_scores = _scores(registry.CHAMPION, rows)
    incomplete: list[str] = []

    def train(stage: str | None) -> tuple[int, str]:
        faults = {"kill_at": stage} if stage else {}
        args = ["train", "--data", str(data), "--config", str(config)]
        args += ["--reports", str(tmp_path / f"reports-{stage}")]
        return runner.train(args, registry_copy, tmp_path / f"train-{stage}.log", faults=faults)

    for stage, registers in (("after_fit", False), ("after_register", True), ("mid_reports", True)):
        code, out = train(stage)
        assert code == -9, out  # SIGKILL, from the hook
        assert f"fault injection: killing the training run at {stage}" in out
        assert _aliases() == aliases, stage  # champion and challenger did not move
        now = versions(NAME)
        new = sorted(set(now) - old - set(incomplete), key=int)
        assert len(new) == (1 if registers else 0), (stage, now)
        for version in new:  # registered, but marked and invisible to loaders and promotion
            assert now[version] == {"state": registry.INCOMPLETE, "aliases": []}
            with pytest.raises(registry.ModelLoadError, match="incomplete"):
                registry.load_bundle(NAME, version)
            with pytest.raises(registry.PromotionRefusedError, match="incomplete"):
                registry.promote(NAME, version)
        incomplete += new
        # the old champion still loads and scores exactly as before
        np.testing.assert_array_equal(_scores(registry.CHAMPION, rows), champion_scores)
    # killed "mid-reports": the report files were written (with the round-trip gate), not logged
    assert "registry_roundtrip" in (tmp_path / "reports-mid_reports" / "metrics.json").read_text()

    code, out = train(None)  # the next normal run
    assert code == 0, out
    now = versions(NAME)
    (latest,) = set(now) - old - set(incomplete)
    assert now[latest] == {"state": registry.COMPLETE, "aliases": ["challenger", "champion"]}
    assert f"{NAME} version {latest}:" in out and "promoted to champion" in out
    assert all(now[v] == {"state": registry.INCOMPLETE, "aliases": []} for v in incomplete)
    assert _scores(registry.CHAMPION, rows).shape == (20,)
    others = {n: a for n, a in _aliases().items() if n != NAME}
    assert others == {n: a for n, a in aliases.items() if n != NAME}


@pytest.mark.slow
def test_version_that_cannot_be_loaded_back_is_not_promoted(
    runner: TrainRunner,
    small_data: tuple[Path, Path],
    registry_copy: dict[str, str],
    tmp_path: Path,
) -> None:
    data, config = small_data
    aliases = _aliases()
    old = set(versions(NAME))
    # garbage written over booster.txt of the version just registered (the service's tests
    # cover more kinds of broken files: test_faults_models.py)
    args = ["train", "--data", str(data), "--config", str(config), "--show-gates"]
    args += ["--reports", str(tmp_path / "r")]
    code, out = runner.train(args, registry_copy, tmp_path / "t.log", faults={"corrupt": "booster"})
    assert code == 0, out
    now = versions(NAME)
    (new,) = set(now) - old
    assert f"{NAME} version {new}:" in out and "NOT promoted (gates failed)" in out
    assert "[FAIL] registry_roundtrip" in out, out
    assert "booster.txt changed since registration" in out, out
    assert out.count("[FAIL]") == 1  # every other gate passed: the round trip alone refused it
    assert _aliases() == aliases  # champion (and challenger) unchanged
    assert now[new] == {"state": registry.REJECTED, "aliases": []}
    with pytest.raises(registry.ModelLoadError, match="rejected at registration"):
        registry.load_bundle(NAME, new)
    with pytest.raises(registry.PromotionRefusedError):
        registry.promote(NAME, new)
