"""Bounded load on 127.0.0.1: 16 clients for `LOS_LOAD_SECONDS` (default 30, warm-up included).

The mix is what a discharge team's systems send: mostly single admissions (`/v1/score`), some
batches of 10-50 (`/v1/score/batch`) and the odd daily list of 20-40 inpatients (`/v1/risk-list`).
Every response must be a 200 with a well-formed body (right spell ids, in order, every target,
probabilities in 0-1): zero failed requests. Latency percentiles and throughput are printed (run
with `-s` to see them) and recorded as test properties.

Memory must stay flat: the server's resident set (VmRSS) is read after the warm-up (the first
fifth, at least 3 s: models, history index, allocator arenas and the audit store are warm by then)
and at the end. The growth over the steady phase must stay below max(15% of the warm size, 40 MB).
Why that bound: a warm server holds ~0.4 GB (LightGBM, pandas, MLflow, the history index), and
glibc's per-thread arenas and the bounded audit queue can move it by tens of MB without any leak,
so a tighter bound would fail on noise; a leak of even 10 kB per request (a response or a frame
kept) would add > 100 MB over the few thousand requests of one run.
"""

from __future__ import annotations

import os
import random
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.integration.test_service_server import Server
from tests.reliability.conftest import API_KEY, vm_rss_kib

pytestmark = pytest.mark.slow

SECONDS = float(os.environ.get("LOS_LOAD_SECONDS", "30"))
CLIENTS = 16
WARMUP = max(3.0, SECONDS / 5)
MIX = (("score", 0.80), ("batch", 0.15), ("risk-list", 0.05))


@dataclass
class Tally:
    """What the clients saw (appended under a lock)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def record(self, kind: str, seconds: float, problem: str | None, steady: bool) -> None:
        with self.lock:
            self.counts[kind] += 1
            if problem is not None:
                self.failures.append(f"{kind}: {problem}")
            elif steady:
                self.latencies.setdefault(kind, []).append(seconds)


def _check_score(result: Any, spell_id: str, targets: set[str]) -> str | None:
    if not isinstance(result, dict) or result.get("spell_id") != spell_id:
        return f"wrong or missing spell_id (expected {spell_id!r})"
    scores = result.get("scores") or {}
    if set(scores) != targets:
        return f"targets {sorted(scores)} instead of {sorted(targets)}"
    for target, s in scores.items():
        if not 0.0 <= s.get("probability", -1) <= 1.0 or s.get("risk_band") is None:
            return f"malformed score for {target}"
    return None


def _request(
    client: httpx.Client, kind: str, rows: list[dict[str, Any]], rng: random.Random, targets: set
) -> str | None:
    """Send one request of `kind`; None when the answer is a 200 with a well-formed body."""
    if kind == "score":
        row = rng.choice(rows)
        r = client.post("/v1/score", json=row)
        if r.status_code != 200:
            return f"status {r.status_code}"
        return _check_score(r.json(), row["spell_id"], targets)
    if kind == "batch":
        batch = rng.sample(rows, rng.randint(10, 50))
        r = client.post("/v1/score/batch", json=batch)
        if r.status_code != 200:
            return f"status {r.status_code}"
        results = r.json()
        if len(results) != len(batch):
            return f"{len(results)} results for {len(batch)} rows"
        for result, row in zip(results, batch, strict=True):
            if problem := _check_score(result, row["spell_id"], targets):
                return problem
        return None
    census = [{**row, "discharge_datetime": None} for row in rng.sample(rows, rng.randint(20, 40))]
    r = client.post("/v1/risk-list", json={"admissions": census, "capacity": 5})
    if r.status_code != 200:
        return f"status {r.status_code}"
    body = r.json()
    listed = {p["spell_id"] for p in body.get("patients", [])}
    if not listed or not listed <= {row["spell_id"] for row in census}:
        return "risk list patients do not match the census"
    ranks = [p["rank"] for p in body["patients"]]
    return None if ranks == list(range(1, len(ranks) + 1)) else "ranks out of order"


def _client(
    url: str,
    seed: int,
    rows: list[dict[str, Any]],
    targets: set[str],
    steady_at: float,
    stop_at: float,
    tally: Tally,
) -> None:
    rng = random.Random(seed)
    kinds, weights = zip(*MIX, strict=True)
    with httpx.Client(base_url=url, headers={"X-API-Key": API_KEY}, timeout=30) as client:
        while (now := time.monotonic()) < stop_at:
            kind = rng.choices(kinds, weights)[0]
            start = time.perf_counter()
            try:
                problem = _request(client, kind, rows, rng, targets)
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            tally.record(kind, time.perf_counter() - start, problem, steady=now >= steady_at)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def test_sustained_load_has_no_failures_and_flat_memory(
    service: Server, request_rows: list[dict[str, Any]], record_property: Any
) -> None:
    pid = service.process.pid
    with service.client() as c:
        first = c.post("/v1/score", json=request_rows[0])
        assert first.status_code == 200
        targets = set(first.json()["scores"])

    tally = Tally()
    start = time.monotonic()
    steady_at, stop_at = start + WARMUP, start + SECONDS
    rss: list[tuple[float, int]] = []
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.wait(0.5):
            rss.append((time.monotonic(), vm_rss_kib(pid)))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    clients = [
        threading.Thread(
            target=_client,
            args=(service.url, seed, request_rows, targets, steady_at, stop_at, tally),
        )
        for seed in range(CLIENTS)
    ]
    for t in clients:
        t.start()
    for t in clients:
        t.join(SECONDS + 60)
    sampling.set()
    sampler.join(5)
    end_rss = vm_rss_kib(pid)

    assert not any(t.is_alive() for t in clients), "a client did not finish"
    total = sum(tally.counts.values())
    assert not tally.failures, f"{len(tally.failures)} of {total} failed: {tally.failures[:5]}"

    steady = [kib for t, kib in rss if t >= steady_at]
    warm_rss = next(kib for t, kib in rss if t >= steady_at) if steady else end_rss
    peak = max(steady, default=end_rss)
    allowed_kib = max(0.15 * warm_rss, 40 * 1024)
    growth_kib = end_rss - warm_rss

    all_latencies = [x for values in tally.latencies.values() for x in values]
    assert all_latencies, f"no request in the steady phase ({SECONDS} s, warm-up {WARMUP} s)"
    steady_seconds = SECONDS - WARMUP
    figures = {
        "requests": total,
        "steady_requests": len(all_latencies),
        "throughput_rps": round(len(all_latencies) / steady_seconds, 1),
        "p50_ms": round(1000 * statistics.median(all_latencies), 1),
        "p99_ms": round(1000 * _percentile(all_latencies, 0.99), 1),
        "rss_warm_mb": round(warm_rss / 1024, 1),
        "rss_peak_mb": round(peak / 1024, 1),
        "rss_end_mb": round(end_rss / 1024, 1),
        "rss_growth_mb": round(growth_kib / 1024, 1),
        "rss_allowed_growth_mb": round(allowed_kib / 1024, 1),
    }
    for kind, values in sorted(tally.latencies.items()):
        figures[f"{kind}_n"] = len(values)
        figures[f"{kind}_p50_ms"] = round(1000 * statistics.median(values), 1)
        figures[f"{kind}_p99_ms"] = round(1000 * _percentile(values, 0.99), 1)
    for name, value in figures.items():
        record_property(name, value)
    print(
        f"\nload: {CLIENTS} clients, {SECONDS:.0f} s ({WARMUP:.0f} s warm-up), mix {dict(MIX)}\n"
        + "\n".join(f"  {name:24} {value}" for name, value in figures.items())
    )

    assert tally.counts["score"] > 0 and tally.counts["batch"] > 0
    assert growth_kib < allowed_kib, f"memory grew {growth_kib / 1024:.0f} MB: {figures}"
