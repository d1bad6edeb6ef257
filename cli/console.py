"""What the `los` command prints: results on stdout; progress and errors on stderr, one line each.

Every failure is one line and a non-zero exit: a usage error (a bad or misspelt option, caught
by click while parsing) exits 2, a product error or an I/O failure while running exits 1. Text
from errors and data is printed as text, never read as rich markup (a `[/b]` in a message once
crashed the printer), and never wrapped at the terminal width.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup, TyperOption

from los.errors import LosError

console = Console(stderr=True)
out = Console()


def say_error(message: str) -> None:
    """One line on stderr: `error: <message>`."""
    console.print(Text.assemble(("error:", "red"), " ", message), soft_wrap=True)


def progress(message: str) -> None:
    """A progress line on stderr."""
    console.print(Text.assemble(("…", "dim"), " ", message), soft_wrap=True)


@contextmanager
def progress_bar(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A rows-done bar on stderr; yields `advance(rows_done)`."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    columns = (label, BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)


@contextmanager
def reporting_errors() -> Iterator[None]:
    """Product errors and I/O failures as one line on stderr; the exit code of a product error
    is the one its class states (`los.errors`), 1 for an I/O failure."""
    try:
        yield
    except LosError as exc:
        say_error(str(exc))
        raise typer.Exit(exc.exit_code) from None
    except FileNotFoundError as exc:
        say_error(f"file not found: {exc.filename}")
        raise typer.Exit(1) from None
    except OSError as exc:  # e.g. a disk full or a folder made read-only while running
        where = f": {exc.filename}" if exc.filename else ""
        say_error(f"{exc.strerror or type(exc).__name__}{where}")
        raise typer.Exit(1) from None


def _plain_flags(params: list[Any]) -> list[Any]:
    """Flags shown without a type: typer's help prints `<bool>` beside `--verbose` as if the flag
    took a value. A blank metavar leaves the type column empty; a flag's errors name it by its
    option string, so nothing else reads the metavar."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""
    return params


class OneLineErrors(TyperGroup):
    """Usage errors as one line on stderr (click would print a usage block or a boxed panel);
    flags in `--help` without a value type."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_flags(super().get_params(ctx))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _plain_flags(command.get_params(ctx))
        return command

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command; exit 2 with one line on a usage error (as `standalone_mode` would)."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except typer.TyperException as exc:  # typer's click errors: usage, bad values
            # typer itself tells NoArgsIsHelpError by name (its class is private); the help
            # was printed when the error was made
            if type(exc).__name__ != "NoArgsIsHelpError":
                where = getattr(exc, "ctx", None)
                hint = f" (see '{where.command_path} --help')" if where is not None else ""
                say_error(" ".join(exc.format_message().split()) + hint)
            sys.exit(getattr(exc, "exit_code", 1))
        except typer.Abort:
            say_error("aborted")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)
