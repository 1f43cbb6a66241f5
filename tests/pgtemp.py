"""A throwaway PostgreSQL server in a temporary folder (a helper of the tests and benchmarks,
not part of the package: ``tests/`` is on ``sys.path`` under pytest; benchmarks add it).

>>> with TempPostgres() as pg:                       # doctest: +SKIP
...     store = LabelStore(pg.create_database("labels"))

It runs ``initdb`` and ``pg_ctl`` from the PostgreSQL binaries (``$WORKBENCH_PG_BIN``, else
``/usr/lib/postgresql/<newest>/bin``, else ``PATH``) on a free loopback port with trust
authentication. ``initdb`` refuses to run as root, so as root the server runs as the
``postgres`` (or ``nobody``) user via ``runuser``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from workbench.core.errors import StoreError

__all__ = ["TempPostgres", "find_pg_bin"]


def find_pg_bin() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``, or None."""
    env = os.environ.get("WORKBENCH_PG_BIN")
    if env and (Path(env) / "initdb").exists():
        return Path(env)
    root = Path("/usr/lib/postgresql")
    if root.exists():
        versions = sorted((p for p in root.iterdir() if (p / "bin" / "initdb").exists()),
                          key=lambda p: [int(x) for x in p.name.split(".") if x.isdigit()])
        if versions:
            return versions[-1] / "bin"
    hit = shutil.which("initdb")
    return Path(hit).parent if hit else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TempPostgres:
    """Start a private PostgreSQL server; :meth:`stop` (or leaving ``with``) removes it.

    Parameters
    ----------
    fsync : bool
        Off makes tests faster (a crashed *machine* could lose commits; a crashed client
        process cannot). Leave it on for honest benchmarks.
    """

    def __init__(self, *, fsync: bool = True, bin_dir=None):
        self.bin = Path(bin_dir) if bin_dir else find_pg_bin()
        if self.bin is None:
            raise StoreError("PostgreSQL server binaries (initdb, pg_ctl) not found",
                             hint="install postgresql or set WORKBENCH_PG_BIN")
        self.fsync = fsync
        self.dir = None
        self.port = None
        self._user = None
        self._n = 0

    def _cmd(self, *args) -> list[str]:
        cmd = [str(a) for a in args]
        if self._user is not None:
            cmd = ["runuser", "-u", self._user, "--", *cmd]
        return cmd

    def start(self) -> TempPostgres:
        self.dir = Path(tempfile.mkdtemp(prefix="wb-pg-"))
        if os.geteuid() == 0:
            for user in ("postgres", "nobody"):
                try:
                    pw = pwd.getpwnam(user)
                except KeyError:
                    continue
                os.chown(self.dir, pw.pw_uid, pw.pw_gid)
                self._user = user
                break
            else:
                raise StoreError("running as root and no 'postgres' or 'nobody' user to run "
                                 "the PostgreSQL server as")
        self.port = _free_port()
        data = self.dir / "data"
        run = dict(check=True, capture_output=True, text=True)
        try:
            subprocess.run(self._cmd(self.bin / "initdb", "-D", data, "-A", "trust",
                                     "-U", "postgres", "--no-sync", "-E", "UTF8"), **run)
            opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                    f"-c max_connections=200 -c fsync={'on' if self.fsync else 'off'}")
            subprocess.run(self._cmd(self.bin / "pg_ctl", "-D", data, "-o", opts,
                                     "-l", self.dir / "server.log", "-w", "-t", "60", "start"),
                           **run)
        except subprocess.CalledProcessError as exc:
            log = (self.dir / "server.log")
            tail = log.read_text()[-2000:] if log.exists() else ""
            self.stop()
            raise StoreError(f"could not start PostgreSQL: {exc.stderr or exc.stdout} {tail}") \
                from exc
        return self

    @property
    def url(self) -> str:
        """URL of the default ``postgres`` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def create_database(self, name: str | None = None) -> str:
        """Make a fresh database; returns its SQLAlchemy URL."""
        import sqlalchemy as sa

        self._n += 1
        name = name or f"wb_test_{self._n}"
        eng = sa.create_engine(self.url, isolation_level="AUTOCOMMIT")
        with eng.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        eng.dispose()
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.dir is None:
            return
        data = self.dir / "data"
        if (data / "postmaster.pid").exists():
            subprocess.run(self._cmd(self.bin / "pg_ctl", "-D", data, "-m", "immediate", "-w",
                                     "stop"), capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self) -> TempPostgres:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
