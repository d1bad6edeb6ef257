"""Report charts as inline PNG data URIs: discrimination, calibration, fairness and SHAP plots.

Figures are built with matplotlib's object API (no pyplot state, nothing at import time) and
returned as `data:image/png;base64,...` strings so report.html needs no other file or network.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve, roc_curve

from evaluation.groups import group_label
from models.explain import GlobalExplanation
from models.vocabulary import feature_label, field_label, level_label

INK, MUTED, ACCENT, WARN, GOOD = "#1f2933", "#7b8794", "#005eb8", "#d5281b", "#007f3b"
SHAP_CMAP = LinearSegmentedColormap.from_list("shap", ["#008bfb", "#8a4fd6", "#ff0051"])


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def to_data_uri(fig: Figure) -> str:
    """A figure as an inline PNG data URI."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", facecolor="white")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _style(ax: Axes, title: str, xlabel: str = "", ylabel: str = "") -> None:
    ax.set_title(title, loc="left", fontsize=10, color=INK, fontweight="bold")
    ax.set_xlabel(xlabel, color=INK)
    ax.set_ylabel(ylabel, color=INK)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(alpha=0.25, linewidth=0.6)
    ax.tick_params(colors=INK, labelsize=8)


def discrimination_plot(y: np.ndarray, p: np.ndarray, threshold: float) -> str:
    """ROC and precision-recall curves, with the flag threshold's operating point."""
    fig = _figure(6.6, 3.4)
    roc_ax, pr_ax = fig.subplots(1, 2)
    flagged = p >= threshold
    tpr = flagged[y == 1].mean() if (y == 1).any() else np.nan
    fpr_pt = flagged[y == 0].mean() if (y == 0).any() else np.nan
    ppv = y[flagged].mean() if flagged.any() else np.nan
    if len(np.unique(y)) == 2:
        fpr, tpr_c, _ = roc_curve(y, p)
        roc_ax.plot(fpr, tpr_c, color=ACCENT, linewidth=1.8)
        prec, rec, _ = precision_recall_curve(y, p)
        pr_ax.plot(rec, prec, color=ACCENT, linewidth=1.8)
    roc_ax.plot([0, 1], [0, 1], color=MUTED, linestyle="--", linewidth=0.8)
    roc_ax.scatter([fpr_pt], [tpr], color=WARN, zorder=3, label=f"flag threshold {threshold:.3f}")
    pr_ax.axhline(y.mean(), color=MUTED, linestyle="--", linewidth=0.8, label="prevalence")
    pr_ax.scatter([tpr], [ppv], color=WARN, zorder=3, label="flag threshold")
    _style(roc_ax, "ROC curve", "False positive rate", "True positive rate (sensitivity)")
    _style(pr_ax, "Precision-recall curve", "Recall (sensitivity)", "Precision (PPV)")
    for ax in (roc_ax, pr_ax):
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.legend(frameon=False, fontsize=8, loc="lower right" if ax is roc_ax else "upper right")
    return to_data_uri(fig)


def calibration_plot(curve: list[dict[str, float]], p: np.ndarray, threshold: float) -> str:
    """Reliability diagram (observed vs mean predicted per quantile bin) over a histogram of p."""
    fig = _figure(3.6, 3.4)
    ax, hist = fig.subplots(2, 1, height_ratios=[3, 1], sharex=True)
    top = max([pt["predicted"] for pt in curve] + [pt["observed"] for pt in curve] + [0.05])
    lim = min(1.0, top * 1.1)
    ax.plot([0, lim], [0, lim], color=MUTED, linestyle="--", linewidth=0.8, label="perfect")
    ax.plot(
        [pt["predicted"] for pt in curve],
        [pt["observed"] for pt in curve],
        marker="o",
        color=ACCENT,
        label="model (deciles of risk)",
    )
    ax.set_ylim(0, lim)
    _style(ax, "Calibration", "", "Observed rate")
    ax.legend(frameon=False, fontsize=8)
    hist.hist(p, bins=40, range=(0, lim), color=ACCENT, alpha=0.6)
    hist.axvline(threshold, color=WARN, linewidth=1, label="flag threshold")
    _style(hist, "", "Predicted probability", "Spells")
    hist.legend(frameon=False, fontsize=8)
    return to_data_uri(fig)


def _ci_panel(
    ax: Axes, rows: list[tuple[str, dict[str, Any]]], key: str, title: str, band: Any = None
) -> None:
    """Dot-and-whisker per group (top to bottom); suppressed groups show as a note only."""
    ref = next((r for _, r in rows if r.get("reference")), None)
    if ref is not None and ref.get(key) is not None:
        if band is not None:
            ax.axvspan(ref[key] * band[0], ref[key] * band[1], color=GOOD, alpha=0.08, lw=0)
        ax.axvline(ref[key], color=MUTED, linestyle="--", linewidth=0.8)
    shown = [
        (i, r) for i, (_, r) in enumerate(rows) if not r["suppressed"] and r.get(key) is not None
    ]
    with_ci = [(i, r[f"{key}_ci"]) for i, r in shown if None not in r.get(f"{key}_ci", [None])]
    if with_ci:
        ax.hlines([i for i, _ in with_ci], [c[0] for _, c in with_ci], [c[1] for _, c in with_ci],
                  color=ACCENT, linewidth=1.6, alpha=0.6)  # fmt: skip
    if shown:
        colours = [INK if r.get("reference") else ACCENT for _, r in shown]
        ax.scatter([r[key] for _, r in shown], [i for i, _ in shown], color=colours, s=22, zorder=3)
    for i, (_, r) in enumerate(rows):
        if r["suppressed"]:
            ax.text(0.01, i, "suppressed", transform=ax.get_yaxis_transform(), va="center",
                    fontsize=7, color=MUTED)  # fmt: skip
    _style(ax, title)
    ax.grid(axis="y", visible=False)


def group_disparity_plot(
    attribute: str, table: dict[str, dict[str, Any]], band: tuple[float, float]
) -> str:
    """Per group: FNR with 95% CI (band around the reference), AUROC with CI, observed vs
    predicted rate."""
    rows = list(table.items())
    labels = [
        group_label(attribute, g) + (" (ref.)" if r.get("reference") else "") for g, r in rows
    ]
    fig = _figure(10.2, 1.0 + 0.28 * len(rows))
    fnr_ax, auc_ax, cal_ax = fig.subplots(1, 3, sharey=True)
    _ci_panel(fnr_ax, rows, "fnr", "Missed cases (FNR), 95% CI", band)
    _ci_panel(auc_ax, rows, "auroc", "AUROC, 95% CI")
    shown = [(i, r) for i, (_, r) in enumerate(rows) if not r["suppressed"]]
    if shown:
        idx = [i for i, _ in shown]
        predicted = [r["mean_predicted"] for _, r in shown]
        observed = [r["prevalence"] for _, r in shown]
        cal_ax.hlines(idx, predicted, observed, color=MUTED, linewidth=1)
        cal_ax.scatter(predicted, idx, color=ACCENT, marker="|", s=80, zorder=3)
        cal_ax.scatter(observed, idx, color=WARN, s=22, zorder=3)
        cal_ax.margins(x=0.12)
    _style(cal_ax, "Observed (dot) vs predicted (bar)")
    cal_ax.grid(axis="y", visible=False)
    fnr_ax.set_yticks(range(len(rows)), labels)
    fnr_ax.set_ylim(len(rows) - 0.5, -0.5)
    return to_data_uri(fig)


def group_calibration_plot(
    attribute: str, curves: dict[str, list[dict[str, float]]], reference: str | None
) -> str:
    """Calibration within groups: one reliability line per reported group."""
    fig = _figure(4.4, 3.6)
    ax = fig.subplots()
    top = max([max(pt["predicted"], pt["observed"]) for c in curves.values() for pt in c] + [0.05])
    lim = min(1.0, top * 1.1)
    ax.plot([0, lim], [0, lim], color=MUTED, linestyle="--", linewidth=0.8)
    colours = [ACCENT, WARN, GOOD, "#ffb81c", "#330072", "#41b6e6", "#ae2573", "#768692"]
    for i, (group, curve) in enumerate(curves.items()):
        ax.plot(
            [pt["predicted"] for pt in curve],
            [pt["observed"] for pt in curve],
            marker="o",
            markersize=3,
            linewidth=2.2 if group == reference else 1.2,
            color=colours[i % len(colours)],
            label=group_label(attribute, group) + (" (ref.)" if group == reference else ""),
        )
    ax.set_xlim(0, lim)
    ax.set_ylim(0, lim)
    _style(ax, "Calibration within groups", "Mean predicted", "Observed rate")
    ax.legend(frameon=False, fontsize=7, loc="upper left")
    return to_data_uri(fig)


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
    features = expl.top_features(top)
    fig = _figure(6.6, 0.9 + 0.34 * len(features))
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
                   alpha=0.8, linewidths=0, rasterized=True)  # fmt: skip
    ax.axvline(0, color=MUTED, linewidth=0.8)
    ax.set_yticks(range(len(features)), [feature_label(f) for f in features])
    ax.set_ylim(len(features) - 0.5, -0.5)
    bar = fig.colorbar(ScalarMappable(cmap=SHAP_CMAP), ax=ax, ticks=[0, 1], aspect=40, pad=0.01)
    bar.ax.set_yticklabels(["low", "high"], fontsize=7)
    bar.set_label("Feature value", fontsize=7)
    bar.outline.set_visible(False)
    _style(ax, "SHAP summary", "SHAP value: effect on log-odds of risk (right raises it)")
    ax.grid(axis="y", visible=False)
    return to_data_uri(fig)


def field_importance_plot(expl: GlobalExplanation, top: int = 12) -> str:
    """Mean |SHAP| per admissions field (derived columns summed back to their field)."""
    items = list(expl.field_importance().items())[:top]
    fig = _figure(3.7, 0.9 + 0.34 * len(items))
    ax = fig.subplots()
    ax.barh([field_label(f) for f, _ in items], [v for _, v in items], color=ACCENT)
    ax.invert_yaxis()
    _style(ax, "Impact by field", "Mean |SHAP| (log-odds)")
    ax.grid(axis="y", visible=False)
    return to_data_uri(fig)


def _dependence(ax: Axes, expl: GlobalExplanation, feature: str) -> None:
    values, shap = expl.column(feature)
    missing = np.isnan(values)
    if feature in expl.categorical:
        levels = expl.levels.get(feature, [])
        codes, counts = np.unique(values[~missing].astype(int), return_counts=True)
        keep = codes[np.argsort(-counts)][:10]
        data = [shap[values == c] for c in keep] + ([shap[missing]] if missing.any() else [])
        names = [level_label(feature, levels[c]) if c < len(levels) else str(c) for c in keep]
        names += ["missing / rare"] if missing.any() else []
        ax.boxplot(data, orientation="horizontal", widths=0.6, showfliers=False)
        short = [n if len(n) <= 36 else n[:35].rstrip() + "…" for n in names]
        ax.set_yticks(range(1, len(names) + 1), short, fontsize=7)
        _style(ax, feature_label(feature), "SHAP value (log-odds)")
        return
    x = values[~missing]
    if len(np.unique(x)) <= 12:  # few distinct values (flags, counts): jitter to show density
        x = x + np.random.default_rng(0).uniform(-0.15, 0.15, len(x)) * max(np.ptp(x), 1) / 10
    ax.scatter(x, shap[~missing], s=5, alpha=0.35, color=ACCENT, linewidths=0)
    if missing.any():
        ref = np.nanmin(values) if (~missing).any() else 0.0
        left = ref - 0.08 * (np.ptp(values[~missing]) if (~missing).any() else 1.0)
        ax.scatter(np.full(missing.sum(), left), shap[missing], s=5, color=WARN, alpha=0.4,
                   linewidths=0, label="missing")  # fmt: skip
        ax.legend(frameon=False, fontsize=7)
    ax.axhline(0, color=MUTED, linewidth=0.8)
    _style(ax, feature_label(feature), "Value", "SHAP value (log-odds)")


def dependence_plots(expl: GlobalExplanation, top: int = 4) -> str:
    """Dependence plots of the top features: value (or category) against its SHAP value."""
    features = expl.top_features(top)
    cols = 2 if len(features) > 1 else 1
    rows = max(1, int(np.ceil(len(features) / cols)))
    fig = _figure(10.4, 3.0 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax, feature in zip(axes, features, strict=False):
        _dependence(ax, expl, feature)
    for ax in axes[len(features) :]:
        ax.set_visible(False)
    return to_data_uri(fig)
