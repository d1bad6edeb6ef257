"""The `wrk` load generator for `benchmarks/serve.py`: a C client that leaves the server the cores.

The Python client (httpx threads in one process) spends about 0.7 ms of CPU per request on the
same two cores the server runs on; wrk (Debian's package: `apt-get install -y wrk`) spends a
small fraction of that, so the rates measure the server rather than the client.

Both servers are driven the same way: `wrk -t 1 -c CLIENTS -d SECONDS --timeout 30s` on
127.0.0.1 with a Lua script that POSTs the given JSON bodies (`Content-Type: application/json`)
in turn, cycling through them; each connection waits for its answer before the next request,
as a Python client thread does. The script counts every response outside 2xx, and its `done`
hook prints one JSON line: requests, duration, p50 and p99 from wrk's latency distribution,
that count and wrk's socket errors. The CPU wrk spent comes from `getrusage` of the finished
child.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MARK = "WRK_JSON "

# One Lua state per wrk thread runs `init`, `request` and `response`; `setup` and `done` run in
# the main state, which reads each thread's `non_2xx` global through `thread:get`.
LUA = r"""
local threads = {}
local bodies, n, i = {}, 0, 0
non_2xx = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(args[1], "rb"))
  for line in f:lines() do
    if #line > 0 then
      n = n + 1
      bodies[n] = wrk.format("POST", nil, {["Content-Type"] = "application/json"}, line)
    end
  end
  f:close()
  assert(n > 0, "no request bodies")
end

function request()
  i = i % n + 1
  return bodies[i]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non_2xx")
  end
  local e = summary.errors
  io.write(string.format(
    '%s{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "non_2xx": %d, '
    .. '"connect": %d, "read": %d, "write": %d, "timeout": %d}\n',
    "WRK_JSON ", summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), bad, e.connect, e.read, e.write, e.timeout))
end
"""


@dataclass(frozen=True)
class WrkRun:
    """What one wrk run reports, and the CPU seconds the wrk process spent."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    cpu_seconds: float


def wrk_path() -> str | None:
    """The `wrk` executable on PATH, or None."""
    return shutil.which("wrk")


def parse_report(stdout: str) -> dict[str, Any]:
    """The JSON line the Lua `done` hook printed; ValueError when there is none."""
    for line in stdout.splitlines():
        if line.startswith(MARK):
            parsed: dict[str, Any] = json.loads(line[len(MARK) :])
            return parsed
    raise ValueError("wrk printed no report line")


def run_wrk(url: str, bodies: list[bytes], clients: int, seconds: float) -> WrkRun:
    """POST `bodies` in turn to `url` (127.0.0.1) from `clients` connections for `seconds`."""
    exe = wrk_path()
    if exe is None:
        raise RuntimeError("wrk is not on PATH (apt-get install -y wrk)")
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError("the benchmark drives 127.0.0.1 only")
    with tempfile.TemporaryDirectory(prefix="los-wrk-") as name:
        folder = Path(name)
        script, data = folder / "post.lua", folder / "bodies.jsonl"
        script.write_text(LUA)
        data.write_bytes(b"".join(b.replace(b"\n", b" ") + b"\n" for b in bodies))
        cmd = [exe, "-t", "1", "-c", str(clients), "-d", f"{seconds:g}s", "--timeout", "30s",
               "-s", str(script), url, "--", str(data)]  # fmt: skip
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited with {done.returncode}: {done.stderr.strip()[:300]}")
    report = parse_report(done.stdout)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return WrkRun(
        requests=int(report["requests"]),
        seconds=report["duration_us"] / 1e6,
        p50_ms=report["p50_us"] / 1000,
        p99_ms=report["p99_us"] / 1000,
        non_2xx=int(report["non_2xx"]),
        socket_errors=sum(int(report[k]) for k in ("connect", "read", "write", "timeout")),
        cpu_seconds=cpu,
    )
