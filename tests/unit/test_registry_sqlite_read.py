"""Tests of models.registry.sqlite_read: a reader of a local SQLite registry gets MLflow's answers
without importing MLflow, and only where its answers are MLflow's."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.store.db.utils import _get_latest_schema_revision

from los.errors import ModelLoadError, ModelNotFoundError
from models import registry
from models.bundle import BOOSTER_FILE, ModelBundle
from models.registry.sqlite_read import SCHEMA_REVISION, SqliteRegistryReader, open_reader
from tests.unit.test_registry_client import NAME, _register, tiny  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[2]
OTHER = "los-other"


def test_the_schema_it_reads_is_the_installed_mlflow_schema_head() -> None:
    """An MLflow upgrade that moves the schema fails here: re-check the queries, then the pin."""
    assert _get_latest_schema_revision() == SCHEMA_REVISION


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, tiny: tuple[ModelBundle, pd.DataFrame]) -> str:  # noqa: F811
    """A registry written by MLflow: three versions of one model (champion 1, challenger 2, the
    third deleted), a second model, and a prompt MLflow's searches leave out."""
    bundle, rows = tiny
    d = tmp_path_factory.mktemp("read")
    uri = f"sqlite:///{d / 'mlflow.db'}"
    written = registry.open_registry(uri, d / "art", create=True)
    for _ in range(3):
        _register(written, bundle, rows)
    registry.promote(NAME, "1", registry=written)
    client = written.client
    client.set_model_version_tag(NAME, "2", "note", "it's a 'quoted' value")
    client.update_model_version(NAME, "2", description="a version a person described")
    client.delete_model_version(NAME, "3")  # MLflow keeps its row, marked deleted
    client.set_registered_model_alias(NAME, registry.CHALLENGER, "2")
    client.create_registered_model(OTHER)
    client.create_registered_model("los-a-prompt")
    with sqlite3.connect(d / "mlflow.db") as conn:  # MLflow registers prompts by its own API
        conn.execute(
            "INSERT INTO registered_model_tags (key, value, name, workspace) "
            "VALUES ('mlflow.prompt.is_prompt', 'true', 'los-a-prompt', 'default')"
        )
    return uri


def _as_mlflow(v: object) -> dict[str, object]:
    fields = ("name", "version", "creation_timestamp", "last_updated_timestamp", "description",
              "user_id", "current_stage", "source", "run_id", "status", "status_message",
              "run_link", "tags", "aliases")  # fmt: skip
    return {f: (str(getattr(v, f)) if f == "version" else getattr(v, f)) for f in fields}


def test_a_reader_of_a_sqlite_registry_answers_as_mlflow_does(store: str) -> None:
    reader = registry.open_registry(store)
    assert isinstance(reader.client, SqliteRegistryReader)
    ours, theirs = reader.client, mlflow.MlflowClient(tracking_uri=store, registry_uri=store)

    assert reader.experiment_id == theirs.get_experiment_by_name(registry.EXPERIMENT).experiment_id
    like = f"name LIKE '{NAME[:4]}%'"
    assert [m.name for m in ours.search_registered_models(filter_string=like)] == [
        m.name for m in theirs.search_registered_models(filter_string=like)
    ]
    assert registry.registered_names(registry=reader) == [NAME, OTHER]
    assert ours.search_registered_models(filter_string="name LIKE 'LOS-%'") == []  # case matters
    for version in ("1", "2"):
        assert _as_mlflow(ours.get_model_version(NAME, version)) == _as_mlflow(
            theirs.get_model_version(NAME, version)
        )
        assert ours.get_model_version_download_uri(
            NAME, version
        ) == theirs.get_model_version_download_uri(NAME, version)
    for alias in (registry.CHAMPION, registry.CHALLENGER):
        assert _as_mlflow(ours.get_model_version_by_alias(NAME, alias)) == _as_mlflow(
            theirs.get_model_version_by_alias(NAME, alias)
        )
    found = ours.search_model_versions(f"name = '{NAME}'")
    assert [_as_mlflow(v) | {"aliases": []} for v in found] == [
        _as_mlflow(v) | {"aliases": []} for v in theirs.search_model_versions(f"name = '{NAME}'")
    ]
    assert [v.version for v in found] == ["2", "1"]  # the deleted third is left out
    with sqlite3.connect(Path(registry.sqlite_path(store) or "")) as conn:
        assert conn.execute("SELECT current_stage FROM model_versions WHERE version = 3").fetchall()
    for name, alias in ((NAME, "3"), (NAME, "99"), ("los-none", "1"), (NAME, "nobody")):
        with pytest.raises(ModelNotFoundError):
            registry.resolve(name, alias, registry=reader)
    # MLflow's own exception where a caller asks by MLflow's method names (they catch it)
    for missing in (lambda: ours.get_model_version(NAME, "3"),
                    lambda: ours.get_model_version_by_alias(NAME, "nobody")):  # fmt: skip
        with pytest.raises(MlflowException):
            missing()
    # what the reader does not answer itself, MLflow does
    assert ours.get_registered_model(OTHER).name == OTHER


def test_models_load_through_the_reader_without_importing_mlflow(store: str) -> None:
    code = (
        "import sys; from models import registry; registry.connect(sys.argv[1]); "
        "m = registry.load_models()['long_stay']; "
        "print(m.identity.version, m.identity.alias, m.identity.run_id, 'mlflow' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, store], capture_output=True, text=True, cwd=ROOT, check=True
    )
    version, alias, run_id, imported = done.stdout.split()
    theirs = mlflow.MlflowClient(tracking_uri=store, registry_uri=store)
    assert (version, alias, imported) == ("1", registry.CHAMPION, "False")
    assert run_id == theirs.get_model_version(NAME, "1").run_id


def test_a_tampered_model_is_refused_through_the_reader(
    store: str,
    tmp_path: Path,
    tiny: tuple[ModelBundle, pd.DataFrame],  # noqa: F811
) -> None:
    bundle, rows = tiny
    db = Path(registry.sqlite_path(store) or "")
    copy = tmp_path / "mlflow.db"
    shutil.copyfile(db, copy)
    reader = registry.open_registry(f"sqlite:///{copy}")
    assert isinstance(reader.client, SqliteRegistryReader)
    loaded = registry.load_models(registry=reader)["long_stay"].bundle
    assert (loaded.probability(loaded.encode(rows), rows) == bundle.probability(
        bundle.encode(rows), rows
    )).all()  # fmt: skip
    local = registry.local_artifact_dir(NAME, "1", registry=reader)
    assert local is not None
    booster = local / BOOSTER_FILE
    original = booster.read_bytes()
    try:
        booster.write_bytes(original.replace(b"\n", b"\n\n", 1))
        with pytest.raises(ModelLoadError, match="checksum mismatch"):
            registry.load_models(registry=reader)
    finally:
        booster.write_bytes(original)


def test_another_schema_or_workspaces_are_read_by_mlflow(
    store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "mlflow.db"
    shutil.copyfile(Path(registry.sqlite_path(store) or ""), copy)
    uri = f"sqlite:///{copy}"
    assert open_reader(uri, copy) is not None
    monkeypatch.setenv("MLFLOW_ENABLE_WORKSPACES", "true")
    assert open_reader(uri, copy) is None
    monkeypatch.delenv("MLFLOW_ENABLE_WORKSPACES")
    with sqlite3.connect(copy) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'elsewhere'")
    assert open_reader(uri, copy) is None
    (tmp_path / "plain.db").write_bytes(b"")
    with sqlite3.connect(tmp_path / "plain.db") as conn:
        conn.execute("CREATE TABLE t (x)")
    assert open_reader("sqlite:///x", tmp_path / "plain.db") is None


def test_the_reader_never_writes(store: str) -> None:
    db = Path(registry.sqlite_path(store) or "")
    before = db.read_bytes()
    reader = registry.open_registry(store)
    registry.load_models(registry=reader)
    registry.registered_names(registry=reader)
    with pytest.raises(ModelNotFoundError):
        registry.resolve(NAME, "nobody", registry=reader)
    assert db.read_bytes() == before
    assert json.loads(
        reader.client.get_model_version(NAME, "1").tags[registry.CHECKSUM_TAG]
    ).keys() == {"booster.txt", "bundle.json"}
