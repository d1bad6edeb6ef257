"""Rendering of the printable outputs: the risk list's HTML page, in words a ward nurse uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from models.printable import page_environment
from models.vocabulary import SPECIALTIES

if TYPE_CHECKING:  # models.risk_list imports this module at its top: a cycle at run time
    from los.targets import Target
    from models.risk_list_result import RiskList


def stay_days(target: Target) -> int | None:
    """The length of stay a long-stay target counts from (None for other targets), as the
    model's own definition says (`ModelBundle.label_target`)."""
    return target.days if target.kind == "long_stay" else None


def target_words(target: Target) -> tuple[str, str, str]:
    """(column heading, phrase for a sentence, roll-up heading) for a target, in plain words."""
    if target.kind == "nctr":
        return (
            "Chance of a delay once medically ready (NCTR)",
            "staying on after being medically ready to leave (no criteria to reside)",
            "Expected delays once medically ready",
        )
    return (
        f"Chance of staying {target.days}+ days",
        f"staying {target.days} days or more",
        f"Expected stays of {target.days}+ days",
    )


def specialty_name(code: str | None) -> str:
    """A treatment function code in the NHS Data Dictionary's words (430: Elderly Medicine)."""
    if code is None:
        return "not recorded"
    return SPECIALTIES.get(str(code)) or f"Treatment function code {code}"


def page_footer(result: RiskList) -> str:
    """The line printed at the foot of every page (beside "Page n of N")."""
    site = f" for site {result.site}" if result.site else ""
    made = result.generated_at.strftime("%-d %b %Y %H:%M")
    models = ", ".join(f"{m.name} version {m.version}" for m in result.models.values())
    return (
        f"Discharge planning list{site} · {result.list_date.strftime('%-d %B %Y')} · made {made} "
        f"UTC · models {models or 'none'} · decision support only"
    )


def render_risk_list(result: RiskList) -> str:
    """The printable list (A4 landscape) for a ward or discharge team."""
    env = page_environment()
    env.filters["specialty"] = specialty_name
    words = {t: target_words(result.definitions[t]) for t in result.targets}
    waiting = None
    if result.outlooks:  # a provider with stay curves was given (`models.stay_outlook`)
        from models.stay_outlook import ward_waiting

        waiting = ward_waiting(result)
    return env.get_template("risk_list.html.j2").render(
        result=result,
        page_footer=page_footer(result),
        labels={t: w[0] for t, w in words.items()},
        phrases={t: w[1] for t, w in words.items()},
        expected_labels={t: w[2] for t, w in words.items()},
        stay_days={t: stay_days(result.definitions[t]) for t in result.targets},
        waiting=waiting,
    )
