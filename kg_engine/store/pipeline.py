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
  and the transaction leaves the store as it was. Chunks travel through pipes, so a worker
  parses at most about one chunk ahead of the writer (memory stays bounded).
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

import os
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

__all__ = ["ParsedFiles", "QuadWriter"]


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
        # At most one batch waits (memory stays bounded): the loading thread takes the slot
        # before it queues one, the writer gives it back as it takes one. Not a
        # Queue(maxsize=1): a Ctrl-C inside Queue.put (Python code around a Condition: the
        # signal handler runs between its steps) broke the queue's lock ("release unlocked
        # lock"), and the loader and the writer thread then waited for each other for ever.
        # A C lock and a C queue either do their step or not.
        self._slot = threading.Lock()
        self._queue: queue.SimpleQueue[Sequence[tuple] | None] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="kg-load-writer", daemon=True)

    def _run(self) -> None:
        while True:
            rows = self._queue.get()
            if rows is None:
                return
            self._slot.release()
            if self._error is None:
                try:
                    with self.lock:
                        self._write(rows)
                except BaseException as exc:  # noqa: BLE001 - handed to the loading thread
                    self._error = exc

    def __call__(self, rows: Sequence[tuple]) -> None:
        if self._error is not None:
            raise self._error
        self._slot.acquire()
        self._queue.put(rows)

    def __enter__(self) -> Self:
        try:
            self._thread.start()
        except BaseException:  # (a Ctrl-C in Thread.start): a thread that did start ends
            self._queue.put(None)
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if exc_type is not None:
                self._error = self._error or exc  # the thread skips what is still queued
                while True:
                    try:
                        self._queue.get_nowait()
                    except queue.Empty:
                        break
        finally:
            self._queue.put(None)
        self._thread.join()
        if exc_type is None and self._error is not None:
            raise self._error


def _parse_main(argv: list[str]) -> int:
    """Parser process: ``python -m kg_engine.store.pipeline MODULE:FUNCTION PATH QUADS``
    writes every chunk ``FUNCTION(PATH, QUADS)`` yields to stdout (pickled), then ``None``;
    an error (pickled) instead of the rest."""
    import importlib
    import pickle

    target, path, quads = argv
    module, _, name = target.partition(":")
    out = sys.stdout.buffer
    try:
        chunks = getattr(importlib.import_module(module), name)
        for item in chunks(Path(path), quads == "1"):
            pickle.dump(item, out, protocol=pickle.HIGHEST_PROTOCOL)
        pickle.dump(None, out)
    except BrokenPipeError:  # the loader stopped reading (it failed elsewhere)
        return 1
    except BaseException as exc:  # noqa: BLE001 - the loader raises it in file order
        try:
            pickle.dump(exc, out)
        except Exception:  # noqa: BLE001 - an error that does not pickle: say what it was
            pickle.dump(RuntimeError(f"{path}: {type(exc).__name__}: {exc}"), out)
    out.flush()
    return 0


class ParsedFiles:
    """Parse files in worker processes; :meth:`chunks` yields each file's chunks in order.

    Each worker is a fresh interpreter (``python -m kg_engine.store.pipeline``) writing
    pickled chunks to a pipe: it never imports the caller's ``__main__`` (a script without
    an ``if __name__ == "__main__"`` guard would run again under ``multiprocessing``'s
    spawn) and forks nothing of a process holding a database connection. The pipe bounds
    how far a worker runs ahead of the writer.

    Args:
        chunks: ``"module:function"`` of a function ``(path, quads) -> iterator of
            (statements, dictionary rows, byte position)`` run in the workers (the loader's
            ``_parsed_chunks``: statements as integer indexes into the file's token table).
        files: ``(path, quads)`` per file, in load order.
        workers: processes at a time.
    """

    def __init__(self, chunks: str, files: Sequence[tuple[Path, bool]], workers: int) -> None:
        self._fn = chunks
        self._files = list(files)
        self._workers = max(1, workers)
        self._running: dict[int, tuple[subprocess.Popen[bytes], Any]] = {}
        self._next = 0

    def _start_more(self) -> None:
        import kg_engine

        root = str(Path(kg_engine.__file__).resolve().parents[1])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [root, *filter(None, [os.environ.get("PYTHONPATH")])]))
        while self._next < len(self._files) and len(self._running) < self._workers:
            path, quads = self._files[self._next]
            # stderr to a file (closed in _finish): a full stderr pipe could stall the worker
            errors = tempfile.TemporaryFile()  # noqa: SIM115
            self._running[self._next] = (subprocess.Popen(
                [sys.executable, "-m", "kg_engine.store.pipeline", self._fn, str(path),
                 "1" if quads else "0"],
                stdout=subprocess.PIPE, stderr=errors, env=env), errors)
            self._next += 1

    def chunks(self, index: int) -> Iterator[tuple[Any, list, int]]:
        """The chunks of file ``index`` (call for 0, 1, … in order)."""
        import pickle

        self._start_more()
        proc, errors = self._running[index]
        while True:
            try:
                item = pickle.load(proc.stdout)  # type: ignore[arg-type]
            except (EOFError, pickle.UnpicklingError):  # it died, maybe in a chunk's middle
                # (the pipe closes as the process ends: this read cannot wait for ever)
                proc.wait()
                errors.seek(0)
                err = errors.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"the parser process of {self._files[index][0]} ended "
                                   f"(exit code {proc.returncode}) without its statements; "
                                   f"nothing was loaded\n{err}") from None
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
        proc.wait()
        self._finish(proc, errors)
        del self._running[index]
        self._start_more()

    @staticmethod
    def _finish(proc: subprocess.Popen[bytes], errors: Any) -> None:
        if proc.stdout is not None:
            proc.stdout.close()
        errors.close()

    def close(self) -> None:
        """Stop the workers still running (after an error: nothing more is read)."""
        for proc, errors in self._running.values():
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            self._finish(proc, errors)
        self._running.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    sys.exit(_parse_main(sys.argv[1:]))
