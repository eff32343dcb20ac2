"""A response produced by one worker thread: database work never hops between threads.

:func:`threaded_response` runs ``produce`` on a worker thread (a shared pool). ``produce``
returns the response head (status, media type, headers) and an iterator of body chunks, or
raises; errors found before the first byte (a syntax error, a timeout) become proper HTTP
errors. The worker reads the body ahead up to :data:`INLINE_BYTES`: a result that ends by then
is answered as one plain response (no streaming cost for small results); a longer one streams
through at most :data:`QUEUE` chunks in flight (back-pressure: a slow client does not make the
server buffer the result). When the client goes away the worker is told to stop and cleans up
on its own thread (the read snapshot and the leased connection are released where they were
taken). The event loop is signalled with ``call_soon_threadsafe``: no thread hop per chunk.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response, StreamingResponse

__all__ = ["Head", "threaded_response"]

#: Body chunks in flight between the worker and the client.
QUEUE = 8
#: Bodies up to this size are sent as one response (read ahead before answering).
INLINE_BYTES = 256 * 1024
#: Worker threads (each streaming response holds one while it streams).
WORKERS = 64
_END = object()
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _workers() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(WORKERS, thread_name_prefix="kg-serve")
        return _executor


@dataclass
class Head:
    """Status line and headers of a produced response."""

    status: int = 200
    media_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class _Worker:
    def __init__(self, loop: asyncio.AbstractEventLoop,
                 produce: Callable[[], tuple[Head, Iterator[bytes]]],
                 on_error: Callable[[BaseException], Response]) -> None:
        self.loop = loop
        self.produce = produce
        self.on_error = on_error
        self.first: asyncio.Future[Any] = loop.create_future()
        self.chunks: asyncio.Queue[Any] = asyncio.Queue()
        self.slots = threading.Semaphore(QUEUE)
        self.stopped = threading.Event()

    def _signal(self, fn: Callable[..., Any], *args: Any) -> bool:
        try:
            self.loop.call_soon_threadsafe(fn, *args)
            return True
        except RuntimeError:  # the event loop is gone (server shutting down)
            self.stopped.set()
            return False

    def _answer(self, value: Any) -> None:
        self._signal(lambda: self.first.done() or self.first.set_result(value))

    def _put(self, item: Any) -> bool:
        while not self.stopped.is_set():
            if self.slots.acquire(timeout=0.2):
                return self._signal(self.chunks.put_nowait, item)
        return False

    def run(self) -> None:
        body: Iterator[bytes] | None = None
        try:
            try:
                head, body = self.produce()
                ahead: list[bytes] = []
                size = 0
                for chunk in body:
                    ahead.append(chunk)
                    size += len(chunk)
                    if size >= INLINE_BYTES:
                        break
                else:  # the whole body: one plain response
                    self._answer(Response(b"".join(ahead), head.status, head.headers,
                                          head.media_type))
                    return
            except BaseException as exc:  # noqa: BLE001 - becomes the HTTP error response
                self._answer(self.on_error(exc))
                return
            self._answer(head)
            if not self._put(b"".join(ahead)):
                return
            for chunk in body:
                if not self._put(chunk):
                    return
        except BaseException as exc:  # noqa: BLE001 - too late for a status: end the body
            self._put(exc)
        finally:
            if body is not None and hasattr(body, "close"):
                body.close()  # the producer's clean-up, on this thread
            if not self.stopped.is_set():
                self._signal(self.chunks.put_nowait, _END)

    async def body(self) -> AsyncIterator[bytes]:
        try:
            while True:
                item = await self.chunks.get()
                self.slots.release()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.stopped.set()


async def threaded_response(produce: Callable[[], tuple[Head, Iterator[bytes]]],
                            on_error: Callable[[BaseException], Response]) -> Response:
    """Run ``produce`` on a worker thread and answer with what it yields (see the module doc)."""
    worker = _Worker(asyncio.get_running_loop(), produce, on_error)
    _workers().submit(worker.run)
    try:
        first = await worker.first
    except BaseException:  # the client went away before the answer
        worker.stopped.set()
        raise
    if isinstance(first, Response):
        return first
    return StreamingResponse(worker.body(), status_code=first.status,
                             media_type=first.media_type, headers=first.headers)
