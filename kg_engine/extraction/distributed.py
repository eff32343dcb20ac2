"""Extraction on a Ray cluster: many workers run the spaCy pipeline, the driver writes.

:class:`RayExtractionRunner` is an :class:`~kg_engine.extraction.runner.ExtractionRunner`
whose ``nlp.pipe`` work runs in Ray actors. It yields the same
:class:`~kg_engine.extraction.runner.DocResult` stream, in corpus order, so the one writer
(:func:`~kg_engine.extraction.ingest.extract_into`, in the driver process) stores every
document in its own transaction exactly as in a single-process run: same triples, same
provenance rows (offsets, sentence, model and version, confidence), same document records,
same resume behaviour (the store's document table and the optional checkpoint file are read
and written by the driver only).

How it works:

* the driver pickles the loaded pipeline (spaCy ``Language`` + RDF converter, models
  included, ~15 MB for the default one) into Ray's object store once; each worker actor
  deserialises it once in its constructor, so nodes need kg-engine and its packages installed but not the model files;
* the driver reads the corpus lazily, skips unchanged documents, and sends chunks of
  ``batch_size`` documents to the least busy actor (at most ``in_flight`` chunks queued per
  actor, so memory stays bounded whatever the corpus size);
* each actor runs a plain :class:`ExtractionRunner` over its chunk (the same code, the same
  ``nlp.pipe`` batches as a single-process run) and returns the triple batches;
* the driver takes results back in corpus order and yields them to the writer; workers never
  see the store, so they need no database connection or credentials.

Why Ray actors and not Ray Data ``map_batches``: Ray Data moves blocks as Arrow tables, so
every :class:`~kg_engine.core.TripleBatch` (rdflib terms with provenance) would have to be
pickled into a binary column and back; keeping corpus order needs ``preserve_order``; and its
streaming executor schedules, buffers and autoscales on its own, which makes the driver's
per-document commit and checkpoint harder to reason about. A fixed pool of actors (one per
CPU, each loading the pipeline once, like ``map_batches`` with an actor class would) with an
ordered, bounded queue gives the same parallelism with the order and back-pressure in a few
lines, and needs only ``ray`` (no ``ray[data]``/pyarrow).

Example:
    >>> from kg_engine.extraction.distributed import RayExtractionRunner  # doctest: +SKIP
    >>> runner = RayExtractionRunner(pipeline.nlp, pipeline.converter,  # doctest: +SKIP
    ...                              address="auto", batch_size=64)
    >>> for result in runner.run(documents):  # doctest: +SKIP
    ...     store.add_batch(result.batch)
"""

from __future__ import annotations

import itertools
import socket
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg_engine.errors import ConfigError, KgEngineError, MissingDependencyError
from kg_engine.extraction.corpus import Document
from kg_engine.extraction.runner import DocResult, ExtractionRunner
from kg_engine.extraction.to_rdf import DocConverter

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language

__all__ = ["RayExtractionRunner", "connect", "require_ray"]


def require_ray() -> Any:
    """The ``ray`` module.

    Raises:
        MissingDependencyError: ray is not installed (``pip install 'kg-engine[ray]'``).
    """
    try:
        import ray
    except ImportError as exc:
        raise MissingDependencyError("ray", "ray") from exc
    return ray


def _probe(address: str) -> None:
    """Fail fast when nothing listens at a cluster address (ray.init retries for minutes)."""
    if address.startswith("ray://"):
        return  # Ray Client: its own handshake reports errors
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"Ray address {address!r}: expected HOST:PORT, 'auto' or ray://…")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise ConfigError(
            f"no Ray cluster is reachable at {address} ({exc.strerror or exc}): start one with "
            "`ray start --head` (on that host), or give another --address") from None


def _resolve(ray: Any, address: str) -> str | None:
    """``auto`` → the address of a running cluster (``RAY_ADDRESS``, the last ``ray start``)."""
    if address != "auto":
        return address
    try:
        from ray._private.services import canonicalize_bootstrap_address_or_die
    except ImportError:  # pragma: no cover - a Ray without this helper: let ray.init resolve
        return None
    try:
        return canonicalize_bootstrap_address_or_die("auto")
    except ConnectionError as exc:
        raise ConfigError(
            f"--address auto found no running Ray cluster ({exc}); start one with "
            "`ray start --head`, or drop --address to run Ray on this machine only") from None


def connect(address: str | None = None, *, num_cpus: int | None = None) -> bool:
    """Make sure this process is connected to Ray; ``True`` if this call connected it.

    Args:
        address: ``None``: start a private Ray instance on this machine (``num_cpus`` CPUs);
            ``"auto"``: join the running cluster (``RAY_ADDRESS``, else the one ``ray start``
            last started here); ``"HOST:PORT"``: join the cluster whose head listens there;
            ``"ray://HOST:10001"``: Ray Client.
        num_cpus: CPUs of a private instance (default: all).

    Raises:
        MissingDependencyError: ray is not installed (``pip install 'kg-engine[ray]'``).
        ConfigError: no cluster is reachable at ``address``.
    """
    ray = require_ray()
    if ray.is_initialized():
        return False
    import logging

    opts: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False,
                            "configure_logging": True}
    if address is None:
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, **opts)
        return True
    resolved = _resolve(ray, address)
    if resolved is not None:
        _probe(resolved)
    try:
        ray.init(address=resolved or address, **opts)
    except ConnectionError as exc:
        raise ConfigError(f"cannot join the Ray cluster at {address}: {exc}") from None
    return True


class _Worker:
    """One Ray actor: the pipeline, deserialised once, run over chunks of documents."""

    def __init__(self, shipped: bytes, batch_size: int) -> None:
        import pickle

        # unpickled here, not by Ray: Ray maps numpy arrays read-only from its object store,
        # and spaCy's models write into theirs
        nlp, converter = pickle.loads(shipped)
        self.runner = ExtractionRunner(nlp, converter, batch_size=batch_size, progress=False)

    def process(self, docs: list[Document]) -> list[DocResult]:
        return list(self.runner.run(docs))


class RayExtractionRunner(ExtractionRunner):
    """An :class:`ExtractionRunner` whose pipeline runs in Ray actors (see module docstring).

    Args:
        nlp: the spaCy pipeline (shipped to the workers once).
        converter: doc → triples (default :meth:`DocConverter.for_pipeline`).
        address: the Ray cluster (see :func:`connect`); ``None`` starts Ray on this machine.
        workers: actors to start, one CPU each (default: every CPU of the cluster).
        batch_size: documents per chunk sent to a worker (and per ``nlp.pipe`` batch there).
        in_flight: chunks queued per worker beyond the one it is running.
        checkpoint: JSON Lines file recording processed documents (written by the driver).
        progress: show a tqdm progress bar (``None``: only on a terminal).
    """

    def __init__(
        self,
        nlp: Language,
        converter: DocConverter | None = None,
        *,
        address: str | None = None,
        workers: int | None = None,
        batch_size: int = 64,
        in_flight: int = 1,
        checkpoint: str | Path | None = None,
        progress: bool | None = None,
    ) -> None:
        super().__init__(nlp, converter, batch_size=batch_size, checkpoint=checkpoint,
                         progress=progress)
        if workers is not None and workers < 1:
            raise ConfigError(f"Ray workers must be at least 1, got {workers}")
        if in_flight < 0:
            raise ValueError(f"in_flight must be ≥ 0, got {in_flight}")
        require_ray()  # fail before any work when ray is missing
        self.address = address
        self.workers = workers
        self.in_flight = in_flight
        #: Number of actors the last :meth:`run` used.
        self.used_workers = 0

    def run(
        self,
        documents: Iterable[Document],
        *,
        known: Mapping[str, str] | None = None,
        total: int | None = None,
    ) -> Iterator[DocResult]:
        """Process ``documents`` on the cluster; yield one result per new or changed document.

        Same contract as :meth:`ExtractionRunner.run`: corpus order, unchanged documents
        skipped, changed ones flagged ``replaces``, the checkpoint written once the caller
        has handled a result.

        Raises:
            ConfigError: no cluster reachable.
            KgEngineError: a worker died (every document handled before is kept; re-run to
                resume).
            Exception: whatever the pipeline raised in a worker (re-raised as is).
        """
        import pickle

        from tqdm.auto import tqdm

        ray = require_ray()
        from kg_engine.extraction.runner import read_checkpoint

        done = dict(read_checkpoint(self.checkpoint)) if self.checkpoint else {}
        done.update(known or {})
        chunks = _chunks(self._todo(documents, done), self.batch_size)
        ready = list(itertools.islice(chunks, 1))
        if not ready:  # nothing new or changed: no cluster needed
            return
        started = connect(self.address, num_cpus=self.workers)
        actors: list[Any] = []
        ckpt = None
        bar = None
        try:
            n = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
            ready += itertools.islice(chunks, n - 1)
            n = min(n, len(ready))  # a small corpus starts only the workers it can use
            shipped = ray.put(pickle.dumps((self.nlp, self.converter),
                                           protocol=pickle.HIGHEST_PROTOCOL))
            cls = ray.remote(num_cpus=1)(_Worker)
            actors = [cls.remote(shipped, self.batch_size) for _ in range(n)]
            self.used_workers = n
            ckpt = self._open_checkpoint()
            bar = tqdm(total=total, unit="doc", desc=f"extract (ray ×{n})",
                       disable=(not self.progress) if self.progress is not None else None)
            queue: deque[tuple[list[tuple[Document, bool]], Any, int]] = deque()
            load = [0] * n  # chunks submitted to each actor and not yet collected
            exhausted = False
            while True:
                while not exhausted and len(queue) < n * (1 + self.in_flight):
                    chunk = ready.pop(0) if ready else next(chunks, None)
                    if chunk is None:
                        exhausted = True
                        break
                    i = min(range(n), key=load.__getitem__)
                    load[i] += 1
                    queue.append((chunk, actors[i].process.remote([d for d, _ in chunk]), i))
                if not queue:
                    break
                chunk, future, i = queue.popleft()
                results = _get(ray, future)
                load[i] -= 1
                for (doc, replaces), result in zip(chunk, results, strict=True):
                    result.replaces = replaces
                    self._count(result)
                    yield result
                    # the caller came back for more: the result has been handled
                    self._done(ckpt, result)
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
            if ckpt is not None:
                ckpt.close()
            for actor in actors:
                ray.kill(actor)
            if started:
                ray.shutdown()


def _chunks(todo: Iterator[tuple[Document, bool]], size: int
            ) -> Iterator[list[tuple[Document, bool]]]:
    chunk: list[tuple[Document, bool]] = []
    for item in todo:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _get(ray: Any, future: Any) -> list[DocResult]:
    """A worker's results; its own exception re-raised as is, a lost worker as ConfigError."""
    from ray.exceptions import RayActorError, RayTaskError

    try:
        return ray.get(future)
    except RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, BaseException):
            raise cause from None
        raise
    except RayActorError as exc:
        why = " ".join(str(exc).split())  # one line: Ray's message spans several
        raise KgEngineError(
            f"a Ray extraction worker died ({exc.__class__.__name__}: {why[:400]}); "
            "every document handled before is stored: re-run the same command to resume"
        ) from None
