"""Licences of the locked dependencies: record them, and fail on a new copyleft or unknown one.

    uv run python scripts/licences.py --check    # CI: inventory current, nothing unreviewed
    uv run python scripts/licences.py --write    # rewrite docs/licences.csv after a lock change

Licences are read by pip-licenses from the installed packages' metadata (the .venv that
`uv sync --frozen` built from uv.lock). Each licence is classed as permissive, weak copyleft,
strong copyleft or unknown. Weak copyleft, strong copyleft and unknown licences pass only when
`licences-accepted.toml` names the package with the same licence text and a reason a trust's
reviewer can read; a package whose licence text changes needs a new review.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INVENTORY = ROOT / "docs" / "licences.csv"
ACCEPTED = ROOT / "licences-accepted.toml"
PROJECT = "los-nwl"

STRONG = re.compile(r"(?<!L)(?<!Lesser )\b(A?GPL|GNU General Public|Affero|SSPL|EUPL|OSL)", re.I)
WEAK = re.compile(
    r"\b(LGPL|Lesser General Public|MPL|Mozilla Public|EPL|Eclipse Public|CDDL)", re.I
)
PERMISSIVE = re.compile(
    r"\b(MIT|BSD|0BSD|Apache|ISC|PSF|Python Software Foundation|Zlib|CC0|Unlicense|HPND|"
    r"Historical Permission)",
    re.I,
)


def classify(licence: str) -> str:
    """`strong-copyleft`, `weak-copyleft`, `permissive` or `unknown` for one licence text."""
    if STRONG.search(licence):
        return "strong-copyleft"
    if WEAK.search(licence):
        return "weak-copyleft"
    if PERMISSIVE.search(licence):
        return "permissive"
    return "unknown"


def installed() -> list[dict[str, str]]:
    """Name, version, licence and class of every installed package but the project itself."""
    raw = subprocess.run(
        [sys.executable, "-m", "piplicenses", "--from=mixed", "--format=json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rows = []
    for item in json.loads(raw):
        if item["Name"] == PROJECT:
            continue
        licence = " ".join(str(item["License"]).split()) or "UNKNOWN"
        rows.append(
            {
                "package": item["Name"],
                "version": item["Version"],
                "licence": licence,
                "class": classify(licence),
            }
        )
    return sorted(rows, key=lambda r: r["package"].lower())


def to_csv(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=["package", "version", "licence", "class"], lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def unreviewed(rows: list[dict[str, str]], accepted: dict[str, dict[str, str]]) -> list[str]:
    """One line per package that is not permissive and not accepted with this licence text."""
    problems = []
    for row in rows:
        if row["class"] == "permissive":
            continue
        entry = accepted.get(row["package"].lower())
        if entry is None:
            problems.append(
                f"{row['package']} {row['version']}: {row['class']} licence '{row['licence']}' "
                f"not reviewed (add it to {ACCEPTED.name} with a reason, or drop the package)"
            )
        elif entry.get("licence") != row["licence"]:
            problems.append(
                f"{row['package']} {row['version']}: licence is now '{row['licence']}', reviewed "
                f"as '{entry.get('licence')}' (review it again in {ACCEPTED.name})"
            )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="fail on unreviewed or stale entries")
    mode.add_argument("--write", action="store_true", help=f"rewrite {INVENTORY.name}")
    args = parser.parse_args(argv)

    rows = installed()
    text = to_csv(rows)
    if args.write:
        INVENTORY.write_text(text)
        print(f"licences: {len(rows)} packages written to {INVENTORY.relative_to(ROOT)}")
        return 0

    accepted = {k.lower(): v for k, v in tomllib.loads(ACCEPTED.read_text()).items()}
    problems = unreviewed(rows, accepted)
    if not INVENTORY.exists() or INVENTORY.read_text() != text:
        problems.append(
            f"{INVENTORY.relative_to(ROOT)} does not match the installed packages: run "
            "`make licences-update` and commit it"
        )
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["class"]] = counts.get(row["class"], 0) + 1
    summary = ", ".join(f"{n} {c}" for c, n in sorted(counts.items()))
    print(f"licences: {len(rows)} packages ({summary}); accepted by review: {len(accepted)}")
    for line in problems:
        print(f"licences: {line}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
