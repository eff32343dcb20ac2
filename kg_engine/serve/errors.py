"""kg-engine errors as HTTP responses: the status a client can act on and a one-line message.

====================================================  ======
error                                                 status
====================================================  ======
malformed query / update / RDF body (line, column)    400
a query the server refuses (``SERVICE``, remote LOAD)  400
:class:`~kg_engine.serve.formats.NotAcceptable`       406
the triple or graph asked for is not in the store     404
query timeout (the SQL was cancelled)                 503
the store is locked by another process (a long load)  503
the server's disk refused a write (full, limit)       507
anything else kg-engine raises on purpose             400
====================================================  ======

Example:
    >>> from kg_engine.errors import QueryTimeoutError
    >>> error_response(QueryTimeoutError("too slow")).status_code
    503
"""

from __future__ import annotations

import logging

from starlette.responses import PlainTextResponse, Response

from kg_engine.errors import KgEngineError, QueryTimeoutError, StoreError

from .formats import NotAcceptable

__all__ = ["HTTPError", "error_response"]

log = logging.getLogger(__name__)


class HTTPError(Exception):
    """An error with its own HTTP status (bad parameters, refused writes, missing graphs)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def _locked(exc: BaseException) -> bool:
    """Whether ``exc`` was caused by a database lock another process holds."""
    seen: BaseException | None = exc
    while seen is not None:
        name = getattr(seen, "sqlite_errorname", "") or type(seen).__name__
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or name == "LockNotAvailable":
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _storage_refused(exc: BaseException) -> bool:
    """Whether ``exc`` was caused by the server's storage refusing a write: its disk full,
    its file size limit reached (SQLite's FULL and I/O errors, PostgreSQL's ``DiskFull``, a
    file write's ENOSPC/EFBIG/EDQUOT): the server's state, not the request's fault."""
    from kg_engine.core.files import SPACE_ERRNOS

    seen: BaseException | None = exc
    while seen is not None:
        name = getattr(seen, "sqlite_errorname", "") or type(seen).__name__
        if name.startswith(("SQLITE_FULL", "SQLITE_IOERR")) or name == "DiskFull" or (
                isinstance(seen, OSError) and seen.errno in SPACE_ERRNOS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def error_response(exc: BaseException, url: str | None = None) -> Response:
    """The HTTP response for ``exc`` (see the table in the module doc).

    Args:
        exc: what the request raised.
        url: the served store's URL, named in the message of a database error that reached
            here as the driver raised it (a Graph Store write while another process held the
            lock was a 500 "internal error: OperationalError: database is locked").
    """
    if not isinstance(exc, (HTTPError, NotAcceptable, KgEngineError)):
        from kg_engine.store.database import database_error, redact_url

        found = database_error(exc, redact_url(url) if url else "the store")
        if found is not None:
            found.__cause__, exc = exc, found
    if isinstance(exc, HTTPError):
        return PlainTextResponse(str(exc) + "\n", exc.status, headers=exc.headers)
    if isinstance(exc, NotAcceptable):
        return PlainTextResponse(str(exc) + "\n", 406)
    if isinstance(exc, QueryTimeoutError):
        return PlainTextResponse(str(exc) + "\n", 503, headers={"Retry-After": "1"})
    if isinstance(exc, StoreError) and _locked(exc):  # the server's state, not the request
        return PlainTextResponse(str(exc) + "\n", 503, headers={"Retry-After": "5"})
    if isinstance(exc, KgEngineError) and _storage_refused(exc):  # was a 400: "your fault"
        return PlainTextResponse(str(exc) + "\n", 507)
    if isinstance(exc, KeyError) and isinstance(exc, KgEngineError):  # NotInStoreError
        return PlainTextResponse(str(exc) + "\n", 404)
    if isinstance(exc, (KgEngineError, SyntaxError)):
        return PlainTextResponse(str(exc) + "\n", 400)
    log.exception("internal error", exc_info=exc)
    return PlainTextResponse(f"internal error: {type(exc).__name__}: {exc}\n", 500)
