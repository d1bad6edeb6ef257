"""Cost growth of training with rows: time and peak memory of `los train` and plain LightGBM
against spells, from training benchmark results (benchmarks/train.py JSON), with a straight-line
extension to larger sizes drawn dashed (an extrapolation, labelled as one).

Usage: python benchmarks/growth_plot.py RESULTS.json [...] --out docs/training-growth.svg
       [--extend 10000000 17000000]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

EVALUATING = ("evaluating", "evaluating_stay")
"""The stages of the flags' evaluation and fairness and the stay model's (benchmarks/train.py)."""


def points(paths: list[Path], search: bool = False) -> list[dict[str, Any]]:
    """One point per measured size (runs with the given search setting), sorted by rows."""
    found: dict[int, dict[str, Any]] = {}
    for path in paths:
        for r in json.loads(path.read_text())["training"]:
            if bool(r.get("search", True)) == search:
                found[int(r["rows"])] = r
    return [found[k] for k in sorted(found)]


def line(rows: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """Least-squares slope and intercept of values against rows."""
    slope, intercept = np.polyfit(rows, values, 1)
    return float(slope), float(intercept)


def plot(measured: list[dict[str, Any]], extend: list[int], out: Path) -> dict[str, Any]:
    """Write the two-panel chart; return the fitted lines and extrapolated values."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = np.array([r["rows"] for r in measured], dtype=float)
    series = {
        "time": {
            "los train": np.array([r["product"]["train_total_s"] for r in measured]),
            "plain LightGBM": np.array([r["lightgbm"]["fit_s"] for r in measured]),
            "evaluation + fairness": np.array(
                [sum(r["product"]["stages_s"].get(k, 0.0) for k in EVALUATING) for r in measured]
            ),
        },
        "memory": {
            "los train": np.array([r["product"]["peak_rss_mb"] / 1024 for r in measured]),
            "plain LightGBM": np.array([r["lightgbm"]["peak_rss_mb"] / 1024 for r in measured]),
        },
    }
    fitted: dict[str, Any] = {}
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    span = np.array(sorted({*rows.tolist(), *map(float, extend)}))
    for ax, (panel, lines) in zip(axes, series.items(), strict=True):
        for (label, values), colour in zip(lines.items(), ["C0", "C1", "C2"], strict=False):
            ax.plot(rows / 1e6, values, "o-", color=colour, label=label)
            if len(rows) >= 2 and extend:
                slope, intercept = line(rows, values)
                ax.plot(span / 1e6, slope * span + intercept, "--", color=colour, alpha=0.6)
                fitted[f"{panel}: {label}"] = {
                    str(n): round(slope * n + intercept, 1) for n in extend
                }
        ax.set_xlabel("spells (millions); dashed: straight-line extrapolation")
        ax.set_ylabel("seconds" if panel == "time" else "peak memory (GB)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_title("Training time against rows (no settings search)")
    axes[1].set_title("Peak memory against rows")
    fig.tight_layout()
    fig.savefig(out, format="svg")
    return fitted


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results", type=Path, nargs="+")
    parser.add_argument("--out", type=Path, default=Path("docs/training-growth.svg"))
    parser.add_argument("--extend", type=int, nargs="*", default=[10_000_000])
    args = parser.parse_args()
    print(json.dumps(plot(points(args.results), args.extend, args.out), indent=2))
