"""Explanation charts for report.html: SHAP beeswarm, impact by field, dependence plots.

Values are LightGBM tree SHAP contributions of a sample of test-period spells (`GlobalExplanation`,
calibrated log-odds). The beeswarm (some 24,000 dots) is a matplotlib PNG: drawn on the Agg canvas
with the object API (no pyplot state, nothing at import time) and a fixed layout computed once from
the label widths, since constrained layout re-measured every text on every draw. The bar and
dependence charts are SVG (`evaluation.svg`). Every chart labels both axes; a numeric feature's
axis reads its display name with its unit (`models.vocabulary.feature_axis_label`: "Age (years)").
"""

from __future__ import annotations

import base64
import io

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure

from evaluation import svg
from evaluation.svg import ACCENT, DPI, INK, MUTED, PT, RIGHT, WARN
from models.explain import GlobalExplanation
from models.vocabulary import feature_axis_label, feature_label, field_label, level_label

SHAP_CMAP = LinearSegmentedColormap.from_list("shap", ["#008bfb", "#8a4fd6", "#ff0051"])


def to_data_uri(fig: Figure) -> str:
    """A figure as an inline PNG data URI."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", facecolor="white")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _swarm_offsets(x: np.ndarray, width: float = 0.38, bins: int = 80) -> np.ndarray:
    """Vertical offsets that stack points with similar x (a beeswarm), within +-width."""
    span = np.ptp(x) if len(x) else 0.0
    q = np.floor((x - x.min()) / (span + 1e-12) * bins) if span > 0 else np.zeros(len(x))
    order = np.argsort(q, kind="stable")
    sorted_q = q[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_q)) + 1]
    rank = np.arange(len(x)) - np.repeat(starts, np.diff(np.r_[starts, len(x)]))
    offsets = np.empty(len(x))
    offsets[order] = np.ceil(rank / 2) * np.where(rank % 2 == 0, 1, -1)
    peak = np.abs(offsets).max() if len(x) else 0
    return offsets * (width / peak) if peak > 0 else offsets


def shap_summary_plot(expl: GlobalExplanation, top: int = 12) -> str:
    """Beeswarm: each dot a spell, x its SHAP value, colour its feature value (low blue, high
    red; categories and missing values grey)."""
    return to_data_uri(shap_summary_figure(expl, top))


def shap_summary_figure(expl: GlobalExplanation, top: int = 12) -> Figure:
    """The beeswarm of `shap_summary_plot` as a matplotlib figure."""
    features = expl.top_features(top)
    labels = [feature_label(f) for f in features]
    fig = Figure(figsize=(6.6, 0.9 + 0.34 * len(features)), dpi=DPI)
    FigureCanvasAgg(fig)  # the Agg canvas explicitly, no backend lookup
    ax = fig.subplots()
    for i, feat in enumerate(features):
        values, shap = expl.column(feat)
        y = i + _swarm_offsets(shap)
        colour = np.full(len(values), 0.5)
        grey = np.isnan(values) | (feat in expl.categorical)
        if (~grey).sum() > 1:
            lo, hi = np.nanpercentile(values[~grey], [5, 95])
            colour = np.clip((values - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
        ax.scatter(shap[grey], y[grey], s=4, color="#b0b7bf", alpha=0.7, linewidths=0)
        ax.scatter(shap[~grey], y[~grey], s=4, c=colour[~grey], cmap=SHAP_CMAP, vmin=0, vmax=1,
                   alpha=0.8, linewidths=0)  # fmt: skip
    ax.axvline(0, color=MUTED, linewidth=0.8)
    ax.set_yticks(range(len(features)), labels)
    ax.set_ylim(len(features) - 0.5, -0.5)
    # an explicit title height skips matplotlib's search for ticks above the axes on every draw
    ax.set_title("SHAP summary", loc="left", fontsize=10, color=INK, fontweight="bold", y=1.0)
    ax.set_xlabel("SHAP value: effect on log-odds of risk (right raises it)", color=INK)
    ax.set_ylabel("Input (feature)", color=INK)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", alpha=0.25, linewidth=0.6)
    ax.tick_params(colors=INK, labelsize=8)
    ax.locator_params(axis="x", nbins=6)
    _colour_bar_layout(fig, ax, svg.y_label_space(labels, axis_label=True))
    return fig


def _colour_bar_layout(fig: Figure, ax: Axes, left: float) -> None:
    """Fixed layout, in px: `left` for the row labels, the axes, a colour bar on the right; the
    title above, tick labels and the axis label below."""
    width, height = fig.get_size_inches() * DPI
    box = (left, svg.XLABEL_SPACE, width - left - 75, height - svg.XLABEL_SPACE - svg.TITLE_SPACE)
    ax.set_position((box[0] / width, box[1] / height, box[2] / width, box[3] / height))
    below = svg.TICK_LEN + svg.TICK_PAD + svg.TICK_FONT + 4  # tick, its label, a gap
    ax.xaxis.set_label_coords(0.5, -below / box[3])
    bar_box = ((box[0] + box[2] + 12) / width, box[1] / height, 10 / width, box[3] / height)
    bar = fig.colorbar(ScalarMappable(cmap=SHAP_CMAP), cax=fig.add_axes(bar_box), ticks=[0, 1])
    bar.ax.set_yticklabels(["low", "high"], fontsize=7)
    bar.set_label("Feature value", fontsize=7)
    bar.outline.set_visible(False)


def field_importance_plot(expl: GlobalExplanation, top: int = 12) -> str:
    """Mean |SHAP| per admissions field (derived columns summed back to their field)."""
    items = list(expl.field_importance().items())[:top]
    labels = [field_label(f) for f, _ in items]
    values = [v for _, v in items]
    chart = svg.Chart(3.7 * DPI, (0.9 + 0.34 * len(items)) * DPI)
    left = svg.y_label_space(labels, axis_label=True)
    n = len(items)
    panel = chart.panel(
        (left, svg.TITLE_SPACE, chart.width - left - RIGHT - 6,
         chart.height - svg.TITLE_SPACE - svg.XLABEL_SPACE),
        (0.0, max(values, default=1.0) * 1.05 or 1.0),
        (n - 0.5 + 0.05 * n, -0.5 - 0.05 * n),
    )  # fmt: skip
    panel.rects([0] * n, values, [i - 0.4 for i in range(n)], [i + 0.4 for i in range(n)], ACCENT)
    chart.axes(panel, "Impact by field", "Mean |SHAP| (log-odds)", "Admissions field",
               yticks=range(n), ylabels=labels, ygrid=False, xbins=4)  # fmt: skip
    return chart.to_data_uri()


def _box_stats(data: np.ndarray) -> tuple[float, float, float, float, float]:
    """Whisker low, Q1, median, Q3, whisker high (furthest points within 1.5 IQR), as boxplot."""
    q1, median, q3 = np.percentile(data, [25, 50, 75])
    iqr = q3 - q1
    inside = data[(data >= q1 - 1.5 * iqr) & (data <= q3 + 1.5 * iqr)]
    return float(inside.min()), float(q1), float(median), float(q3), float(inside.max())


Box = tuple[float, float, float, float]  # left, top, width, height in px


def _inner(cell: Box, pad: float) -> Box:
    """The panel box inside a grid cell (left, top, width, height px): `pad` px of labels on
    the left, a title above, tick labels and an axis label below."""
    left, top, width, height = cell
    inner = height - svg.TITLE_SPACE - svg.XLABEL_SPACE
    return left + pad, top + svg.TITLE_SPACE, width - pad - RIGHT, inner


def _category_boxes(chart: svg.Chart, cell: Box, expl: GlobalExplanation, feature: str) -> None:
    """SHAP values of a categorical column: a box per commonest category, and missing / rare."""
    values, shap = expl.column(feature)
    missing = np.isnan(values)
    levels = expl.levels.get(feature, [])
    codes, counts = np.unique(values[~missing].astype(int), return_counts=True)
    keep = codes[np.argsort(-counts)][:10]
    data = [shap[values == c] for c in keep] + ([shap[missing]] if missing.any() else [])
    names = [level_label(feature, levels[c]) if c < len(levels) else str(c) for c in keep]
    names += ["missing / rare"] if missing.any() else []
    short = [n if len(n) <= 36 else n[:35].rstrip() + "…" for n in names]
    stats = np.array([_box_stats(d) for d in data]).reshape(-1, 5)
    box = _inner(cell, svg.y_label_space(short, axis_label=True, size=svg.NOTE_FONT))
    panel = chart.panel(box, svg.padded(stats.ravel()), (0.5, len(data) + 0.5))
    pos = np.arange(1, len(data) + 1, dtype=float)
    for lo, hi in ((0, 1), (3, 4)):  # whiskers
        panel.segments(stats[:, lo], pos, stats[:, hi], pos, INK, 1 * PT)
    for col in (0, 4):  # caps
        panel.segments(stats[:, col], pos - 0.15, stats[:, col], pos + 0.15, INK, 1 * PT)
    panel.rects(stats[:, 1], stats[:, 3], pos - 0.3, pos + 0.3, "#ffffff", edge=INK)
    panel.segments(stats[:, 2], pos - 0.3, stats[:, 2], pos + 0.3, "#ff7f0e", 1.5 * PT)
    chart.axes(panel, feature_label(feature), "SHAP value (log-odds)", feature_label(feature),
               yticks=pos, ylabels=short, ysize=svg.NOTE_FONT)  # fmt: skip


def _value_scatter(chart: svg.Chart, cell: Box, expl: GlobalExplanation, feature: str) -> None:
    """SHAP values of a numeric column against its value; missing values in red at the left."""
    values, shap = expl.column(feature)
    missing = np.isnan(values)
    x = values[~missing]
    if 0 < len(np.unique(x)) <= 12:  # few distinct values (flags, counts): jitter for density
        x = x + np.random.default_rng(0).uniform(-0.15, 0.15, len(x)) * max(np.ptp(x), 1) / 10
    at = (np.min(values[~missing]) - 0.08 * np.ptp(values[~missing])) if len(x) else -0.08
    xs = np.r_[x, np.full(int(missing.sum()), at)]
    ylim = svg.padded(shap)
    ticks = svg.tick_labels(svg.axis_ticks(*ylim, _inner(cell, 0)[3], svg.Y_SPACING))
    box = _inner(cell, svg.y_label_space(ticks, axis_label=True))
    panel = chart.panel(box, svg.padded(xs), ylim)
    panel.hline(0, MUTED, 0.8 * PT)
    panel.points(x, shap[~missing], ACCENT, 1.4, 0.35)
    if missing.any():
        panel.points(xs[len(x) :], shap[missing], WARN, 1.4, 0.4)
    chart.axes(panel, feature_label(feature), feature_axis_label(feature), "SHAP value (log-odds)")
    if missing.any():
        chart.legend(panel, [("missing", "dot", WARN)], size=svg.NOTE_FONT)


def dependence_plots(expl: GlobalExplanation, top: int = 4) -> str:
    """Dependence plots of the top features: value (or category) against its SHAP value."""
    features = expl.top_features(top)
    cols = 2 if len(features) > 1 else 1
    rows = max(1, int(np.ceil(len(features) / cols)))
    chart = svg.Chart(10.4 * DPI, 3.0 * DPI * rows)
    width, height = chart.width / cols, chart.height / rows
    for i, feature in enumerate(features):
        r, c = divmod(i, cols)
        draw = _category_boxes if feature in expl.categorical else _value_scatter
        draw(chart, (c * width, r * height, width, height), expl, feature)
    return chart.to_data_uri()
