"""The packages import one way: los (core) <- features <- models <- {evaluation <- {training,
scale}, serving} <- cli. A back-arrow (a lower layer importing a higher one, or serving reaching
into training or evaluation) fails here, naming the file and the import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Each package and the packages it may import (besides itself).
ALLOWED: dict[str, set[str]] = {
    "los": set(),
    "features": {"los"},
    "models": {"los", "features"},
    "evaluation": {"los", "features", "models"},
    "training": {"los", "features", "models", "evaluation"},
    "serving": {"los", "models"},
    "monitoring": {"los", "features", "models", "evaluation"},
    "scale": {"los", "features", "models", "evaluation"},
    "cli": {
        "los",
        "features",
        "models",
        "evaluation",
        "training",
        "serving",
        "monitoring",
        "scale",
    },
}


def imported_packages(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every absolute import of a first-party package in `path`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, name) for name in names if name.split(".")[0] in ALLOWED]
    return found


def back_arrows(package: str) -> list[str]:
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, module in imported_packages(path):
            top = module.split(".")[0]
            if top != package and top not in ALLOWED[package]:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return bad


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_no_import_points_back(package: str) -> None:
    assert back_arrows(package) == []


def test_the_checker_sees_a_back_arrow(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "import os\nfrom serving.app import create_app\n\ndef f():\n    import cli.app\n"
    )
    assert imported_packages(source) == [(2, "serving.app"), (5, "cli.app")]


def test_nothing_imports_the_cli() -> None:
    importers = [
        f"{path.relative_to(ROOT)}:{line}"
        for package in ALLOWED
        if package != "cli"
        for path in (ROOT / package).rglob("*.py")
        for line, module in imported_packages(path)
        if module.split(".")[0] == "cli"
    ]
    assert importers == []
