"""Monitoring benchmark (issue 14): false alarms, detection delay, estimate vs realised, speed.

Usage: PYTHONPATH=. python benchmarks/monitor.py [--seeds 10] [--skip-speed] [--estimate-only]

Models: trained once (fast test settings) on 20k generated spells to mid-2025, registered in a
temporary SQLite registry. Then, on fresh extracts from other seeds:
- false alarms: `none`, the models' test period as reference, the 4 weeks after it as recent,
  labels censored as they arrive; every alert counts;
- detection delay: `site-capacity-shock` from 1 July 2025, extracts ending 1-4 weeks later;
  the first week with an NCTR observed/expected alert at the planted site, and any alert
  elsewhere;
- estimated vs realised AUROC: `none`, recent = July 2025 with its labels complete (extract to
  the end of September), per segment over the seeds, at two extract sizes (60k and 200k
  spells): the difference split into the estimate's error and the labels' noise against the
  generator's true probabilities, and the product's judgement of each segment
  (`monitoring.accuracy`);
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


TRUTH = {"long_stay": "p_long_stay", "long_stay_21": "p_long_stay_21", "nctr": "p_nctr"}


def estimate_rows(models: dict, seed: int, rows: int) -> list[dict[str, Any]]:
    """One `none` extract of `rows` spells (November 2024 to September 2025); recent = July
    2025 with its labels complete, reference = the models' test period. Per target and
    segment, the product's own check (`Monitor.estimate_check`) beside the truth: `oracle` is
    CBPE with the generator's true probabilities on the same labelled rows (the realised
    AUROC's expected value), so estimated - oracle is the estimate's error and realised -
    oracle the labels' noise."""
    from features.generate import generate_admissions
    from los.config import TrainingConfig
    from monitoring.estimate import expected_auroc
    from monitoring.monitor import Monitor
    from monitoring.windows import model_window

    generated = generate_admissions(
        rows, seed, start="2024-11-01", end="2025-09-30", scenario="none"
    )
    data, truth = generated.admissions, generated.truth.set_index("spell_id")
    admitted = pd.to_datetime(data["admission_datetime"])
    t0, t1 = model_window(models)
    recent = data.loc[(admitted >= START) & (admitted < START + pd.Timedelta(days=31))]
    reference = data.loc[(admitted >= t0) & (admitted <= t1)]
    m = Monitor(reference.reset_index(drop=True), recent.reset_index(drop=True), models,
                TrainingConfig())  # fmt: skip
    truth = truth.loc[m.rec.frame["spell_id"]]
    out = []
    for s in m.estimate_checks():
        check, known, tw = s.check, s.labelled, m.targets[s.target]
        assert check.estimated is not None and check.realised is not None  # as yielded
        oracle, _ = expected_auroc(truth[TRUTH[s.target]].to_numpy(float)[known], tw.p_rec[known])
        out.append(
            {
                "seed": seed,
                "target": s.target,
                "attribute": s.attribute,
                "group": s.group,
                "n": int(s.rows.sum()),
                "labelled": int(known.sum()),
                "events": int(np.nansum(tw.y_rec[known])),
                "estimated": check.estimated,
                "realised": check.realised,
                "oracle": oracle,
                "diff": check.difference,
                "bias": check.estimated - oracle,
                "noise": check.realised - oracle,
                "sd": check.sampling_sd,
                "judged": check.judged,
                "note": check.note,
                "z": s.z,
            }
        )
    return out


def estimate_vs_realised(models: dict, seeds: list[int], rows: int) -> dict[str, Any]:
    frame = pd.DataFrame([r for seed in seeds for r in estimate_rows(models, seed, rows)])
    print(f"  estimate: {len(frame)} segment rows over {len(seeds)} seeds", flush=True)
    per = (
        frame.groupby(["target", "attribute", "group"])
        .agg(
            runs=("diff", "size"),
            n=("n", "mean"),
            events=("events", "mean"),
            estimated=("estimated", "mean"),
            realised=("realised", "mean"),
            mean_diff=("diff", "mean"),
            mean_bias=("bias", "mean"),
            noise_sd=("noise", "std"),
            sd=("sd", "mean"),
            judged=("judged", "mean"),
            within_002=("diff", lambda d: float(np.mean(np.abs(d) <= 0.02))),
        )
        .reset_index()
    )
    judged = frame[frame["judged"]]
    return {
        "rows_per_extract": rows,
        "segments": per.to_dict("records"),
        "share_within_002": float(np.mean(np.abs(frame["diff"]) <= 0.02)),
        "share_bias_within_002": float(np.mean(np.abs(frame["bias"]) <= 0.02)),
        "noise_over_sd": float(np.std(frame["noise"] / frame["sd"])),
        "judged": len(judged),
        "judged_within_002": int(np.sum(np.abs(judged["diff"]) <= 0.02)),
        "largest_judged_diff": float(np.abs(judged["diff"]).max()) if len(judged) else None,
        "pairs": len(frame),
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
    parser.add_argument("--estimate-only", action="store_true")
    parser.add_argument(
        "--estimate-rows", type=int, nargs="+", default=[60_000, 200_000],
        help="extract sizes of the estimate-vs-realised runs (one set of seeds each)",
    )  # fmt: skip
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
    results: dict[str, Any] = {}
    if not args.estimate_only:
        results["false_alarms"] = false_alarms(models, seeds)
        results["detection"] = detection(models, seeds[: args.shock_seeds])
    results["estimate"] = {
        str(rows): estimate_vs_realised(models, seeds, rows) for rows in args.estimate_rows
    }
    if not (args.skip_speed or args.estimate_only):
        env = {
            **os.environ,
            "LOS_DATA_DIR": str(workdir),
            "MLFLOW_TRACKING_URI": settings.tracking_uri,
        }
        results["speed"] = speed(env, workdir)
    if "false_alarms" in results:
        fa = results["false_alarms"]
        table("False alarms on `none`", ["seeds", "alerts"], [[len(seeds), fa["total_alerts"]]])
        table(
            "Detection of the capacity shock",
            ["seed", "site", "first week", "alerts elsewhere"],
            [
                [
                    r["seed"],
                    r["site"],
                    r["first_week"],
                    sum(len(w["elsewhere"]) for w in r["weeks"]),
                ]
                for r in results["detection"]["runs"]
            ],
        )
    for rows, est in results["estimate"].items():
        table(
            f"Estimated vs realised AUROC, extracts of {int(rows):,} spells (mean over seeds)",
            ["target", "segment", "n", "events", "estimated", "realised", "diff", "bias",
             "noise SD", "label-noise SD", "judged"],
            [
                [
                    s["target"], f"{s['attribute']}={s['group']}", round(s["n"]),
                    round(s["events"]), f"{s['estimated']:.3f}", f"{s['realised']:.3f}",
                    f"{s['mean_diff']:+.3f}", f"{s['mean_bias']:+.3f}", f"{s['noise_sd']:.3f}",
                    f"{s['sd']:.3f}", f"{s['judged']:.0%}",
                ]
                for s in est["segments"]
            ],
        )  # fmt: skip
        print(
            f"{int(rows):,} spells: runs within 0.02: {est['share_within_002']:.0%}; estimate "
            f"within 0.02 of the truth's expectation: {est['share_bias_within_002']:.0%}; SD of "
            f"noise / label-noise SD: {est['noise_over_sd']:.2f}; judged {est['judged']} of "
            f"{est['pairs']}, within 0.02: {est['judged_within_002']} (largest "
            f"{est['largest_judged_diff']})"
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
