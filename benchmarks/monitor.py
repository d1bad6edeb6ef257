"""Monitoring benchmark (issue 14): false alarms, detection delay, estimate vs realised, speed.

Usage: PYTHONPATH=. python benchmarks/monitor.py [--seeds 10] [--skip-speed]

Models: trained once (fast test settings) on 20k generated spells to mid-2025, registered in a
temporary SQLite registry. Then, on fresh extracts from other seeds:
- false alarms: `none`, the models' test period as reference, the 4 weeks after it as recent,
  labels censored as they arrive; every alert counts;
- detection delay: `site-capacity-shock` from 1 July 2025, extracts ending 1-4 weeks later;
  the first week with an NCTR observed/expected alert at the planted site, and any alert
  elsewhere;
- estimated vs realised AUROC: `none`, recent = July 2025 with its labels complete (extract to
  the end of September), per segment over the seeds;
- speed: `los monitor --reference --data` on 200k reference and 50k recent spells (subprocess).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.common import save, table

START = pd.Timestamp("2025-07-01")


def _extract(seed: int, scenario: str, end: pd.Timestamp) -> Any:
    from features.generate import generate_admissions

    return generate_admissions(
        60_000,
        seed,
        start="2024-11-01",
        end=f"{end:%Y-%m-%d}",
        scenario=scenario,
        scenario_start=f"{START:%Y-%m-%d}",
    )


def _monitor(data: pd.DataFrame, models: dict, reference: pd.DataFrame | None = None) -> Any:
    from los.config import TrainingConfig
    from monitoring.assess import run_monitor
    from monitoring.windows import split_windows

    ref, recent = split_windows(data, reference, models)
    return run_monitor(ref, recent, models, TrainingConfig())


def false_alarms(models: dict, seeds: list[int]) -> dict[str, Any]:
    runs = []
    for seed in seeds:
        result = _monitor(_extract(seed, "none", START + pd.Timedelta(days=27)).admissions, models)
        runs.append({"seed": seed, "alerts": result.document["alerts"]})
        print(f"  none seed {seed}: {len(runs[-1]['alerts'])} alerts", flush=True)
    return {"runs": runs, "total_alerts": sum(len(r["alerts"]) for r in runs)}


def detection(models: dict, seeds: list[int]) -> dict[str, Any]:
    out = []
    for seed in seeds:
        weeks: list[dict[str, Any]] = []
        for week in range(1, 5):
            data = _extract(seed, "site-capacity-shock", START + pd.Timedelta(days=7 * week - 1))
            site = data.scenario.site
            alerts = _monitor(data.admissions, models).document["alerts"]
            hit = any(
                a["target"] == "nctr" and a["group"] == site and a["attribute"] == "site"
                for a in alerts
            )
            elsewhere = [a for a in alerts if (a["attribute"], a["group"]) != ("site", site)]
            weeks.append({"week": week, "site": site, "detected": hit, "elsewhere": elsewhere})
            print(
                f"  shock seed {seed} week {week}: site {site} detected={hit} "
                f"elsewhere={len(elsewhere)}",
                flush=True,
            )
        first = next((w["week"] for w in weeks if w["detected"]), None)
        out.append({"seed": seed, "site": weeks[0]["site"], "first_week": first, "weeks": weeks})
    return {"runs": out}


def estimate_vs_realised(models: dict, seeds: list[int]) -> dict[str, Any]:
    rows = []
    for seed in seeds:
        data = _extract(seed, "none", pd.Timestamp("2025-09-30")).admissions
        admitted = pd.to_datetime(data["admission_datetime"])
        recent = data.loc[(admitted >= START) & (admitted < START + pd.Timedelta(days=31))]
        from monitoring.windows import model_window

        t0, t1 = model_window(models)
        reference = data.loc[(admitted >= t0) & (admitted <= t1)]
        doc = _monitor(recent.reset_index(drop=True), models, reference).document
        for target, tv in doc["targets"].items():
            segments = {("overall", "all"): tv["overall"]}
            segments |= {(a, g): e for a, gs in tv["segments"].items() for g, e in gs.items()}
            for (attribute, group), e in segments.items():
                if e.get("suppressed") or e.get("realised_auroc") is None:
                    continue
                rows.append(
                    {
                        "seed": seed,
                        "target": target,
                        "attribute": attribute,
                        "group": group,
                        "n": e["n"],
                        "labelled": e["labelled"],
                        "estimated": e["estimated_auroc"],
                        "realised": e["realised_auroc"],
                        "ci": e["realised_auroc_ci"],
                    }
                )
        print(f"  estimate seed {seed}: {len(rows)} segment rows so far", flush=True)
    frame = pd.DataFrame(rows)
    frame["diff"] = frame["estimated"] - frame["realised"]
    per = (
        frame.groupby(["target", "attribute", "group"])
        .agg(
            runs=("diff", "size"),
            n=("n", "mean"),
            estimated=("estimated", "mean"),
            realised=("realised", "mean"),
            mean_diff=("diff", "mean"),
            mean_abs_diff=("diff", lambda d: float(np.mean(np.abs(d)))),
            within_002=("diff", lambda d: float(np.mean(np.abs(d) <= 0.02))),
        )
        .reset_index()
    )
    return {
        "segments": per.to_dict("records"),
        "share_within_002": float(np.mean(np.abs(frame["diff"]) <= 0.02)),
        "share_mean_within_002": float(np.mean(np.abs(per["mean_diff"]) <= 0.02)),
    }


def speed(env: dict[str, str], workdir: Path) -> dict[str, Any]:
    from features.generate import generate_admissions
    from features.load import write_frame

    data = generate_admissions(250_000, 21, start="2024-01-01", end="2025-12-31").admissions
    ref = write_frame(data.iloc[:200_000], workdir / "reference.parquet")
    rec = write_frame(data.iloc[200_000:], workdir / "recent.parquet")
    t = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "monitor",
            "--reference",
            str(ref),
            "--data",
            str(rec),
            "--out",
            str(workdir / "speed"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    seconds = time.perf_counter() - t
    document = json.loads((workdir / "speed" / "monitor.json").read_text())
    return {
        "seconds": seconds,
        "reference": document["reference"]["n"],
        "recent": document["recent"]["n"],
        "alerts": len(document["alerts"]),
        "stdout_tail": done.stdout[-300:],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--shock-seeds", type=int, default=3)
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    from features.generate import generate_admissions
    from los.config import Settings
    from models.availability import load_available
    from models.registry import connect
    from tests.conftest import fast_config
    from training.register import train_and_register

    workdir = Path(tempfile.mkdtemp(prefix="monitor-bench-"))
    settings = Settings(los_data_dir=workdir, mlflow_tracking_uri=None)
    t = time.perf_counter()
    train_and_register(
        generate_admissions(20_000, 7).admissions, fast_config(), settings, workdir / "reports"
    )
    print(f"trained in {time.perf_counter() - t:.0f} s", flush=True)
    connect(settings.tracking_uri, workdir / "mlartifacts")
    models, _ = load_available("champion")
    seeds = list(range(1, args.seeds + 1))
    results: dict[str, Any] = {"false_alarms": false_alarms(models, seeds)}
    results["detection"] = detection(models, seeds[: args.shock_seeds])
    results["estimate"] = estimate_vs_realised(models, seeds)
    if not args.skip_speed:
        env = {
            **os.environ,
            "LOS_DATA_DIR": str(workdir),
            "MLFLOW_TRACKING_URI": settings.tracking_uri,
        }
        results["speed"] = speed(env, workdir)
    fa = results["false_alarms"]
    table("False alarms on `none`", ["seeds", "alerts"], [[len(seeds), fa["total_alerts"]]])
    table(
        "Detection of the capacity shock",
        ["seed", "site", "first week", "alerts elsewhere"],
        [
            [r["seed"], r["site"], r["first_week"], sum(len(w["elsewhere"]) for w in r["weeks"])]
            for r in results["detection"]["runs"]
        ],
    )
    est = results["estimate"]
    table(
        "Estimated vs realised AUROC (mean over seeds)",
        ["target", "segment", "n", "estimated", "realised", "mean diff", "mean |diff|"],
        [
            [
                s["target"],
                f"{s['attribute']}={s['group']}",
                round(s["n"]),
                f"{s['estimated']:.3f}",
                f"{s['realised']:.3f}",
                f"{s['mean_diff']:+.3f}",
                f"{s['mean_abs_diff']:.3f}",
            ]
            for s in est["segments"]
        ],
    )
    print(
        f"runs within 0.02: {est['share_within_002']:.0%}; segment means within 0.02: "
        f"{est['share_mean_within_002']:.0%}"
    )
    if "speed" in results:
        sp = results["speed"]
        print(
            f"speed: los monitor on {sp['reference']:,} reference and {sp['recent']:,} recent "
            f"spells: {sp['seconds']:.1f} s"
        )
    print(f"wrote {save('monitor', results)}")


if __name__ == "__main__":
    main()
