"""A read-only view of a local SQLite registry that answers readers without importing MLflow.

`import mlflow` and opening its SQLAlchemy store cost about 2 s of a short command such as
`los risk-list` (the daily list's whole budget is 5 s), while what a reader asks is five
questions: the product's registered model names, a version by alias or number, a model's
versions, and where a version's files are. `SqliteRegistryReader` answers those with plain
`sqlite3` queries that mirror MLflow's own (`mlflow.store.model_registry.sqlalchemy_store`, the
version pinned in `uv.lock`): the default workspace only, internally deleted versions and
prompts left out, `LIKE` case-sensitive, MLflow's page sizes. Any other attribute is handed to
a real `MlflowClient`, opened on first use, so a caller that needs more of MLflow still gets it;
so is a look-up by MLflow's method names that finds nothing (the caller gets MLflow's own
exception). The product's own look-up, `find_version` (`models.registry.lifecycle`), raises
`VersionNotFoundError` instead: a target without a champion costs no MLflow import either.

It is used only where its answers are MLflow's (`open_reader`): a `sqlite:` URI whose schema is
at the migration head this code was written and tested against (`SCHEMA_REVISION`, held equal to
the installed MLflow's head by `tests/unit/test_registry_sqlite_read.py`) and MLflow's
workspaces off. Anything else opens MLflow as before. It never writes: the file is opened
read-only, a fresh connection per question (a file replaced at the path is the one read, as
with MLflow's `NullPool` for readers). Integrity checks are unchanged: the files a version
names are still checked against its digests and parsed by a throwaway process before use
(`models.registry.loading`).
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# MLflow's schema head for the pinned MLflow (its `alembic_version`); another revision is read
# through MLflow itself
SCHEMA_REVISION = "dc11669786a5"
WORKSPACE = "default"  # MLflow's DEFAULT_WORKSPACE_NAME (single-tenant stores)
DELETED_INTERNAL = "Deleted_Internal"  # MLflow's STAGE_DELETED_INTERNAL
PROMPT_TAG = "mlflow.prompt.is_prompt"  # MLflow's IS_PROMPT_TAG_KEY
REGISTERED_MODELS_PAGE = 100  # MLflow's SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT
MODEL_VERSIONS_PAGE = 10_000  # MLflow's SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT
BUSY_TIMEOUT_S = 20.0  # MLflow's `PRAGMA busy_timeout = 20000`

_NAME_LIKE = re.compile(r"^name LIKE '([^']*)'$")
_NAME_IS = re.compile(r"^name = '([^']*)'$")


class VersionNotFoundError(LookupError):
    """No such registered model, alias or version (`SqliteRegistryReader.find_version`). The
    MLflow-named methods instead ask MLflow the same question then, so their callers get MLflow's
    own answer and exception (`RESOURCE_DOES_NOT_EXIST`), as a caller catching
    `MlflowException` expects."""


@dataclass(frozen=True)
class StoredVersion:
    """MLflow's `ModelVersion` fields, as its SQL store fills them (`tags` as the dict that
    `ModelVersion.tags` gives)."""

    name: str
    version: str
    creation_timestamp: int | None
    last_updated_timestamp: int | None
    description: str | None
    user_id: str | None
    current_stage: str | None
    source: str | None
    run_id: str | None
    status: str | None
    status_message: str | None
    run_link: str | None
    storage_location: str | None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StoredModel:
    """A registered model's name, as `search_registered_models` gives it."""

    name: str


def _workspaces_on() -> bool:
    return os.environ.get("MLFLOW_ENABLE_WORKSPACES", "").strip().lower() in ("true", "1")


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
    conn.execute("PRAGMA case_sensitive_like = true")
    return conn


def schema_revision(path: Path) -> str | None:
    """The registry file's MLflow schema revision (None if it has none)."""
    with closing(_connect(path)) as conn:
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:  # no such table: not an MLflow store at all
            return None
    return None if row is None else str(row[0])


def open_reader(tracking_uri: str, path: Path) -> SqliteRegistryReader | None:
    """A reader for the SQLite registry at `path`, or None when MLflow must answer instead."""
    if _workspaces_on() or schema_revision(path) != SCHEMA_REVISION:
        return None
    return SqliteRegistryReader(tracking_uri, path)


class SqliteRegistryReader:
    """MLflow client answers for readers, from the SQLite file (see the module doc)."""

    def __init__(self, tracking_uri: str, path: Path) -> None:
        self.tracking_uri = tracking_uri
        self.path = path
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        """Everything else a caller asks of the client: a real MLflow client's answer."""
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.mlflow_client(), name)

    def mlflow_client(self) -> Any:
        """The `MlflowClient` of the same URI, opened once on first use."""
        if self._client is None:
            import mlflow  # heavy: only when a caller needs more than the reader answers

            uri = self.tracking_uri
            self._client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
        return self._client

    @contextmanager
    def _query(self) -> Iterator[sqlite3.Connection]:
        with closing(_connect(self.path)) as conn:
            yield conn

    def experiment_id(self, name: str) -> str | None:
        """`get_experiment_by_name(name).experiment_id` (active or deleted), or None."""
        with self._query() as conn:
            row = conn.execute(
                "SELECT experiment_id FROM experiments WHERE workspace = ? AND name = ? "
                "AND lifecycle_stage IN ('active', 'deleted')",
                (WORKSPACE, name),
            ).fetchone()
        return None if row is None else str(row[0])

    def search_registered_models(self, filter_string: str | None = None) -> list[StoredModel]:
        """Registered models (not prompts) whose name matches `name LIKE '...'`, by name."""
        like = _NAME_LIKE.match(filter_string or "")
        if like is None:
            return list(self.mlflow_client().search_registered_models(filter_string=filter_string))
        with self._query() as conn:
            rows = conn.execute(
                "SELECT m.name FROM registered_models m WHERE m.workspace = ? AND m.name LIKE ? "
                "AND m.name NOT IN (SELECT t.name FROM registered_model_tags t "
                "WHERE t.workspace = ? AND t.key = ? AND t.value = 'true') "
                "ORDER BY m.name ASC LIMIT ?",
                (WORKSPACE, like.group(1), WORKSPACE, PROMPT_TAG, REGISTERED_MODELS_PAGE),
            ).fetchall()
        return [StoredModel(str(name)) for (name,) in rows]

    def find_version(self, name: str, alias_or_version: str) -> StoredVersion:
        """A version by number (not internally deleted) or by alias (not MLflow's `latest`:
        `VersionNotFoundError` for that too, so ask MLflow); `VersionNotFoundError` if none."""
        if alias_or_version.lower() == "latest":
            raise VersionNotFoundError("`latest` is MLflow's own alias: ask MLflow")
        with self._query() as conn:
            self._require_model(conn, name)
            if alias_or_version.isdigit():
                return self._version(conn, name, int(alias_or_version), with_aliases=True)
            row = conn.execute(
                "SELECT version FROM registered_model_aliases "
                "WHERE workspace = ? AND name = ? AND alias = ?",
                (WORKSPACE, name, alias_or_version),
            ).fetchone()
            if row is None:
                raise VersionNotFoundError(f"registered model alias {alias_or_version} not found")
            return self._version(conn, name, int(row[0]), with_aliases=True)

    def get_model_version(self, name: str, version: str | int) -> Any:
        """MLflow's `get_model_version`: `find_version`, else MLflow's answer."""
        try:
            return self.find_version(name, str(int(version)))
        except (VersionNotFoundError, ValueError):
            return self.mlflow_client().get_model_version(name, version)

    def get_model_version_by_alias(self, name: str, alias: str) -> Any:
        """MLflow's `get_model_version_by_alias`: `find_version`, else MLflow's answer."""
        try:
            if alias.isdigit():  # an alias, never a number, to MLflow
                raise VersionNotFoundError(alias)
            return self.find_version(name, alias)
        except VersionNotFoundError:
            return self.mlflow_client().get_model_version_by_alias(name, alias)

    def search_model_versions(self, filter_string: str | None = None) -> list[StoredVersion]:
        """A model's versions (`name = '...'`), not deleted, newest change first as MLflow."""
        named = _NAME_IS.match(filter_string or "")
        if named is None:
            return list(self.mlflow_client().search_model_versions(filter_string))
        with self._query() as conn:
            prompts = conn.execute(
                "SELECT 1 FROM model_version_tags WHERE workspace = ? AND name = ? AND key = ? "
                "AND value = 'true' LIMIT 1",
                (WORKSPACE, named.group(1), PROMPT_TAG),
            ).fetchone()
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM model_versions WHERE workspace = ? AND name = ? "
                "AND current_stage != ? "
                "ORDER BY last_updated_time DESC, name ASC, version DESC LIMIT ?",
                (WORKSPACE, named.group(1), DELETED_INTERNAL, MODEL_VERSIONS_PAGE),
            ).fetchall()
            found = [self._entity(conn, row, with_aliases=False) for row in rows]
        # MLflow leaves out every version of a model any of whose versions is a prompt (its
        # anti-join is on the model name)
        return found if prompts is None else []

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        """Where the version's files are: its storage location, else its source."""
        try:
            with self._query() as conn:
                found = self._version(conn, name, int(version), with_aliases=False)
        except (VersionNotFoundError, ValueError):
            return str(self.mlflow_client().get_model_version_download_uri(name, version))
        return str(found.storage_location or found.source)

    def _require_model(self, conn: sqlite3.Connection, name: str) -> None:
        row = conn.execute(
            "SELECT 1 FROM registered_models WHERE workspace = ? AND name = ?", (WORKSPACE, name)
        ).fetchone()
        if row is None:
            raise VersionNotFoundError(f"registered model with name={name} not found")

    def _version(
        self, conn: sqlite3.Connection, name: str, version: int, *, with_aliases: bool
    ) -> StoredVersion:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM model_versions WHERE workspace = ? AND name = ? "
            "AND version = ? AND current_stage != ?",
            (WORKSPACE, name, version, DELETED_INTERNAL),
        ).fetchall()
        if len(rows) != 1:
            raise VersionNotFoundError(f"model version (name={name}, version={version}) not found")
        return self._entity(conn, rows[0], with_aliases=with_aliases)

    def _entity(
        self, conn: sqlite3.Connection, row: tuple[Any, ...], *, with_aliases: bool
    ) -> StoredVersion:
        name, version = str(row[0]), int(row[1])
        tags = dict(
            conn.execute(
                "SELECT key, value FROM model_version_tags "
                "WHERE workspace = ? AND name = ? AND version = ?",
                (WORKSPACE, name, version),
            ).fetchall()
        )
        aliases: list[str] = []
        if with_aliases:
            aliases = [
                str(a)
                for (a,) in conn.execute(
                    "SELECT alias FROM registered_model_aliases "
                    "WHERE workspace = ? AND name = ? AND version = ?",
                    (WORKSPACE, name, version),
                ).fetchall()
            ]
        rest = row[2:]
        created, updated, description, user, stage, source, run, status, message, link, at = rest
        return StoredVersion(
            name, str(version), created, updated, description, user, stage, source, run, status,
            message, link, at, tags, aliases,
        )  # fmt: skip


# in `StoredVersion`'s field order
_COLUMNS = (
    "name, version, creation_time, last_updated_time, description, user_id, current_stage, "
    "source, run_id, status, status_message, run_link, storage_location"
)
