"""One errors module: every product error is defined in `los.errors` and states its CLI exit code
and HTTP status; the CLI exits with the stated code."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
import typer

import los.errors
from cli.console import reporting_errors
from los.errors import LosError

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("los", "features", "models", "evaluation", "training", "serving", "cli")


def product_errors() -> list[type[LosError]]:
    """Every class of `los.errors` that is a `LosError`, the base included."""
    return [
        cls
        for _, cls in inspect.getmembers(los.errors, inspect.isclass)
        if issubclass(cls, LosError) and cls.__module__ == "los.errors"
    ]


def test_the_registry_service_and_decision_errors_are_in_the_table() -> None:
    names = {cls.__name__ for cls in product_errors()}
    assert {
        "RegistryUnavailableError",
        "ModelLoadError",
        "PromotionRefusedError",
        "DecisionError",
        "NotReadyError",
        "AuthError",
        "TooLargeError",
    } <= names


@pytest.mark.parametrize("cls", product_errors(), ids=lambda c: c.__name__)
def test_every_error_states_its_exit_code_and_status(cls: type[LosError]) -> None:
    # stated in the class's own body, not inherited: adding an error means deciding both
    assert "exit_code" in vars(cls) and "http_status" in vars(cls)
    assert cls.exit_code == 1  # 2 is click's usage error; every product error exits 1
    assert 400 <= cls.http_status <= 599


def test_no_error_class_is_defined_outside_los_errors() -> None:
    """A `LosError` subclass anywhere else would be a second errors module."""
    names = {cls.__name__ for cls in product_errors()}
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "los" / "errors.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ClassDef):
                    bases = {getattr(b, "id", getattr(b, "attr", "")) for b in node.bases}
                    if bases & names:
                        found.append(f"{path.relative_to(ROOT)}: {node.name}")
    assert found == []


def test_the_cli_exits_with_the_code_the_error_states() -> None:
    class Probe(LosError):
        exit_code = 3
        http_status = 400

    with pytest.raises(typer.Exit) as raised, reporting_errors():
        raise Probe("probe")
    assert raised.value.exit_code == 3
