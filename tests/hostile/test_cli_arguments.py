"""Hostile CLI arguments: every bad argument fails at once with one line, before anything loads.

Each case runs the real `los` entry point in a subprocess against a registry that does not exist
and a data file that does: had an argument slipped through, the command would go on to import
pandas/MLflow and fail about the registry (or, for `serve`, start listening). The probe prints
which heavy modules were imported, so "before loading data" is checked, not assumed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.factories import admission, frame

HEAVY = ("pandas", "mlflow", "lightgbm", "sqlalchemy", "uvicorn")
# Run the CLI as `los` does, then report the heavy modules it imported (on stdout, last line).
PROBE = (
    "import sys\n"
    "from cli.app import app\n"
    "try:\n"
    "    app(prog_name='los')\n"
    "finally:\n"
    f"    print('imported:', sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
)


@dataclass(frozen=True, repr=False)
class Case:
    """One bad argument for one command; `{tmp}` in a value is the test's folder."""

    command: str
    option: str
    value: str
    mentions: str = ""  # what the one line must say, beyond the option's name

    def __repr__(self) -> str:
        return f"{self.command} {self.option} {self.value!r}"


# Valid values for the options each command needs, so each case has exactly one bad argument.
BASE: dict[str, dict[str, str]] = {
    "generate": {"--rows": "10", "--out": "{tmp}/gen/admissions.csv"},
    "train": {"--data": "{tmp}/admissions.csv"},
    "evaluate": {"--data": "{tmp}/admissions.csv", "--out": "{tmp}/eval"},
    "score": {"--data": "{tmp}/admissions.csv", "--out": "{tmp}/scores.csv"},
    "risk-list": {"--data": "{tmp}/admissions.csv", "--out": "{tmp}/list.html"},
    "serve": {"--host": "127.0.0.1"},
    "monitor": {"--data": "{tmp}/admissions.csv", "--out": "{tmp}/monitor"},
}

CASES = [
    Case("risk-list", "--date", "notadate", "YYYY-MM-DD"),
    Case("risk-list", "--date", "2025-13-45", "not a real date"),
    Case("risk-list", "--date", "2025-02-30", "not a real date"),
    Case("risk-list", "--date", "10/03/2024", "YYYY-MM-DD"),
    Case("risk-list", "--date", "1800-01-01", "1900-2199"),
    Case("risk-list", "--out", "{tmp}/a-file.txt/list.csv", "is a file, not a folder"),
    Case("risk-list", "--out", "{tmp}/list.xlsx", "unsupported file type"),
    Case("risk-list", "--out", "{tmp}", "is a folder"),
    Case("risk-list", "--capacity", "-1"),
    Case("risk-list", "--capacity", "lots"),
    Case("risk-list", "--data", "{tmp}/absent.csv", "no such file"),
    Case("risk-list", "--data", "{tmp}/a-file.txt", "unsupported file type"),
    Case("risk-list", "--data", "{tmp}", "not a file"),
    Case("risk-list", "--history", "{tmp}/absent.parquet", "no such file"),
    Case("risk-list", "--mapping", "{tmp}/absent.yaml"),
    Case("risk-list", "--query", "select 1", "needs a database URL"),
    Case("score", "--out", "{tmp}/scores.xlsx", "unsupported file type"),
    Case("score", "--out", "{tmp}/a-file.txt/scores.csv", "is a file, not a folder"),
    Case("score", "--reasons", "some"),
    Case("score", "--data", "{tmp}/absent.parquet", "no such file"),
    Case("evaluate", "--out", "{tmp}/a-file.txt", "is a file"),
    Case("evaluate", "--out", "{tmp}/a-file.txt/report", "is a file, not a folder"),
    Case("evaluate", "--period", "yesterday"),
    Case("train", "--config", "{tmp}/absent.yaml"),
    Case("train", "--reports", "{tmp}/a-file.txt", "is a file"),
    Case("train", "--query", "select 1", "needs a database URL"),
    Case("generate", "--rows", "0"),
    Case("generate", "--rows", "-5"),
    Case("generate", "--rows", "ten"),
    Case("generate", "--seed", "-1"),
    Case("generate", "--out", "{tmp}/admissions.txt", "unsupported file type"),
    Case("generate", "--truth-out", "{tmp}/a-file.txt/truth.csv", "is a file, not a folder"),
    Case("generate", "--scenario", "flood"),
    Case("generate", "--scenario-start", "2025-13-01", "not a real date"),
    Case("generate", "--scenario-start", "2024-06-01", "without --scenario"),
    Case("generate", "--scenario-site", "RYJ01", "without --scenario"),
    Case("monitor", "--reference", "{tmp}/absent.csv", "no such file"),
    Case("monitor", "--out", "{tmp}/a-file.txt", "is a file"),
    Case("monitor", "--query", "select 1", "needs a database URL"),
    Case("serve", "--port", "99999"),
    Case("serve", "--port", "0"),
    Case("serve", "--port", "-1"),
    Case("risk-list", "--dat", "{tmp}/admissions.csv", "No such option"),
]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid admissions CSV, a plain file to misuse as a folder, and no registry at all."""
    tmp = tmp_path_factory.mktemp("cli_arguments")
    frame(admission(), admission(spell_id="S2")).to_csv(tmp / "admissions.csv", index=False)
    (tmp / "a-file.txt").write_text("not a folder\n")
    return tmp


def run_los(args: list[str], tmp: Path, timeout: float = 60) -> tuple[int, str, str, float]:
    """Run the probe with `args`; (exit code, stdout, stderr, seconds)."""
    env = {
        **os.environ,
        "LOS_DATA_DIR": str(tmp / "data"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp}/no-such-folder/mlflow.db",
    }
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp,
        timeout=timeout,
    )
    return done.returncode, done.stdout, done.stderr, time.perf_counter() - start


def _args(case: Case, tmp: Path) -> list[str]:
    """The command line: the command's valid base options with the one bad value."""
    options = {**BASE[case.command], case.option: case.value}
    pairs = [(k, v.replace("{tmp}", str(tmp))) for k, v in options.items()]
    return [case.command, *(x for pair in pairs for x in pair)]


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_a_bad_argument_fails_fast_with_one_line(case: Case, workspace: Path) -> None:
    code, stdout, stderr, seconds = run_los(_args(case, workspace), workspace)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code != 0
    assert "Traceback" not in stderr
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and case.option in lines[0], lines[0]
    assert case.mentions in lines[0]
    assert stdout.splitlines()[-1] == "imported: []", "the argument was checked after a load"
    assert seconds < 10, f"{seconds:.1f} s to refuse a bad argument"


@pytest.mark.parametrize(
    ("command", "url", "mentions"),
    [
        ("score", "sqlite:///{tmp}/absent.db?table=apc", "SQLite database not found"),
        ("risk-list", "sqlite:///{tmp}/admissions.csv", "add ?table=NAME"),
        ("evaluate", "not-a-driver://x?table=apc", "not a valid database URL"),
    ],
)
def test_a_bad_database_url_fails_before_the_registry(
    workspace: Path, command: str, url: str, mentions: str
) -> None:
    """A URL is checked before the registry: the registry here is absent, so an error about
    the URL shows the URL came first."""
    case = Case(command, "--data", url)
    code, _, stderr, _ = run_los(_args(case, workspace), workspace)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 1 and "Traceback" not in stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and mentions in lines[0], stderr


def test_a_product_error_with_brackets_stays_one_line(workspace: Path) -> None:
    """Error text is printed as text: a key like `[/b]` once crashed rich's markup parser."""
    config = workspace / "brackets.yaml"
    config.write_text("'[/b]' : 1\n" + "a_long_unknown_key_" * 6 + ": 2\n")
    code, _, stderr, _ = run_los(
        ["train", "--data", str(workspace / "admissions.csv"), "--config", str(config)], workspace
    )
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 1 and "Traceback" not in stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "[/b]" in lines[0] and len(lines[0]) > 100  # not wrapped at 80 columns


def test_help_documents_the_checks() -> None:
    from typer.testing import CliRunner

    from cli.app import app

    runner = CliRunner()
    risk_list = runner.invoke(app, ["risk-list", "--help"], terminal_width=200).output
    assert "YYYY-MM-DD" in risk_list and ".csv, .html or .json" in risk_list
    assert "on or before today" in risk_list and "x>=0" in risk_list
    assert "1<=x<=65535" in runner.invoke(app, ["serve", "--help"], terminal_width=200).output
    generate = runner.invoke(app, ["generate", "--help"], terminal_width=200).output
    assert "x>=1" in generate and ".csv or .parquet" in generate


def test_good_arguments_still_run(workspace: Path) -> None:
    """The checks refuse nothing valid: `generate` creates its missing output folder."""
    out = workspace / "new" / "folder" / "gen.csv"
    code, stdout, stderr, _ = run_los(
        ["generate", "--rows", "30", "--seed", "0", "--out", str(out)], workspace
    )
    assert code == 0, stderr
    assert out.is_file() and "wrote 30 admissions" in stdout
