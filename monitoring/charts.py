"""Time-series charts of monitor.html: per target and attribute, one line per segment of the
weekly observed/expected events and of the mean predicted risk (SVG data URIs, `evaluation.svg`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from evaluation import svg
from evaluation.svg import DPI, MUTED, PT, RIGHT, WARN

PALETTE = ("#005eb8", "#007f3b", "#ffb81c", "#330072", "#00a9ce", "#ae2573", "#78be20", "#425563")


def _values(points: list[dict[str, Any]], key: str) -> tuple[np.ndarray, np.ndarray]:
    xs = [i for i, pt in enumerate(points) if pt[key] is not None]
    return np.array([points[i]["week"] for i in xs], float), np.array(
        [points[i][key] for i in xs], float
    )


def series_chart(groups: dict[str, list[dict[str, Any]]], alerted: set[str], start: str) -> str:
    """Observed/expected (left) and mean predicted risk (right) per period, one line a group;
    groups with an alert drawn thick in red."""
    chart = svg.Chart(7.2 * DPI, 3.6 * DPI)
    left = svg.y_label_space(["0.00", "1.00"], axis_label=True)
    width = (chart.width - 2 * left - 2 * RIGHT) / 2
    height = chart.height - svg.TITLE_SPACE - svg.XLABEL_SPACE
    weeks = [pt["week"] for pts in groups.values() for pt in pts] or [0]
    xlim = (min(weeks) - 0.3, max(weeks) + 0.3)
    oe = [pt["observed_expected"] for pts in groups.values() for pt in pts]
    score = [pt["mean_score"] for pts in groups.values() for pt in pts]
    lo, hi = svg.padded([v for v in oe if v is not None] + [1.0])
    panels = [
        chart.panel((left, svg.TITLE_SPACE, width, height), xlim, (max(0.0, lo), hi)),
        chart.panel(
            (2 * left + width + RIGHT, svg.TITLE_SPACE, width, height),
            xlim,
            svg.padded([v for v in score if v is not None]),
        ),
    ]
    panels[0].hline(1.0, MUTED, 0.8 * PT, dash="4.5 2")
    legend = []
    for i, (group, points) in enumerate(groups.items()):
        colour = WARN if group in alerted else PALETTE[i % len(PALETTE)]
        stroke = (2.4 if group in alerted else 1.2) * PT
        for panel, key in zip(panels, ("observed_expected", "mean_score"), strict=True):
            xs, ys = _values(points, key)
            if len(xs):
                panel.line(xs, ys, colour, stroke)
                panel.dots(xs, ys, colour, 2.2)
        if group in alerted or len(groups) <= 8:
            legend.append((group[:28], "line", colour))
    xlabel = f"weeks from {start}"
    chart.axes(panels[0], "Observed / expected events", xlabel, "O/E (1 = as reference)")
    chart.axes(panels[1], "Mean predicted risk", xlabel, "probability")
    if legend:
        chart.legend(panels[1], legend[:8], "upper left", size=svg.NOTE_FONT)
    return chart.to_data_uri()
