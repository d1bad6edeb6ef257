"""Helpers for the fault tests: registry copies, a piped `los serve`, a `los train` runner, and
versions registered with broken files. No tests here.

Everything is real: MLflow on SQLite files, `los serve` on 127.0.0.1, `los train` processes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import TrainedRegistry
from tests.integration.test_service_server import LOS, Server, free_port

RUNNER = Path(__file__).with_name("fault_train_runner.py")


def copy_registry(trained: TrainedRegistry, target: Path) -> str:
    """A private copy of the registry database (artifacts stay where they are); its URI."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(trained.data_dir / "mlflow.db", target / "mlflow.db")
    return f"sqlite:///{target / 'mlflow.db'}"


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    """Call `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def start_piped_server(env: dict[str, str], log_path: Path) -> Server:
    """`los serve` on a free port with its output through a pipe, copied to `log_path`.

    A pipe, not a file, so a file-size limit set on the server (RLIMIT_FSIZE) hits only the
    files it writes itself, never its log. One worker: the faults are set on this process.
    """
    port = free_port()
    process = subprocess.Popen(
        [LOS, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    log_path.write_bytes(b"")

    def copy() -> None:
        assert process.stdout is not None
        with log_path.open("ab", buffering=0) as log:
            for line in process.stdout:
                log.write(line)

    threading.Thread(target=copy, name="server-log", daemon=True).start()
    return Server(process, f"http://127.0.0.1:{port}", log_path, None)


class TrainRunner:
    """Runs `los train` in processes forked from `fault_train_runner.py` (imports paid once).

    Starting returns at once; the runner imports in the background until the first `train`.
    """

    def __init__(self, cwd: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(RUNNER)],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._ready = False

    def _wait_ready(self) -> None:
        if not self._ready:
            first = self._reply(timeout=180)
            if not first.get("ready"):
                raise AssertionError(f"train runner did not start: {first}")
            self._ready = True

    def _reply(self, timeout: float) -> dict[str, Any]:
        stdout = self.process.stdout
        assert stdout is not None
        box: list[str] = []
        reader = threading.Thread(target=lambda: box.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not box or not box[0]:
            raise AssertionError(f"train runner gave no answer in {timeout}s")
        reply: dict[str, Any] = json.loads(box[0])
        return reply

    def train(
        self,
        args: list[str],
        env: dict[str, str],
        log: Path,
        timeout: float = 300,
        faults: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        """Run `los <args>` in a fresh forked process, with `faults` installed
        (`fault_hooks.install`); its return code and output."""
        self._wait_ready()
        assert self.process.stdin is not None
        request = {"args": args, "env": env, "log": str(log), "faults": faults or {}}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        code = int(self._reply(timeout)["returncode"])
        return code, log.read_text(errors="replace")

    def close(self) -> None:
        """End the runner (it exits at end of input)."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def versions(name: str) -> dict[str, dict[str, Any]]:
    """version -> {"state": los_state tag or None, "aliases": [...]} of a registered model."""
    from models.registry import STATE_TAG, connected

    client = connected().client
    out: dict[str, dict[str, Any]] = {}
    for found in client.search_model_versions(f"name='{name}'"):
        # search results carry no aliases: read each version
        mv = client.get_model_version(name, str(found.version))
        out[str(mv.version)] = {
            "state": (mv.tags or {}).get(STATE_TAG),
            "aliases": sorted(mv.aliases),
        }
    return out


def register_files(name: str, bundle_dir: Path, tags: dict[str, str] | None = None) -> str:
    """Register the bundle files in `bundle_dir` (a directory named `bundle`, the name the
    loader expects) as a new version of `name`, as they are.

    No checks, no state tag unless given: like a version registered by hand or by another tool.
    """
    import mlflow

    from models.pyfunc import BundlePyfunc
    from models.registry import PIP_REQUIREMENTS, fluent_tracking

    assert bundle_dir.name == "bundle", bundle_dir
    with fluent_tracking():  # the connected registry, for MLflow's fluent calls only
        with mlflow.start_run(experiment_id=_experiment_id()):
            info = mlflow.pyfunc.log_model(
                name=name,
                python_model=BundlePyfunc(),
                artifacts={"bundle": str(bundle_dir)},
                pip_requirements=PIP_REQUIREMENTS,
            )
        mv = mlflow.register_model(info.model_uri, name, tags=tags)
    return str(mv.version)


def _experiment_id() -> str:
    from models.registry import EXPERIMENT, connected

    experiment = connected().client.get_experiment_by_name(EXPERIMENT)
    assert experiment is not None
    return str(experiment.experiment_id)
