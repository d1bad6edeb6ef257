"""The model card (model_card.md): intended use, data, metrics, fairness findings, limitations."""

from __future__ import annotations

from typing import Any

import jinja2


def render_model_card(view: dict[str, Any], environment: jinja2.Environment) -> str:
    """Markdown model card from the same view the HTML report is rendered from
    (`evaluation.report.report_view`)."""
    text = environment.get_template("model_card.md.j2").render(**view)
    # collapse the blank lines left by template control blocks
    lines: list[str] = []
    for line in text.splitlines():
        if line.strip() or (lines and lines[-1].strip()):
            lines.append(line.rstrip())
    return "\n".join(lines).strip() + "\n"
