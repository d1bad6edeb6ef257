"""The served model set and the background thread that follows the registry's `champion` alias.

Why polling: a promotion happens in another process (`los train`, a person in MLflow) and the
MLflow registry sends no notification to a SQLite or database store, so the service asks. Every
`LOS_POLL_SECONDS` a daemon thread resolves `champion` for each registered model (a few small
queries). For each model whose champion version differs from the one served, it loads that exact
version, checks it (`models.registry.load_bundle`: complete, known format, booster matching its
features) and scores a warm-up row with it; it then builds a complete `Scorer`, scores a warm-up
row again, and only then replaces one reference (`ModelHolder.current`), which is atomic in
Python. A request reads that reference once, so a request in flight finishes on the set it
started with and none fails during a swap.

Faults (docs/service.md "Faults"):

- Registry unreachable at start (for SQLite: the file or its directory does not exist, the file
  is empty, or it is locked by another process; the service never creates a registry): the
  service still starts (`/health` 200, `/ready` 503 with the reason) and the thread retries every
  `min(LOS_POLL_SECONDS, 5)` seconds. Unreachable later: the loaded versions keep serving; the
  error is counted and shown by `/ready`.
- A new champion version that cannot be loaded or used: that model keeps serving the version it
  had (the others still move to their new champions); the failure is logged (model, version,
  reason; no patient data), counted and shown by `/ready` under `load_errors`, and the same
  version is tried again only after `RETRY_FAILED_SECONDS`. At start, with nothing loaded yet,
  the service stays not ready rather than serve an incomplete set of targets, and retries every
  `RETRY_SECONDS`.

`import mlflow` (~3 s) and loading (~0.1 s per model) happen on this thread, never on a request.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from los.config import Settings
from los.errors import ModelNotFoundError
from models.registry import CHAMPION, LoadedModel, ModelIdentity
from models.scorer import Scorer
from serving.batcher import HistoryIndex, rows_to_columns, warmup_row
from serving.metrics import ServiceMetrics

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0
RETRY_FAILED_SECONDS = 60.0


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


@dataclass(frozen=True)
class LoadFailure:
    """A champion version the service could not load, and why (one line, no patient data)."""

    version: str
    error: str
    at: datetime
    monotonic: float

    def to_dict(self) -> dict[str, str]:
        """For `/ready`."""
        return {"version": self.version, "error": self.error, "at": self.at.isoformat()}


class ModelHolder:
    """Holds the current `ModelSet` (and the history index) and keeps it on `champion`."""

    def __init__(self, settings: Settings, metrics: ServiceMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.current: ModelSet | None = None
        self.history: HistoryIndex | None = None
        self.last_error: str | None = None
        self.last_check: datetime | None = None
        self.load_errors: dict[str, LoadFailure] = {}
        self._connected = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def ready(self) -> bool:
        """Models loaded (and the history source, when one is configured)."""
        history_ok = self.settings.los_history_source is None or self.history is not None
        return self.current is not None and history_ok

    @property
    def not_ready_reason(self) -> str | None:
        """Why `/ready` is 503, in one line (None when ready)."""
        if self.ready:
            return None
        if self.last_error:
            return self.last_error
        if self.last_check is None:
            return "starting: first registry check in progress"
        if self.current is not None:
            return "history source not loaded yet"
        return "loading models"

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
        from models.registry import describe_registry_error

        try:
            swapped = self.check_once()
        except Exception as exc:
            error = describe_registry_error(exc)
            if error != self.last_error:
                log.warning("registry check failed: %s", error)
            self.last_error = error
            self.metrics.registry_errors.inc()
            return False
        if self.last_error is not None:
            log.info("registry check succeeded again")
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
            registry.connect(self.settings.tracking_uri, create=False)  # never creates one
            self._connected = True
        wanted = self._champion_versions(registry)
        current = self.current
        served = {m.identity.name: m for m in current.scorer.models.values()} if current else {}
        if current is not None and wanted == current.versions:
            self.load_errors.clear()
            return False
        for name in list(self.load_errors):  # the alias moved away from a failed version
            if wanted.get(name) != self.load_errors[name].version:
                del self.load_errors[name]
        chosen: dict[str, LoadedModel] = {}
        changed = set(served) - set(wanted)  # champion alias removed: stop serving that model
        for name, version in wanted.items():
            have = served.get(name)
            if have is not None and have.identity.version == version:
                chosen[name] = have
                continue
            loaded = self._load_checked(registry, name, version, have)
            if loaded is not None:
                chosen[name] = loaded
                changed.add(name)
            elif have is not None:
                chosen[name] = have  # keep serving what works
        if current is None and self.load_errors:
            failed = "; ".join(f.error for f in self.load_errors.values())
            raise registry.ModelLoadError(f"not serving an incomplete set of models: {failed}")
        if not chosen:
            raise ModelNotFoundError("no registered model has a champion: run `make train`")
        if not changed:
            return False
        by_target = registry.in_target_order({m.bundle.target: m for m in chosen.values()})
        new = ModelSet(Scorer(by_target), datetime.now(UTC))
        # first predict allocates; not on a request
        new.scorer.score(rows_to_columns([warmup_row()]))
        self.current = new  # the one atomic swap
        self.metrics.models_swapped(new.identities)
        log.info(
            "serving %s",
            ", ".join(f"{n} version {v}" for n, v in new.versions.items()),
        )
        return True

    def _load_checked(
        self, registry: Any, name: str, version: str, have: LoadedModel | None
    ) -> LoadedModel | None:
        """Load and warm up one exact version; on failure record it and return None."""
        failed = self.load_errors.get(name)
        backoff = RETRY_FAILED_SECONDS if self.current is not None else RETRY_SECONDS
        if (
            failed is not None
            and failed.version == version
            and time.monotonic() - failed.monotonic < backoff
        ):
            return None
        try:
            bundle, identity = registry.load_bundle(name, version)
            loaded = LoadedModel(bundle, replace(identity, alias=CHAMPION))
            Scorer({bundle.target: loaded}).score(rows_to_columns([warmup_row()]))
        except Exception as exc:
            error = registry.describe_registry_error(exc)
            if not error.startswith(f"model {name} version "):
                error = f"model {name} version {version} cannot be used: {error}"
            self.load_errors[name] = LoadFailure(
                version, error, datetime.now(UTC), time.monotonic()
            )
            self.metrics.registry_errors.inc()
            keeping = f"still serving version {have.identity.version}" if have else "not serving it"
            log.warning("champion not loaded (%s): %s", keeping, error)
            return None
        self.load_errors.pop(name, None)
        return loaded

    @staticmethod
    def _champion_versions(registry: Any) -> dict[str, str]:
        versions: dict[str, str] = {}
        for name in registry.registered_names():
            try:
                versions[name] = registry.resolve(name, CHAMPION).version
            except ModelNotFoundError:
                continue
        return versions
