"""Write a monitoring run: `monitor.json` (CONTRACT §8) and a self-contained `monitor.html`."""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from evaluation.groups import TITLES
from monitoring.alerts import segment_name
from monitoring.charts import series_chart
from monitoring.monitor import MonitorResult

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Model monitoring</title>
<style>
body{font-family:'DejaVu Sans',Verdana,Arial,sans-serif;color:#1f2933;margin:2em;max-width:1100px}
table{border-collapse:collapse;margin:0.6em 0;font-size:0.85em}
td,th{border:1px solid #d0d5da;padding:3px 7px;text-align:right}
td:first-child,th:first-child{text-align:left}
.alert{color:#d5281b;font-weight:bold}.muted{color:#7b8794}
.box{border-left:4px solid #005eb8;padding:0.3em 1em;background:#f3f6f9}
img{max-width:100%}
</style></head><body>
<h1>Model monitoring</h1>
<p>Reference: {{ doc.reference.n }} spells admitted {{ doc.reference['from'][:10] }} to
{{ doc.reference.to[:10] }}. Recent: {{ doc.recent.n }} spells admitted
{{ doc.recent['from'][:10] }} to {{ doc.recent.to[:10] }}.</p>
<p class="box">{{ doc.assumption }}</p>
<h2 id="alerts">Alerts ({{ doc.alerts|length }})</h2>
{% if doc.alerts %}<table><tr><th>target</th><th>segment</th><th>kind</th><th>detail</th>
<th>action</th></tr>
{% for a in doc.alerts %}<tr><td>{{ a.target }}</td><td>{{ name(a.attribute, a.group) }}</td>
<td>{{ a.kind }}</td><td style="text-align:left">{{ a.detail }}</td>
<td style="text-align:left">{{ a.action }}</td></tr>{% endfor %}</table>
{% else %}<p>No alert: every segment looks as it did on the reference.</p>{% endif %}
{% for t, tv in views.items() %}
<h2 id="{{ t }}">{{ tv.title }}</h2>
{% for attr in tv.attributes %}
<h3>{{ attr.title }}</h3>
<table><tr><th>segment</th><th>n</th><th>labelled</th><th>mean risk (ref → now)</th>
<th>score PSI</th><th>estimated AUROC (95% CI)</th><th>reference est.</th>
<th>realised AUROC (95% CI)</th><th>estimate check</th><th>O/E</th><th>alerts</th></tr>
{% for r in attr.rows %}<tr><td>{{ r.name }}</td>
{% if r.e.suppressed %}<td>{{ r.e.n }}</td><td colspan="9" class="muted">fewer than
{{ doc.settings.min_segment_size }} spells in a window: not assessed</td>
{% else %}<td>{{ r.e.n }}</td><td>{{ r.e.labelled }}</td>
<td>{{ pct(r.e.reference_mean_score) }} → {{ pct(r.e.mean_score) }}</td>
<td>{{ num(r.e.score_drift.psi, 2) }}</td>
<td>{{ num(r.e.estimated_auroc) }} {{ ci(r.e.estimated_auroc_ci) }}</td>
<td>{{ num(r.e.reference_estimated_auroc) }}</td>
<td>{{ num(r.e.realised_auroc) }} {{ ci(r.e.realised_auroc_ci) }}</td>
<td class="{{ '' if r.e.estimate_check.judged else 'muted' }}">{{ check(r.e.estimate_check) }}</td>
<td>{{ num(r.e.observed_expected.ratio, 2) if r.e.observed_expected else '–' }}</td>
<td class="{{ 'alert' if r.e.alerts else '' }}">{{ r.e.alerts|length }}</td>{% endif %}</tr>
{% endfor %}</table>
{% if attr.chart %}<img alt="{{ tv.title }}: weekly series by {{ attr.title }}"
src="{{ attr.chart }}">{% endif %}
{% endfor %}{% endfor %}
</body></html>
"""


def _num(value: Any, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _ci(ci: list[Any]) -> str:
    return "" if ci[0] is None else f"({ci[0]:.3f}–{ci[1]:.3f})"


def _check(check: dict[str, Any]) -> str:
    """The estimate check in a few words: the difference where judged, else why not."""
    if not check["judged"]:
        return str(check["note"])
    verdict = "within" if check["within_tolerance"] else "outside"
    return f"{check['difference']:+.3f} ({verdict} the tolerance)"


def _pct(value: Any) -> str:
    return "–" if value is None else f"{value:.1%}"


def _views(result: MonitorResult) -> dict[str, Any]:
    doc = result.document
    start = doc["recent"]["from"][:10]
    views: dict[str, Any] = {}
    for t, target in doc["targets"].items():
        attributes = []
        series = result.series.get(t, {})
        for attribute, groups in [
            ("overall", {"all": target["overall"]}),
            *target["segments"].items(),
        ]:
            rows = [{"name": segment_name(attribute, g), "e": e} for g, e in groups.items()]
            lines = {
                g: [dict(pt, week=_week(pt["start"], start)) for pt in pts]
                for g, pts in series.get(attribute, {}).items()
            }
            alerted = {g for g, e in groups.items() if e.get("alerts")}
            title = "All spells" if attribute == "overall" else TITLES.get(attribute, "Site")
            chart = series_chart(lines, alerted, start) if lines else None
            attributes.append({"title": title, "rows": rows, "chart": chart})
        views[t] = {"title": target["title"], "attributes": attributes}
    return views


@lru_cache(maxsize=4096)
def _week(day: str, start: str) -> float:
    return (date.fromisoformat(day) - date.fromisoformat(start)).days / 7


def render_html(result: MonitorResult) -> str:
    """monitor.html: alerts, per-target tables and charts; no script, no external reference."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(TEMPLATE)
    return template.render(
        doc=result.document,
        views=_views(result),
        name=segment_name,
        num=_num,
        pct=_pct,
        ci=_ci,
        check=_check,
    )


def write_monitor(result: MonitorResult, out_dir: str | Path) -> list[Path]:
    """Write monitor.json (the document and its time series) and monitor.html into `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out / "monitor.json", out / "monitor.html"
    document = {**result.document, "series": result.series}
    json_path.write_text(json.dumps(document, indent=1, allow_nan=False), encoding="utf-8")
    html_path.write_text(render_html(result), encoding="utf-8")
    return [json_path, html_path]
