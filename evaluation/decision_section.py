"""The "Decisions" section of a training run's model card and report (CONTRACT §6).

A decision (`los promote`) comes after its run's documents were written, and the evaluation
behind them (every chart) is not kept, so the documents are not re-rendered: the section is
inserted into the logged `model_card.md` and `report.html`, between markers, and replaced whole
by the next decision. The rest of each document stays as the training run wrote it, and the
section says so. Person-written text (who, why) is escaped: it is never read as HTML or Markdown.
"""

from __future__ import annotations

import html
import re

from models.decisions import PROMOTE, Decision

START = "<!-- los:decisions -->"
END = "<!-- /los:decisions -->"
_BLOCK = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")  # inline markup; <, > and & are escaped as HTML
_LEAD = (
    "Recorded with `los promote` after this document was written, oldest first; the rest of the "
    "document is unchanged since training."
)


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def _code(text: str) -> str:
    """A name as a Markdown code span (inside one nothing is escaped, so no backtick may end it)."""
    return "`" + text.replace("`", "'") + "`"


def _what(d: Decision) -> str:
    return "promoted to champion" if d.kind == PROMOTE else "rejected"


def _champion(d: Decision) -> str:
    before = d.champion_before or "none"
    after = d.champion_after or "none"
    return f"champion version {before} → {after}"


def markdown_section(decisions: list[Decision]) -> str:
    """The model card's section."""
    lines = [START, "## Decisions", "", _LEAD, ""]
    for d in decisions:
        accepted = ", ".join(_code(a) for a in d.accepted) or "none needed"
        if d.kind != PROMOTE:
            accepted = "not applicable (rejected)"
        lines.append(
            f"- {d.at_text}: `{d.model}` version {d.version} **{_what(d)}** by {_md(d.by)} "
            f"({_champion(d)}). Reason: {_md(d.reason)}. Accepted failed gates and findings: "
            f"{accepted}."
        )
    return "\n".join([*lines, END])


def html_section(decisions: list[Decision]) -> str:
    """The report's section (a `<section>` like the report's own)."""
    rows = []
    for d in decisions:
        accepted = "".join(f"<li><code>{html.escape(a)}</code></li>" for a in d.accepted)
        accepted = f"<ul class='tight'>{accepted}</ul>" if accepted else "—"
        rows.append(
            f"<tr data-kind='{d.kind}'><td>{html.escape(d.at_text)}</td>"
            f"<td class='text'><code>{html.escape(d.model)}</code> version {html.escape(d.version)}"
            f"</td><td class='text'><b>{_what(d)}</b></td><td class='text'>{html.escape(d.by)}"
            f"</td><td class='text'>{html.escape(d.reason)}</td><td class='text'>{accepted}</td>"
            f"<td class='text'>{html.escape(_champion(d))}</td></tr>"
        )
    lead = html.escape(_LEAD).replace("`los promote`", "<code>los promote</code>")
    return (
        f"{START}\n<section id='decisions'>\n  <h2>Decisions</h2>\n  <p class='lead'>{lead}</p>\n"
        "  <div class='scroll'><table><thead><tr><th class='text'>When (UTC)</th>"
        "<th class='text'>Version</th><th class='text'>Decision</th><th class='text'>By</th>"
        "<th class='text'>Reason</th><th class='text'>Accepted failed gates and findings</th>"
        "<th class='text'>Champion</th></tr></thead>\n  <tbody>"
        + "".join(rows)
        + f"</tbody></table></div>\n</section>\n{END}"
    )


def _insert(text: str, section: str, anchors: tuple[str, ...]) -> str:
    if _BLOCK.search(text):
        return _BLOCK.sub(lambda _: section, text, count=1)
    for anchor in anchors:
        at = text.find(anchor)
        if at >= 0:
            return f"{text[:at]}{section}\n\n{text[at:]}"
    return f"{text.rstrip()}\n\n{section}\n"


def with_markdown_section(card: str, decisions: list[Decision]) -> str:
    """The model card with its Decisions section (before "Intended use")."""
    return _insert(card, markdown_section(decisions), ("## Intended use",))


def with_html_section(report: str, decisions: list[Decision]) -> str:
    """The report with its Decisions section (after the overview)."""
    return _insert(report, html_section(decisions), ('<section id="method">', "</main>", "</body>"))
