"""A thin DB-API wrapper over one connection: SQLite (sqlite3) or PostgreSQL (psycopg 3).

Hot paths (loads, SPARQL, rules) write plain SQL with ``?`` placeholders and run it here; the
wrapper converts placeholders for psycopg, keeps one connection per store (guarded by a lock,
so a store can be shared between threads), and gives re-entrant transactions: the outermost
``with db.transaction()`` commits or rolls back, inner ones join it. On PostgreSQL,
:meth:`Database.reading` runs a read on a connection of its own from a small pool (opened on
demand, at most :attr:`Database.max_readers`), so threads that query one store run in
parallel in the server and never wait for a writer's transaction on the main connection.

Example:
    >>> db = Database.connect("sqlite://")
    >>> with db.transaction():
    ...     _ = db.execute("CREATE TABLE t (x INTEGER)")
    ...     db.executemany("INSERT INTO t VALUES (?)", [(1,), (2,)])
    >>> db.fetchone("SELECT sum(x) FROM t")
    (3,)
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import re
import resource
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

from kg_engine.core.files import space_refused
from kg_engine.errors import (
    InputNotFoundError,
    KgEngineError,
    MissingDependencyError,
    StoreError,
    StoreURLError,
)

__all__ = ["Database", "Dialect", "database_error", "parse_url", "redact_url", "sqlite_path"]

Dialect = Literal["sqlite", "postgresql"]

#: ``psycopg.pq.TransactionStatus.INERROR``: a statement failed inside the transaction.
_PG_INERROR = 3
#: First key of the PostgreSQL advisory lock that serialises a store's writers (the second:
#: the hash of the store's schema); see :meth:`Database._lock_writers`.
_PG_WRITER_LOCK = 0x6B67  # "kg"
#: Seconds :func:`_settle` waits for the server at each step before cancelling.
_SETTLE_WAIT = 5.0
#: Seconds a writer waits for another one to finish (SQLite: ``busy_timeout``).
WRITE_WAIT = 30.0

_CACHE_KIB = 262_144  # the page cache: 256 MiB
_LARGE_CACHE_KIB = 786_432  # ... during large writes on a large store (Database.large_write)
_MMAP_BYTES = 1 << 30
_SORT_RUN_KIB = 1024  # the sorted runs of Database.external_sort: 1 MiB
_SQLITE_PRAGMAS = (
    # first: the journal-mode switch (and the read before it) wait for a process creating
    # or switching the same file, not fail at once 'database is locked' (8 processes
    # opening one new store: 1 of 8 failed in about one round of three)
    "PRAGMA busy_timeout=30000",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA temp_store=MEMORY",
    f"PRAGMA cache_size=-{_CACHE_KIB}",
    f"PRAGMA mmap_size={_MMAP_BYTES}",
    "PRAGMA threads=2",  # sorter worker threads (file-backed sorts: Database.external_sort)
    "PRAGMA analysis_limit=1000",  # ANALYZE samples instead of scanning whole indexes
)


def _retry_locked(step: Callable[[], object]) -> None:
    """Run ``step``, again while SQLite answers 'database is locked', for up to
    :data:`WRITE_WAIT` seconds. The switch to WAL can fail at once, without calling the busy
    handler, while another process switches or opens the same new file (8 processes opening
    one new store: about one failed in ten rounds with the busy timeout set first)."""
    deadline = time.monotonic() + WRITE_WAIT
    pause = 0.005
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def _give_back_memory() -> None:
    """Return freed heap memory to the operating system (glibc's ``malloc_trim``; elsewhere
    nothing). The page cache's pages freed after :meth:`Database.large_write` (hundreds of
    MB of ~4 KB blocks) otherwise stay in the process: at 10 M triples its resident memory
    stayed 1.7 GB after reasoning and reached 2.2 GB with the memory map's pages."""
    import ctypes

    try:
        ctypes.CDLL(None).malloc_trim(0)  # the C library of this process
    except (OSError, AttributeError, TypeError):  # not glibc
        pass


#: the statements CPython's sqlite3 gives a row count (its first word)
_COUNTED = re.compile(r"\s*(?:insert|update|delete|replace)\b", re.IGNORECASE | re.ASCII)


class _Cursor(sqlite3.Cursor):
    """A cursor whose ``rowcount`` does not depend on the C locale.

    CPython 3.11's sqlite3 finds the statements with a row count (INSERT, UPDATE, DELETE,
    REPLACE) by comparing their first word with C ``tolower()``, which follows ``LC_CTYPE``:
    in a Turkish locale ``I`` does not lower to ``i``, so every upper-case ``INSERT`` counted
    -1 rows (``kg load`` said "-1 new" and bumped the statistics by -1). The count of those
    statements is taken from the connection's change counter instead (the store has no
    triggers, whose changes it would include).
    """

    _changes: int | None = None

    def execute(self, sql: str, parameters: Any = (), /) -> _Cursor:
        return self._counted(super().execute, sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> _Cursor:
        return self._counted(super().executemany, sql, seq_of_parameters)

    def _counted(self, run: Callable[[str, Any], Any], sql: str, parameters: Any) -> _Cursor:
        before = self.connection.total_changes
        try:
            run(sql, parameters)
        except BaseException:
            # the traceback keeps this frame, so this cursor, alive: its statement would
            # keep the connection open after close() (a zombie holding the store's locks)
            self.close()
            raise
        self._changes = self.connection.total_changes - before if _COUNTED.match(sql) else None
        return self

    @property
    def rowcount(self) -> int:  # type: ignore[override]
        return self._changes if self._changes is not None else super().rowcount


class _Connection(sqlite3.Connection):
    """A connection whose cursors, its own ``execute`` and ``executemany``'s too, are
    :class:`_Cursor` (sqlite3's own methods make a plain cursor)."""

    def cursor(self, factory: Any = _Cursor) -> Any:  # type: ignore[override]
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = (), /) -> Any:  # type: ignore[override]
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> Any:  # type: ignore[override]
        return self.cursor().executemany(sql, seq_of_parameters)


def _tidy(path: str) -> None:
    """Remove the -wal/-shm files a read-only connection to ``path`` made (it cannot: it may
    not checkpoint), by opening and closing it for writing: SQLite's last connection to
    close removes them, under its own locks (a writer still connected keeps them, and
    an empty log copies nothing into the file). Nothing happens if the file is read-only."""
    with contextlib.suppress(sqlite3.Error, OSError):
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=rw", uri=True)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()


class _Hold:
    """A context's hold of a connection's lock; ``active`` until the holder lets go (copies of
    the context made meanwhile see that too)."""

    __slots__ = ("active",)

    def __init__(self) -> None:
        self.active = True


class SqliteURL(NamedTuple):
    """A plain ``sqlite://`` URL as :func:`parse_url` reads it without SQLAlchemy: ``database``
    as SQLAlchemy's ``URL.database`` gives it (``None`` for ``sqlite://``)."""

    database: str | None


#: ``sqlite://`` and ``sqlite:///PATH`` with nothing SQLAlchemy would decode or split off
#: (no query, fragment, ``%``-escapes, ``@``, ``:`` before the path)
#: file name extensions of RDF (kg_engine.store.loader.FORMATS): such a file given as the
#: store is a mix-up of ``kg load FILE --db URL``
_RDF_SUFFIXES = (".nt", ".ntriples", ".nq", ".nquads", ".ttl", ".turtle", ".trig", ".n3", ".rdf",
                 ".owl", ".xml", ".jsonld", ".json", ".hext")
_PLAIN_SQLITE = re.compile(r"sqlite://(?:/([^?#%@]*))?\Z")


def parse_url(url: str) -> tuple[Dialect, URL | SqliteURL]:
    """Split a database URL into its dialect and SQLAlchemy URL (a plain SQLite URL: a
    :class:`SqliteURL`).

    Accepts ``sqlite:///path``, ``sqlite://`` (in-memory), ``postgresql://…`` and
    ``postgresql+psycopg://…`` (a ``?host=/socket/dir`` query selects a unix socket).

    Raises:
        StoreURLError: for another scheme or a malformed URL.

    Example:
        >>> parse_url("sqlite:///data/kg.sqlite")
        ('sqlite', SqliteURL(database='data/kg.sqlite'))
    """
    plain = _PLAIN_SQLITE.match(url)
    if plain is not None:  # SQLAlchemy's parse without importing it (~0.16 s CPU)
        return "sqlite", SqliteURL(plain.group(1))
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy.exc.ArgumentError
        hint = f" (a SQLite file: sqlite:///{url})" if "://" not in url else ""
        if Path(url.lower().removesuffix(".gz")).suffix in _RDF_SUFFIXES:
            hint = (f" ({url} looks like an RDF file: files to load go as arguments, the store "
                    f"with --db, e.g. kg load {url} --db sqlite:///kg.sqlite)")
        raise StoreURLError(
            f"cannot parse database URL {url!r}: expected sqlite:///PATH{hint}, sqlite:// or "
            "postgresql+psycopg://USER@HOST:PORT/DB"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite" and parsed.host:
        # sqlite://kg.sqlite (two slashes) names a host, not a file: it would be an
        # in-memory store, and whatever a command wrote to it would be gone at exit
        fix = f"sqlite:///{parsed.host}" if parsed.database is None else f"sqlite:///{parsed.database}"
        raise StoreURLError(
            f"database URL {url!r} names a host ({parsed.host!r}), which SQLite has none of: "
            f"a SQLite file is sqlite:///PATH with three slashes ({fix}; an absolute path: "
            "sqlite:////abs/path), an in-memory store is sqlite://"
        )
    if backend == "sqlite":
        return "sqlite", parsed
    if backend == "postgresql":
        return "postgresql", parsed
    raise StoreURLError(
        f"unsupported database {backend!r} in {url!r}: kg-engine stores live in SQLite "
        "(sqlite:///PATH) or PostgreSQL (postgresql+psycopg://…)"
    )


def sqlite_path(url: str) -> str | None:
    """The file of a ``sqlite:///PATH`` URL (``None`` for an in-memory database).

    Example:
        >>> sqlite_path("sqlite:///data/kg.sqlite"), sqlite_path("sqlite://")
        ('data/kg.sqlite', None)
    """
    dialect, parsed = parse_url(url)
    if dialect != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


#: What to do about a statement of the connection still in progress (an unfinished result).
_UNFINISHED = ("read the rest of the query result you hold (or close it, or delete it and "
               "the traceback that keeps it: sys.last_traceback) and run it again")
#: SQLite result codes (``sqlite3.Error.sqlite_errorname`` prefixes) that mean the database
#: file or its surroundings are wrong, not kg-engine: what happened, then what to do.
_SQLITE_CAUSES = {
    "SQLITE_NOTADB": ("is not a SQLite database",
                      "give the path of a kg-engine store, or a new file name to create one"),
    "SQLITE_CORRUPT": ("is a corrupt database (database disk image is malformed)",
                       "restore it from a backup, or load the data again into a new store"),
    "SQLITE_READONLY": ("cannot be written (read-only file or folder)",
                        "check the permissions of the file and its folder"),
    "SQLITE_CANTOPEN": ("cannot be opened",
                        "check that its folder exists and can be read and written"),
    "SQLITE_PERM": ("cannot be opened (permission denied)", "check the file's permissions"),
    "SQLITE_AUTH": ("cannot be opened (not authorised)", "check the file's permissions"),
    "SQLITE_BUSY": ("is locked by another process", "wait for the other process to finish"),
    # (kg-engine's connections share no cache: a table locked is locked by a statement of
    # the same connection)
    "SQLITE_LOCKED": ("is in use by a query of this connection that has not finished",
                      _UNFINISHED),
    "SQLITE_IOERR": ("could not be read or written (disk I/O error)",
                     "check the disk and the file system"),
}


def database_error(exc: BaseException, url: str) -> StoreError | None:
    """The :class:`StoreError` for a driver error caused by the database itself.

    A file that is not a database, a corrupt, read-only, locked or unreachable store, a
    PostgreSQL server that refuses the connection: the message names ``url`` and the fix.
    ``None`` for other driver errors (an SQL statement kg-engine got wrong is a bug, not a
    user error).

    Example:
        >>> import sqlite3
        >>> err = sqlite3.DatabaseError("file is not a database")
        >>> err.sqlite_errorname = "SQLITE_NOTADB"
        >>> print(database_error(err, "sqlite:///notes.txt"))
        sqlite:///notes.txt is not a SQLite database (file is not a database): give the path of a kg-engine store, or a new file name to create one
    """
    if isinstance(exc, StoreError):
        return exc
    if (isinstance(exc, sqlite3.ProgrammingError) and "closed database" in str(exc)) or (
            type(exc).__module__.startswith("psycopg") and "connection is closed" in str(exc)):
        return StoreError(f"{redact_url(url)} is closed (close() was called, or its with block "
                          "ended): open the store again to use it")
    if isinstance(exc, sqlite3.Error):
        name = getattr(exc, "sqlite_errorname", "") or ""
        refused = _space_refused(url, name)
        if refused is not None:
            return StoreError(f"{url} could not be written: {refused}")
        for code, (what, fix) in _SQLITE_CAUSES.items():
            if name.startswith(code):
                detail = str(exc)
                what = what if detail in what else f"{what} ({detail})"
                return StoreError(f"{url} {what}: {fix}")
        if "SQL statements in progress" in str(exc):  # VACUUM's, as SQLITE_ERROR
            return StoreError(f"{url} is in use by a query of this connection that has not "
                              f"finished ({exc}): {_UNFINISHED}")
        if isinstance(exc, sqlite3.DatabaseError) and str(exc) in (
            "file is not a database", "database disk image is malformed"
        ):  # sqlite_errorname is missing when the error comes from a cursor's iteration
            return StoreError(f"{url}: {exc}: give the path of an intact kg-engine store")
        return None
    module = type(exc).__module__
    if module.startswith("psycopg"):
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        name = type(exc).__name__
        if name in ("OperationalError", "ConnectionTimeout") or "connection" in first.lower():
            return StoreError(f"cannot reach the PostgreSQL database {redact_url(url)}: {first}: "
                              "check that the server runs and the URL's host, port, user and "
                              "database are right")
        if name == "DiskFull" or _PG_SPACE.search(first):  # EFBIG: an InternalError_
            return StoreError(f"PostgreSQL database {redact_url(url)} could not be written: the "
                              f"server's disk is full or its file size limit reached ({first}): "
                              "free space on the database server and run the command again")
        if name in ("InsufficientPrivilege", "ReadOnlySqlTransaction",
                    "InvalidCatalogName", "InvalidAuthorizationSpecification"):
            return StoreError(f"PostgreSQL database {redact_url(url)}: {first}: check the "
                              "database's permissions and space")
    return None


#: A PostgreSQL server's message when its disk or file size limit refused a write (a write
#: cut short is DiskFull; EFBIG, the limit passed exactly, is an InternalError_)
_PG_SPACE = re.compile(r"could not (extend|write to) file .*(File too large|No space left "
                       r"on device|wrote only)")


def _space_refused(url: str, name: str) -> str | None:
    """Why SQLite's write failed (``name``: its error name) when the system refused the space:
    the disk (``SQLITE_FULL``: ENOSPC, in the store's folder or the temporary files' one) or
    this process's file size limit (``ulimit -f``: EFBIG, which SQLite reports as a plain
    write error); ``None`` otherwise."""
    import tempfile

    path = sqlite_path(url) if url.startswith("sqlite:") else None  # (or "the store")
    folder = Path(path).resolve().parent if path else Path(tempfile.gettempdir())
    if name == "SQLITE_FULL":
        text = space_refused(errno.ENOSPC, folder)
        temp = os.environ.get("SQLITE_TMPDIR") or tempfile.gettempdir()
        with contextlib.suppress(OSError):
            if os.stat(temp).st_dev != os.stat(folder).st_dev:  # the sorts' temporary files
                st = os.statvfs(temp)
                text = text.replace(" there)", f" there, {st.f_bavail * st.f_frsize:,} in the "
                                    f"temporary files' folder {temp})")
        return text
    limited = resource.getrlimit(resource.RLIMIT_FSIZE)[0] != resource.RLIM_INFINITY
    if limited and name in ("SQLITE_IOERR", "SQLITE_IOERR_WRITE", "SQLITE_IOERR_TRUNCATE",
                            "SQLITE_IOERR_SHMSIZE"):
        return space_refused(errno.EFBIG)
    return None


def redact_url(url: str) -> str:
    """``url`` without its password.

    Example:
        >>> redact_url("postgresql+psycopg://kg:secret@db.example.org/kg")
        'postgresql+psycopg://kg:***@db.example.org/kg'
    """
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparseable URL has nothing to hide reliably
        return "<database URL>"


def _settle(conn: Any) -> None:
    """PostgreSQL: undo what an interruption left on the psycopg connection ``conn``, so that
    it takes statements again (the ROLLBACK first). Called where an exception leaves a psycopg
    call: Ctrl-C can arrive between two of psycopg's steps, where psycopg does not clean up
    (it does while it waits for the server). Never raises: a connection it cannot settle
    fails at its next statement.

    A connection left busy (status ACTIVE) failed every later statement "another command is
    already in progress": a ``COPY … FROM STDIN`` left in progress (Ctrl-C in ``Cursor.copy``
    between the start of the COPY and its ``Copy`` object) is ended as failed (no row of it
    is written; the transaction is aborted), results nobody read are read and dropped, and
    a statement still running after :data:`_SETTLE_WAIT` seconds is cancelled.
    """
    from psycopg import errors, generators, pq

    with contextlib.suppress(Exception):
        pgconn = conn.pgconn
        for attempt in range(4):
            if pgconn.transaction_status != pq.TransactionStatus.ACTIVE:
                return
            try:  # a COPY FROM STDIN in progress: end it as failed
                conn.wait(generators.copy_end(pgconn, b"interrupted"), timeout=_SETTLE_WAIT)
                continue
            except errors.Error:  # it failed, as asked; or no COPY is in progress
                pass
            if pgconn.transaction_status != pq.TransactionStatus.ACTIVE:
                return
            with contextlib.suppress(Exception):
                if attempt:  # still busy after a wait: stop the statement
                    conn.cancel_safe(timeout=_SETTLE_WAIT)
                conn.wait(generators.fetch_many(pgconn), timeout=_SETTLE_WAIT)  # dropped


class Database:
    """One DB-API connection with re-entrant transactions and ``?`` placeholders.

    Use :meth:`connect`; ``raw`` is the underlying driver connection.
    """

    #: Default size of the pool of reader connections (PostgreSQL; see :meth:`reading`).
    MAX_READERS = 8

    def __init__(self, raw: Any, dialect: Dialect, reconnect: Callable[[], Any] | None = None) -> None:
        self.raw = raw
        self.dialect: Dialect = dialect
        #: how messages name the database: its URL without the password (set by :meth:`connect`)
        self.name = "the store"
        self._lock = threading.RLock()
        self._depth = 0
        self._owner: int | None = None  # thread holding the main connection's transaction
        #: opens another connection to the same database (reader pool; PostgreSQL)
        self._reconnect = reconnect
        #: most reader connections open at once (0: reads share the main connection)
        self.max_readers = self.MAX_READERS if reconnect is not None else 0
        self._readers: list[Any] = []  # idle pooled connections
        self._reader_count = 0
        self._reader_free: threading.BoundedSemaphore | None = None
        self._pool_lock = threading.Lock()
        # the pooled connection of the read in progress in this context (thread, or a helper
        # thread started with a copy of the context, e.g. SPARQL's deep-recursion runner)
        self._pinned: contextvars.ContextVar[Any] = contextvars.ContextVar(
            f"kg_db_reader_{id(self):x}", default=None)
        # the hold of the main connection's lock by the transaction or snapshot in progress
        # in this context: a helper thread started with a copy of the context (SPARQL's
        # deep-recursion runner, while the holder waits for it) uses the connection without
        # taking the lock again, which would wait for the holder forever
        self._held: contextvars.ContextVar[_Hold | None] = contextvars.ContextVar(
            f"kg_db_held_{id(self):x}", default=None)
        self._sql_cache: dict[str, str] = {}
        #: Callbacks run after a rollback (caches of ids handed out in the transaction).
        self.on_rollback: list[Callable[[], None]] = []
        #: Callbacks run when an outermost write transaction has begun (under the write lock).
        self.on_begin: list[Callable[[], None]] = []
        #: Callbacks run after an outermost write transaction committed.
        self.on_commit: list[Callable[[], None]] = []
        #: Callbacks run first in each read transaction (:meth:`snapshot`, PostgreSQL's
        #: :meth:`reading`): what they read belongs to the snapshot the read sees.
        self.on_read: list[Callable[[], None]] = []
        #: How the last outermost transaction ended: ``None`` (none yet), "commit", "rollback".
        self.last_outcome: str | None = None
        #: Outermost transactions committed on this connection.
        self.commits = 0
        #: SQLite file whose -wal/-shm this read-only connection made (see :func:`_tidy`).
        self._tidy: str | None = None
        #: SQLite: the cursors statements of the transaction in progress returned (see
        #: :meth:`_close_cursors`), as weak references without a callback (see :meth:`_track`)
        self._cursors: list[weakref.ref[sqlite3.Cursor]] = []
        self._swept = 128

    @classmethod
    def connect(cls, url: str, *, readonly: bool = False, create: bool = True) -> Database:
        """Open the database named by ``url`` (see :func:`parse_url`).

        Args:
            url: the database URL.
            readonly: open an SQLite file read-only (nothing can be written, not even the
                write-ahead log's checkpoint); PostgreSQL sessions are read-only
                (``default_transaction_read_only``): a write fails, naming the store.
            create: create a missing SQLite file (else :class:`InputNotFoundError`).

        Raises:
            StoreError: the database cannot be opened (see :func:`database_error`).
            InputNotFoundError: a missing SQLite file with ``readonly`` or not ``create``.
        """
        dialect, parsed = parse_url(url)
        try:
            if dialect == "sqlite":
                db = cls._connect_sqlite(url, readonly=readonly, create=create)
            else:
                db = cls._connect_postgresql(parsed, readonly=readonly)
            db.name = url if dialect == "sqlite" else redact_url(url)  # (no password in a file URL)
            return db
        except KgEngineError:
            raise
        except (sqlite3.Error, OSError) as exc:
            raise (database_error(exc, url) or StoreError(f"cannot open {url}: {exc}")) from exc
        except Exception as exc:
            err = database_error(exc, url)
            if err is None:
                raise
            raise err from exc

    @classmethod
    def _connect_sqlite(cls, url: str, *, readonly: bool, create: bool) -> Database:
        path = sqlite_path(url)
        if path is None:
            raw = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False,
                                  factory=_Connection)
        else:
            if os.path.isdir(path):
                raise StoreError(f"{url} names a folder: give the path of a store file, "
                                 f"e.g. sqlite:///{os.path.join(path, 'kg.sqlite')}")
            if os.path.exists(path) and not os.path.isfile(path):
                raise StoreError(f"{url} names a FIFO, device or socket, not a store file: "
                                 "give the path of a kg-engine store or a new file name")
            if (readonly or not create) and not os.path.exists(path):
                raise InputNotFoundError(
                    f"{url}: no such store ({os.path.abspath(path)} does not exist; nothing "
                    "was created): check --db / KG_DB, or create the store with kg load")
            if not readonly and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
                raise StoreError(f"{url}: the folder {os.path.dirname(os.path.abspath(path))} "
                                 "does not exist: create it first or choose another path")
            try:
                target = Path(path).resolve().as_uri()
            except (OSError, RuntimeError) as exc:  # a symlink loop
                raise StoreError(f"{url} cannot be resolved ({exc}): give the path of a "
                                 "store file") from None
            tidy = None
            if readonly:
                # Immutable only where no writer of ours can come (a folder we cannot write):
                # a writer that started later changed the file under an immutable reader,
                # which then read stale or torn pages ("database disk image is malformed"
                # about an intact store, while kg load ran). Elsewhere the read-only
                # connection leaves -wal/-shm files it cannot remove: tidy() does at close.
                folder = os.path.dirname(os.path.abspath(path))
                if os.path.exists(path + "-wal") or os.access(folder, os.W_OK):
                    target += "?mode=ro"
                    if not any(os.path.exists(path + s) for s in ("-wal", "-shm")):
                        tidy = path
                else:
                    target += "?mode=ro&immutable=1"
            raw = sqlite3.connect(target, uri=True, isolation_level=None,
                                  check_same_thread=False, factory=_Connection)
        try:
            for pragma in _SQLITE_PRAGMAS:
                if "journal_mode" in pragma:
                    # (not a database? fail here) somebody else's database (tables, none
                    # of kg-engine's) is refused by the store: switching it to WAL rewrote
                    # its header, a change to a file the error says was left alone
                    tables = [r[0] for r in raw.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table'")]
                    if readonly or ("kg_meta" not in tables
                                    and any(not t.startswith("kg_") for t in tables)):
                        continue
                    _retry_locked(lambda p=pragma: raw.execute(p))
                    continue
                raw.execute(pragma)
            if path is not None and not os.path.exists(path):
                # deleted between the open and the first read (a failing command that
                # created it removed it again): writes would go to a file nobody sees
                raise StoreError(f"{url} was removed while it was being opened (another "
                                 "command that created it failed): run the command again")
        except BaseException:
            raw.close()
            if path is not None and tidy:
                _tidy(tidy)
            raise
        db = cls(raw, "sqlite")
        db._tidy = tidy if path is not None else None
        return db

    @classmethod
    def _connect_postgresql(cls, parsed: URL, *, readonly: bool = False) -> Database:
        try:
            import psycopg
        except ImportError as exc:
            raise MissingDependencyError("psycopg", "postgres") from exc
        params: dict[str, Any] = {
            k: v for k, v in {
                "user": parsed.username,
                "password": parsed.password,
                "host": parsed.host,
                "port": parsed.port,
                "dbname": parsed.database,
            }.items() if v is not None
        }
        params.update({k: v for k, v in parsed.query.items() if isinstance(v, str)})
        jit = "jit" in str(params.get("options", ""))

        def session() -> Any:
            conn = psycopg.connect(autocommit=True, **params)
            if not jit:
                # JIT compiles each plan (0.1-2 s) and never pays off on kg-engine's short
                # statements: a tiny SPARQL path query spent 1.8 s in it (issue 19). A URL
                # with ``?options=-c jit=on`` keeps it.
                conn.execute("SET jit = off")
            if readonly:  # readonly=True writes nothing, as an SQLite file opened read-only
                conn.execute("SET default_transaction_read_only = on")
            return conn

        raw = session()
        # Temporary tables (the rule engine's delta tables, load staging) live in per-session
        # local buffers, 8 MB by default: a 500k-row delta spilled to disk every round. The
        # setting can only change before the session's first temporary table; memory is
        # taken only as temporary tables grow.
        raw.execute("SET temp_buffers = '256MB'")
        reconnect = session
        return cls(raw, "postgresql", reconnect)

    # -- SQL ---------------------------------------------------------------------------
    def sql(self, text: str) -> str:
        """``text`` with ``?`` placeholders in this driver's style."""
        if self.dialect == "sqlite":
            return text
        converted = self._sql_cache.get(text)
        if converted is None:
            converted = text.replace("%", "%%").replace("?", "%s")
            self._sql_cache[text] = converted
        return converted

    def _guard(self) -> Any:
        """The main connection's lock, or nothing inside a pooled read (its own connection)
        or where this context already holds it (:meth:`_hold`)."""
        if self._pinned.get() is not None or self._holding():
            return contextlib.nullcontext()
        return self._lock

    def _holding(self) -> bool:
        held = self._held.get()
        return held is not None and held.active

    @contextlib.contextmanager
    def _hold(self) -> Iterator[None]:
        """The main connection's lock for a whole transaction or snapshot: every statement on
        the shared connection runs under it. sqlite3 takes SQLite's connection mutex without
        letting go of the GIL (``sqlite3_reset``, column names), while a statement calling one
        of our SQL functions holds that mutex and waits for the GIL: two threads using one
        connection at once could hang for ever."""
        if self._holding():
            yield
            return
        with self._lock:
            held = _Hold()
            token = self._held.set(held)
            try:
                yield
            finally:
                held.active = False
                self._held.reset(token)

    def current_connection(self) -> Any:
        """The driver connection this thread's statements run on now (a reader's pinned
        PostgreSQL connection inside :meth:`reading`, else :attr:`raw`)."""
        return self._pinned.get() or self.raw

    def execute(self, text: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; returns the driver cursor (iterate or ``fetchall`` it)."""
        pinned = self._pinned.get()
        if pinned is not None:
            cur = pinned.cursor()
            try:
                cur.execute(self.sql(text), params or None)
            except BaseException as exc:
                _settle(pinned)
                if not isinstance(exc, Exception):
                    raise
                # a failed statement aborts the read's transaction; callers that recover
                # (the SPARQL compiler falls back to rdflib) go on in a new snapshot, as
                # they would on an autocommit connection
                if pinned.info.transaction_status == _PG_INERROR:
                    pinned.execute("ROLLBACK")
                    pinned.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
                raise
            return cur
        with self._guard():
            if self.dialect == "sqlite":
                cur = self.raw.execute(text, params)
                if self._depth and cur.description is not None:  # rows to read
                    self._track(cur)
                return cur
            cur = self.raw.cursor()
            try:
                cur.execute(self.sql(text), params or None)
            except BaseException:
                _settle(self.raw)
                raise
            return cur

    def executemany(self, text: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for every row (in the current transaction, if any)."""
        with self._guard():
            if self.dialect == "sqlite":
                self.raw.executemany(text, rows)
            else:
                conn = self.current_connection()
                with conn.cursor() as cur:
                    try:
                        cur.executemany(self.sql(text), list(rows))
                    except BaseException:
                        _settle(conn)
                        raise

    def insert_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
                    *, freeze: bool = False) -> None:
        """Bulk insert (``COPY`` on PostgreSQL, ``executemany`` on SQLite); no conflict handling.

        ``freeze``: PostgreSQL ``COPY … (FREEZE)``, rows written frozen and their pages marked
        all-visible; only for a table created or truncated in the current transaction.
        """
        names = ", ".join(columns)
        with self._guard():
            if self.dialect == "postgresql":
                options = " (FREEZE)" if freeze else ""
                with self.raw.cursor() as cur:
                    copying = cur.copy(f"COPY {table} ({names}) FROM STDIN{options}")
                    try:
                        with copying as copy:
                            for row in rows:
                                copy.write_row(row)
                    except BaseException:
                        # Ctrl-C as the ``with`` entered it (after psycopg's generator gave
                        # the Copy) left the generator suspended, holding the connection's
                        # lock (every later statement waited for it for ever) with the COPY
                        # in progress: closing it ends the COPY as failed and lets go of
                        # the lock. A Ctrl-C between other steps of psycopg's left the COPY
                        # in progress too (every later statement, the rollback first,
                        # failed "another command is already in progress"): _settle.
                        copying.gen.close()
                        _settle(self.raw)
                        raise
            else:
                marks = ", ".join("?" * len(columns))
                self.raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)

    def executescript(self, statements: Iterable[str]) -> None:
        """Run several parameter-less statements."""
        for st in statements:
            self.execute(st)

    def fetchall(self, text: str, params: Sequence[Any] = ()) -> list[tuple]:
        """All rows of a query."""
        with self._guard():
            return [tuple(r) for r in self.execute(text, params).fetchall()]

    def fetchone(self, text: str, params: Sequence[Any] = ()) -> tuple | None:
        """The first row of a query, or ``None``."""
        with self._guard():
            row = self.execute(text, params).fetchone()
            return tuple(row) if row is not None else None

    def scalar(self, text: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row, or ``None``."""
        row = self.fetchone(text, params)
        return row[0] if row else None

    # -- transactions --------------------------------------------------------------------
    @property
    def in_transaction(self) -> bool:
        """Whether a transaction opened by :meth:`transaction` (or a read of :meth:`reading`)
        is in progress."""
        return self._depth > 0 or self._pinned.get() is not None

    @contextlib.contextmanager
    def large_write(self, adding: int | None = None) -> Iterator[None]:
        """SQLite: a page cache sized to the store for a large write (reasoning's closure),
        entered outside any transaction; elsewhere, or inside a transaction, nothing.

        The default cache (256 MiB) plus the memory map (1 GiB) hold a LUBM(10) store
        (1.3 M triples, ~110 MB) whole; at ~10 M triples (~0.9 GB) a closure's inserts into
        the indexes land on pages no longer in the cache: dirty pages are spilled to the
        write-ahead log mid-transaction and written again. Meanwhile the cache grows to the
        file size plus ``adding`` (bytes about to be written; default: as many as the file
        holds, a closure about as large as the store), up to 768 MiB, and the memory map
        is off (its pages would count in the process's memory on top of the cache; pages
        read go through the cache instead). Both are restored after. OWL 2 RL at 10 M
        triples: 75 → 43 CPU-s with a 1 GiB cache (LUBM(10) unchanged: it stays under 256 MiB).

        Example:
            >>> db = Database.connect("sqlite://")
            >>> with db.large_write(adding=2 << 30):
            ...     db.scalar("PRAGMA cache_size")
            -786432
            >>> db.scalar("PRAGMA cache_size")
            -262144
        """
        if self.dialect != "sqlite" or self.in_transaction:
            yield
            return
        size = int(self.scalar("PRAGMA page_count")) * int(self.scalar("PRAGMA page_size"))
        kib = min((size + (size if adding is None else adding)) // 1024, _LARGE_CACHE_KIB)
        if kib <= _CACHE_KIB:
            yield
            return
        self.execute(f"PRAGMA cache_size=-{kib}")
        self.execute("PRAGMA mmap_size=0")
        try:
            yield
        finally:
            self.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")  # frees the pages above it
            self.execute(f"PRAGMA mmap_size={_MMAP_BYTES}")
            _give_back_memory()

    @contextlib.contextmanager
    def external_sort(self) -> Iterator[bool]:
        """SQLite: the sorts of the statements inside (``CREATE INDEX``, ``GROUP BY``) run as
        an external merge sort of 1 MiB runs, sorted by worker threads and merged from
        temporary files, instead of one sort of the whole input in memory; yields whether
        it does (elsewhere, or once this connection's temporary database is open: no).

        With ``temp_store=MEMORY`` (this connection's setting, for temporary tables) SQLite's
        sorter keeps every record in a block of its own and merge-sorts one linked list of
        them all: at 10 M quads that chases pointers through ~400 MB (building POSG took
        17 CPU-s, 13× the LUBM(10) time for 8× the rows), and ``PRAGMA threads`` is unused.
        Short runs stay in the CPU caches: 6.8 CPU-s there, and half the time on LUBM(10).
        The sorter's run size is the page cache's size, so the cache is 1 MiB meanwhile (the
        statements inside read and write sequentially). The temporary store can be switched
        only while no temporary table exists on the connection (SQLite refuses inside a
        transaction otherwise), hence the condition above. The runs are written to SQLite's
        temporary folder (``SQLITE_TMPDIR``, else ``/var/tmp`` or ``/tmp``), about the size
        of the index being built, and freed when the statement ends.

        Example:
            >>> db = Database.connect("sqlite://")
            >>> with db.external_sort() as external:
            ...     external, db.scalar("PRAGMA temp_store"), db.scalar("PRAGMA cache_size")
            (True, 1, -1024)
            >>> db.scalar("PRAGMA temp_store"), db.scalar("PRAGMA cache_size")
            (2, -262144)
        """
        if self.dialect != "sqlite" or any(
                row[1] == "temp" for row in self.fetchall("PRAGMA database_list")):
            yield False
            return
        cache = int(self.scalar("PRAGMA cache_size"))
        self.execute("PRAGMA temp_store=FILE")
        self.execute(f"PRAGMA cache_size=-{_SORT_RUN_KIB}")
        try:
            yield True
        finally:
            self.execute(f"PRAGMA cache_size={cache}")
            self.execute("PRAGMA temp_store=MEMORY")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Database]:
        """Atomic block: commit at the end of the outermost block, roll back on exception.

        On SQLite the transaction starts with ``BEGIN IMMEDIATE`` (the write lock is taken
        up front, so two writers queue instead of failing half-way).
        """
        # inside a pooled read (reading()) a write is not part of the read: it runs and
        # commits on the main connection (the read's snapshot does not see it)
        token = self._pinned.set(None) if self._pinned.get() is not None else None
        try:
            with self._write() as db:
                yield db
        finally:
            if token is not None:
                self._pinned.reset(token)

    @contextlib.contextmanager
    def _write(self) -> Iterator[Database]:
        with self._hold():
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            # everything from BEGIN to COMMIT inside the try: an exception anywhere (Ctrl-C
            # while waiting for the writer lock or just before COMMIT, a COMMIT that fails)
            # ends the transaction; one left open made every later write fail "cannot start
            # a transaction within a transaction" and kept its changes unwritten
            committed = False
            try:
                self._depth = 1
                self._owner = threading.get_ident()
                self.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")
                if self.dialect == "postgresql":
                    self._lock_writers()
                for callback in self.on_begin:
                    callback()
                yield self
                self.execute("COMMIT")
                committed = True
            except BaseException as exc:
                if type(exc).__name__ == "DataError" and "NUL (0x00)" in str(exc):
                    raise StoreError(
                        "PostgreSQL cannot store the character U+0000 (NUL) in a term, and the "
                        "input holds one; nothing was written: remove it from the input, or use "
                        "a SQLite store, which keeps it") from exc
                raise
            finally:
                self._depth = 0
                self._owner = None
                if committed:
                    self._cursors.clear()
                    self.last_outcome = "commit"
                    self.commits += 1
                    for callback in self.on_commit:
                        callback()
                else:
                    self._close_cursors()
                    self._end_open_transaction()
                    self.last_outcome = "rollback"
                    for callback in self.on_rollback:
                        callback()

    def _track(self, cursor: sqlite3.Cursor) -> None:
        """Remember ``cursor`` for :meth:`_close_cursors` without keeping it alive.

        A plain weak reference, not a ``WeakSet``: the set's callback runs Python code when a
        cursor dies, and an asynchronous exception landing there (Ctrl-C's KeyboardInterrupt,
        a query's timeout) is printed as "Exception ignored" and lost, and the call runs on.
        Dead references are dropped when the list has doubled since the last sweep.
        """
        refs = self._cursors
        refs.append(weakref.ref(cursor))
        if len(refs) > 2 * self._swept:
            refs[:] = [r for r in refs if r() is not None]
            self._swept = max(128, len(refs))

    def _close_cursors(self) -> None:
        """SQLite: close the cursors that the transaction ending in failure opened and that
        are still referenced. A query result left unfinished (its statement still running)
        by the failure lives as long as its traceback, which IPython keeps (the last one)
        and a caller may keep: every later VACUUM, DROP TABLE (reasoning, vacuum) and COMMIT
        of the connection failed "SQL statements in progress" / "database table is locked"
        meanwhile."""
        cursors = [c for r in self._cursors if (c := r()) is not None]
        self._cursors.clear()
        for cursor in cursors:
            with contextlib.suppress(sqlite3.Error):
                cursor.close()

    def _end_open_transaction(self) -> None:
        """Roll back the main connection's transaction, if one is open (a failure of the
        rollback itself is left for the exception being handled to report)."""
        # a broken connection: the next statement says so
        with contextlib.suppress(Exception):
            if self.dialect == "sqlite":
                if self.raw.in_transaction:
                    self.raw.execute("ROLLBACK")
            else:
                _settle(self.raw)
                if self.raw.info.transaction_status != 0:  # not IDLE
                    self.raw.execute("ROLLBACK")

    def _lock_writers(self) -> None:
        """PostgreSQL: take the store's writer lock for the transaction just begun (what
        ``BEGIN IMMEDIATE`` is on SQLite), waiting up to :data:`WRITE_WAIT` seconds.

        Without it two writers of one store ran at once: each gave the next free term ids
        (``max(id) + 1``) to its own new terms, and the second failed on the first's ids
        (or, ids apart, stored a term twice). The lock is per schema (one store) and ends
        with the transaction; readers never take it.
        """
        try:
            self.execute("SELECT set_config('lock_timeout', ?, true), "
                         "pg_advisory_xact_lock(?, hashtext(current_schema()))",
                         (f"{WRITE_WAIT * 1000:.0f}ms", _PG_WRITER_LOCK))
            self.execute("SET LOCAL lock_timeout TO DEFAULT")
        except Exception as exc:  # the caller (_write) rolls the transaction back
            if type(exc).__name__ == "LockNotAvailable":
                raise StoreError(
                    f"{self.name} is locked by another writer (waited {WRITE_WAIT:.0f} s): wait "
                    "for the other process to finish and run the command again") from exc
            raise

    @contextlib.contextmanager
    def may_fail(self) -> Iterator[None]:
        """Statements that may fail on purpose, for the caller to recover: on PostgreSQL
        inside this connection's :meth:`snapshot` or :meth:`transaction`, a savepoint rolled
        back to when they fail (a failed statement aborts a PostgreSQL transaction: every
        later one would fail); a read of :meth:`reading` recovers by itself (a new snapshot);
        elsewhere nothing.

        Example:
            >>> db = Database.connect("sqlite://")
            >>> with db.snapshot(), db.may_fail():
            ...     db.fetchone("SELECT 1")
            (1,)
        """
        if self.dialect != "postgresql" or self._pinned.get() is not None or not self._depth:
            yield
            return
        self.execute("SAVEPOINT kg_may_fail")
        try:
            yield
        except BaseException:
            self.execute("ROLLBACK TO SAVEPOINT kg_may_fail")
            raise
        self.execute("RELEASE SAVEPOINT kg_may_fail")

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Database]:
        """Read transaction: every statement inside sees the same committed state.

        A reader that runs several statements (a query evaluated partly outside SQL, an
        explanation) never sees half of a concurrent writer's transaction. SQLite: a deferred
        ``BEGIN`` (WAL readers do not block the writer); PostgreSQL: ``REPEATABLE READ``.
        Inside a :meth:`transaction` it simply joins it.

        Example:
            >>> db = Database.connect("sqlite://")
            >>> with db.snapshot():
            ...     db.fetchone("SELECT 1")
            (1,)
        """
        if self._pinned.get() is not None:
            yield self
            return
        with self._hold():
            if self._depth:
                yield self
                return
            changes = self.raw.total_changes if self.dialect == "sqlite" else 0
            try:  # BEGIN inside: an exception right after it must not leave it open
                self._depth = 1
                self._owner = threading.get_ident()
                self.execute("BEGIN" if self.dialect == "sqlite"
                             else "BEGIN ISOLATION LEVEL REPEATABLE READ")
                for callback in self.on_read:
                    callback()
                yield self
            except BaseException:
                self._close_cursors()
                raise
            finally:
                self._depth = 0
                self._owner = None
                self._cursors.clear()
                try:
                    if self.dialect == "postgresql":
                        self.execute("ROLLBACK")
                    elif not self.raw.in_transaction:  # DDL through SQLAlchemy may have committed
                        pass
                    elif self.raw.total_changes == changes:
                        # nothing written: ROLLBACK, which also ends a statement whose cursor
                        # is still open (COMMIT failed "SQL statements in progress" then, and
                        # left the transaction open for the next thread's BEGIN)
                        self.execute("ROLLBACK")
                    else:
                        self.execute("COMMIT")
                except BaseException:  # interrupted, or the COMMIT failed: not left open
                    self._end_open_transaction()
                    raise

    @contextlib.contextmanager
    def reading(self) -> Iterator[Database]:
        """A read that runs in parallel with other threads' reads and writes (PostgreSQL).

        Every statement of this thread (and of helper threads started with a copy of its
        context) inside the block runs on a connection leased from the reader pool, in one
        ``REPEATABLE READ`` transaction: a consistent snapshot of committed data, rolled back
        at the end; a :meth:`transaction` inside runs on the main connection. At most
        :attr:`max_readers` pooled connections exist; more concurrent reads wait for one.
        Inside this thread's own :meth:`transaction` or :meth:`snapshot` it joins that
        (a read sees the thread's uncommitted writes). SQLite: the read is a
        :meth:`snapshot` on the store's connection, which threads sharing the store take in
        turns (a multi-statement query never sees another thread's commit half-way).

        Example:
            >>> db = Database.connect("sqlite://")
            >>> with db.reading():
            ...     db.fetchone("SELECT 2")
            (2,)
        """
        if (self._pinned.get() is not None or self._holding()
                or (self._depth and self._owner == threading.get_ident())):
            yield self
            return
        if self.max_readers <= 0:
            # one connection (SQLite): the read is one snapshot, and threads sharing the
            # store take turns on the connection (see _hold)
            with self.snapshot():
                yield self
            return
        conn = self._lease()
        token = self._pinned.set(conn)
        broken = failed = False
        try:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            for callback in self.on_read:
                callback()
            yield self
        except BaseException:
            failed = True
            raise
        finally:
            self._pinned.reset(token)
            try:
                if failed:
                    _settle(conn)
                conn.execute("ROLLBACK")
            except Exception:  # noqa: BLE001 - a broken connection is dropped, not reused
                broken = True
            except BaseException:  # interrupted: dropped, and the pool's place given back
                broken = True
                raise
            finally:
                self._give_back(conn, broken)

    def _lease(self) -> Any:
        with self._pool_lock:
            if self._reader_free is None:
                self._reader_free = threading.BoundedSemaphore(self.max_readers)
            free = self._reader_free
        free.acquire()
        with self._pool_lock:
            if self._readers:
                return self._readers.pop()
            self._reader_count += 1
        try:
            assert self._reconnect is not None
            return self._reconnect()
        except BaseException:
            with self._pool_lock:
                self._reader_count -= 1
            free.release()
            raise

    def _give_back(self, conn: Any, broken: bool) -> None:
        with self._pool_lock:
            if broken or self._reader_free is None:
                self._reader_count -= 1
                with contextlib.suppress(Exception):
                    conn.close()
            else:
                self._readers.append(conn)
            free = self._reader_free
        if free is not None:
            free.release()

    @property
    def readers_open(self) -> int:
        """Pooled reader connections open now (PostgreSQL; see :meth:`reading`)."""
        return self._reader_count

    def stream(self, text: str, params: Sequence[Any] = (), batch: int = 2000
               ) -> Iterator[list[tuple]]:
        """Rows of a query in batches of ``batch``, straight from the cursor (not all in memory).

        PostgreSQL uses a server-side cursor, which needs a transaction: call it inside
        :meth:`snapshot` or :meth:`transaction`. Hold no other use of this connection while
        iterating.

        Example:
            >>> db = Database.connect("sqlite://")
            >>> [len(b) for b in db.stream("SELECT value FROM json_each('[1,2,3]')", batch=2)]
            [2, 1]
        """
        if self.dialect == "sqlite":
            cur = self.raw.execute(text, params)
            if self._depth:
                self._track(cur)
            try:
                while rows := cur.fetchmany(batch):
                    yield rows
            finally:
                cur.close()
            return
        pinned = self._pinned.get()
        if not self._depth and pinned is None:
            raise RuntimeError("Database.stream on PostgreSQL needs snapshot(), reading() or transaction()")
        conn = pinned or self.raw
        with conn.cursor(name=f"kg_stream_{id(self):x}") as cur:
            cur.itersize = batch
            try:  # settled before the cursor's CLOSE, which an ACTIVE connection refuses
                cur.execute(self.sql(text), params or None)
                rows = cur.fetchmany(batch)
            except BaseException:
                _settle(conn)
                raise
            while rows:
                yield [tuple(r) for r in rows]
                try:
                    rows = cur.fetchmany(batch)
                except BaseException:
                    _settle(conn)
                    raise

    def close(self) -> None:
        """Close the connection and the idle reader connections (rolls back an unfinished
        transaction; a read still in progress closes its connection when it ends)."""
        with self._pool_lock:
            idle, self._readers = self._readers, []
            self._reader_count -= len(idle)
            self._reader_free = None
        for conn in idle:
            with contextlib.suppress(Exception):
                conn.close()
        with self._lock:
            self.raw.close()
        if self._tidy:
            _tidy(self._tidy)
