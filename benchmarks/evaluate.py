"""Evaluation benchmark (issue 17, goal 1): `los train`'s evaluation stage, before and after.

Usage: python benchmarks/evaluate.py [--rows 3000000] [--baseline 40e0468] [--repeat 1] [--profile]
       python benchmarks/evaluate.py --data admissions.parquet --truth truth.parquet

The test period of a `--rows` run, as `los train` splits it (ended spells, the configured split
fractions), from generated spells (seed 42, as benchmarks/train.py) or from a `los generate`
output with its `--truth-out` file. Each target's scores are the generator's true probabilities
and its threshold the configured rule applied to them. In fresh child processes, one after the
other in the same run, it times what `los train` runs per target on those rows (`evaluate_target`
then `gate_evaluation`) with this tree's `evaluation` package and with the package at
`--baseline` (a git commit; the rest of the tree is this one), and compares their metrics.json:
every number within a relative 1e-9. `--repeat` alternates before/after pairs and keeps each
one's fastest time per target (and total). `--profile` adds where the time goes (cProfile, by
function) for both. Not counted here: the test period's LightGBM prediction, which the
`evaluating` stage of benchmarks/train.py also holds.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import os
import pstats
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, child_peak_rss_mb, save, table

BASELINE = "40e0468"  # the per-key bootstrap in blocks of 4M draws (2026-11-30)
SCORED = ("long_stay", "long_stay_21", "nctr")
GROUP_COLUMNS = ("spell_id", "ethnic_category", "sex", "age", "imd_decile")


def test_frame(rows: int, data: str | None, truth: str | None, out: Path) -> int:
    """Write the test period's group columns, and per target its labels (`y_<t>`, NaN when
    unlabelled) and true probabilities (`p_<t>`), to `out`; returns its row count."""
    import pandas as pd

    from los.config import TrainingConfig
    from los.targets import label, targets_from_config
    from training.split import assign_periods, split_boundaries

    if data is None:
        from features.generate import generate_admissions

        generated = generate_admissions(rows, seed=42)
        spells, oracle = generated.admissions, generated.truth
    else:
        spells, oracle = pd.read_parquet(data), pd.read_parquet(str(truth))
    config = TrainingConfig()
    spells = spells.loc[spells["discharge_datetime"].notna().to_numpy()].reset_index(drop=True)
    period = assign_periods(
        spells["admission_datetime"],
        split_boundaries(spells["admission_datetime"], config.split),
    )
    test = spells.loc[(period == "test").to_numpy()].reset_index(drop=True)
    frame = test[list(GROUP_COLUMNS)].copy()
    probabilities = oracle.set_index("spell_id").loc[test["spell_id"]]
    for target in targets_from_config(config.targets):
        if target.name in SCORED:
            frame[f"y_{target.name}"] = label(test, target).to_numpy(dtype=float)
            frame[f"p_{target.name}"] = probabilities[f"p_{target.name}"].to_numpy()
    frame.to_parquet(out)
    return len(frame)


def child(frame_path: Path, out: Path, profile: bool) -> dict[str, Any]:
    """Evaluate every target as `training.pipeline` does (evaluate_target, then the gates and
    findings without a champion); metrics.json to `out`, timings returned."""
    import numpy as np
    import pandas as pd

    import evaluation
    from evaluation.evaluate import evaluate_target, metrics_document
    from evaluation.gates import gate_evaluation
    from los.config import TrainingConfig
    from training.calibrate import choose_threshold

    frame, config = pd.read_parquet(frame_path), TrainingConfig()
    timings: dict[str, dict[str, float]] = {}
    evaluations = {}
    profiler = cProfile.Profile() if profile else None
    for target in SCORED:
        rows = frame.loc[frame[f"y_{target}"].notna().to_numpy()].reset_index(drop=True)
        y, p = rows[f"y_{target}"].to_numpy(), rows[f"p_{target}"].to_numpy()
        threshold = choose_threshold(p, y, config.threshold)
        if profiler is not None:
            profiler.enable()
        t0 = time.perf_counter()
        ev = evaluate_target(target, rows, y, p, threshold, config, outcome=target)
        t1 = time.perf_counter()
        gate_evaluation(ev, None, config.gates)
        t2 = time.perf_counter()
        if profiler is not None:
            profiler.disable()
        evaluations[target] = ev
        timings[target] = {"rows": len(y), "evaluate_s": t1 - t0, "gates_findings_s": t2 - t1}
        timings[target]["levels"] = len(np.unique(p))
    out.write_text(json.dumps(metrics_document(evaluations)))
    result: dict[str, Any] = {
        "package": str(Path(evaluation.__file__).parent),
        "targets": timings,
        "total_s": sum(t["evaluate_s"] + t["gates_findings_s"] for t in timings.values()),
        "peak_rss_mb": child_peak_rss_mb(),
    }
    if profiler is not None:
        result["profile"] = _top_functions(profiler)
    return result


def _top_functions(profiler: cProfile.Profile, count: int = 14) -> list[list[Any]]:
    """[function, own seconds, seconds with callees] of the functions with most own time."""
    stats = pstats.Stats(profiler, stream=io.StringIO())
    rows = []
    for (file, line, name), (_, _, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{Path(file).parent.name}/{Path(file).name}:{line}" if line else "~"
        rows.append([f"{name} ({where})", round(own, 2), round(cumulative, 2)])
    return sorted(rows, key=lambda r: -r[1])[:count]


def baseline_package(ref: str, into: Path) -> Path:
    """The `evaluation` package as it was at `ref`, extracted under `into` (for sys.path)."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref, "evaluation"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def run_child(frame: Path, out: Path, first_on_path: Path, profile: bool) -> dict[str, Any]:
    """This script's child mode in a fresh interpreter, `first_on_path` ahead of the tree."""
    args = [sys.executable, __file__, "--child", str(frame), "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(first_on_path), str(ROOT)])}
    done = subprocess.run(
        [*args, *(["--profile"] if profile else [])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"evaluation child failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def differences(before: Any, after: Any, path: str = "") -> list[str]:
    """Where two metrics.json documents differ: keys, text, or numbers beyond a relative 1e-9
    (absolute 1e-12 near zero)."""
    if isinstance(before, dict) and isinstance(after, dict):
        if set(before) != set(after):
            return [f"{path}: keys {sorted(set(before) ^ set(after))}"]
        return [d for k in before for d in differences(before[k], after[k], f"{path}/{k}")]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        pairs = enumerate(zip(before, after, strict=True))
        return [d for i, (b, a) in pairs for d in differences(b, a, f"{path}/{i}")]
    if isinstance(before, bool) or isinstance(after, bool):
        return [] if before is after else [path]
    if isinstance(before, float | int) and isinstance(after, float | int):
        return [] if math.isclose(before, after, rel_tol=1e-9, abs_tol=1e-12) else [path]
    return [] if before == after else [path]


def _fastest(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The first run, with each target's time and the total the fastest of the repeats."""
    first = {**runs[0], "targets": {t: dict(r) for t, r in runs[0]["targets"].items()}}
    for target, row in first["targets"].items():
        for key in ("evaluate_s", "gates_findings_s"):
            row[key] = min(run["targets"][target][key] for run in runs)
    first["total_s"] = min(run["total_s"] for run in runs)
    first["totals_s"] = [round(run["total_s"], 2) for run in runs]
    return first


def main(
    rows: int, data: str | None, truth: str | None, ref: str, profile: bool, repeat: int = 1
) -> dict[str, Any]:
    """Build the test period, time both packages (`repeat` times, alternated; the fastest
    counts), compare their metrics.json; print tables."""
    with tempfile.TemporaryDirectory(prefix="los-bench-evaluate-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        frame = work / "test.parquet"
        n = test_frame(rows, data, truth, frame)
        built = time.perf_counter() - t0
        old = baseline_package(ref, work / "old")
        runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
        for _ in range(repeat):  # alternated, so a change of load falls on both
            runs["before"].append(run_child(frame, work / "before.json", old, profile))
            runs["after"].append(run_child(frame, work / "after.json", ROOT, profile))
        before, after = _fastest(runs["before"]), _fastest(runs["after"])
        changed = differences(
            json.loads((work / "before.json").read_text()),
            json.loads((work / "after.json").read_text()),
        )
    load = os.getloadavg()
    ratio = before["total_s"] / after["total_s"]
    seconds = {
        name: {t: r["evaluate_s"] + r["gates_findings_s"] for t, r in result["targets"].items()}
        for name, result in (("before", before), ("after", after))
    }
    table(
        f"Evaluation stage, test period of {rows:,} spells ({n:,} rows; load {load[0]:.1f})",
        ["target", "rows", "score levels", f"before ({ref}) s", "after s", "ratio"],
        [
            [t, r["rows"], r["levels"], seconds["before"][t], seconds["after"][t],
             seconds["before"][t] / seconds["after"][t]]
            for t, r in after["targets"].items()
        ] + [["all", n, "", before["total_s"], after["total_s"], ratio]],
    )  # fmt: skip
    for name, result in (("before", before), ("after", after)):
        if "profile" in result:
            columns = ["function", "own s", "with callees s"]
            table(f"Where the time goes, {name} (cProfile)", columns, result["profile"])
    print(f"metrics.json before vs after: {len(changed)} values beyond 1e-9 {changed[:10]}")
    return {
        "evaluate": {
            "rows": rows,
            "test_rows": n,
            "frame_s": round(built, 1),
            "baseline": ref,
            "before": before,
            "after": after,
            "ratio": round(ratio, 2),
            "differences": changed,
            "loadavg": load,
        }
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--data", help="a `los generate` output to use instead of generating")
    parser.add_argument("--truth", help="its `--truth-out` file (with --data)")
    parser.add_argument("--baseline", default=BASELINE, help="git commit of the `before` package")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="before/after pairs, alternated")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.out, args.profile)))
    else:
        if (args.data is None) != (args.truth is None):
            parser.error("--data and --truth go together")
        payload = main(args.rows, args.data, args.truth, args.baseline, args.profile, args.repeat)
        print(f"results: {save('evaluate', payload)}")
