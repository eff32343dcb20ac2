"""Resource limits of one SPARQL request: a deadline that holds, and room for deep nesting.

**Deadline.** ``timeout=`` must stop a query wherever its time goes:

* in SQL — SQLite's progress handler / ``interrupt()``, PostgreSQL's ``statement_timeout``
  (set up by the engine);
* in a Python function SQLite calls back (``kg_regex``) or in rdflib's evaluator — neither sees
  SQLite's progress handler, and a catastrophic regular expression such as ``(a+)+$`` never
  returns to Python. Regular expressions therefore run on the ``regex`` package with the time
  left (:func:`remaining`), and a watchdog thread (:class:`Watchdog`) interrupts SQLite and
  raises :class:`DeadlineExceeded` in the query's thread once the deadline has passed
  (the rdflib parser, the compiler and rdflib's evaluator are plain Python, so it lands there).

**Deep nesting.** rdflib's parser, ``translateQuery`` and evaluator recurse once per nesting
level (40 nested ``OPTIONAL`` groups with a path inside exceed Python's default limit of 1,000
frames). :func:`run_deep` reruns such a request in a helper thread with a large stack and a
raised recursion limit, so valid queries never fail with "maximum recursion depth exceeded";
a request too deep even for that is refused with a :class:`~kg_engine.errors.QuerySyntaxError`
(:func:`too_deep_error`), never a bare ``RecursionError``.

Example:
    >>> with deadline_scope(time.monotonic() + 5):
    ...     0 < remaining() <= 5
    True
    >>> remaining() is None
    True
    >>> run_deep(lambda n: n + 1, 1)
    2
"""

from __future__ import annotations

import contextvars
import ctypes
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from kg_engine.errors import QuerySyntaxError, QueryTimeoutError

__all__ = ["DeadlineExceeded", "Watchdog", "deadline_scope", "remaining", "run_deep",
           "timeout_error", "too_deep_error"]

T = TypeVar("T")

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "kg_sparql_deadline", default=None)


class DeadlineExceeded(QueryTimeoutError):
    """Raised in the query's thread by the watchdog (constructed without arguments)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*(args or ("query cancelled: its timeout has passed",)))


def timeout_error(timeout: float | None) -> QueryTimeoutError:
    """The error every cancelled request raises (same message everywhere)."""
    return QueryTimeoutError(
        f"query cancelled after its timeout of {timeout or 0:g} s; "
        "raise timeout= or make the query more selective"
    )


@contextmanager
def deadline_scope(deadline: float | None) -> Iterator[None]:
    """Within the block :func:`remaining` reports the time left until ``deadline``."""
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def remaining() -> float | None:
    """Seconds left to the current request (``None``: no deadline).

    Raises:
        QueryTimeoutError: the deadline has already passed.
    """
    deadline = _DEADLINE.get()
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeadlineExceeded()
    return left


#: Seconds past its deadline a guarded block still waiting is abandoned (:class:`Watchdog`).
ABANDON_AFTER = 10.0


class Watchdog:
    """Stops Python work in one thread once a deadline has passed.

    At ``deadline`` it calls ``interrupt`` (e.g. ``sqlite3.Connection.interrupt``) and raises
    :class:`DeadlineExceeded` asynchronously in the thread that started it; :meth:`stop`
    (under the same lock) makes sure nothing fires after the guarded block has ended.

    An asynchronous exception only lands when the thread runs Python code: a thread waiting
    in C for a database server that no longer answers (host gone, process stopped: no reply,
    no closed connection) never sees it, and the query outlived its timeout for ever. So
    ``abandon`` (e.g. shutting down the connection's socket, which ends the wait with an
    error) is called ``abandon_after`` seconds after the deadline if the block is still
    running then (default :data:`ABANDON_AFTER`).
    """

    def __init__(self, deadline: float, interrupt: Callable[[], Any] | None = None,
                 abandon: Callable[[], Any] | None = None,
                 abandon_after: float | None = None) -> None:
        self.deadline = deadline
        self.interrupt = interrupt
        self.abandon = abandon
        self.fired = False
        self.abandoned = False
        self._thread_id = threading.get_ident()
        self._lock = threading.Lock()
        self._active = True
        self._timers = [threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)]
        if abandon is not None:
            after = ABANDON_AFTER if abandon_after is None else abandon_after
            self._timers.append(threading.Timer(
                max(0.0, deadline + after - time.monotonic()), self._abandon))
        for timer in self._timers:
            timer.daemon = True
            timer.start()

    def _fire(self) -> None:
        with self._lock:
            if not self._active:
                return
            self.fired = True
            if self.interrupt is not None:
                with suppress(Exception):  # the connection closed meanwhile
                    self.interrupt()
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(self._thread_id), ctypes.py_object(DeadlineExceeded))

    def _abandon(self) -> None:
        with self._lock:
            if not self._active or self.abandon is None:
                return
            self.fired = self.abandoned = True
            with suppress(Exception):
                self.abandon()

    def stop(self) -> bool:
        """Disarm (idempotent); the guarded block is over. Returns whether it fired.

        An exception the watchdog raised that is still pending is withdrawn; one that arrives
        while disarming is absorbed (it can arrive only once).
        """
        while True:
            try:
                with self._lock:
                    self._active = False
                for timer in self._timers:
                    timer.cancel()
                if self.fired:
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread_id), None)
                return self.fired
            except DeadlineExceeded:
                continue


_DEEP_LOCK = threading.Lock()
_DEEP_RUNNING = 0
DEEP_STACK_BYTES = 512 * 1024 * 1024
DEEP_RECURSION_LIMIT = 100_000


def run_deep(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a helper thread with a 512 MiB stack and a raised recursion limit.

    The recursion limit is process-wide in CPython: it is raised while at least one deep run is
    active and restored when the last one ends. Exceptions are re-raised in the caller.
    """
    global _DEEP_RUNNING
    out: dict[str, Any] = {}
    ctx = contextvars.copy_context()

    def target() -> None:
        try:
            out["value"] = ctx.run(fn, *args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller
            out["error"] = exc

    with _DEEP_LOCK:
        if _DEEP_RUNNING == 0:
            run_deep.saved_limit = sys.getrecursionlimit()  # type: ignore[attr-defined]
            sys.setrecursionlimit(max(DEEP_RECURSION_LIMIT, run_deep.saved_limit))  # type: ignore[attr-defined]
        _DEEP_RUNNING += 1
        old_size = threading.stack_size()
        threading.stack_size(DEEP_STACK_BYTES)
        try:
            thread = threading.Thread(target=target, name="kg-sparql-deep", daemon=True)
            thread.start()
        finally:
            threading.stack_size(old_size)
    try:
        thread.join()
    finally:
        with _DEEP_LOCK:
            _DEEP_RUNNING -= 1
            if _DEEP_RUNNING == 0:
                sys.setrecursionlimit(run_deep.saved_limit)  # type: ignore[attr-defined]
    if "error" in out:
        if isinstance(out["error"], RecursionError):  # deeper than even the large stack
            raise too_deep_error() from out["error"]
        raise out["error"]
    return out["value"]


def too_deep_error() -> QuerySyntaxError:
    """The error for a request nested past what :func:`run_deep` can parse and evaluate
    (10,000 nested groups or parentheses: rdflib's parser recurses a dozen frames a level).

    Example:
        >>> print(too_deep_error())
        <request>: the request is nested too deeply to parse and evaluate (past 100,000 Python frames with a 512 MiB stack): flatten deeply nested groups, subqueries, OPTIONALs or parentheses
    """
    return QuerySyntaxError(
        f"the request is nested too deeply to parse and evaluate (past "
        f"{DEEP_RECURSION_LIMIT:,} Python frames with a {DEEP_STACK_BYTES // 2**20} MiB "
        "stack): flatten deeply nested groups, subqueries, OPTIONALs or parentheses",
        source="<request>")
