"""The licence check (scripts/licences.py): copyleft and unknown licences need a recorded review."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "scripts" / "licences.py"
_spec = importlib.util.spec_from_file_location("licences", _PATH)
assert _spec is not None and _spec.loader is not None
licences = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(licences)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MIT", "permissive"),
        ("BSD-3-Clause AND 0BSD AND MIT AND Zlib AND CC0-1.0", "permissive"),
        ("Apache-2.0 OR BSD-3-Clause", "permissive"),
        ("LGPL-3.0-only", "weak-copyleft"),
        ("GNU Lesser General Public License v3 (LGPLv3)", "weak-copyleft"),
        ("MPL-2.0 AND MIT", "weak-copyleft"),
        ("GPL-3.0-or-later", "strong-copyleft"),
        ("GNU General Public License v2 (GPLv2)", "strong-copyleft"),
        ("AGPL-3.0", "strong-copyleft"),
        ("MIT OR GPL-2.0", "strong-copyleft"),
        ("UNKNOWN", "unknown"),
        ("Proprietary", "unknown"),
    ],
)
def test_classify(text: str, expected: str) -> None:
    assert licences.classify(text) == expected


def _row(name: str, licence: str) -> dict[str, str]:
    return {
        "package": name,
        "version": "1.0",
        "licence": licence,
        "class": licences.classify(licence),
    }


def test_new_copyleft_or_unknown_fails_until_reviewed() -> None:
    rows = [_row("ok", "MIT"), _row("gpl-thing", "GPL-3.0"), _row("mystery", "UNKNOWN")]
    problems = licences.unreviewed(rows, {})
    assert [p.split()[0] for p in problems] == ["gpl-thing", "mystery"]
    accepted = {"gpl-thing": {"licence": "GPL-3.0"}, "mystery": {"licence": "UNKNOWN"}}
    assert licences.unreviewed(rows, accepted) == []


def test_changed_licence_needs_a_new_review() -> None:
    rows = [_row("psycopg", "GPL-3.0-only")]
    problems = licences.unreviewed(rows, {"psycopg": {"licence": "LGPL-3.0-only"}})
    assert len(problems) == 1 and "review it again" in problems[0]


def test_project_lock_passes_the_check(capsys: pytest.CaptureFixture[str]) -> None:
    """The committed inventory matches the installed lock and every exception is reviewed."""
    assert licences.main(["--check"]) == 0
    assert "packages" in capsys.readouterr().out
