"""`make ui`: the MLflow UI over the registry `make train` writes, from an environment of its own.

The command line is checked by a dry run (`make -n ui`), which resolves the Makefile's variables
without starting anything: the registry URI must be the one `los.config.Settings` gives the
training run (the same data directory, or `MLFLOW_TRACKING_URI`). The UI's packages live in
scripts/mlflow-ui (its own lock), so the service's environment never carries them and `make
install` / `make test` never touch them.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from los.config import Settings

ROOT = Path(__file__).resolve().parents[2]
UI_PROJECT = ROOT / "scripts" / "mlflow-ui"


def dry_run(*goals: str, env: dict[str, str] | None = None) -> str:
    """What `make -n GOALS` would run, with recipe line continuations joined."""
    if shutil.which("make") is None:
        pytest.skip("make not installed")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    base.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", *goals],
        cwd=ROOT,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.replace("\\\n", " ")


def ui_command(*arguments: str, env: dict[str, str] | None = None) -> list[str]:
    """The `mlflow ui ...` words of `make -n ui ARGUMENTS`."""
    lines = [
        line for line in dry_run("ui", *arguments, env=env).splitlines() if " mlflow ui " in line
    ]
    assert len(lines) == 1, lines
    words = shlex.split(lines[0])
    return words[words.index("mlflow") :]


def option(words: list[str], name: str) -> str:
    return words[words.index(name) + 1]


def test_ui_reads_the_registry_make_train_writes(tmp_path: Path) -> None:
    data_dir = tmp_path / "registry-data"
    words = ui_command(f"DATA_DIR={data_dir}")
    assert words[:2] == ["mlflow", "ui"]
    assert option(words, "--backend-store-uri") == Settings(los_data_dir=data_dir).tracking_uri
    assert option(words, "--host") == "127.0.0.1"
    assert option(words, "--port") == "5000"


def test_ui_default_data_dir_is_make_trains() -> None:
    words = ui_command()
    expected = Settings(los_data_dir=ROOT / "data").tracking_uri
    assert option(words, "--backend-store-uri") == expected


def test_ui_follows_mlflow_tracking_uri_and_port() -> None:
    uri = "postgresql+psycopg://registry.invalid/mlflow"
    words = ui_command("UI_PORT=5055", env={"MLFLOW_TRACKING_URI": uri})
    assert (
        option(words, "--backend-store-uri")
        == uri
        == Settings(mlflow_tracking_uri=uri).tracking_uri
    )
    assert option(words, "--port") == "5055"


def test_ui_runs_from_its_own_locked_environment() -> None:
    out = dry_run("ui")
    assert "sync --frozen --project scripts/mlflow-ui" in out
    assert "run --frozen --no-sync --project scripts/mlflow-ui mlflow ui" in out
    for goal in ("install", "test", "train"):  # the service's set-up and tests never need it
        assert "mlflow-ui" not in dry_run("-B", goal), goal


def _locked(lock: Path) -> dict[str, str]:
    return {p["name"]: p["version"] for p in tomllib.loads(lock.read_text())["package"]}


def test_full_mlflow_only_in_the_ui_environment_at_the_skinny_version() -> None:
    service = _locked(ROOT / "uv.lock")
    ui = _locked(UI_PROJECT / "uv.lock")
    assert "mlflow" not in service and "flask" not in service  # the runtime does not carry the UI
    assert ui["mlflow"] == service["mlflow-skinny"] == ui["mlflow-skinny"]
    declared = tomllib.loads((UI_PROJECT / "pyproject.toml").read_text())["project"]
    assert declared["dependencies"] == [f"mlflow=={service['mlflow-skinny']}"]
