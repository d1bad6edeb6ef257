"""Issue 11 item 1: the README's set-up works the first time on a machine without uv.

A fresh clone of the committed tree is installed through scripts/bare-env.sh (empty HOME, no
`uv` on PATH), the way .ci/run installs. Before the fix, the Makefile resolved uv to
`$(HOME)/.local/bin/uv` while pip put it elsewhere: the first `make` failed with Error 127.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout")
    clone = tmp_path_factory.mktemp("fresh") / "los"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    return clone


def test_bare_env_hides_uv_and_home(fresh_clone: Path) -> None:
    probe = 'command -v uv || echo "no uv"; ls -A "$HOME" | wc -l'
    done = subprocess.run(
        [str(fresh_clone / "scripts" / "bare-env.sh"), "bash", "-c", probe],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["no", "uv", "0"]


def test_first_make_install_works_without_uv(fresh_clone: Path) -> None:
    done = subprocess.run(
        [str(fresh_clone / "scripts" / "bare-env.sh"), "make", "install"],
        cwd=fresh_clone,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (fresh_clone / ".tools" / "bin" / "uv").exists()
    los = subprocess.run(
        [str(fresh_clone / ".venv" / "bin" / "los"), "--help"], capture_output=True, text=True
    )
    assert los.returncode == 0 and "generate" in los.stdout
