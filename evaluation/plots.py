"""Performance and fairness charts for report.html: ROC and precision-recall curves, calibration,
and per-group missed cases, AUROC and calibration.

Drawn as SVG (`evaluation.svg`) and returned as data URIs, so the report needs no other file or
network. Matplotlib took 0.1-0.5 s per chart here, mostly laying out text (45 charts per report);
these take a few milliseconds each and stay sharp when zoomed or printed.

Every panel has both axes labelled with their unit. Rates and risks (sensitivity, FPR, PPV, FNR,
predicted and observed rates) are drawn in percent, as the report's tables show them; AUROC stays
a 0-1 number, as in the tables.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_curve

from evaluation import svg
from evaluation.group_metrics import Breakdown, EstimateKey, GroupMetrics
from evaluation.groups import TITLES, group_label
from evaluation.svg import ACCENT, DPI, GAP, GOOD, INK, MUTED, PT, RIGHT, WARN

PCT = 100.0  # fractions to percent: charts use the tables' scale


def _rows_limits(values: list[Any], margin: float = 0.05) -> tuple[float, float]:
    """Axis limits around the values that are present (suppressed groups have None)."""
    return svg.padded([v for v in values if v is not None], margin)


def discrimination_plot(y: np.ndarray, p: np.ndarray, threshold: float) -> str:
    """ROC and precision-recall curves, with the flag threshold's operating point."""
    chart = svg.Chart(6.6 * DPI, 3.4 * DPI)
    left = svg.y_label_space(["0", "100"], axis_label=True)
    width = (chart.width - 2 * left - 2 * RIGHT) / 2
    boxes = [(left + i * (width + left + RIGHT), svg.TITLE_SPACE, width, chart.height
              - svg.TITLE_SPACE - svg.XLABEL_SPACE) for i in (0, 1)]  # fmt: skip
    roc, pr = (chart.panel(box, (0, PCT), (0, 1.02 * PCT)) for box in boxes)
    flagged = p >= threshold
    tpr = flagged[y == 1].mean() if (y == 1).any() else np.nan
    fpr_pt = flagged[y == 0].mean() if (y == 0).any() else np.nan
    ppv = y[flagged].mean() if flagged.any() else np.nan
    roc.line([0, PCT], [0, PCT], MUTED, 0.8 * PT, dash="4.5 2")
    pr.hline(float(y.mean()) * PCT, MUTED, 0.8 * PT, dash="4.5 2")
    if len(np.unique(y)) == 2:
        fpr, tpr_c, _ = roc_curve(y, p)
        roc.line(fpr * PCT, tpr_c * PCT, ACCENT, 1.8 * PT)
        prec, rec, _ = precision_recall_curve(y, p)
        pr.line(rec * PCT, prec * PCT, ACCENT, 1.8 * PT)
    roc.dots([fpr_pt * PCT], [tpr * PCT], WARN, 4.6)
    pr.dots([tpr * PCT], [ppv * PCT], WARN, 4.6)
    chart.axes(roc, "ROC curve", "False positive rate, FPR (%)", "Sensitivity (%)")
    chart.axes(pr, "Precision-recall curve", "Sensitivity, recall (%)", "Precision, PPV (%)")
    chart.legend(roc, [(f"flag threshold {threshold:.3f}", "dot", WARN)], "lower right")
    chart.legend(
        pr, [("prevalence", "dashed", MUTED), ("flag threshold", "dot", WARN)], "upper right"
    )
    return chart.to_data_uri()


def calibration_plot(curve: list[dict[str, float]], p: np.ndarray, threshold: float) -> str:
    """Reliability diagram (observed vs mean predicted per quantile bin) over a histogram of p."""
    chart = svg.Chart(3.6 * DPI, 3.4 * DPI)
    predicted = [pt["predicted"] * PCT for pt in curve]
    observed = [pt["observed"] * PCT for pt in curve]
    lim = min(PCT, max([*predicted, *observed, 5.0]) * 1.1)
    counts, edges = np.histogram(np.asarray(p) * PCT, bins=40, range=(0, lim))
    inner = chart.height - svg.TITLE_SPACE - svg.XLABEL_SPACE - GAP
    heights = (inner * 0.75, inner * 0.25)
    ticks = [svg.axis_ticks(0, lim, heights[0], svg.Y_SPACING),
             svg.axis_ticks(0, counts.max() * 1.05 or 1, heights[1], svg.Y_SPACING)]  # fmt: skip
    left = max(svg.y_label_space(svg.tick_labels(t), axis_label=True) for t in ticks)
    width = chart.width - left - RIGHT
    xlim = (-0.05 * lim, lim * 1.05)
    reliability = chart.panel((left, svg.TITLE_SPACE, width, heights[0]), xlim, (0, lim))
    hist = chart.panel(
        (left, svg.TITLE_SPACE + heights[0] + GAP, width, heights[1]),
        xlim,
        (0, float(counts.max()) * 1.05 or 1.0),
    )
    reliability.line([0, lim], [0, lim], MUTED, 0.8 * PT, dash="4.5 2")
    reliability.line(predicted, observed, ACCENT, marker=4.6)
    hist.rects(edges[:-1], edges[1:], np.zeros(len(counts)), counts, ACCENT, opacity=0.6)
    hist.vline(threshold * PCT, WARN, 1 * PT)
    # the two panels share the x axis: its label sits under the histogram
    chart.axes(reliability, "Calibration", ylabel="Observed rate (%)", xlabels=False)
    chart.axes(hist, xlabel="Predicted risk (%)", ylabel="Spells", yticks=ticks[1])
    chart.legend(
        reliability,
        [("perfect", "dashed", MUTED), ("model (deciles of risk)", "marker-line", ACCENT)],
    )
    chart.legend(hist, [("flag threshold", "line", WARN)], "upper right")
    return chart.to_data_uri()


def _ci_panel(
    chart: svg.Chart,
    box: tuple[float, float, float, float],
    rows: list[tuple[str, GroupMetrics]],
    key: EstimateKey,
    band: tuple[float, float] | None = None,
    scale: float = 1.0,
) -> svg.Panel:
    """Dot-and-whisker per group (top to bottom), values times `scale`; suppressed groups show
    as a note only."""
    ref = next((r for _, r in rows if r.reference), None)
    ref_value = ref.estimate(key)[0] if ref is not None else None
    ref_value = ref_value * scale if ref_value is not None else None
    estimates = [(i, *r.estimate(key)) for i, (_, r) in enumerate(rows) if not r.suppressed]
    shown = [(i, value * scale) for i, value, _ in estimates if value is not None]
    with_ci = [
        (i, (lo * scale, hi * scale))
        for i, value, (lo, hi) in estimates
        if value is not None and lo is not None and hi is not None
    ]
    spread = [value for _, value in shown] + [v for _, ci in with_ci for v in ci]
    if ref_value is not None and band is not None:
        spread += [ref_value * band[0], ref_value * band[1]]
    panel = chart.panel(box, _rows_limits(spread), (len(rows) - 0.5, -0.5))
    _row_guides(panel, len(rows))
    if ref_value is not None:
        if band is not None:
            panel.rects([ref_value * band[0]], [ref_value * band[1]], [panel.ylim[0]],
                        [panel.ylim[1]], GOOD, opacity=0.08)  # fmt: skip
        panel.vline(ref_value, MUTED, 0.8 * PT, dash="4.5 2")
    panel.segments([c[0] for _, c in with_ci], [i for i, _ in with_ci], [c[1] for _, c in with_ci],
                   [i for i, _ in with_ci], ACCENT, 1.6 * PT, opacity=0.6)  # fmt: skip
    colours = [INK if rows[i][1].reference else ACCENT for i, _ in shown]
    panel.dots([value for _, value in shown], [i for i, _ in shown], colours, 3.6)
    for i, (_, r) in enumerate(rows):
        if r.suppressed:
            chart.note(panel, i, "suppressed")
    return panel


def _row_guides(panel: svg.Panel, n: int) -> None:
    """A faint line along each group row, so a row can be followed across the three panels."""
    lo, hi = panel.xlim
    panel.segments([lo] * n, range(n), [hi] * n, range(n), MUTED, 0.6 * PT, opacity=0.18)


def group_disparity_plot(attribute: str, table: Breakdown, band: tuple[float, float]) -> str:
    """Per group: FNR with 95% CI (band around the reference), AUROC with CI, observed vs
    predicted rate."""
    rows = list(table.items())
    labels = [group_label(attribute, g) + (" (ref.)" if r.reference else "") for g, r in rows]
    titles = ("Missed cases (FNR), 95% CI", "AUROC, 95% CI", "Observed (dot) vs predicted (bar)")
    chart = svg.Chart(10.2 * DPI, (1.0 + 0.28 * len(rows)) * DPI + svg.XLABEL_SPACE - 30)
    left, gap = svg.y_label_space(labels, axis_label=True), 24.0
    bottom = svg.XLABEL_SPACE
    # a right margin wide enough for the last panel's title to end inside the canvas
    overhang = svg.text_width(titles[2], svg.LABEL_FONT, bold=True) + 6
    right = max(RIGHT, 1.5 * (overhang - (chart.width - left - 2 * gap) / 3))
    width = (chart.width - left - right - 2 * gap) / 3
    height = chart.height - svg.TITLE_SPACE - bottom
    boxes = [(left + i * (width + gap), svg.TITLE_SPACE, width, height) for i in range(3)]
    fnr = _ci_panel(chart, boxes[0], rows, "fnr", band, scale=PCT)
    auc = _ci_panel(chart, boxes[1], rows, "auroc")
    shown = [(i, r) for i, (_, r) in enumerate(rows) if not r.suppressed]
    idx = [i for i, _ in shown]
    predicted = [(r.mean_predicted or 0.0) * PCT for _, r in shown]  # a reported group has both
    observed = [(r.prevalence or 0.0) * PCT for _, r in shown]
    cal = chart.panel(boxes[2], _rows_limits(predicted + observed, 0.12), fnr.ylim)
    _row_guides(cal, len(rows))
    cal.segments(predicted, idx, observed, idx, MUTED, 1 * PT)
    cal.segments(predicted, [i - 0.22 for i in idx], predicted, [i + 0.22 for i in idx], ACCENT,
                 1.4 * PT)  # fmt: skip
    cal.dots(observed, idx, WARN, 3.6)
    # the three panels share the group rows: the y label sits left of the first
    chart.axes(fnr, titles[0], "Missed cases, FNR (%)", TITLES.get(attribute, attribute),
               yticks=range(len(rows)), ylabels=labels, ygrid=False)  # fmt: skip
    chart.axes(auc, titles[1], "AUROC (0.5 = chance, 1 = perfect)", yticks=[], ygrid=False)
    chart.axes(cal, titles[2], "Observed and mean predicted rate (%)", yticks=[], ygrid=False)
    return chart.to_data_uri()


def group_calibration_plot(
    attribute: str, curves: dict[str, list[dict[str, float]]], reference: str | None
) -> str:
    """Calibration within groups: one reliability line per reported group."""
    chart = svg.Chart(4.4 * DPI, 3.6 * DPI)
    top = max([max(pt["predicted"], pt["observed"]) for c in curves.values() for pt in c] + [0.05])
    lim = min(PCT, top * PCT * 1.1)
    height = chart.height - svg.TITLE_SPACE - svg.XLABEL_SPACE
    ticks = svg.tick_labels(svg.axis_ticks(0, lim, height, svg.Y_SPACING))
    left = svg.y_label_space(ticks, axis_label=True)
    panel = chart.panel(
        (left, svg.TITLE_SPACE, chart.width - left - RIGHT, height), (0, lim), (0, lim)
    )
    panel.line([0, lim], [0, lim], MUTED, 0.8 * PT, dash="4.5 2")
    colours = [ACCENT, WARN, GOOD, "#ffb81c", "#330072", "#41b6e6", "#ae2573", "#768692"]
    legend = []
    for i, (group, curve) in enumerate(curves.items()):
        colour = colours[i % len(colours)]
        panel.line(
            [pt["predicted"] * PCT for pt in curve],
            [pt["observed"] * PCT for pt in curve],
            colour,
            (2.2 if group == reference else 1.2) * PT,
            marker=2.3,
        )
        name = group_label(attribute, group) + (" (ref.)" if group == reference else "")
        legend.append((name, "thick" if group == reference else "marker-line", colour))
    chart.axes(panel, "Calibration within groups", "Mean predicted risk (%)", "Observed rate (%)")
    if legend:
        chart.legend(panel, legend, size=svg.NOTE_FONT)
    return chart.to_data_uri()
