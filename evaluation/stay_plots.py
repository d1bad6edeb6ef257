"""Charts of the stay distribution section of report.html: calibration of P(stay >= d days) at
3, 7, 14 and 21 days, and the 80% interval's coverage by group. SVG data URIs
(`evaluation.svg`), percent scales and labelled axes as in `evaluation.plots`."""

from __future__ import annotations

from evaluation import svg
from evaluation.groups import TITLES, group_label
from evaluation.stay_evaluation import StayGroupMetrics
from evaluation.stay_metrics import HorizonCalibration
from evaluation.svg import ACCENT, DPI, GOOD, INK, MUTED, PT, RIGHT, WARN

PCT = 100.0


def stay_calibration_plot(
    model: dict[int, HorizonCalibration], oracle: dict[int, HorizonCalibration] | None = None
) -> str:
    """One reliability panel per day (two by two): observed share still in hospital on day d
    (censoring-weighted) against the mean predicted P(stay >= d), per decile of the prediction."""
    days = sorted(model)
    columns, rows = 2, (len(days) + 1) // 2
    chart = svg.Chart(7.2 * DPI, 3.1 * DPI * rows)
    left = svg.y_label_space(["100"], axis_label=True)
    gap_x, gap_y = left + 12.0, 24.0
    width = (chart.width - left - RIGHT - gap_x * (columns - 1)) / columns
    height = (
        chart.height - rows * (svg.TITLE_SPACE + svg.XLABEL_SPACE) - gap_y * (rows - 1)
    ) / rows
    for i, day in enumerate(days):
        row, column = divmod(i, columns)
        curves = [model[day]] + ([oracle[day]] if oracle and day in oracle else [])
        top = max([max(p["predicted"], p["observed"]) for c in curves for p in c.points] + [0.05])
        lim = min(PCT, top * PCT * 1.1)
        y0 = svg.TITLE_SPACE + row * (height + svg.TITLE_SPACE + svg.XLABEL_SPACE + gap_y)
        panel = chart.panel(
            (left + column * (width + gap_x), y0, width, height), (0, lim), (0, lim)
        )
        panel.line([0, lim], [0, lim], MUTED, 0.8 * PT, dash="4.5 2")
        if oracle and day in oracle:
            o = oracle[day].points
            x, y = [p["predicted"] * PCT for p in o], [p["observed"] * PCT for p in o]
            panel.line(x, y, GOOD, 1.2 * PT, dash="4.5 2", marker=2.3)
        m = model[day].points
        panel.line([p["predicted"] * PCT for p in m], [p["observed"] * PCT for p in m], ACCENT,
                   marker=3.2)  # fmt: skip
        chart.axes(
            panel,
            f"Day {day}: P(stay ≥ {day} days)",
            "Mean predicted probability (%)",
            "Observed share still in (%)",
        )
    legend = [("perfect", "dashed", MUTED), ("model (deciles)", "marker-line", ACCENT)]
    if oracle:
        legend.append(("true curve (oracle)", "marker-line", GOOD))
    chart.legend(chart.panels[0], legend, size=svg.NOTE_FONT)
    return chart.to_data_uri()


def stay_coverage_plot(
    attribute: str, table: dict[str, StayGroupMetrics], band: tuple[float, float]
) -> str:
    """Per group: the share of actual stays inside the 80% interval (dot; red outside the gate's
    band), its 95% CI (line), the band (shaded) and the 80% target (dashed); the report's
    caption says so."""
    rows = list(table.items())
    labels = [group_label(attribute, g) for g, _ in rows]
    chart = svg.Chart(6.2 * DPI, (1.0 + 0.28 * len(rows)) * DPI + svg.XLABEL_SPACE - 30)
    left = svg.y_label_space(labels, axis_label=True)
    height = chart.height - svg.TITLE_SPACE - svg.XLABEL_SPACE
    values = [r.coverage for _, r in rows if r.coverage is not None]
    values += [v for _, r in rows for v in r.coverage_ci if v is not None]
    lo, hi = svg.padded([*(v * PCT for v in values), band[0] * PCT, band[1] * PCT, 80.0], 0.08)
    box = (left, svg.TITLE_SPACE, chart.width - left - RIGHT, height)
    panel = chart.panel(box, (lo, hi), (len(rows) - 0.5, -0.5))
    panel.rects([band[0] * PCT], [band[1] * PCT], [panel.ylim[0]], [panel.ylim[1]], GOOD,
                opacity=0.1)  # fmt: skip
    panel.vline(80.0, MUTED, 0.8 * PT, dash="4.5 2")
    for i, (_, r) in enumerate(rows):
        if r.suppressed or r.coverage is None:
            chart.note(panel, i, "suppressed" if r.suppressed else "no stays to judge")
            continue
        c_lo, c_hi = r.coverage_ci
        if c_lo is not None and c_hi is not None:
            panel.segments([c_lo * PCT], [i], [c_hi * PCT], [i], ACCENT, 1.6 * PT, opacity=0.6)
        inside = band[0] <= r.coverage <= band[1]
        panel.dots([r.coverage * PCT], [i], INK if inside else WARN, 3.6)
    chart.axes(
        panel,
        "Actual stays inside the 80% interval [p10, p90], 95% CI",
        "Stays inside the interval (%)",
        TITLES.get(attribute, attribute),
        yticks=range(len(rows)),
        ylabels=labels,
        ygrid=False,
    )
    return chart.to_data_uri()
