"""A response produced by one worker thread: database work never hops between threads.

:func:`threaded_response` runs ``produce`` in a thread of its own. ``produce`` returns the
response head (status, media type, headers) and an iterator of body chunks, or raises; the
request waits only for the head, so errors found before the first byte (a syntax error, a
timeout) become proper HTTP errors, while the body streams through a small bounded queue
(back-pressure: a slow client holds at most ``QUEUE`` chunks in memory). When the client goes
away the producer is told to stop and cleans up on its own thread (the read snapshot and the
leased connection are released where they were taken).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
from starlette.responses import Response, StreamingResponse

__all__ = ["Head", "threaded_response"]

#: Body chunks buffered between the producer thread and the client.
QUEUE = 8
_END = object()


@dataclass
class Head:
    """Status line and headers of a produced response."""

    status: int = 200
    media_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class _Producer(threading.Thread):
    def __init__(self, produce: Callable[[], tuple[Head, Iterator[bytes]]],
                 on_error: Callable[[BaseException], Response]) -> None:
        super().__init__(name="kg-serve-producer", daemon=True)
        self.produce = produce
        self.on_error = on_error
        self.queue: queue.Queue[Any] = queue.Queue(QUEUE)
        self.stopped = threading.Event()
        self.first: Any = None
        self.ready = threading.Event()

    def _put(self, item: Any) -> bool:
        while not self.stopped.is_set():
            try:
                self.queue.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def run(self) -> None:
        body: Iterator[bytes] | None = None
        try:
            try:
                head, body = self.produce()
            except BaseException as exc:  # noqa: BLE001 - becomes the HTTP error response
                self.first = self.on_error(exc)
                return
            self.first = head
            self.ready.set()
            for chunk in body:
                if not self._put(chunk):
                    break
        except BaseException as exc:  # noqa: BLE001 - too late for a status: end the body
            self._put(exc)
        finally:
            if body is not None and hasattr(body, "close"):
                body.close()  # runs the producer's clean-up on this thread
            self.ready.set()
            if not self._put(_END):
                try:  # a reader still blocked on the queue must wake up
                    self.queue.put_nowait(_END)
                except queue.Full:
                    pass


async def threaded_response(produce: Callable[[], tuple[Head, Iterator[bytes]]],
                            on_error: Callable[[BaseException], Response]) -> Response:
    """Run ``produce`` in its own thread and stream what it yields (see the module doc)."""
    worker = _Producer(produce, on_error)
    worker.start()
    await anyio.to_thread.run_sync(worker.ready.wait)
    if isinstance(worker.first, Response):
        return worker.first
    head: Head = worker.first

    async def body() -> AsyncIterator[bytes]:
        try:
            while True:
                item = worker.queue.get_nowait() if not worker.queue.empty() else \
                    await anyio.to_thread.run_sync(worker.queue.get)
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            worker.stopped.set()

    return StreamingResponse(body(), status_code=head.status, media_type=head.media_type,
                             headers=head.headers)
