"""KnowledgeGraph: the front door of kg-engine.

A :class:`KnowledgeGraph` is one store (an SQLite file, an in-memory database, or a PostgreSQL
database) and everything you do with it. A tour, in the order a project usually goes:

1. **Open** a store. ``KnowledgeGraph()`` opens ``$KG_DB`` or ``sqlite:///kg.sqlite``;
   ``KnowledgeGraph("sqlite://")`` is in-memory; ``"postgresql+psycopg://user@host/db"``
   scales out. The schema is created on first use.
2. **Load** RDF files: ``kg.load("facts.ttl")`` takes any rdflib format (gzip too) in one
   transaction; N-Triples/N-Quads take a bulk path that loads ~10⁵ triples per second.
   A malformed file raises :class:`~kg_engine.errors.RDFSyntaxError` (``file:line: …``) and
   leaves the store as it was.
3. **Add and remove** statements from Python with rdflib terms: ``kg.add([(s, p, o)])``,
   ``kg.remove((s, None, None))``, ``kg.triples((None, p, None))``.
4. **Extract** triples from text (``kg.extract``), **query** with SPARQL 1.1
   (``kg.query`` / ``kg.update``), **reason** with rules (``kg.reason("owl-rl")``), **explain**
   any statement (``kg.explain``), and **train GNN** reasoners (``kg.train_gnn``) — each
   arrives with its sub-package and is documented on its method.
5. Use any rdflib tool on the same data through ``kg.graph``, an ``rdflib.Dataset`` backed by
   the store.

Example:
    >>> from rdflib import URIRef, Literal
    >>> kg = KnowledgeGraph("sqlite://")
    >>> EX = "https://example.org/"
    >>> kg.add([(URIRef(EX + "ada"), URIRef(EX + "name"), Literal("Ada Lovelace"))])
    1
    >>> len(kg)
    1
    >>> [str(o) for _, _, o, _ in kg.triples((URIRef(EX + "ada"), None, None))]
    ['Ada Lovelace']
"""

from __future__ import annotations

import functools
import itertools
import math
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from rdflib import BNode, Dataset, URIRef

from kg_engine.core.batch import TripleBatch
from kg_engine.core.files import SPACE_ERRNOS, write_failure
from kg_engine.core.iri import check_iri
from kg_engine.core.provenance import Provenance
from kg_engine.core.terms import DEFAULT_GRAPH, Quad, Term
from kg_engine.errors import (
    ConfigError,
    InputReadError,
    InputSyntaxError,
    KgEngineError,
)
from kg_engine.store import SQLStore, open_store
from kg_engine.store.reasoning import PREDICTED_PREFIXES

if TYPE_CHECKING:
    from kg_engine.store.check import CheckReport
    from kg_engine.store.loader import LoadResult

__all__ = ["KnowledgeGraph"]


class KnowledgeGraph:
    """A knowledge graph in one SQL store.

    Every public method raises :class:`~kg_engine.errors.KgEngineError` subclasses for bad
    input and for failures of the layers below (a corrupt or read-only database, a file that
    is not UTF-8, a truncated ``.gz``…), never the drivers' own exceptions.

    Args:
        url: database URL (``sqlite:///PATH``, ``sqlite://``, ``postgresql+psycopg://…``) or
            the :class:`~pathlib.Path` of a SQLite file; default ``$KG_DB``, else
            ``sqlite:///kg.sqlite``.
        reasoning: a rule set (``"rdfs"``, ``"owl-rl"``…) whose inferences answer queries
            and are kept current on every write (see :meth:`reason`); materialised now
            unless the store already has this profile.
        readonly: open without writing anything (read-only SQLite file; a missing store is
            an error).
        create: create the store if the database does not exist yet.

    Attributes:
        store: the underlying :class:`~kg_engine.store.SQLStore`.
    """

    def __init__(self, url: str | os.PathLike[str] | None = None, *,
                 reasoning: str | None = None,
                 readonly: bool = False, create: bool = True) -> None:
        self._url = url
        self.store: SQLStore = open_store(url, readonly=readonly, create=create)
        self._dataset: Dataset | None = None
        if reasoning is not None and self.reasoning != reasoning:
            self.reason(reasoning)

    @classmethod
    def open(cls, url: str | None = None, *, readonly: bool = False,
             create: bool = True) -> KnowledgeGraph:
        """Open the knowledge graph at ``url`` (created if needed, unless ``readonly``)."""
        return cls(url, readonly=readonly, create=create)

    @property
    def url(self) -> str:
        """The database URL."""
        return self.store.url

    # -- data in and out -----------------------------------------------------------------
    def load(
        self,
        paths: str | Path | Iterable[str | Path],
        *,
        format: str | None = None,
        graph: URIRef | BNode | str | None = None,
        progress: bool | None = None,
        allow_contexts: Iterable[str] = (),
    ) -> LoadResult:
        """Bulk-load RDF files in one transaction.

        Args:
            paths: file(s) in any rdflib format; ``.gz`` is decompressed on the fly.
            format: rdflib format name for all files (default: from the extension).
            graph: IRI of the graph receiving the triples (default: the default graph).
            progress: progress bar (``None``: on a terminal, for loads over 2 s).
            allow_contexts: JSON-LD ``@context`` addresses that may be fetched; by default
                a document naming a remote or local context is refused (no network access
                or file read beyond ``paths`` during a load).

        Returns:
            A :class:`~kg_engine.store.LoadResult` (statements, new statements, seconds).

        Raises:
            RDFSyntaxError: malformed input (``file:line: what was expected``); nothing loaded.
            InputNotFoundError: a file does not exist; nothing loaded.
        """
        self._flush()
        return self.store.load(paths, format=format, graph=_graph_term(graph), progress=progress,
                               allow_contexts=allow_contexts)

    def add(
        self,
        statements: Iterable[tuple],
        *,
        graph: URIRef | BNode | str | None = None,
        provenance: Provenance | None = None,
    ) -> int:
        """Add triples (into ``graph``) or quads, optionally all with one provenance record.

        Returns:
            The number of statements that were new.
        """
        self._flush()
        from kg_engine.store.writes import api_record

        batch = TripleBatch.of(statements, _graph_term(graph) or DEFAULT_GRAPH, provenance)
        with self.store.recording(api_record("KnowledgeGraph.add", self.store.last_load_id())):
            return self.store.add_batch(batch)

    def add_batch(self, batch: TripleBatch) -> int:
        """Add a :class:`~kg_engine.core.TripleBatch` (with its provenance) atomically."""
        self._flush()
        return self.store.add_batch(batch)

    def remove(
        self,
        pattern: tuple[Term | None, Term | None, Term | None] = (None, None, None),
        *,
        graph: URIRef | BNode | str | None = None,
    ) -> int:
        """Remove statements matching ``pattern`` (``None`` = any) from ``graph``
        (default: every graph); returns how many were removed."""
        self._flush()
        return self.store.remove(pattern, _graph_term(graph))

    def triples(
        self,
        pattern: tuple[Term | None, Term | None, Term | None] = (None, None, None),
        *,
        graph: URIRef | BNode | str | None = None,
        include_inferred: bool = True,
        include_predicted: bool = False,
    ) -> Iterator[Quad]:
        """Quads ``(s, p, o, g)`` matching ``pattern`` in ``graph`` (default: every graph).

        With a reasoning profile, the default graph (``graph=DEFAULT_GRAPH``) answers with
        asserted ∪ inferred statements (inferred ones report their inferred graph as ``g``);
        ``include_inferred=False`` leaves the inferred graph out. GNN prediction and analytics
        graphs are left out of ``graph=None`` unless ``include_predicted=True``.
        """
        self._flush()
        g = _graph_term(graph)
        merge, _ = self.store.answer_graphs(include_inferred=include_inferred,
                                            include_predicted=include_predicted)
        if g is None:
            hidden = set(self.store.graphs()) - set(merge)
            hidden = {h for h in hidden if str(h).startswith(PREDICTED_PREFIXES)}
            if not include_inferred and self.store.reasoning is not None:
                hidden.add(URIRef(self.store.reasoning.graph))
            return (q for q in self.store.triples(pattern, None) if q[3] not in hidden)
        if g == DEFAULT_GRAPH and merge:
            return itertools.chain(self.store.triples(pattern, g),
                                   *(self.store.triples(pattern, m) for m in merge))
        return self.store.triples(pattern, g)

    def __len__(self) -> int:
        self._flush()
        return len(self.store)

    def stats(self) -> dict[str, Any]:
        """Statement, term and graph counts, the top predicates, and the size on disk."""
        self._flush()
        db = self.store.db
        top = db.fetchall("SELECT p, triples FROM kg_stats ORDER BY triples DESC LIMIT 10")
        names = self.store.decode(p for p, _ in top)
        return {
            "url": self.url,
            "statements": len(self.store),
            "terms": int(db.scalar("SELECT count(*) FROM kg_terms")),
            "graphs": len(self.store.graphs()),
            "default_graph_statements": self.store.count(DEFAULT_GRAPH),
            "top_predicates": [(str(names[p]), n) for p, n in top],
            "bytes": self.store.file_size(),
            "reasoning": self.reasoning,
        }

    @property
    def graph(self) -> Dataset:
        """An ``rdflib.Dataset`` over the same store (default graph ≠ union of graphs)."""
        if self._dataset is None:
            from kg_engine.sparql.rdflib_plugin import KgDataset, KgSparqlStore

            dataset = KgDataset(store=KgSparqlStore(store=self.store))
            if self.store.dialect == "sqlite":
                # rdflib binds its default prefixes in the store when the namespace manager
                # is first used: now, not inside a query's read snapshot, where the write
                # failed "database is locked" once another connection had committed
                # (PostgreSQL's reads write them on the main connection, as a transaction)
                dataset.namespace_manager  # noqa: B018
            self._dataset = dataset
        return self._dataset

    # -- SPARQL ----------------------------------------------------------------------------
    def query(
        self,
        text: str,
        *,
        init_bindings: dict[str, Any] | None = None,
        timeout: float | None = None,
        union_default_graph: bool = False,
        include_inferred: bool = True,
        include_predicted: bool = False,
    ) -> Any:
        """Run a SPARQL 1.1 query; returns an rdflib-compatible result.

        The query is compiled to SQL where possible (plan cache keyed by the text), the
        default graph is the store's default graph (``union_default_graph=True`` for the
        union of every graph) and ``FROM``/``FROM NAMED`` select graphs of the store.
        With a reasoning profile (:meth:`reason`) the default graph holds asserted ∪
        inferred statements, each once; ``GRAPH`` and ``FROM`` keep their exact meaning.
        The prefixes bound in the store (``kg.graph.bind("ex", …)``, those of the Turtle
        files loaded, rdflib's defaults) need no ``PREFIX`` line, as with rdflib's
        ``Graph.query``; the query's own ``PREFIX`` lines win.

        Args:
            text: the query (SELECT, ASK, CONSTRUCT or DESCRIBE).
            init_bindings: pre-bound variables, e.g. ``{"s": URIRef(...)}`` (prepared query).
            timeout: seconds; the SQL is cancelled and ``QueryTimeoutError`` raised after it.
            union_default_graph: treat the merge of all graphs as the default graph.
            include_inferred: ``False``: asserted statements only, even with a profile.
            include_predicted: merge the GNN prediction and analytics graphs into the
                default graph too.

        Returns:
            ``rdflib.query.Result``: iterate rows (``row.var``), or ``.askAnswer`` /
            ``.graph``; ``.serialize(format="json")`` etc.; ``.to_pandas()`` /
            ``.to_arrow()`` (pandas / pyarrow optional) and a rich table in Jupyter.

        Raises:
            QuerySyntaxError: malformed query (line and column).
            QueryTimeoutError: past ``timeout``.

        Example:
            >>> kg = KnowledgeGraph("sqlite://")
            >>> kg.update('INSERT DATA { <urn:ada> <urn:name> "Ada" }')
            >>> [str(r.n) for r in kg.query("SELECT ?n WHERE { ?s <urn:name> ?n }")]
            ['Ada']
        """
        from kg_engine.sparql import default_engine
        from kg_engine.sparql.results import notebook_result

        check_timeout(timeout)
        dataset = self.graph
        return notebook_result(default_engine().query(
            dataset, text, init_bindings=init_bindings, init_ns=dataset.prefixes(),
            timeout=timeout,
            union_default_graph=union_default_graph, include_inferred=include_inferred,
            include_predicted=include_predicted,
        ))

    def update(self, text: str, *, init_bindings: dict[str, Any] | None = None,
               timeout: float | None = None) -> None:
        """Run a SPARQL 1.1 Update request atomically (all operations or none).

        ``LOAD`` reads local files only (``file:`` IRIs or paths). The prefixes bound in the
        store need no ``PREFIX`` line (as for :meth:`query`).

        Args:
            text: the request.
            init_bindings: pre-bound variables of the WHERE clauses.
            timeout: seconds; past it the request is cancelled and rolled back.

        Raises:
            QuerySyntaxError: malformed request (nothing changed).
            StoreError: an operation failed without ``SILENT`` (nothing changed).
            QueryTimeoutError: past ``timeout`` (nothing changed).
            ConfigError: ``timeout`` is not a positive number of seconds.
        """
        from kg_engine.sparql import default_engine

        check_timeout(timeout)
        dataset = self.graph
        default_engine().update(dataset, text, init_bindings=init_bindings,
                                init_ns=dataset.prefixes(), timeout=timeout)

    def _flush(self) -> None:
        """Write statements buffered by ``self.graph`` before using the store directly."""
        if self._dataset is not None:
            self._dataset.store.flush()

    # -- extraction ----------------------------------------------------------------------
    def extract(
        self,
        texts_or_paths: Any,
        pipeline: str | Path = "default",
        *,
        n_process: int = 1,
        batch_size: int | None = None,
        text_field: str = "text",
        id_field: str = "id",
        split: str = "none",
        overrides: dict[str, Any] | None = None,
        link_to_graph: bool = False,
        checkpoint: str | Path | None = None,
        progress: bool | None = None,
        total: int | None = None,
        executor: str = "local",
        ray_address: str | None = None,
        prune: bool = False,
    ) -> Any:
        """Extract entities and relations from text into the graph, with provenance.

        Every triple records its document id, sentence, character offsets, the extractor and
        its version, and a confidence where the model gives one (see :meth:`explain`).
        Re-running over unchanged documents changes nothing; a changed document's triples
        are replaced, and those of a document its file no longer holds (a file emptied, a
        paragraph gone) removed. Files of a folder that are not read (binary, not valid
        UTF-8, hidden, links to folders…) are listed in the result's ``skipped_files`` with
        the reason; see :mod:`kg_engine.extraction.corpus` for what is read and how.

        Args:
            texts_or_paths: a text, a file/folder path (``.txt``, ``.jsonl``, ``.csv``), a
                :class:`~kg_engine.extraction.corpus.Document`, or an iterable of these.
            pipeline: config name (``"default"`` = ``pipelines/default.cfg``), ``.cfg`` path
                or spaCy pipeline name/folder.
            n_process: worker processes for ``nlp.pipe``.
            batch_size: documents per batch (default: the pipeline's).
            text_field: JSONL field / CSV column holding the text.
            id_field: JSONL field / CSV column holding the document id.
            split: ``"paragraphs"`` makes one document per paragraph of a text file.
            overrides: dotted pipeline config overrides (``{"rdf.threshold": 0.7}``).
            link_to_graph: link mentions to entities already in the graph by their labels.
            checkpoint: optional checkpoint file (JSON Lines) of processed documents.
            progress: progress bar (``None``: on a terminal).
            total: number of documents, for the progress bar.
            executor: ``"local"``, or ``"ray"`` to run the pipeline on Ray workers (this
                process still writes, in corpus order; identical result; ``n_process`` > 1
                caps the workers; the workers are kept for the next call with the same
                pipeline: ``distributed.release_workers()`` frees them). See
                :mod:`kg_engine.extraction.distributed`.
            ray_address: Ray cluster for ``executor="ray"``: ``None`` starts Ray on this
                machine, ``"auto"`` joins the running one, ``"HOST:PORT"`` a given one.
            prune: remove what was extracted from files since deleted from the folders
                given (without it they are kept, and counted in the result's ``missing``).

        Returns:
            An :class:`~kg_engine.extraction.ingest.ExtractResult` (documents, skipped,
            triples, added, deleted, missing, skipped_files, seconds…).

        Raises:
            ModelError: the pipeline's models cannot be loaded.
            ConfigError: an invalid pipeline config.
            InputSyntaxError: a malformed corpus file (file and line named).

        Example:
            >>> kg = KnowledgeGraph("sqlite://")  # doctest: +SKIP
            >>> kg.extract(["Ada Lovelace was born in London."]).documents  # doctest: +SKIP
            1
        """
        from kg_engine.extraction.ingest import as_documents, extract_into, graph_labels
        from kg_engine.extraction.pipeline import load_extraction_pipeline

        self._flush()
        known = graph_labels(self.store) if link_to_graph else None
        key = (str(pipeline), repr(sorted((overrides or {}).items())), link_to_graph)
        cache = self.__dict__.setdefault("_extraction_pipelines", {})
        if key not in cache or link_to_graph:
            cache[key] = load_extraction_pipeline(pipeline, overrides, known_labels=known)
        from kg_engine.extraction.corpus import CorpusReport

        report = CorpusReport()
        docs = as_documents(texts_or_paths, text_field=text_field, id_field=id_field,
                            split=split, report=report)
        return extract_into(self.store, docs, cache[key], n_process=n_process,
                            batch_size=batch_size,
                            checkpoint=str(checkpoint) if checkpoint else None,
                            progress=progress, total=total, executor=executor,
                            ray_address=ray_address, report=report, prune=prune)

    # -- GNN -------------------------------------------------------------------------------
    def train_gnn(
        self,
        config_or_name: str | Path = "complex",
        *,
        output_dir: str | Path | None = None,
        graph: URIRef | BNode | str | None = None,
        dataset: str | Path | None = None,
        resume: bool = True,
        progress: bool | None = None,
        **overrides: Any,
    ) -> Any:
        """Train a GNN link predictor on this graph's triples (or on a benchmark dataset).

        The store's asserted IRI/blank-node triples (literal objects, the rule engine's
        inferred graphs and earlier predictions skipped) become the training data, split
        randomly into train/valid/test (``data.valid_fraction`` / ``data.test_fraction``);
        inferred triples are filtered by the evaluation, never trained or tested on. Checkpoints, config and metrics go to ``output_dir``; a
        run stopped by ``max_minutes`` resumes exactly when called again.

        Args:
            config_or_name: a ready-made config name (``"complex"``, ``"rgcn"``,
                ``"compgcn"``, ``"nbfnet"``, ``"distmult"``) or a ``.cfg`` path.
            output_dir: checkpoint folder (default ``runs/gnn-<model>``).
            graph: train on one named graph only (default: every graph).
            dataset: train on a split-format dataset instead of the store.
            resume: continue from a checkpoint in ``output_dir``; a checkpoint of other
                data (the graph changed since) is refused with a ``ModelError``: pass
                ``resume=False`` (or another ``output_dir``) to train on the graph as it is now.
            progress: tqdm progress bar (``None``: only on a terminal).
            **overrides: config overrides, ``epochs=5`` or ``training__lr=0.01`` /
                ``model__dim=64`` (``section__key``).

        Returns:
            A :class:`~kg_engine.gnn.training.TrainResult` (``.model``, ``.metrics``).

        Raises:
            ConfigError: bad config or override.
            ModelError: ``resume`` with a checkpoint of other data, or a corrupt checkpoint.
            MissingDependencyError: torch / torch-geometric not installed.
        """
        try:
            from kg_engine.gnn.config import load_config
            from kg_engine.gnn.data import KGData
            from kg_engine.gnn.training import train
        except ImportError as exc:
            from kg_engine.errors import MissingDependencyError

            raise MissingDependencyError(exc.name or "torch", "gnn") from exc
        self._flush()
        extra = {"data.graph": str(graph) if graph is not None else None}
        if dataset is not None:
            extra.update({"data.dataset": str(dataset), "data.db": None})
        else:
            extra.update({"data.dataset": None, "data.db": self.url})
        cfg = load_config(config_or_name, {**extra, **overrides})
        data = None
        if dataset is None:
            data = KGData.from_store(
                self.store, graph, include_literals=cfg.data.include_literals, name=self.url
            ).split(cfg.data.valid_fraction, cfg.data.test_fraction, cfg.data.split_seed)
        out = Path(output_dir) if output_dir is not None else Path("runs") / f"gnn-{cfg.model.name}"
        return train(cfg, output_dir=out, data=data, resume=resume, progress=progress)

    def predict(
        self,
        checkpoint: str | Path,
        *,
        top_k: int = 10,
        graph: URIRef | BNode | str | None = None,
        queries: Iterable[tuple] | None = None,
        directions: str = "tail",
        device: str = "auto",
        range_filter: bool = True,
    ) -> int:
        """Write a trained GNN's top-k predicted triples into ``urn:kg-engine:predicted:<model>``.

        Every triple gets ``predicted`` provenance (checkpoint, model, confidence, raw score and
        rank); :meth:`explain` of such a triple shows the model's highest-contributing paths.
        Re-running replaces that model's prediction graph.

        Args:
            checkpoint: folder written by :meth:`train_gnn` / ``kg gnn train``.
            top_k: new answers per query (known triples are never predicted).
            graph: predict over one graph (default: every graph except prediction graphs).
            queries: ``(head, relation)`` pairs; default every ``(h, r)`` of the graph.
            directions: ``"tail"`` (``(h, r, ?)``) or ``"both"`` (also ``(?, r, t)``).
            device: ``"auto"``, ``"cpu"``, ``"cuda"``.
            range_filter: only answers whose ``rdf:type`` was seen for the relation.

        Returns:
            The number of predicted triples written.

        Raises:
            ModelError: ``checkpoint`` is not a readable checkpoint folder.
            ValueError: unknown query terms or bad arguments.
            MissingDependencyError: torch / torch-geometric not installed.
        """
        try:
            from kg_engine.gnn.predict import predict_to_store
        except ImportError as exc:
            from kg_engine.errors import MissingDependencyError

            raise MissingDependencyError(exc.name or "torch", "gnn") from exc
        self._flush()
        return predict_to_store(
            checkpoint, self.store, top_k=top_k, graph=None if graph is None else str(graph),
            queries=list(queries) if queries is not None else None, directions=directions,
            device=device, range_filter=range_filter,
        )

    # -- rules -----------------------------------------------------------------------------
    def reason(
        self,
        rules: Any = "owl-rl",
        *,
        profile: bool = False,
        recompute: bool = False,
        graph: URIRef | str | None = None,
        live: bool = True,
    ) -> Any:
        """Materialise a rule set: inferred triples go to a graph of their own.

        With ``live`` (the default) the rule set becomes the store's *reasoning profile*,
        recorded in the store: queries and :meth:`triples` of the default graph then see
        asserted ∪ inferred statements, and every write (load, add, remove, update, extract)
        keeps the inferred graph current in its own transaction (incremental insertion and
        DRed deletion; a logged recompute where those do not apply). :meth:`reason_off`
        ends it.

        Args:
            rules: ``"rdfs"``, ``"owl-rl"``, a rules file (``.rules`` Jena, ``.n3`` N3,
                ``.rq`` SPARQL CONSTRUCT; see :func:`kg_engine.rules.syntax.load_rules`), rule
                text, or a :class:`~kg_engine.rules.ir.RuleSet`; or a list of those run as
                one program: a built-in rule set with your rules (``["owl-rl", "my.rules"]``:
                each rule reads what the others derive; the profile records both parts), or
                several rules files.
            profile: keep the per-rule profile (time, derived triples, statements per rule)
                in the result.
            recompute: clear the inferred graph first instead of continuing from it.
            graph: the inferred graph (default ``urn:kg-engine:inferred:<rule set name>``).
            live: make the rule set the store's reasoning profile (see above).

        Returns:
            A :class:`~kg_engine.rules.engine.ReasoningResult`: ``derived``, ``rounds``,
            ``seconds``, ``violations`` of consistency rules, ``profile``.

        Raises:
            RuleSyntaxError: malformed, unsafe or unstratifiable rules (file, line, column);
                the store is left as it was.
            ConfigError: an unknown built-in rule set name, or two built-in ones in a list.
            InputNotFoundError: a rules file that does not exist.

        Example:
            >>> kg = KnowledgeGraph("sqlite://")
            >>> kg.update("INSERT DATA { <urn:knows> <http://www.w3.org/2000/01/rdf-schema#domain> <urn:Person> . "
            ...           "<urn:ann> <urn:worksWith> <urn:bob> }")
            >>> kg.reason(["owl-rl", "[mine: (?x <urn:worksWith> ?y) -> (?x <urn:knows> ?y)]"]).derived
            2
            >>> kg.reasoning, kg.query("ASK { <urn:ann> a <urn:Person> }").askAnswer
            ('owl-rl+program', True)
        """
        from kg_engine.rules.engine import reason
        from kg_engine.rules.live import set_profile
        from kg_engine.rules.syntax import resolve_rules

        self._flush()
        program = resolve_rules(rules)
        if live:
            result = set_profile(self.store, program, graph=_graph_term(graph),  # type: ignore[arg-type]
                                 recompute=recompute)
        else:
            result = reason(self.store, program, graph=_graph_term(graph), recompute=recompute)
        if not profile:
            result.profile = []
        return result

    def vacuum(self, *, compact: bool = True) -> dict[str, int | bool | None]:
        """Free the terms no statement uses any more (after removals) and compact the file.

        Other processes drop their cached term ids and compiled queries before their next
        read or write (see :mod:`kg_engine.store.dictionary`). Returns ``{"terms_removed",
        "terms", "bytes_before", "bytes_after", "compacted"}`` (``compacted`` ``False``: another
        writer took the store after the terms were freed); see
        :meth:`kg_engine.store.SQLStore.vacuum`.
        """
        self._flush()
        return self.store.vacuum(compact=compact)

    def check(self, *, quick: bool = False) -> CheckReport:
        """Check that the store is sound, writing nothing: SQLite's ``integrity_check``
        (``quick``: ``quick_check``) and kg-engine's own consistency checks; see
        :mod:`kg_engine.store.check`.

        Returns:
            A :class:`~kg_engine.store.check.CheckReport`: ``.sound``, and ``.findings``,
            each with what is wrong and the fix.

        Example:
            >>> KnowledgeGraph("sqlite://").check().sound
            True
        """
        from kg_engine.store.check import check_store

        return check_store(self.store.db, quick=quick)

    @property
    def reasoning(self) -> str | None:
        """The rule set of the store's reasoning profile (``"program"`` for user rules,
        ``"owl-rl+program"`` for OWL 2 RL with user rules), or ``None`` when answers hold
        asserted statements only."""
        profile = self.store.reasoning
        return None if profile is None else profile.rules

    def reason_off(self) -> None:
        """End the reasoning profile: answers hold asserted statements only and writes no
        longer maintain the inferred graph (it stays in the store as a named graph)."""
        self._flush()
        self.store.set_reasoning(None)

    def explain(self, triple: tuple | str, *, all_derivations: bool = False) -> Any:
        """Why is ``triple`` in the graph?

        Inferred triples get their derivation tree (rule, premises, down to asserted
        triples), rebuilt on demand; asserted ones their source (file, extracted sentence,
        model).

        Args:
            triple: ``(s, p, o)`` of rdflib terms, or text such as
                ``'<http://ex.org/a> rdf:type <http://ex.org/C>'`` (prefixed names: ``rdf:``
                ``rdfs:`` ``owl:`` ``xsd:`` and the prefixes of the files loaded).
            all_derivations: one tree per rule instance deriving the triple.

        Returns:
            A :class:`~kg_engine.rules.explain.Explanation` (``str()`` is a readable tree).

        Raises:
            NotInStoreError: the triple is not in the graph.
            RDFSyntaxError: ``triple`` text is not one triple.
        """
        from kg_engine.rules.explain import explain, parse_triple

        self._flush()
        if isinstance(triple, str):
            # the prefixes the store knows (those `kg query` shows in its tables) work too
            triple = parse_triple(triple, {p: str(ns) for p, ns in self.graph.store.namespaces()
                                           if p not in ("rdf", "rdfs", "owl", "xsd")})
        result = explain(self.store, tuple(triple[:3]), all_derivations=all_derivations)
        if result.kind == "asserted" and any(s.kind == "predicted" for s in result.tree.sources):
            return self._explain_prediction(tuple(triple[:3]), result)
        return result

    def _explain_prediction(self, triple: tuple, recorded: Any) -> Any:
        """A GNN prediction is explained by the model that made it (its most important paths);
        without the ``[gnn]`` extra, the recorded provenance (model, score) is the answer."""
        try:
            from kg_engine.gnn.explain import explain_prediction
        except ImportError:  # torch / torch_geometric not installed
            return recorded
        return explain_prediction(self, triple, recorded)

    # -- analytics and export (kg_engine.analytics, kg_engine.export) ------------------------
    def to_networkx(self, *, graph: Any = None, query: str | None = None,
                    predicates: Iterable[URIRef | str] | None = None,
                    include_inferred: bool | None = None, include_predicted: bool = False,
                    literals: bool = False, type_edges: bool = False,
                    directed_multi: bool = True) -> Any:
        """A ``networkx.MultiDiGraph`` (``DiGraph`` with ``directed_multi=False``) of the graph.

        Nodes are terms with ``label`` and ``types``; edges carry ``predicate``, ``origin``
        (asserted/extracted/inferred/predicted) and ``confidence``. See
        :func:`kg_engine.analytics.view.to_networkx` for every argument;
        ``include_inferred`` defaults to whether the store has a reasoning profile.

        Example:
            >>> kg = KnowledgeGraph("sqlite://")
            >>> kg.update("INSERT DATA { <urn:a> <urn:knows> <urn:b> }")
            >>> kg.to_networkx().number_of_edges()
            1
        """
        from kg_engine.analytics.view import to_networkx

        self._flush()
        if include_inferred is None:
            include_inferred = self.store.reasoning is not None
        return to_networkx(self.store, graph=graph, query=query, predicates=predicates,
                           include_inferred=include_inferred, include_predicted=include_predicted,
                           literals=literals, type_edges=type_edges,
                           directed_multi=directed_multi, kg=self)

    def analyze(self, algorithm: str, *, backend: str = "networkx", write: bool = True,
                **kwargs: Any) -> Any:
        """Run a graph algorithm (``pagerank``, ``degree``, ``betweenness``, ``components``,
        ``strong``, ``communities``) and write one value per node into
        ``urn:kg-engine:analytics:<name>``; see :func:`kg_engine.analytics.analyze`. The view
        includes inferred statements when the store has a reasoning profile (unless
        ``include_inferred=False``).

        Returns:
            An :class:`~kg_engine.analytics.AnalyticsResult` (``.top(10)``, ``.values``).
        """
        from kg_engine.analytics import analyze

        self._flush()
        kwargs.setdefault("include_inferred", self.store.reasoning is not None)
        return analyze(self.store, algorithm, backend=backend, write=write, kg=self, **kwargs)

    def shortest_path(self, source: Any, target: Any, **kwargs: Any) -> Any:
        """The statements along a shortest path between two entities
        (:func:`kg_engine.analytics.shortest_path`)."""
        from kg_engine.analytics import shortest_path

        self._flush()
        kwargs.setdefault("include_inferred", self.store.reasoning is not None)
        return shortest_path(self.store, source, target, **kwargs)

    def neighbourhood(self, entity: Any, k: int = 1, **kwargs: Any) -> Any:
        """The ``k``-hop neighbourhood of an entity (:func:`kg_engine.analytics.neighbourhood`)."""
        from kg_engine.analytics import neighbourhood

        self._flush()
        kwargs.setdefault("include_inferred", self.store.reasoning is not None)
        return neighbourhood(self.store, entity, k, **kwargs)

    def export(self, out: str | Path, format: str | None = None, *, graph: Any = None,
               include_inferred: bool | None = None, query: str | None = None,
               entity: Any = None, hops: int = 1, progress: bool | None = None,
               **kwargs: Any) -> Any:
        """Write the graph to ``out``: N-Triples, N-Quads, Turtle, TriG, JSON-LD, RDF/XML,
        GraphML, GEXF, Neo4j CSV, PyG or a self-contained HTML view (format from the
        extension; ``.gz`` compresses). See :func:`kg_engine.export.export`.
        ``include_inferred`` defaults to whether the store has a reasoning profile.

        Returns:
            An :class:`~kg_engine.export.ExportResult` (``statements``, ``seconds``, ``bytes``).
        """
        from kg_engine.export import export

        self._flush()
        if include_inferred is None:
            include_inferred = self.store.reasoning is not None
        return export(self.store, out, format, graph=graph, include_inferred=include_inferred,
                      query=query, entity=entity, hops=hops, kg=self, progress=progress,
                      **kwargs)

    # -- lifecycle -----------------------------------------------------------------------
    def close(self) -> None:
        """Write pending statements and close the store."""
        self._flush()
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"KnowledgeGraph({self.url!r})"


def _graph_term(graph: URIRef | BNode | str | None) -> URIRef | BNode | None:
    if graph is None or isinstance(graph, BNode):
        return graph
    return URIRef(check_iri(str(graph), "graph"))


def check_timeout(timeout: float | None, what: str = "timeout") -> None:
    """Raise :class:`~kg_engine.errors.ConfigError` unless ``timeout`` is ``None`` or a
    positive finite number of seconds."""
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or \
            not math.isfinite(timeout) or timeout <= 0:
        raise ConfigError(f"{what} must be a positive number of seconds, got {timeout!r}")


# -- the error boundary: failures of lower layers become KgEngineError ----------------------
def lower_layer_error(exc: BaseException, url: str | None = None) -> KgEngineError | None:
    """The :class:`~kg_engine.errors.KgEngineError` for ``exc``, an exception of a layer below
    (database drivers, file system, codecs, gzip, configuration parsers), or ``None`` when
    ``exc`` is not a user's or an environment's fault (then it is a bug to report).

    Args:
        exc: the exception.
        url: the store's URL, named in database errors.

    Example:
        >>> err = lower_layer_error(b"\\xff".decode("utf-8", "strict") if False else
        ...                         UnicodeDecodeError("utf-8", b"ab\\xff", 2, 3, "invalid start byte"))
        >>> print(err)
        input is not UTF-8 text (invalid start byte at byte 2): convert it to UTF-8
    """
    if isinstance(exc, KgEngineError):
        return exc
    from kg_engine.store.database import database_error

    found = database_error(exc, url or "the store")
    if found is not None:
        return found
    if isinstance(exc, UnicodeDecodeError):
        return InputSyntaxError(f"input is not UTF-8 text ({exc.reason} at byte {exc.start}): "
                                "convert it to UTF-8")
    name = getattr(exc, "filename", None)
    where = f"{name}: " if name else ""
    if isinstance(exc, EOFError) or type(exc).__name__ == "BadGzipFile":
        return InputReadError(f"{where}compressed input is truncated or corrupt ({exc}): "
                              "download or compress the file again")
    if isinstance(exc, OSError) and exc.errno in SPACE_ERRNOS:
        return write_failure(exc, name or "a file", atomic=False)
    if isinstance(exc, IsADirectoryError):
        return InputReadError(f"{where}is a folder, expected a file: name a file inside it")
    if isinstance(exc, PermissionError):
        return InputReadError(f"{where}permission denied: check the file's permissions")
    if isinstance(exc, FileExistsError):
        return ConfigError(f"{where}already exists: choose a new path or remove it first")
    if isinstance(exc, OverflowError) and "SQLite INTEGER" in str(exc):
        return ConfigError(f"a number is too large for the store ({exc}): integers must be "
                           "below 2^63")
    if type(exc).__module__.split(".")[0] in ("confection", "catalogue"):
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return ConfigError(f"invalid pipeline configuration: {first}")
    return None


def _boundary(method: Callable) -> Callable:
    """Wrap a public method so that failures of the layers below raise KgEngineError."""

    @functools.wraps(method)
    def guarded(self: KnowledgeGraph, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except KgEngineError:
            raise
        except Exception as exc:
            store = self.__dict__.get("store")
            err = lower_layer_error(exc, store.url if store is not None else
                                    self.__dict__.get("_url"))
            if err is None:
                raise
            raise err from exc

    return guarded


for _name, _member in list(vars(KnowledgeGraph).items()):
    if callable(_member) and (not _name.startswith("_") or _name in ("__init__", "__len__")):
        setattr(KnowledgeGraph, _name, _boundary(_member))
