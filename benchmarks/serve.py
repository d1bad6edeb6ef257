"""Benchmark of the HTTP service next to `mlflow models serve` on the same champion model.

Both servers run in turn on 127.0.0.1 (never together, so they do not share the CPU). For each:
one client sending one admission at a time (latency), N concurrent clients sending one admission
each (throughput), and N clients sending batches. Ours returns every target with reasons (a
batch: reasons for the flagged rows, its default; also measured with `?reasons=all`) and runs
`--workers` processes (default: one per core); MLflow's returns one probability for
`los-long-stay` with its default of one worker, so the comparison flatters MLflow.

The issue 17 goals are printed last, each figure next to its MLflow baseline with the ratio,
and whether it is met. The machine is shared with the load generator (and often with other
work), so each scenario also reports the CPU the server's processes and the client spent per
request (from /proc) and the rows each server scores per second of its own CPU: wall-clock
rates follow the load, CPU per request far less.

The load generator (`--client`) is `wrk` when it is on PATH, else httpx threads in this process.
wrk is a C program that spends a small fraction of the Python client's CPU per request on the
cores the server needs (`benchmarks/wrk_client.py`); install it with Debian's package:
`apt-get install -y wrk` (not needed by the test suite or CI). Both clients drive both servers
the same way: the same JSON bodies in turn, one request in flight per connection, a fixed
duration. A scenario with any answer outside 2xx fails (the run exits 1). The table and the
JSON say which client measured them.

    PYTHONPATH=. uv run python benchmarks/serve.py          # trains its own registry first
    LOS_BENCH_TRACKING_URI=sqlite:///data/mlflow.db LOS_BENCH_DATA=data/admissions.parquet \\
        PYTHONPATH=. uv run python benchmarks/serve.py --clients 8 --seconds 10 [--client python]

Prints a table and writes JSON (default `benchmarks/results/serve.json`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

from benchmarks.wrk_client import run_wrk, wrk_path
from los.targets import registered_name_of

LONG_STAY_MODEL = registered_name_of("long_stay")

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
MAX_CLIENTS, MAX_SECONDS = 64, 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def prepare(args: argparse.Namespace, tmp: Path) -> tuple[dict[str, str], pd.DataFrame]:
    """Environment pointing at a registry with champions, and admissions to send."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env["LOS_DATA_DIR"] = str(tmp)
    env["LOS_AUDIT_URL"] = f"sqlite:///{tmp / 'audit.db'}"
    for key in ("LOS_API_KEYS", "LOS_HISTORY_SOURCE"):
        env.pop(key, None)
    env["LOS_ALLOW_NO_KEYS"] = "1"  # measured without keys: an explicit choice
    uri, data = os.environ.get("LOS_BENCH_TRACKING_URI"), os.environ.get("LOS_BENCH_DATA")
    if uri and data:
        env["MLFLOW_TRACKING_URI"] = uri
        return env, pd.read_parquet(data) if data.endswith(".parquet") else pd.read_csv(data)
    from features.generate import generate_admissions
    from los.config import Settings, TrainingConfig
    from models.registry import promote
    from training.register import train_and_register

    print(f"generating {args.rows:,} admissions and training a registry in {tmp} ...")
    admissions = generate_admissions(args.rows, seed=11).admissions
    settings = Settings(los_data_dir=tmp, mlflow_tracking_uri=None)
    summary = train_and_register(admissions, TrainingConfig(), settings, tmp / "reports")
    for outcome in summary.outcomes:  # the benchmark needs champions even if a gate failed
        promote(outcome.registered_name, outcome.version)
    env["MLFLOW_TRACKING_URI"] = settings.tracking_uri
    return env, admissions


def request_rows(admissions: pd.DataFrame, n: int) -> list[dict[str, Any]]:
    from los.schema import ADMISSION_COLUMNS

    sample = admissions.sample(min(n, len(admissions)), random_state=5)
    rows = []
    for rec in sample[[c for c in ADMISSION_COLUMNS if c in sample]].to_dict("records"):
        row = {}
        for k, v in rec.items():
            if isinstance(v, pd.Timestamp):
                v = v.isoformat()
            elif v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
                v = None
            row[k] = v
        rows.append(row)
    return rows


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)


def wait(url: str, proc: subprocess.Popen[bytes], timeout: float = 180.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {timeout}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def process_cpu_seconds(pid: int | None) -> dict[int, float]:
    """CPU seconds (user + system) used so far by process `pid` and each of its living
    descendants (`los serve`'s worker processes), read from /proc; empty where /proc cannot
    say."""
    if pid is None:
        return {}
    tick, out, todo = os.sysconf("SC_CLK_TCK"), {}, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            out[p] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError, IndexError):
            continue
    return out


def busiest_share(before: dict[int, float], after: dict[int, float]) -> float | None:
    """The busiest process's share of the server's CPU between two readings. The kernel hands
    each of the clients' keep-alive connections to whichever worker accepts it first, so 8
    connections may land 4/4, 6/2 or 8/0 on two workers: a share near 1 means one worker (one
    core's worth of Python) served nearly everything, and the rate says little of two cores."""
    spent = [after[p] - before.get(p, 0.0) for p in after]
    total = sum(spent)
    return round(max(spent) / total, 2) if total > 0 else None


def load(
    url: str, bodies: list[Any], clients: int, seconds: float, rows_per: int,
    pid: int | None = None, client: str = "python",
) -> dict[str, Any]:  # fmt: skip
    """`clients` connections post `bodies` in turn for `seconds` (`client`: httpx threads in this
    process, or wrk); latency percentiles and throughput, and the CPU the server (`pid` and its
    children) and the client spent per request: on a shared machine the wall-clock rates follow
    the load, CPU per request far less. A scenario with any answer outside 2xx (or a socket
    error) is marked failed."""
    cpu0 = process_cpu_seconds(pid)
    if client == "wrk":
        encoded = [json.dumps(b, separators=(",", ":")).encode() for b in bodies]
        run = run_wrk(url, encoded, clients, seconds)
        cpu1 = process_cpu_seconds(pid)
        timed = {"requests": run.requests, "p50_ms": run.p50_ms, "p99_ms": run.p99_ms}
        return _figures(clients, rows_per, timed, run.seconds, run.non_2xx + run.socket_errors,
                        (cpu0, cpu1), run.cpu_seconds, pid, {})  # fmt: skip
    latencies: list[list[float]] = [[] for _ in range(clients)]
    in_server: list[list[float]] = [[] for _ in range(clients)]  # our Server-Timing header
    failures = [0] * clients
    deadline = time.perf_counter() + seconds

    def post(k: int) -> None:
        with httpx.Client(timeout=60) as c:
            i = k
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                r = c.post(url, json=bodies[i % len(bodies)])
                latencies[k].append(time.perf_counter() - t0)
                failures[k] += not 200 <= r.status_code < 300
                timing = r.headers.get("server-timing", "")
                if "dur=" in timing:
                    in_server[k].append(float(timing.split("dur=")[1].split(",")[0]))
                i += clients

    threads = [threading.Thread(target=post, args=(k,)) for k in range(clients)]
    mine0 = time.process_time()
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    cpu1, client_cpu = process_cpu_seconds(pid), time.process_time() - mine0
    ms = np.array([x for per in latencies for x in per]) * 1000
    server = np.array([x for per in in_server for x in per])
    inside = {}
    if server.size:
        inside = {
            "server_p50_ms": round(float(np.percentile(server, 50)), 2),
            "server_p99_ms": round(float(np.percentile(server, 99)), 2),
        }
    timed = {
        "requests": int(ms.size),
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
    }
    return _figures(clients, rows_per, timed, wall, sum(failures), (cpu0, cpu1), client_cpu, pid,
                    inside)  # fmt: skip


def _figures(
    clients: int, rows_per: int, timed: dict[str, Any], wall: float, failed: int,
    server: tuple[dict[int, float], dict[int, float]], client_cpu: float, pid: int | None,
    inside: dict[str, float],
) -> dict[str, Any]:  # fmt: skip
    """One scenario's result, whichever client measured it (`server`: the server's CPU per
    process before and after)."""
    n = int(timed["requests"])
    server_cpu = sum(server[1].values()) - sum(server[0].values())
    cpu: dict[str, Any] = {}
    if pid is not None and n and server_cpu > 0:
        cpu = {
            "server_cpu_ms_per_request": round(1000 * server_cpu / n, 3),
            "client_cpu_ms_per_request": round(1000 * client_cpu / n, 3),
            "rows_per_server_cpu_s": round(n * rows_per / server_cpu, 1),
            "busiest_process_cpu_share": busiest_share(*server),
        }
    return {
        "clients": clients,
        "rows_per_request": rows_per,
        "requests": n,
        "failed": failed,
        "p50_ms": round(float(timed["p50_ms"]), 2),
        "p99_ms": round(float(timed["p99_ms"]), 2),
        "requests_per_s": round(n / wall, 1),
        "rows_per_s": round(n * rows_per / wall, 1),
        **inside,
        **cpu,
    }


def suite(
    one_url: str, one: Callable[[dict], Any], batch_url: str, batch: Callable[[list[dict]], Any],
    rows: list[dict], args: Any, pid: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Single admissions with 1 and N clients, then batches with N clients, each cycling the
    same bodies for both servers (`batch_bodies`)."""
    singles, batches = [one(r) for r in rows], [batch(b) for b in batch_bodies(rows, args.batch)]
    n, s, how = args.clients, args.seconds, args.client
    load(one_url, singles, 2, 2.0, 1, client=how)  # warm-up
    return {
        "single_1_client": load(one_url, singles, 1, s, 1, pid, how),
        f"single_{n}_clients": load(one_url, singles, n, s, 1, pid, how),
        f"batch{args.batch}_{n}_clients": load(batch_url, batches, n, s, args.batch, pid, how),
    }


def batch_bodies(rows: list[dict], size: int) -> list[list[dict]]:
    """The distinct batches of `size` consecutive rows (wrapping round) a client cycles through."""
    n = len(rows)
    count = n // math.gcd(n, size)
    return [[rows[(i * size + j) % n] for j in range(size)] for i in range(count)]


def run_ours(env: dict[str, str], rows: list[dict], args: Any, tmp: Path) -> dict:
    port = free_port()
    cmd = [str(BIN / "los"), "serve", "--host", HOST, "--port", str(port)]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    proc = start(cmd, env, tmp / "o")
    try:
        ready = wait(f"http://{HOST}:{port}/ready", proc)
        time.sleep(5.0 if args.workers != 1 else 0.0)  # the other workers load their models
        base = f"http://{HOST}:{port}/v1/score"
        results = suite(base, lambda r: r, f"{base}/batch", lambda r: r, rows, args, proc.pid)
        b = args.batch
        all_url = f"{base}/batch?reasons=all"
        results[f"batch{b}_{args.clients}_clients_reasons_all"] = load(
            all_url, batch_bodies(rows, b), args.clients, args.seconds, b, proc.pid, args.client
        )
        return {"start_to_ready_s": round(ready, 1), "workers": args.workers, "results": results}
    finally:
        stop(proc)


def run_mlflow(env: dict[str, str], rows: list[dict], args: Any, tmp: Path) -> dict:
    if shutil.which("mlflow", path=env["PATH"]) is None:
        return {"error": "mlflow command not found"}
    port = free_port()
    cmd = [str(BIN / "mlflow"), "models", "serve", "-m", f"models:/{LONG_STAY_MODEL}@champion",
           "--env-manager", "local", "-h", HOST, "-p", str(port)]  # fmt: skip
    proc = start(cmd, env, tmp / "m")
    try:
        ready = wait(f"http://{HOST}:{port}/ping", proc)
        url = f"http://{HOST}:{port}/invocations"
        probe = httpx.post(url, json={"dataframe_records": rows[:1]}, timeout=60)
        if probe.status_code != 200:
            return {"error": f"invocations answered {probe.status_code}: {probe.text[:300]}"}
        results = suite(
            url, lambda r: {"dataframe_records": [r]}, url, lambda r: {"dataframe_records": r},
            rows, args, proc.pid,
        )  # fmt: skip
        return {"start_to_ready_s": round(ready, 1), "results": results}
    finally:
        stop(proc)


def _cpu_ratio(ours: dict, theirs: dict | None) -> float | None:
    """Rows per second of server CPU, ours over MLflow's (None when either was not measured)."""
    key = "rows_per_server_cpu_s"
    if not theirs or key not in ours or key not in theirs:
        return None
    return float(ours[key]) / float(theirs[key])


def table(report: dict) -> str:
    ours, theirs = report["ours"]["results"], report["mlflow"].get("results", {})
    client = report.get("settings", {}).get("client", "python")
    lines = [
        f"load generator: {client}",
        f"{'scenario':<22} {'server':<8} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'rows/s':>9}"
        f"  {'in-server p50 / p99 ms':>22}  {'CPU ms/req server, client':>25}",
    ]
    for name, mine in ours.items():
        for label, r in (("ours", mine), ("mlflow", theirs.get(name))):
            if r:
                inside = ""
                if "server_p50_ms" in r:
                    inside = f"{r['server_p50_ms']:>13.1f} / {r['server_p99_ms']:.1f}"
                cpu = ""
                if "server_cpu_ms_per_request" in r:
                    cpu = (
                        f"{r['server_cpu_ms_per_request']:>14.2f}, "
                        f"{r['client_cpu_ms_per_request']:.2f}"
                    )
                failed = f"  FAILED: {r['failed']} not 2xx" if r["failed"] else ""
                lines.append(
                    f"{name:<22} {label:<8} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} "
                    f"{r['requests_per_s']:>8.1f} {r['rows_per_s']:>9.1f}  {inside:<22}  {cpu}"
                    + failed
                )
        if theirs.get(name):
            speed = mine["rows_per_s"] / theirs[name]["rows_per_s"]
            latency = theirs[name]["p50_ms"] / mine["p50_ms"]
            per_cpu = _cpu_ratio(mine, theirs[name])
            lines.append(
                f"{'':<22} ratio    rows/s ours/mlflow {speed:.2f}x, p50 mlflow/ours {latency:.2f}x"
                + (f", rows per server CPU-second ours/mlflow {per_cpu:.2f}x" if per_cpu else "")
            )
    return "\n".join(lines)


def goals(report: dict, clients: int, batch: int) -> tuple[str, dict[str, Any]]:
    """Issue 17 goal 2, each figure next to its baseline with the ratio, and whether it is met."""
    ours, theirs = report["ours"]["results"], report["mlflow"].get("results", {})
    single, many = f"single_{clients}_clients", f"batch{batch}_{clients}_clients"
    rows: list[tuple[str, float, float | None, float | None, str]] = []

    def add(name: str, figure: float, base: float | None, ratio: float | None, goal: str) -> None:
        rows.append((name, figure, base, ratio, goal))

    def rate(r: dict | None, key: str) -> float | None:
        return None if not r else float(r[key])

    p99 = ours["single_1_client"]["p99_ms"]
    base_p99 = rate(theirs.get("single_1_client"), "p99_ms")
    add("single-row p99 at 1 client (ms)", p99, base_p99, base_p99 / p99 if base_p99 else None,
        "<= 5 ms (ratio: MLflow's p99 / ours)")  # fmt: skip
    for name, key, target, label in (
        (single, "requests_per_s", 10.0, f"single-row req/s at {clients} clients"),
        (many, "rows_per_s", 1.0, f"batch-of-{batch} rows/s at {clients} clients"),
    ):
        figure, base = float(ours[name][key]), rate(theirs.get(name), key)
        add(label, figure, base, figure / base if base else None, f">= {target:g}x MLflow")
    clean = {  # a scenario with failed answers meets nothing
        name: not ours[name]["failed"] and not (theirs.get(name) or {}).get("failed")
        for name in ("single_1_client", single, many)
    }
    met = {
        "single_p99_le_5ms": p99 <= 5.0 and clean["single_1_client"],
        "single_throughput_ge_10x": (rows[1][3] or 0) >= 10.0 and clean[single],
        "batch_rows_ge_1x": (rows[2][3] or 0) >= 1.0 and clean[many],
    }
    load = report.get("settings", {}).get("load_average")
    lines = [f"{'issue 17 goal 2':<40} {'ours':>10} {'mlflow':>10} {'ratio':>7}  goal"
             + (f"  (load average {load[0]} -> {load[1]})" if load else "")]  # fmt: skip
    for (name, figure, base, ratio, goal), ok in zip(rows, met.values(), strict=True):
        b = f"{base:>10.1f}" if base is not None else f"{'-':>10}"
        r = f"{ratio:>6.2f}x" if ratio is not None else f"{'':>7}"
        lines.append(f"{name:<40} {figure:>10.1f} {b} {r}  {goal}: {'met' if ok else 'NOT met'}")
    for name, label in ((single, "single rows"), (many, f"batches of {batch}")):
        per_cpu = _cpu_ratio(ours[name], theirs.get(name))
        if per_cpu is not None:  # the wall-clock goal is the one judged; this says how load-bound
            lines.append(
                f"  {label} per server CPU-second: ours {ours[name]['rows_per_server_cpu_s']:,.0f}"
                f" rows, mlflow {theirs[name]['rows_per_server_cpu_s']:,.0f}: {per_cpu:.2f}x"
            )
        share = ours[name].get("busiest_process_cpu_share")
        if share is not None and report["ours"].get("workers") != 1:
            lines.append(f"  {label}: our busiest process did {share:.0%} of our server's CPU")
    return "\n".join(lines), met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rows", type=int, default=20_000, help="rows to train on, if training")
    parser.add_argument(
        "--workers", type=int, default=0, help="our worker processes (default 0: one per core)"
    )
    parser.add_argument(
        "--client",
        choices=("python", "wrk"),
        default=None,
        help="load generator: wrk (default when on PATH) or httpx threads in this process",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "serve.json")
    args = parser.parse_args(argv)
    args.client = args.client or ("wrk" if wrk_path() else "python")
    if args.client == "wrk" and wrk_path() is None:
        parser.error("--client wrk: wrk is not on PATH (apt-get install -y wrk)")
    args.clients = max(1, min(args.clients, MAX_CLIENTS))
    args.seconds = max(1.0, min(args.seconds, MAX_SECONDS))
    with tempfile.TemporaryDirectory(prefix="los-bench-") as name:
        tmp = Path(name)
        env, admissions = prepare(args, tmp)
        rows = request_rows(admissions, 500)
        print(
            f"our service: {args.clients} clients, {args.seconds:.0f} s per scenario, "
            f"load from {args.client} ..."
        )
        load_before = os.getloadavg()[0]  # the machine is shared: say how busy it was
        report = {"ours": run_ours(env, rows, args, tmp)}
        print("mlflow models serve ...")
        report["mlflow"] = run_mlflow(env, rows, args, tmp)
    report["settings"] = {"clients": args.clients, "seconds": args.seconds, "batch": args.batch,
                          "client": args.client, "cpus": os.cpu_count(),
                          "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
                          "note": "ours: 3 targets + reasons; "
                          f"mlflow: {LONG_STAY_MODEL} probability only"}  # fmt: skip
    print(table(report))
    if "results" in report["mlflow"]:
        text, met = goals(report, args.clients, args.batch)
        report["goals"] = met
        print(text)
    if "error" in report["mlflow"]:
        print(f"mlflow models serve: {report['mlflow']['error']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    failed = failed_scenarios(report)
    for name in failed:
        print(f"FAILED: {name} had answers outside 2xx or socket errors")
    return 1 if failed else 0


def failed_scenarios(report: dict) -> list[str]:
    """`server/scenario` for each scenario with any answer outside 2xx or a socket error."""
    return [
        f"{server}/{name}"
        for server in ("ours", "mlflow")
        for name, r in report[server].get("results", {}).items()
        if r["failed"]
    ]


if __name__ == "__main__":
    sys.exit(main())
