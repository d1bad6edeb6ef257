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

Serve what exists (CONTRACT §6): the set holds whichever targets have a `champion`; each poll
also reads the decisions on the served versions and says, per target without a champion, why
(`models.availability`: held for review, rejected, never trained). `/ready` is ready when at
least one target is served and lists the others; a response carries them as `unavailable`.
A target promoted later (`los promote`) is picked up by the next poll like any promotion.

Faults (docs/service.md "Faults"):

- Registry unreachable at start (for SQLite: the file or its directory does not exist, the file
  is empty, or it is locked by another process; the service never creates a registry): the
  service still starts (`/health` 200, `/ready` 503 with the reason) and the thread retries every
  `min(LOS_POLL_SECONDS, 5)` seconds. Unreachable later: the loaded versions keep serving; the
  error is counted and shown by `/ready`.
- The registry deleted or replaced while serving (checked on every poll, never on a request):
  a SQLite file that is gone or empty, or whose (device, inode) changed (another file was put
  at the path), or a served version whose files have gone from a local artifact store. The
  models loaded from it are retired at once (`/ready` 503 with the reason, scoring 503), and the
  service then follows whatever registry is at the path as at start: a replaced registry's
  `champion` is loaded in the same poll. A file overwritten in place keeps its inode; its
  champions then differ in run id from the served ones and are loaded like a promotion.
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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from los.config import Settings
from los.errors import ModelLoadError, ModelNotFoundError, RegistryUnavailableError
from models import registry
from models.availability import ServingStatus, no_model_message, serving_status
from models.bundle import BOOSTER_FILE
from models.history_index import HistoryIndex
from models.registry import CHAMPION, LoadedModel, ModelIdentity, describe_registry_error
from models.scorer import Scorer
from serving.inputs import RequestInputs
from serving.metrics import ServiceMetrics
from serving.warmup import warm_up

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0
RETRY_FAILED_SECONDS = 60.0


@dataclass(frozen=True)
class ModelSet:
    """Everything one request needs, swapped as a whole."""

    scorer: Scorer
    loaded_at: datetime
    inputs: RequestInputs  # the request check for the champions' extra inputs
    # decisions on the served versions and the targets without a champion, as of the last poll:
    # carried by the set so a response's "unavailable" always matches the targets it scored
    status: ServingStatus = field(default_factory=ServingStatus)

    @property
    def identities(self) -> list[ModelIdentity]:
        """Served model versions, in target order."""
        return [m.identity for m in self.scorer.models.values()]

    @property
    def versions(self) -> dict[str, str]:
        """Registered name -> version."""
        return {i.name: i.version for i in self.identities}

    @property
    def runs(self) -> dict[str, tuple[str, str | None]]:
        """Registered name -> (version, run id): a registry replaced in place may reuse a
        version number, never a run id."""
        return {i.name: (i.version, i.run_id) for i in self.identities}


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
        self.unavailable: dict[str, str] = {}  # target -> why it has no champion (last poll)
        self._store: tuple[int, int] | None = None  # (device, inode) of the SQLite file followed
        self._artifacts: dict[str, tuple[str, Path]] = {}  # name -> (version, booster file)
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
        """One check; a failure is recorded and counted, and the loaded models keep serving
        (unless the registry itself was deleted or replaced: `check_once`)."""

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
        """Load the history source once, check the registry is still the one served from, then
        swap to new champion versions; True if swapped."""
        self.last_check = datetime.now(UTC)
        if self.settings.los_history_source and self.history is None:
            self.history = HistoryIndex.load(self.settings.los_history_source)
            log.info("history source loaded: %d earlier spells", len(self.history))

        self._check_store(registry)
        if not self._connected:
            registry.connect(self.settings.tracking_uri, create=False)  # never creates one
            self._connected = True
        wanted = self._champion_versions(registry)
        self._check_artifacts(registry)
        current = self.current
        served = {m.identity.name: m for m in current.scorer.models.values()} if current else {}
        if current is not None and wanted == current.runs:
            self.load_errors.clear()
            self._refresh_status(current)
            return False
        for name in list(self.load_errors):  # the alias moved away from a failed version
            if wanted.get(name, ("",))[0] != self.load_errors[name].version:
                del self.load_errors[name]
        chosen: dict[str, LoadedModel] = {}
        changed = set(served) - set(wanted)  # champion alias removed: stop serving that model
        for name, (version, run_id) in wanted.items():
            have = served.get(name)
            if have is not None and current is not None and current.runs[name] == (version, run_id):
                chosen[name] = have
                continue
            loaded = self._load_checked(registry, name, version, have)
            if loaded is not None:
                chosen[name] = loaded
                changed.add(name)
            elif have is not None:
                chosen[name] = have  # keep serving what works
        if current is None and self.load_errors:
            self._artifacts.clear()
            failed = "; ".join(f.error for f in self.load_errors.values())
            raise ModelLoadError(f"not serving an incomplete set of models: {failed}")
        if not chosen:
            if current is not None:  # every champion alias removed: nothing may be served
                self._retire("no registered model has a champion any more")
            status = serving_status({})
            self.unavailable = status.lines
            raise ModelNotFoundError(no_model_message(status.unavailable))
        if not changed:
            if current is not None:
                self._refresh_status(current)
            return False
        by_target = registry.in_target_order({m.bundle.target: m for m in chosen.values()})
        scorer = Scorer(by_target)
        status = serving_status({m.identity.name: m.identity.version for m in chosen.values()})
        new = ModelSet(
            scorer,
            datetime.now(UTC),
            RequestInputs(scorer.extra_inputs, self.metrics),
            status,
        )
        # first predict allocates; not on a request
        warm_up(new.scorer)
        self.current = new  # the one atomic swap
        self.unavailable = status.lines
        self._artifacts = {
            n: a for n, a in self._artifacts.items() if n in chosen and a[0] == new.versions[n]
        }
        self.metrics.models_swapped(new.identities)
        log.info(
            "serving %s",
            ", ".join(f"{n} version {v}" for n, v in new.versions.items()),
        )
        return True

    def _refresh_status(self, current: ModelSet) -> None:
        """Re-read decisions and missing targets; swap in a copy of the set if they changed (a
        decision recorded on a served version, a target newly held or rejected)."""
        status = serving_status(current.versions)
        self.unavailable = status.lines
        if status != current.status and self.current is current:
            self.current = replace(current, status=status)

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
            warm_up(Scorer({bundle.target: loaded}))
            files = registry.local_artifact_dir(name, version)
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
        if files is not None:
            self._artifacts[name] = (version, files / BOOSTER_FILE)
        return loaded

    def _check_store(self, registry: Any) -> None:
        """Retire the served models when the SQLite file is gone or another file is at the path.

        Raises `RegistryUnavailableError` for a missing or empty file (the poll records it).
        """
        try:
            identity = registry.store_identity(self.settings.tracking_uri)
        except RegistryUnavailableError as exc:
            if self.current is not None:
                self._retire(f"the registry it came from is gone ({exc})")
            self._store = None  # whatever appears at the path next is a new registry
            raise
        if self._store is not None and identity != self._store:
            path = registry.sqlite_path(self.settings.tracking_uri)
            self._retire(f"another registry database was put at {path}; following its champion")
        self._store = identity

    def _check_artifacts(self, registry: Any) -> None:
        """Retire the served models when a served version's files left the local artifact store
        (the registry can no longer vouch for, or reload, what is being served)."""
        for name, (version, booster) in list(self._artifacts.items()):
            if not booster.is_file():
                problem = (
                    f"model {name} version {version}: its files are gone from the artifact "
                    f"store ({booster.parent} has no {booster.name})"
                )
                self._retire(problem)
                raise RegistryUnavailableError(problem)

    def _retire(self, why: str) -> None:
        """Stop serving every loaded model (a request already running finishes on its set)."""
        if self.current is not None:
            log.warning("not serving %s: %s", ", ".join(self.current.versions), why)
        self.current = None
        self._artifacts.clear()
        self.load_errors.clear()
        self.metrics.models_retired()
        self.metrics.ready.set(0)

    @staticmethod
    def _champion_versions(registry: Any) -> dict[str, tuple[str, str | None]]:
        """Registered name -> (version, run id) of its `champion`."""
        versions: dict[str, tuple[str, str | None]] = {}
        for name in registry.registered_names():
            try:
                found = registry.resolve(name, CHAMPION)
            except ModelNotFoundError:
                continue
            versions[name] = (found.version, found.run_id)
        return versions
