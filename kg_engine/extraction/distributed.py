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
  included, ~15 MB for the default one) into Ray's object store; each worker actor
  deserialises it once in its constructor, so nodes need kg-engine and its packages
  installed but not the model files;
* the actors are **kept between runs** (one pool per driver process): a later run with the
  same pipeline (same weights and settings, see :func:`_fingerprint`) on the same cluster
  reuses them and pays neither the actor start (a Python process importing spaCy and
  kg-engine, ≈ 1.3–2 CPU-s each) nor the pipeline shipping again. Another pipeline or cluster
  replaces the pool; a failed or interrupted run ends it; :func:`release_workers` (or the
  end of the process) frees the actors and their CPUs;
* the driver reads the corpus lazily, skips unchanged documents, and sends chunks of
  ``batch_size`` documents to the least busy actor (at most ``in_flight`` chunks queued per
  actor, so memory stays bounded whatever the corpus size);
* each actor runs a plain :class:`ExtractionRunner` over its chunk (the same code, the same
  ``nlp.pipe`` batches as a single-process run) and returns the triple batches (pickling
  them costs < 0.5 % of the pipeline's time, measured: not worth a custom encoding);
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

import atexit
import contextlib
import hashlib
import itertools
import pickle
import socket
import sys
import threading
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

__all__ = ["RayExtractionRunner", "connect", "release_workers", "require_ray"]


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


#: The Ray connection this module opened (``address`` as asked) and the worker pool kept
#: in it, changed under ``_LOCK``. Runs from several threads of one driver share the pool;
#: one that fails ends it, and the others then fail with a lost worker (re-run to resume).
_LOCK = threading.RLock()
_OWN: dict[str, Any] | None = None
_POOL: _Pool | None = None


def connect(address: str | None = None, *, num_cpus: int | None = None) -> bool:
    """Make sure this process is connected to Ray; ``True`` if this call connected it.

    A connection this module opened earlier for the same ``address`` is kept and reused
    (with its worker pool); one opened for another address is closed first. A Ray that the
    caller initialised itself is used as it is, whatever ``address`` says.

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
    global _OWN, _POOL
    ray = require_ray()
    with _LOCK:
        if ray.is_initialized():
            if _OWN is None or _OWN["address"] == address:
                return False
            release_workers()  # ours, but for another cluster
        _OWN = _POOL = None  # whatever was kept went with an earlier connection
        import logging

        opts: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False,
                                "configure_logging": True}
        if address is None:
            ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, **opts)
        else:
            resolved = _resolve(ray, address)
            if resolved is not None:
                _probe(resolved)
            try:
                ray.init(address=resolved or address, **opts)
            except ConnectionError as exc:
                raise ConfigError(f"cannot join the Ray cluster at {address}: {exc}") from None
        _OWN = {"address": address}
        return True


def release_workers() -> None:
    """End the kept worker actors, and the Ray connection if this module opened it.

    Frees the CPUs (and memory: one loaded pipeline per actor) that the actors of earlier
    runs hold. Harmless when nothing is kept; the next run starts afresh. Runs by itself at
    the end of the process.

    Example:
        >>> from kg_engine.extraction.distributed import release_workers
        >>> release_workers()
    """
    global _OWN, _POOL
    with _LOCK:
        pool, _POOL = _POOL, None
        own, _OWN = _OWN, None
        ray = sys.modules.get("ray")  # not imported: nothing can have been started
        if ray is None or not ray.is_initialized():
            return
        if pool is not None:
            pool.kill(ray)
        if own is not None:
            ray.shutdown()


atexit.register(release_workers)


def _fingerprint(nlp: Language, converter: DocConverter) -> str:
    """What makes two pipelines give the same triples: the spaCy pipeline's config, meta and
    weights (``to_bytes`` without the vocabulary, which only grows with the text seen) and
    the converter's settings. Falls back to object identity for a component that cannot
    serialise itself."""
    h = hashlib.blake2b(digest_size=20)
    try:
        h.update(nlp.to_bytes(exclude=["vocab"]))
    except Exception:  # noqa: BLE001 - any failure: fall back to object identity
        h.update(f"id:{id(nlp)}".encode())
    try:
        h.update(pickle.dumps(converter, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # noqa: BLE001
        h.update(f"id:{id(converter)}".encode())
    return h.hexdigest()


class _Pool:
    """Worker actors of one pipeline in one Ray job, kept between runs."""

    def __init__(self, ray: Any, key: str) -> None:
        self.key = key
        self.session = _session(ray)
        self.actors: list[Any] = []

    def valid(self, ray: Any, key: str) -> bool:
        return self.key == key and _session(ray) == self.session

    def kill(self, ray: Any) -> None:
        for actor in self.actors:
            with contextlib.suppress(Exception):  # already gone with its node or cluster
                ray.kill(actor)
        self.actors = []


def _session(ray: Any) -> tuple[str, str]:
    """This connection: job and node ids (a new Ray instance has another node id)."""
    ctx = ray.get_runtime_context()
    return ctx.get_job_id(), ctx.get_node_id()


def _actors(ray: Any, nlp: Language, converter: DocConverter, n: int) -> tuple[list[Any], bool]:
    """``n`` worker actors running this pipeline (the kept ones where possible), and whether
    any had to be started."""
    global _POOL
    key = _fingerprint(nlp, converter)
    with _LOCK:
        if _POOL is not None and not _POOL.valid(ray, key):
            _POOL.kill(ray)  # frees their CPUs before the new actors ask for them
            _POOL = None
        if _POOL is None:
            _POOL = _Pool(ray, key)
        missing = n - len(_POOL.actors)
        if missing > 0:
            shipped = ray.put(pickle.dumps((nlp, converter), protocol=pickle.HIGHEST_PROTOCOL))
            cls = ray.remote(num_cpus=1)(_Worker)
            torch_free = not _needs_torch(nlp)
            _POOL.actors += [cls.remote(shipped, torch_free) for _ in range(missing)]
        return _POOL.actors[:n], missing > 0


#: Components that never use torch (spaCy's own, with thinc-native models; kg-engine's
#: label mapper). A pipeline made only of these is unpickled in the workers without torch.
#: (kg-engine's other components live in ``extraction.components``, whose package imports
#: the torch encoders.)
_TORCH_FREE_FACTORIES = frozenset({
    "tok2vec", "senter", "ner", "beam_ner", "parser", "beam_parser", "tagger",
    "morphologizer", "attribute_ruler", "lemmatizer", "entity_ruler", "span_ruler",
    "sentencizer", "kg_entity_mapper", "kg_pattern_relation_extractor"})


def _needs_torch(nlp: Language) -> bool:
    """Whether a component of ``nlp`` may use torch (any component not known to be
    torch-free, or a thinc model that wraps a foreign framework)."""
    for name, component in nlp.components:
        if nlp.get_pipe_meta(name).factory not in _TORCH_FREE_FACTORIES:
            return True
        walk = getattr(getattr(component, "model", None), "walk", None)
        if walk is not None and any(node.shims for node in walk()):
            return True
    return False


class _Worker:
    """One Ray actor: the pipeline, deserialised once, run over chunks of documents.

    With ``torch_free`` (see :func:`_needs_torch`) the pipeline is unpickled while ``import
    torch`` is blocked: thinc imports torch whenever it is installed, which is about half of
    a worker's start (≈ 1 CPU-s) for a pipeline that never calls it. Only this actor's own
    process is affected (Ray does not reuse an actor's process).
    """

    def __init__(self, shipped: bytes, torch_free: bool = False) -> None:
        # unpickled here, not by Ray: Ray maps numpy arrays read-only from its object store,
        # and spaCy's models write into theirs
        if torch_free and "thinc" not in sys.modules and "torch" not in sys.modules:
            sys.modules["torch"] = None  # type: ignore[assignment] - import torch → ImportError
            try:
                self.nlp, self.converter = pickle.loads(shipped)
                return
            except ImportError:  # a module of the pipeline imports torch after all
                pass
            finally:
                del sys.modules["torch"]
        self.nlp, self.converter = pickle.loads(shipped)

    def process(self, docs: list[Document], batch_size: int) -> list[DocResult]:
        runner = ExtractionRunner(self.nlp, self.converter, batch_size=batch_size,
                                  progress=False)
        return list(runner.run(docs))


class RayExtractionRunner(ExtractionRunner):
    """An :class:`ExtractionRunner` whose pipeline runs in Ray actors (see module docstring).

    Args:
        nlp: the spaCy pipeline (shipped to the workers once).
        converter: doc → triples (default :meth:`DocConverter.for_pipeline`).
        address: the Ray cluster (see :func:`connect`); ``None`` starts Ray on this machine.
        workers: actors to start, one CPU each (default: every CPU of the cluster).
        batch_size: documents per chunk sent to a worker (and per ``nlp.pipe`` batch there).
        in_flight: chunks queued per worker beyond the one it is running.
        keep_workers: keep the worker actors (and the Ray connection) for the next run with
            the same pipeline (see the module docstring); ``False``: end them after this run.
        checkpoint: JSON Lines file recording processed documents (written by the driver).
        progress: show a tqdm progress bar (``None``: only on a terminal).
        resume: skip the documents the checkpoint names (see :class:`ExtractionRunner`).
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
        keep_workers: bool = True,
        checkpoint: str | Path | None = None,
        progress: bool | None = None,
        resume: bool = True,
    ) -> None:
        super().__init__(nlp, converter, batch_size=batch_size, checkpoint=checkpoint,
                         progress=progress, resume=resume)
        if workers is not None and workers < 1:
            raise ConfigError(f"Ray workers must be at least 1, got {workers}")
        if in_flight < 0:
            raise ValueError(f"in_flight must be ≥ 0, got {in_flight}")
        require_ray()  # fail before any work when ray is missing
        self.address = address
        self.workers = workers
        self.in_flight = in_flight
        self.keep_workers = keep_workers
        #: Number of actors the last :meth:`run` used.
        self.used_workers = 0
        #: Whether the last :meth:`run` had to start actors (``False``: all were kept ones).
        self.started_workers = False

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
        from tqdm.auto import tqdm

        ray = require_ray()
        done = self._already_done(known)
        bar = None
        chunks = _chunks(self._todo(documents, done, lambda: bar and bar.update(1)),
                         self.batch_size)
        ready = list(itertools.islice(chunks, 1))
        if not ready:  # nothing new or changed: no cluster needed
            return
        connect(self.address, num_cpus=self.workers)
        ckpt = None
        finished = False
        try:
            n = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
            ready += itertools.islice(chunks, n - 1)
            n = min(n, len(ready))  # a small corpus starts only the workers it can use
            actors, self.started_workers = _actors(ray, self.nlp, self.converter, n)
            self.used_workers = n
            ckpt = self._open_checkpoint()
            bar = tqdm(total=total, unit="doc", desc=f"extract (ray ×{n})",
                       disable=(not self.progress) if self.progress is not None else None)
            bar.update(self.stats.skipped)  # unchanged documents seen before the bar began
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
                    queue.append((chunk, actors[i].process.remote(
                        [d for d, _ in chunk], self.batch_size), i))
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
            finished = True
        finally:
            if bar is not None:
                bar.close()
            if ckpt is not None:
                ckpt.close()
            # a failed or abandoned run may leave chunks queued in the actors: end them
            if not (finished and self.keep_workers):
                release_workers()


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
