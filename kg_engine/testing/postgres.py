"""A throwaway PostgreSQL server for tests and benchmarks, started from the installed binaries.

The server runs in a temporary directory, listens only on a unix socket there, and is
stopped (and its files removed) by :meth:`TemporaryPostgres.stop` or at interpreter exit.
``initdb`` refuses to run as root, so as root the server runs as the ``postgres`` system user.

Example (skipped where no PostgreSQL binaries are installed)::

    with TemporaryPostgres() as pg:
        url = pg.new_database_url()        # a fresh, empty schema on every call
        store = SQLStore(url)
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import itertools
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Self

__all__ = ["PostgresUnavailable", "TemporaryPostgres", "find_pg_bin", "running_shared_server",
           "shared_server"]


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries are installed (tests skip with this reason)."""


def find_pg_bin() -> Path:
    """Directory holding ``initdb``/``pg_ctl`` (``$KG_PG_BIN``, PATH, or /usr/lib/postgresql).

    Raises:
        PostgresUnavailable: if no server binaries are found.
    """
    candidates = [os.environ.get("KG_PG_BIN")]
    initdb = shutil.which("initdb")
    candidates.append(os.path.dirname(initdb) if initdb else None)
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for c in candidates:
        if c and (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    raise PostgresUnavailable(
        "no PostgreSQL server binaries (initdb, pg_ctl) found: install postgresql "
        "(Debian: apt-get install postgresql) or set KG_PG_BIN"
    )


class TemporaryPostgres:
    """Start a private PostgreSQL cluster on a unix socket in a temporary directory.

    Args:
        durable: keep fsync/synchronous_commit on (for benchmarks); tests turn them off.
        settings: server settings over the defaults here (``shared_buffers=256MB``,
            ``work_mem=64MB``, ``maintenance_work_mem=512MB``, ``max_wal_size=4GB``), e.g.
            ``{"shared_buffers": "1GB"}`` for a benchmark whose store outgrows 256 MB.
    """

    def __init__(self, durable: bool = False, settings: dict[str, str] | None = None) -> None:
        self.bin = find_pg_bin()
        self.durable = durable
        self.settings = {"shared_buffers": "256MB", "work_mem": "64MB",
                         "maintenance_work_mem": "512MB", "max_wal_size": "4GB", **(settings or {})}
        self.root = Path(tempfile.mkdtemp(prefix="kg-pg-"))
        self.data = self.root / "data"
        self.port = 5432
        self.user = "postgres"
        self._as_postgres = os.geteuid() == 0
        self._counter = itertools.count(1)
        self._running = False

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(a) for a in args]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, text=True)

    def start(self) -> TemporaryPostgres:
        """initdb + pg_ctl start; returns self."""
        if self._as_postgres:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        else:
            self.user = pwd.getpwuid(os.geteuid()).pw_name
        self._run(self.bin / "initdb", "-D", self.data, "-U", self.user, "-A", "trust",
                  "-E", "UTF8", "--locale=C")
        self._pg_ctl_start()
        self._running = True
        self._owner = os.getpid()
        atexit.register(self.stop)
        self._watch()
        return self

    def _pg_ctl_start(self, file_size_limit: int | None = None) -> None:
        settings = ["-k", str(self.root), "-c", "listen_addresses=", "-p", str(self.port)]
        for name, value in self.settings.items():
            settings += ["-c", f"{name}={value}"]
        if not self.durable:
            settings += ["-c", "fsync=off", "-c", "synchronous_commit=off",
                         "-c", "full_page_writes=off"]
        start = [str(a) for a in (self.bin / "pg_ctl", "-D", self.data, "-l",
                                  self.root / "server.log", "-o", " ".join(settings), "-w",
                                  "-t", "60", "start")]
        if file_size_limit is None:
            self._run(*start)
        else:  # set after runuser (its PAM session may reset limits), inherited by the server
            import shlex

            self._run("sh", "-c", f"ulimit -f {max(1, file_size_limit // 1024)} && exec "
                      + " ".join(map(shlex.quote, start)))

    def restart(self, file_size_limit: int | None = None) -> None:
        """Stop the server (if it runs) and start it again, its processes not writing files past
        ``file_size_limit`` bytes (``ulimit -f``; ``None``: no limit). Below the WAL segment
        size (16 MB) the server does not start."""
        with contextlib.suppress(subprocess.CalledProcessError):  # it may have died already
            self._run(self.bin / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
        self._pg_ctl_start(file_size_limit)

    def _watch(self) -> None:
        """Stop the server when the process that started it is gone, however it ended.

        ``atexit`` does not run in a process killed by a signal, nor in a ``multiprocessing``
        fork child (it leaves through ``os._exit``): the W3C runner's killed or daemon workers
        left their servers running with ~330 MB of files each. A detached watcher process
        polls the owner once a second and stops the server after it."""
        stop = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]
        if self._as_postgres:
            stop = ["runuser", "-u", "postgres", "--", *stop]
        subprocess.Popen([sys.executable, "-c", _WATCHER, str(self._owner), str(self.root), *stop],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)

    def url(self, database: str = "postgres", schema: str | None = None) -> str:
        """SQLAlchemy-style URL of a database on this server (optionally one schema)."""
        url = f"postgresql+psycopg://{self.user}@/{database}?host={self.root}&port={self.port}"
        if schema:
            url += f"&options=-csearch_path%3D{schema}"
        return url

    def new_database_url(self) -> str:
        """URL of a fresh, empty schema in the ``postgres`` database."""
        import psycopg

        schema = f"kg_{os.getpid()}_{next(self._counter)}"
        with psycopg.connect(host=str(self.root), port=self.port, user=self.user,
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        return self.url(schema=schema)

    def client_backends(self) -> int:
        """Client connections open on this server now, not counting the one that asks.

        The server listens only on its own unix socket, so every client connection on it
        belongs to the process that started it or to that process's children.
        """
        import psycopg

        with psycopg.connect(host=str(self.root), port=self.port, user=self.user,
                             dbname="postgres", autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = "
                               "'client backend' AND pid <> pg_backend_pid()").fetchone()
        return int(row[0]) if row else 0

    def stop(self) -> None:
        """Stop the server and delete its files (only in the process that started it)."""
        if self._running and getattr(self, "_owner", os.getpid()) != os.getpid():
            return  # an inherited copy in a forked child: the server belongs to the parent
        if self._running:
            self._running = False
            try:
                self._run(self.bin / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
            except subprocess.CalledProcessError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_SHARED: TemporaryPostgres | None = None

# the watcher: argv = owner pid, server root, the stop command
_WATCHER = """
import os, shutil, subprocess, sys, time
owner, root, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
while os.path.isdir(root):
    try:
        os.kill(owner, 0)
    except ProcessLookupError:
        subprocess.run(stop, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
        break
    except PermissionError:
        pass
    time.sleep(1)
"""


def running_shared_server() -> TemporaryPostgres | None:
    """The server :func:`shared_server` started in this process, or ``None`` (starts nothing)."""
    return _SHARED if _SHARED is not None and _SHARED._running else None


def shared_server() -> TemporaryPostgres:
    """One server per process, started on first use and stopped at exit.

    Raises:
        PostgresUnavailable: if no server binaries are installed.
    """
    global _SHARED
    if _SHARED is None:
        _SHARED = TemporaryPostgres().start()
    return _SHARED
