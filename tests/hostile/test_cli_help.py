"""`los ... --help` reads as a new user needs it: every option says what it is for, flags do not
pretend to take a value, and `serve --help` names the environment that decides whether it
starts (LOS_API_KEYS / LOS_ALLOW_NO_KEYS)."""

from __future__ import annotations

import re

import pytest
import typer.main
from typer.core import TyperOption
from typer.testing import CliRunner

from cli.app import app

COMMANDS = [
    "generate", "train", "evaluate", "score", "risk-list", "forecast", "monitor", "promote", "serve"
]  # fmt: skip


def _help(*args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def _options(command: str | None) -> list[TyperOption]:
    group = typer.main.get_command(app)
    ctx = typer.Context(group)
    target = group if command is None else group.get_command(ctx, command)  # type: ignore[attr-defined]
    assert target is not None
    return [p for p in target.get_params(ctx) if isinstance(p, TyperOption)]


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_option_says_what_it_is_for(command: str | None) -> None:
    silent = [p.opts[0] for p in _options(command) if not (p.help or "").strip()]
    assert silent == []


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_flags_do_not_show_a_value_type(command: str | None) -> None:
    text = _help(*([command] if command else []))
    assert "<bool>" not in text
    flag_lines = [
        line for line in text.splitlines() if re.search(r"--(help|verbose|show-gates)", line)
    ]
    assert flag_lines, text
    for line in flag_lines:
        assert not re.search(r"--[a-z-]+\s+(-v\s+)?<", line), line


@pytest.mark.parametrize("command", COMMANDS)
def test_value_options_name_what_they_take(command: str) -> None:
    text = _help(command)
    assert not re.search(r"<(str|file|int|path)>", text), text


def test_serve_help_names_the_key_settings() -> None:
    text = " ".join(_help("serve").split())
    for name in ("LOS_API_KEYS", "LOS_ALLOW_NO_KEYS=1", "LOS_DATA_DIR", "MLFLOW_TRACKING_URI"):
        assert name in text


def test_a_flag_given_a_value_is_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(app, ["train", "--show-gates=yes"])
    assert result.exit_code == 2
    assert "does not take a value" in result.output
