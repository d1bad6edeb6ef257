"""A real registry where the NCTR version is held for review, and private copies of it.

`train_held` trains `long_stay` and `nctr` on 10,000 generated spells whose NCTR outcome is
shuffled across spells for training (ready dates and pathways permuted), so nothing predicts
it: the NCTR version fails the `min_auroc` gate (test AUROC about 0.5 against a limit of 0.6)
and is held for review, while `long_stay` passes and becomes `champion`. Fairness gates are
off so that no chance finding holds `long_stay`. No `long_stay_21` is trained (the contract's
third model is then "not trained").

`private_copy` copies the whole data folder (database and artifacts) and points the copy's
stored artifact locations at the new folder, so a test can promote and reject without
touching what other tests see.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np

from los.config import Settings, TrainingConfig
from tests.conftest import TrainedRegistry, fast_config

HELD_ROWS = 10_000


def held_config() -> TrainingConfig:
    """The training config: two flag targets (no stay distribution: these tests are about the
    flags' governance), fairness gates off, the default `min_auroc` 0.6."""
    return fast_config(
        targets={"extra_long_stay_days": [], "stay_distribution": False},
        gates={"min_group_size": 50, "fairness_attributes": []},
    )


def train_held(data_dir: Path) -> TrainedRegistry:
    """Train and register into `data_dir` (see the module doc)."""
    from features.generate import generate_admissions
    from features.load import write_frame
    from training.register import train_and_register

    generated = generate_admissions(HELD_ROWS, seed=3)
    shuffled = generated.admissions.copy()
    order = np.random.default_rng(0).permutation(len(shuffled))
    delay = (shuffled["discharge_datetime"] - shuffled["discharge_ready_datetime"]).to_numpy()
    shuffled["discharge_ready_datetime"] = shuffled["discharge_datetime"] - delay[order]
    shuffled["discharge_pathway"] = shuffled["discharge_pathway"].to_numpy()[order]
    settings = Settings(los_data_dir=data_dir, mlflow_tracking_uri=None)
    config = held_config()
    summary = train_and_register(shuffled, config, settings, data_dir / "reports" / "latest")
    # the shuffled ready dates can fall outside the stay, which the loader refuses: the file
    # and `admissions` (to score, or to build lists from) are the valid generated spells
    admissions = generated.admissions
    data_path = write_frame(admissions, data_dir / "admissions.parquet")
    return TrainedRegistry(settings, data_dir, data_path, admissions, generated.truth, summary)


def private_copy(source: TrainedRegistry, data_dir: Path) -> TrainedRegistry:
    """A copy of `source`'s data folder at `data_dir` (which must not exist) that refers only to
    itself: every stored location under the old folder is rewritten to the new one."""
    shutil.copytree(source.data_dir, data_dir)
    old, new = str(source.data_dir.resolve()), str(data_dir.resolve())
    with sqlite3.connect(data_dir / "mlflow.db") as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for column in db.execute(f"PRAGMA table_info('{table}')").fetchall():
                name, kind = column[1], str(column[2]).upper()
                if "CHAR" in kind or "TEXT" in kind:
                    db.execute(
                        f'UPDATE "{table}" SET "{name}" = REPLACE("{name}", ?, ?) '
                        f'WHERE "{name}" LIKE ?',
                        (old, new, f"%{old}%"),
                    )
    settings = Settings(los_data_dir=data_dir, mlflow_tracking_uri=None)
    data_path = data_dir / source.data_path.name
    return TrainedRegistry(
        settings, data_dir, data_path, source.admissions, source.truth, source.summary
    )


def forget_artifact_stores() -> None:
    """MLflow caches each run's artifact store by run id for the life of the process, and
    private copies share their run ids: a test that acts on another copy must forget them."""
    from mlflow.tracking._tracking_service import utils

    utils._artifact_repos_cache.clear()


def run_artifact(registry: TrainedRegistry, run_id: str, path: str) -> str:
    """An artifact of a training run, read from `registry`'s own artifact folder."""
    return (registry.data_dir / "mlartifacts" / run_id / "artifacts" / path).read_text("utf-8")
