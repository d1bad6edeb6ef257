"""Screenshots of what the three users see, from headless Chromium: the evaluation report, the
daily risk list (screen and printed PDF), and the service's API docs.

Run after `make train` (it reads the registry and reports in LOS_DATA_DIR, default data/):

    uv run python scripts/screenshots.py --out docs/screenshots/after [--project .]

`--project` may point at another checkout (e.g. an older commit, for before/after): its own `los`
(through `uv run` in that folder) makes the list and serves the docs. Nothing leaves 127.0.0.1:
the browser runs with background networking off, and the service listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from scripts.headless_chromium import find_chromium, headless_command

ROOT = Path(__file__).resolve().parents[1]
WINDOW = "1280,900"


def chromium() -> str:
    found = find_chromium()
    if found is None:
        sys.exit("error: headless Chromium not found (run scripts/install-chromium.sh)")
    return found


def browser_args(profile: Path) -> list[str]:
    return headless_command(chromium(), profile, "--hide-scrollbars")


def shoot(profile: Path, url: str, out: Path, window: str = WINDOW) -> Path:
    """A PNG of `url` at `window` size, after its scripts had 5 s of virtual time."""
    subprocess.run(
        [*browser_args(profile), "--virtual-time-budget=5000", f"--window-size={window}",
         f"--screenshot={out}", url],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    return out


def print_pdf(profile: Path, url: str, out: Path) -> Path:
    """The page printed to PDF as a browser prints it (the page's own @page rules)."""
    subprocess.run(
        [*browser_args(profile), "--no-pdf-header-footer", f"--print-to-pdf={out}", url],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    return out


def los(project: Path, env: dict[str, str], *args: str) -> None:
    uv = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    subprocess.run([uv, "run", "--no-sync", "los", *args], cwd=project, env=env, check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_docs(project: Path, env: dict[str, str], profile: Path, out: Path) -> list[Path]:
    """Start `los serve` on 127.0.0.1 without keys, screenshot /docs and /redoc, stop it."""
    port = free_port()
    uv = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    server = subprocess.Popen(
        [uv, "run", "--no-sync", "los", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=project, env={**env, "LOS_ALLOW_NO_KEYS": "1"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("error: the service did not start") from None
                time.sleep(0.5)
        return [
            shoot(profile, f"http://127.0.0.1:{port}/docs", out / "api-docs.png"),
            shoot(profile, f"http://127.0.0.1:{port}/redoc", out / "api-redoc.png"),
        ]
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the PNG/PDF files")
    parser.add_argument("--project", type=Path, default=ROOT, help="checkout whose `los` to use")
    parser.add_argument(
        "--data-dir", type=Path, default=Path(os.environ.get("LOS_DATA_DIR", "data"))
    )
    args = parser.parse_args()
    out, project = args.out.resolve(), args.project.resolve()
    data_dir = (args.data_dir if args.data_dir.is_absolute() else ROOT / args.data_dir).resolve()
    reports = data_dir / "reports" / "latest"
    if not (reports / "report.html").exists():
        sys.exit(f"error: no report in {reports}: run `make train` first")
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "LOS_DATA_DIR": str(data_dir)}
    with tempfile.TemporaryDirectory() as tmp:
        work, profile = Path(tmp), Path(tmp) / "profile"
        made = [
            shoot(profile, (reports / "report.html").as_uri(), out / "report-top.png"),
            shoot(
                profile, (reports / "report.html").as_uri(), out / "report-long.png", "1280,4000"
            ),
        ]
        census = work / "census.parquet"
        los(project, env, "generate", "--rows", "4000", "--seed", "7", "--out", str(census))
        html = out / "risk-list.html"
        los(project, env, "risk-list", "--data", str(census), "--out", str(html))
        made += [
            shoot(profile, html.as_uri(), out / "risk-list.png"),
            print_pdf(profile, html.as_uri(), out / "risk-list.pdf"),
        ]
        made += serve_docs(project, env, profile, out)
    for path in made:
        print(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)


if __name__ == "__main__":
    main()
