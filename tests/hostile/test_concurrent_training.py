"""Two `los train` runs at once on one registry: both finish, every alias points at a whole version.

A trust's scheduler can start a retraining while a data scientist runs one by hand. Both real
`los train` processes write to a copy of the session registry (SQLite) at the same time. The
promise: neither corrupts the registry; each exits 0 or fails in one line (no traceback); every
registered version is complete or marked incomplete, the two runs never share a version number,
and `champion` ends on a complete version that loads and scores.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from models import registry
from tests.conftest import TrainedRegistry
from tests.integration.test_service_server import LOS
from tests.reliability.fault_helpers import versions

pytestmark = pytest.mark.slow

NAME = "los-long-stay"
CONFIG = """
targets: {extra_long_stay_days: [], nctr: false}
lightgbm: {n_estimators: 40, learning_rate: 0.2, min_child_samples: 30, early_stopping_rounds: 10,
           num_threads: 1, tune: false}
evaluation: {n_bootstrap: 5, shap_sample: 100}
gates: {auroc_margin: 1.0, min_auroc: 0.5, max_calibration_error: 0.5, min_group_size: 100000}
"""


def test_two_trainings_at_once_leave_a_consistent_registry(
    trained_registry: TrainedRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from features.generate import generate_admissions
    from features.load import write_frame

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copy2(trained_registry.data_dir / "mlflow.db", data_dir / "mlflow.db")
    uri = f"sqlite:///{data_dir / 'mlflow.db'}"
    data = write_frame(generate_admissions(4000, seed=31).admissions, tmp_path / "a.parquet")
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "LOS_DATA_DIR": str(data_dir)}

    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    registry.connect(uri)
    before = set(versions(NAME))

    runs = []
    for i in range(2):
        args = [LOS, "train", "--data", str(data), "--config", str(config)]
        args += ["--reports", str(tmp_path / f"reports-{i}")]
        runs.append(
            subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        )
    outputs = []
    for run in runs:
        out, _ = run.communicate(timeout=600)
        outputs.append((run.returncode, out.decode(errors="replace")))

    for code, out in outputs:
        assert "Traceback" not in out, out
        assert code == 0 or len([x for x in out.splitlines() if x.startswith("error")]) == 1, out
    assert any(code == 0 for code, _ in outputs), outputs

    now = versions(NAME)
    new = set(now) - before
    assert 1 <= len(new) <= 2
    assert all(now[v]["state"] in (registry.COMPLETE, registry.INCOMPLETE) for v in new), now
    champion = registry.resolve(NAME, registry.CHAMPION).version
    assert now[str(champion)]["state"] == registry.COMPLETE
    for code, out in outputs:  # each run names its own version; no version claimed twice
        if code == 0:
            assert f"{NAME} version " in out
    named = [out.split(f"{NAME} version ", 1)[1].split(":", 1)[0] for c, out in outputs if c == 0]
    assert len(named) == len(set(named))

    bundle, _ = registry.load_bundle(NAME, registry.CHAMPION)
    rows = trained_registry.admissions.head(20)
    p = bundle.probability(bundle.encode(rows))  # type: ignore[arg-type]
    assert np.all((p >= 0) & (p <= 1)) and len(p) == 20
