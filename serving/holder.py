"""The served model set and the background thread that follows the registry's `champion` alias.

Why polling: a promotion happens in another process (`los train`, a person in MLflow) and the
MLflow registry sends no notification to a SQLite or database store, so the service asks. Every
`LOS_POLL_SECONDS` a daemon thread resolves `champion` for each registered model (a few small
queries). When any version differs, it loads the new versions, builds a complete `Scorer`, scores
a warm-up row, and only then replaces one reference (`ModelHolder.current`), which is atomic in
Python. A request reads that reference once, so a request in flight finishes on the set it
started with and none fails during a swap.

If the registry cannot be reached at start (for SQLite: the file does not exist; the service
never creates one) the service still starts (`/health` 200, `/ready`
503) and the thread retries every `min(LOS_POLL_SECONDS, 5)` seconds. If it becomes unreachable
later, the loaded versions keep serving and the error is counted and shown by `/ready`.
`import mlflow` (~3 s) and loading (~0.1 s) happen on this thread, never on a request.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from los.config import Settings
from los.errors import ModelNotFoundError
from models.registry import CHAMPION, ModelIdentity
from models.scorer import Scorer
from serving.batcher import HistoryIndex, rows_to_frame, warmup_row
from serving.metrics import ServiceMetrics

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0


@dataclass(frozen=True)
class ModelSet:
    """Everything one request needs, swapped as a whole."""

    scorer: Scorer
    loaded_at: datetime

    @property
    def identities(self) -> list[ModelIdentity]:
        """Served model versions, in target order."""
        return [m.identity for m in self.scorer.models.values()]

    @property
    def versions(self) -> dict[str, str]:
        """Registered name -> version."""
        return {i.name: i.version for i in self.identities}


class ModelHolder:
    """Holds the current `ModelSet` (and the history index) and keeps it on `champion`."""

    def __init__(self, settings: Settings, metrics: ServiceMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.current: ModelSet | None = None
        self.history: HistoryIndex | None = None
        self.last_error: str | None = None
        self.last_check: datetime | None = None
        self._connected = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def ready(self) -> bool:
        """Models loaded (and the history source, when one is configured)."""
        history_ok = self.settings.los_history_source is None or self.history is not None
        return self.current is not None and history_ok

    def start(self) -> None:
        """Start the polling thread (the first check runs at once)."""
        self._thread = threading.Thread(target=self._run, name="los-model-poll", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop polling."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll()
            wait = self.settings.los_poll_seconds
            if not self.ready:
                wait = min(wait, RETRY_SECONDS)
            self._stop.wait(wait)

    def poll(self) -> bool:
        """One check; a failure is recorded and counted, and the loaded models keep serving."""
        try:
            swapped = self.check_once()
        except Exception as exc:
            lines = str(exc).splitlines() or [""]
            self.last_error = f"{type(exc).__name__}: {lines[0][:300]}"
            self.metrics.registry_errors.inc()
            log.warning("registry check failed: %s", self.last_error)
            return False
        self.last_error = None
        return swapped

    def check_once(self) -> bool:
        """Load the history source once, then swap to new champion versions; True if swapped."""
        self.last_check = datetime.now(UTC)
        if self.settings.los_history_source and self.history is None:
            self.history = HistoryIndex.load(self.settings.los_history_source)
            log.info("history source loaded: %d earlier spells", len(self.history))
        from models import registry

        if not self._connected:
            _require_existing_sqlite(self.settings.tracking_uri)
            registry.connect(self.settings.tracking_uri, self.settings.los_data_dir / "mlartifacts")
            self._connected = True
        wanted = self._champion_versions(registry)
        if self.current is not None and wanted == self.current.versions:
            return False
        new = ModelSet(Scorer(registry.load_models(CHAMPION)), datetime.now(UTC))
        new.scorer.score(rows_to_frame([warmup_row()]))  # first predict allocates; not on a request
        self.current = new  # the one atomic swap
        self.metrics.models_swapped(new.identities)
        log.info(
            "serving %s",
            ", ".join(f"{n} version {v}" for n, v in new.versions.items()),
        )
        return True

    @staticmethod
    def _champion_versions(registry: Any) -> dict[str, str]:
        versions: dict[str, str] = {}
        for name in registry.registered_names():
            try:
                versions[name] = registry.resolve(name, CHAMPION).version
            except ModelNotFoundError:
                continue
        return versions


def _require_existing_sqlite(uri: str) -> None:
    """The service never creates a registry: a missing SQLite file means 'not reachable yet'.

    (MLflow would create an empty database, and its directory, at a mistyped path.)
    """
    if not uri.startswith("sqlite:"):
        return
    from sqlalchemy.engine import make_url

    database = make_url(uri).database
    if database and database != ":memory:" and not Path(database).is_file():
        raise ModelNotFoundError(f"registry database not found: {database}")
