"""The bulk loader's pipeline: parser processes feeding one writer, and a writer thread.

A load is three stages: parsing (text → statements of raw tokens, each new token validated
and hashed into a dictionary row), id mapping (tokens → term ids, new terms written), and the
quad inserts. :func:`load_files <kg_engine.store.loader.load_files>` runs the middle stage in
the calling thread (it holds the transaction) and uses this module for the two others:

* :class:`ParsedFiles`: the N-Triples/N-Quads files of one load are parsed in worker
  processes, one file per process, at most ``workers`` at a time; their chunks come back **in
  file order** (file 1's chunks, then file 2's, …), so the store gets exactly what a serial
  load writes. A worker that fails sends its error (an :class:`~kg_engine.errors.RDFSyntaxError`
  naming file and line) in place of its next chunk: the loader raises it when it gets there,
  and the transaction leaves the store as it was. Queues are bounded: a worker parses at most
  :data:`AHEAD` chunks ahead of the writer.
* :class:`QuadWriter`: on SQLite, the quad inserts of each chunk run in a thread while the
  loading thread maps the next chunk (``sqlite3`` releases the GIL while SQLite steps).

Example (a writer thread around a plain function)::

    >>> seen = []
    >>> with QuadWriter(seen.extend) as write:
    ...     write([(0, 1, 2, 3)])
    >>> seen
    [(0, 1, 2, 3)]
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

__all__ = ["AHEAD", "ParsedFiles", "QuadWriter"]

#: Chunks a parser process may have ready before the writer takes them (per process).
AHEAD = 2
_JOIN_S = 10.0


class QuadWriter:
    """Runs ``write(rows)`` in a thread of its own, one batch at a time, in order.

    Each ``write`` holds :attr:`lock`; the caller holds it around its own statements on the
    same connection, so statements never interleave (what overlaps is the caller's Python
    work with the thread's inserts). Used as a context manager: leaving the block normally
    waits for every batch and raises the thread's error, if any; leaving it by an exception
    drops the batches not started and waits for the one in progress (so the caller's
    rollback never races a write).
    """

    def __init__(self, write: Callable[[Sequence[tuple]], None]) -> None:
        self._write = write
        self.lock = threading.Lock()
        self._queue: queue.Queue[Sequence[tuple] | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="kg-load-writer", daemon=True)

    def _run(self) -> None:
        while True:
            rows = self._queue.get()
            if rows is None:
                return
            if self._error is None:
                try:
                    with self.lock:
                        self._write(rows)
                except BaseException as exc:  # noqa: BLE001 - handed to the loading thread
                    self._error = exc

    def __call__(self, rows: Sequence[tuple]) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(rows)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is not None:
            self._error = self._error or exc  # the thread skips what is still queued
            while True:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break
        self._queue.put(None)
        self._thread.join()
        if exc_type is None and self._error is not None:
            raise self._error


def _parse_worker(chunks: Callable[[Path, bool], Iterator[tuple[list, dict, int]]], path: str,
                  quads: bool, out: Any) -> None:
    """Worker process: put every ``(statements, rows, position)`` chunk of one file, then
    ``None``; an error (pickled) instead of the rest."""
    try:
        for item in chunks(Path(path), quads):
            out.put(item)
        out.put(None)
    except BaseException as exc:  # noqa: BLE001 - the loader raises it in file order
        try:
            out.put(exc)
        except Exception:  # noqa: BLE001 - an error that does not pickle: say what it was
            out.put(RuntimeError(f"{path}: {type(exc).__name__}: {exc}"))


class ParsedFiles:
    """Parse files in worker processes; :meth:`chunks` yields each file's chunks in order.

    Args:
        chunks: a module-level function ``(path, quads) -> iterator of (statements,
            {token: dictionary row} of the tokens new in this file, byte position)``; it
            runs in the workers.
        files: ``(path, quads)`` per file, in load order.
        workers: processes at a time.
    """

    def __init__(self, chunks: Callable[[Path, bool], Iterator[tuple[list, dict, int]]],
                 files: Sequence[tuple[Path, bool]], workers: int) -> None:
        self._fn = chunks
        self._files = list(files)
        self._workers = max(1, workers)
        self._ctx = multiprocessing.get_context("spawn")  # no fork of a process holding a database connection
        self._running: dict[int, tuple[Any, Any]] = {}
        self._next = 0

    def _start_more(self) -> None:
        while self._next < len(self._files) and len(self._running) < self._workers:
            path, quads = self._files[self._next]
            q = self._ctx.Queue(maxsize=AHEAD)
            p = self._ctx.Process(target=_parse_worker, args=(self._fn, str(path), quads, q),
                                  name=f"kg-load-parser-{self._next}", daemon=True)
            p.start()
            self._running[self._next] = (p, q)
            self._next += 1

    def chunks(self, index: int) -> Iterator[tuple[list, dict, int]]:
        """The chunks of file ``index`` (call for 0, 1, … in order)."""
        self._start_more()
        proc, q = self._running[index]
        while True:
            try:
                item = q.get(timeout=1.0)
            except queue.Empty:
                if not proc.is_alive() and q.empty():
                    raise RuntimeError(f"the parser process of {self._files[index][0]} died "
                                       f"(exit code {proc.exitcode}); nothing was loaded") from None
                continue
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
        proc.join(_JOIN_S)
        del self._running[index]
        self._start_more()

    def close(self) -> None:
        """Stop the workers still running (after an error: nothing more is read)."""
        for proc, q in self._running.values():
            if proc.is_alive():
                proc.terminate()
            proc.join(_JOIN_S)
            q.close()
            q.cancel_join_thread()
        self._running.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
