"""Shared benchmark plumbing: child processes with peak memory, tables, JSON results."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable
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


def rss_mb() -> float:
    """This process's resident set size now, in MB (Linux `/proc/self/statm`)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class StagePeaks:
    """Peak RSS per named stage: a thread samples RSS every `interval` seconds and files each
    sample under the stage named last (`enter`, e.g. from a progress callback). Between
    samples a short peak can be missed; the process's own peak is `child_peak_rss_mb`."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.stage = "start"
        self.peaks: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self._record()
            time.sleep(self.interval)

    def _record(self) -> None:
        stage, now = self.stage, rss_mb()
        self.peaks[stage] = max(self.peaks.get(stage, 0.0), now)

    def enter(self, stage: str) -> None:
        """Samples from now on belong to `stage` (the one before gets a last sample)."""
        self._record()
        self.stage = stage

    def __enter__(self) -> StagePeaks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._record()

    def watching(self, progress: Callable[[str], None]) -> Callable[[str], None]:
        """A progress callback that also names the stage for the samples."""

        def both(message: str) -> None:
            self.enter(message)
            progress(message)

        return both


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
