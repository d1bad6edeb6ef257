"""A throwaway PostgreSQL server for tests: `postgres_server()`, `postgres_url_fixture()`.

Usage in a test module::

    from tests.integration.postgres import postgres_url_fixture

    postgres_url = postgres_url_fixture()          # a module-scoped fixture

    @pytest.mark.postgres
    def test_something(postgres_url: str) -> None: ...

The server runs from the Debian binaries (``/usr/lib/postgresql/*/bin``): ``initdb`` into a
temporary folder, ``pg_ctl start`` on 127.0.0.1 on a free port with trust authentication, as
the ``postgres`` user when the tests run as root (PostgreSQL refuses to run as root). It is
stopped and its folder removed afterwards. Without the binaries the tests are skipped with a
message to run ``scripts/install-postgres.sh``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

PG_ROOT = Path("/usr/lib/postgresql")
USER = "los"
DATABASE = "los"
INSTALL_HINT = "PostgreSQL server binaries not found: run scripts/install-postgres.sh"


def find_postgres_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding initdb and pg_ctl, if any."""
    found = [
        b for b in PG_ROOT.glob("*/bin") if (b / "initdb").exists() and (b / "pg_ctl").exists()
    ]
    found.sort(key=lambda b: int(b.parent.name) if b.parent.name.isdigit() else 0)
    return found[-1] if found else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _runner(folder: Path) -> Callable[[list[str]], subprocess.CompletedProcess[str]]:
    """Run commands as the current user, or as ``postgres`` (owning `folder`) under root."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and no 'postgres' user: run scripts/install-postgres.sh")
        for path in [folder, *folder.rglob("*")]:
            os.chown(path, account.pw_uid, account.pw_gid)
        # root's tools live in the sbin folders, which a bare PATH (e.g. HOME-less CI shells,
        # `PATH=venv/bin:/usr/bin:/bin`) may leave out
        runuser = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
        if runuser is None:
            pytest.fail("running as root and no 'runuser' found (util-linux) to start PostgreSQL")
        prefix = [runuser, "-u", "postgres", "--"]

    def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            prefix + cmd, check=True, capture_output=True, text=True, timeout=120, cwd=folder
        )

    return run


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a throwaway cluster and yield its SQLAlchemy URL (``postgresql+psycopg://``)."""
    bindir = find_postgres_bin()
    if bindir is None:
        pytest.skip(INSTALL_HINT)
    folder = Path(tempfile.mkdtemp(prefix="los-pg-"))
    data = folder / "data"
    run = _runner(folder)
    try:
        port = _start(run, bindir, folder, data)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    try:
        yield f"postgresql+psycopg://{USER}@127.0.0.1:{port}/{DATABASE}"
    finally:
        run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(folder, ignore_errors=True)


def _start(
    run: Callable[[list[str]], subprocess.CompletedProcess[str]],
    bindir: Path,
    folder: Path,
    data: Path,
) -> int:
    """initdb, start on a free port, create the database; returns the port."""
    try:
        run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ]
        )
        port = _free_port()
        options = f"-h 127.0.0.1 -p {port} -k {folder} -F"
        run(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(folder / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ]
        )
    except subprocess.CalledProcessError as exc:
        log = folder / "server.log"
        detail = log.read_text()[-2000:] if log.exists() else ""
        raise RuntimeError(
            f"PostgreSQL failed to start: {exc.stderr or exc.stdout}\n{detail}"
        ) from exc
    admin = sa.create_engine(f"postgresql+psycopg://{USER}@127.0.0.1:{port}/postgres")
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(f"CREATE DATABASE {DATABASE}"))
    except BaseException:
        run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
        raise
    finally:
        admin.dispose()
    return port


def postgres_url_fixture(scope: Any = "module") -> Any:
    """Make a pytest fixture (default scope: module) that yields a throwaway server's URL."""

    @pytest.fixture(scope=scope)
    def postgres_url() -> Iterator[str]:
        with postgres_server() as url:
            yield url

    return postgres_url
