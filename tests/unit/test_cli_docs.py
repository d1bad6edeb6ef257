"""docs/cli.md names every `los` command and every option each one takes, so the reference
cannot fall behind the command line (a new option without a line there fails here)."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main
from typer.core import TyperOption

from cli.app import app

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def _sections() -> dict[str, str]:
    """The page's text per `## `los NAME`` heading (and "Everywhere")."""
    parts = re.split(r"^## (.+)$", DOC.read_text(), flags=re.MULTILINE)
    return {heading.strip("` ").removeprefix("los "): body for heading, body in
            zip(parts[1::2], parts[2::2], strict=True)}  # fmt: skip


def _options(name: str | None) -> list[str]:
    group = typer.main.get_command(app)
    ctx = typer.Context(group)
    target = group if name is None else group.get_command(ctx, name)  # type: ignore[attr-defined]
    return [
        opt
        for p in target.get_params(ctx)
        if isinstance(p, TyperOption) and p.name != "help"
        for opt in p.opts
        if opt.startswith("--")
    ]


def test_every_command_and_option_is_documented() -> None:
    sections = _sections()
    group = typer.main.get_command(app)
    commands = group.list_commands(typer.Context(group))  # type: ignore[attr-defined]
    assert commands and set(commands) <= set(sections), sorted(set(commands) - set(sections))
    missing = [
        f"{name} {opt}"
        for name in commands
        for opt in _options(name)
        if not re.search(rf"`{re.escape(opt)}[` ]", sections[name])
    ]
    missing += [f"los {opt}" for opt in _options(None) if opt not in sections["Everywhere"]]
    assert missing == []
