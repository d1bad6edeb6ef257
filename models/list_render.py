"""Rendering of the printable outputs: the risk list's HTML page, in words a ward nurse uses."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from models.vocabulary import SPECIALTIES

if TYPE_CHECKING:  # models.risk_list imports this module at its top: a cycle at run time
    from models.risk_list import RiskList


def stay_days(target: str, description: str | None = None) -> int | None:
    """The length of stay a long-stay target counts from (None for other targets)."""
    if target == "nctr":
        return None
    days = re.fullmatch(r"long_stay_(\d+)", target)
    if days is None and description:
        days = re.search(r"(\d+) days", description)
    return int(days.group(1)) if days else None


def target_words(target: str, description: str | None = None) -> tuple[str, str, str]:
    """(column heading, phrase for a sentence, roll-up heading) for a target, in plain words."""
    if target == "nctr":
        return (
            "Chance of a delay once medically ready (NCTR)",
            "staying on after being medically ready to leave (no criteria to reside)",
            "Expected delays once medically ready",
        )
    found = stay_days(target, description)
    if found is None:
        return "Chance of a long stay", "a long stay", "Expected long stays"
    return (
        f"Chance of staying {found}+ days",
        f"staying {found} days or more",
        f"Expected stays of {found}+ days",
    )


def specialty_name(code: str | None) -> str:
    """A treatment function code in words (e.g. `430` -> `Geriatric medicine`)."""
    if code is None:
        return "not recorded"
    name = SPECIALTIES.get(str(code))
    return name[:1].upper() + name[1:] if name else f"Specialty {code}"


def render_risk_list(result: RiskList) -> str:
    """The printable list (A4 landscape) for a ward or discharge team."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["percent"] = lambda p: f"{100 * p:.0f}%"
    env.filters["specialty"] = specialty_name
    words = {t: target_words(t, result.descriptions.get(t)) for t in result.targets}
    return env.get_template("risk_list.html.j2").render(
        result=result,
        labels={t: w[0] for t, w in words.items()},
        phrases={t: w[1] for t, w in words.items()},
        expected_labels={t: w[2] for t, w in words.items()},
        stay_days={t: stay_days(t, result.descriptions.get(t)) for t in result.targets},
    )
