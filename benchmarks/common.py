"""Shared benchmark plumbing: child processes with peak memory, tables, JSON results."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
console = Console(width=None if sys.stdout.isatty() else 150)  # wide tables when piped


def run_child(args: list[str], timeout: float = 3600) -> dict[str, Any]:
    """Run `python benchmarks/<script> ...` in a fresh process; returns its JSON + peak RSS (MB).

    Peak memory is the child's own maximum resident set size (getrusage), so each measurement
    starts from a clean interpreter.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = round(wall, 2)
    # a child reports its own peak; otherwise fall back to the children's high-water mark,
    # which is only this child's when it grew
    if "peak_rss_mb" not in result and after > before:
        result["peak_rss_mb"] = round(after / 1024, 1)
    return result


def child_peak_rss_mb() -> float:
    """This process's own peak RSS in MB (for a child to report about itself)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """Print a rich table."""
    t = Table(title=title)
    for c in columns:
        t.add_column(c, justify="right" if c != columns[0] else "left")
    for r in rows:
        t.add_row(*[f"{v:,.3f}" if isinstance(v, float) else str(v) for v in r])
    console.print(t)


def save(name: str, payload: dict[str, Any]) -> Path:
    """Write results JSON under benchmarks/results/ with a timestamp."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(payload, indent=2, default=str))
    return path
