"""Fault injection for the training fault tests, installed from the test side (no tests here).

`install(kill_at=..., corrupt=...)` wraps stage functions of `training.register` in the current
process (the forked `los train` child of `fault_train_runner.py`), so the product carries no
test hook:

- `kill_at`: SIGKILL (no clean-up, no `finally`) when the run reaches a stage: `after_fit` (every
  target trained, nothing registered), `after_register` (the first version registered),
  `mid_reports` (report files written, not yet logged to the run) or `before_promote` (versions
  complete and `challenger`, `champion` not yet moved).
- `corrupt`: after each version is registered, overwrite its stored `booster.txt` with garbage
  (`booster`) or rename a feature in its `bundle.json` (`bundle`), local artifact store only, so
  the round-trip check must catch it.

A misspelt value is refused before anything runs, so a test never passes because nothing was
injected.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

KILL_STAGES = ("after_fit", "after_register", "mid_reports", "before_promote")
CORRUPTIONS = ("booster", "bundle")


def _kill(stage: str) -> None:
    print(f"fault injection: killing the training run at {stage}", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def corrupt_registered(name: str, version: str, what: str) -> None:
    """Damage the stored files of a registered version (local artifact store only)."""
    from models import registry
    from models.bundle import BOOSTER_FILE, BUNDLE_FILE

    directory = registry.local_artifact_dir(name, version)
    if directory is None:
        raise RuntimeError("corrupting a registered version needs a local artifact store")
    if what == "booster":
        (directory / BOOSTER_FILE).write_text("this is not a LightGBM model\n")
    else:
        state = json.loads((directory / BUNDLE_FILE).read_text())
        state["encoder"]["numeric"][0] = "feature_from_another_version"
        (directory / BUNDLE_FILE).write_text(json.dumps(state))
    print(f"fault injection: corrupted {what} of {name} version {version}", file=sys.stderr)


def _after(function: Callable[..., Any], then: Callable[[Any], None]) -> Callable[..., Any]:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        value = function(*args, **kwargs)
        then(value)
        return value

    return wrapped


def _before(function: Callable[..., Any], first: Callable[[], None]) -> Callable[..., Any]:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        first()
        return function(*args, **kwargs)

    return wrapped


def install(kill_at: str | None = None, corrupt: str | None = None) -> None:
    """Wrap the stages of `training.register` for this process (see the module doc)."""
    if kill_at is not None and kill_at not in KILL_STAGES:
        raise ValueError(f"kill_at={kill_at}: not one of {', '.join(KILL_STAGES)}")
    if corrupt is not None and corrupt not in CORRUPTIONS:
        raise ValueError(f"corrupt={corrupt}: not one of {', '.join(CORRUPTIONS)}")
    from training import register

    def registered(value: Any) -> None:
        identity, _ = value
        if corrupt is not None:
            corrupt_registered(identity.name, identity.version, corrupt)
        if kill_at == "after_register":
            _kill(kill_at)

    if kill_at == "after_fit":
        register.train_all = _after(register.train_all, lambda _: _kill("after_fit"))
    if kill_at == "after_register" or corrupt is not None:
        register.register_version = _after(register.register_version, registered)
    if kill_at == "mid_reports":
        register.log_reports = _before(register.log_reports, lambda: _kill("mid_reports"))
    if kill_at == "before_promote":
        register.promote_passed = _before(register.promote_passed, lambda: _kill("before_promote"))
