"""Export: the graph out of the store, in every format people use.

================  ==========================  ============================================
format            extension                   how
================  ==========================  ============================================
``nt``            ``.nt``                     streamed from SQL (:mod:`.ntriples`), graphs merged
``nq``            ``.nq``                     streamed from SQL, graphs kept
``turtle``        ``.ttl``                    rdflib, the store's prefixes (:mod:`.rdf`), graphs merged
``trig``          ``.trig``                   rdflib, graphs kept
``json-ld``       ``.jsonld``                 rdflib, graphs kept
``xml``           ``.rdf`` / ``.owl``         rdflib RDF/XML, graphs merged
``graphml``       ``.graphml``                networkx (:mod:`.networks`)
``gexf``          ``.gexf``                   networkx, for Gephi
``csv``           a folder                    Neo4j ``neo4j-admin import`` files
``pyg``           ``.pt``                     PyG ``Data`` (:mod:`.pyg`)
``pyg-hetero``    ``.pt``                     PyG ``HeteroData``
``html``          ``.html``                   self-contained page (:mod:`.html`)
================  ==========================  ============================================

A ``.gz`` name is gzip-compressed (any file format). The output appears only when complete
(temporary file, then rename), and everything is read inside one read transaction, so a
store being written is exported as one consistent snapshot.

Graphs: by default the default graph and the named graphs of asserted statements;
``include_inferred`` adds the rule engine's graphs, ``graph`` names graphs (``"default"``,
IRIs) — see :func:`kg_engine.analytics.view.select`, whose view the property-graph formats
share. ``query`` (a CONSTRUCT / ``SELECT ?s ?p ?o``; CONSTRUCT or DESCRIBE for the RDF
formats) or ``entity`` + ``hops`` pick a subgraph.

Example:
    >>> import tempfile, pathlib
    >>> from rdflib import URIRef
    >>> from kg_engine.store import open_store
    >>> store = open_store("sqlite://")
    >>> _ = store.add([(URIRef("urn:a"), URIRef("urn:p"), URIRef("urn:b"))])
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "kg.nt.gz"
    >>> export(store, out).statements
    1
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from kg_engine.errors import ConfigError

__all__ = ["FORMATS", "ExportResult", "export", "guess_export_format"]

#: Format name -> file extensions (first = the usual one).
FORMATS: dict[str, tuple[str, ...]] = {
    "nt": (".nt",), "nq": (".nq",), "turtle": (".ttl",), "trig": (".trig",),
    "json-ld": (".jsonld", ".json"), "xml": (".rdf", ".owl", ".xml"),
    "graphml": (".graphml",), "gexf": (".gexf",), "csv": (), "pyg": (".pt",),
    "pyg-hetero": (), "html": (".html", ".htm"),
}
_ALIASES = {"ntriples": "nt", "n-triples": "nt", "nquads": "nq", "n-quads": "nq",
            "ttl": "turtle", "jsonld": "json-ld", "rdfxml": "xml", "rdf/xml": "xml",
            "neo4j": "csv"}
_RDF = ("nt", "nq", "turtle", "trig", "json-ld", "xml")
#: RDF formats without graph names: the graphs written are merged into one
_TRIPLE_FORMATS = ("nt", "turtle", "xml")


@dataclass
class ExportResult:
    """What :func:`export` wrote: ``path``, ``format``, ``statements`` (edges for the
    property-graph formats), ``seconds``, ``bytes`` on disk and ``graphs_merged``: how many
    graphs holding statements a triple format (``nt``, ``turtle``, ``xml``) wrote as one graph
    (their names are not in the file, a statement in several of them is written once; 0 when
    at most one graph was written)."""

    path: Path
    format: str
    statements: int
    seconds: float
    bytes: int
    graphs_merged: int = 0

    @property
    def rate(self) -> float:
        """Statements written per second."""
        return self.statements / self.seconds if self.seconds else 0.0


def guess_export_format(path: str | Path) -> str:
    """The format a file name implies (``.gz`` looked through).

    Raises:
        ConfigError: unknown extension (the message lists the formats).
    """
    name = str(path).lower().removesuffix(".gz")
    for fmt, exts in FORMATS.items():
        if any(name.endswith(e) for e in exts):
            return fmt
    raise ConfigError(f"cannot tell the export format from {Path(path).name!r}; pass a format "
                      f"(one of {', '.join(FORMATS)})")


def _format(fmt: str | None, out: Path) -> str:
    if fmt is None:
        return guess_export_format(out)
    fmt = _ALIASES.get(fmt.lower(), fmt.lower())
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return fmt


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.iterdir())
    return path.stat().st_size


def export(
    store: Any,
    out: str | Path,
    format: str | None = None,
    *,
    graph: Any = None,
    include_inferred: bool = False,
    include_predicted: bool = False,
    query: str | None = None,
    entity: Any = None,
    hops: int = 1,
    literals: bool = False,
    kg: Any = None,
    progress: bool | None = None,
) -> ExportResult:
    """Write the graph (or a subgraph) to ``out``; see the module docstring.

    Args:
        store: an open ``SQLStore``.
        out: output file (a folder for ``csv``).
        format: a name of :data:`FORMATS` (default: from the extension of ``out``).
        graph, include_inferred, include_predicted: the graphs exported.
        query: a CONSTRUCT (or, for property-graph formats, ``SELECT ?s ?p ?o``) subgraph.
        entity, hops: the ``hops``-neighbourhood of ``entity``.
        literals: literal objects as nodes (property-graph formats).
        kg: the ``KnowledgeGraph`` (needed with ``query``).
        progress: tqdm progress bar (``None``: on a terminal).

    Returns:
        An :class:`ExportResult`.

    Raises:
        ConfigError: unknown format / graph, or a query of the wrong form.
        MissingDependencyError: networkx / torch-geometric missing for that format.
    """
    out = Path(out)
    fmt = _format(format, out)
    started = time.perf_counter()
    db = store.db
    merged = 0
    with db.snapshot(), tqdm(desc=f"export {fmt}", unit=" statements", unit_scale=True,
                             disable=(not progress) if progress is not None else None,
                             delay=1.0, leave=False) as bar:
        if fmt in _RDF and (query is not None or entity is not None):
            n = _write_rdf_subgraph(store, out, fmt, query=query, entity=entity, hops=hops,
                                    graph=graph, include_inferred=include_inferred,
                                    include_predicted=include_predicted, kg=kg)
            bar.update(n)
        elif fmt in _RDF:
            from kg_engine.analytics.view import graph_ids

            gids, _ = graph_ids(store, graph, include_inferred, include_predicted)
            in_gids = ",".join(map(str, gids))
            bar.total = int(db.scalar(f"SELECT count(*) FROM kg_quads WHERE g IN ({in_gids})"))
            if fmt in _TRIPLE_FORMATS:
                held = int(db.scalar(
                    f"SELECT count(DISTINCT g) FROM kg_quads WHERE g IN ({in_gids})"))
                merged = held if held > 1 else 0
            n = _write_rdf(store, out, fmt, gids, bar.update)
        else:
            n = _write_view(store, out, fmt, graph=graph, include_inferred=include_inferred,
                            include_predicted=include_predicted, query=query, entity=entity,
                            hops=hops, literals=literals, kg=kg)
            bar.update(n)
    return ExportResult(out, fmt, n, time.perf_counter() - started, _size(out), merged)


def _write_rdf(store: Any, out: Path, fmt: str, gids: list[int], update: Any) -> int:
    from kg_engine.core.files import atomic_output

    if fmt in ("nt", "nq"):
        from kg_engine.export.ntriples import write_ntriples

        with atomic_output(out) as f:
            return write_ntriples(store.db, f, gids, quads=fmt == "nq", on_batch=update)
    from kg_engine.export.rdf import RDFLIB_FORMATS, serialize, to_rdflib

    quads = RDFLIB_FORMATS[fmt][1]
    data = to_rdflib(store, gids, quads=quads, on_batch=update)
    with atomic_output(out, binary=True) as f:
        serialize(data, f, fmt)
    return sum(1 for _ in data.quads()) if quads else len(data)


def _write_rdf_subgraph(store: Any, out: Path, fmt: str, *, query: str | None, entity: Any,
                        hops: int, kg: Any, **graphs: Any) -> int:
    """A CONSTRUCT/DESCRIBE result or an entity's neighbourhood as one RDF graph."""
    from rdflib import Graph, URIRef

    from kg_engine.core.files import atomic_output
    from kg_engine.export.rdf import serialize, store_prefixes

    data = Graph(bind_namespaces="core")
    if query is not None:
        if kg is None:
            raise ConfigError("exporting a query needs the KnowledgeGraph (kg=…)")
        result = kg.query(query)
        if result.type not in ("CONSTRUCT", "DESCRIBE"):
            raise ConfigError(f"an RDF export of a query needs CONSTRUCT or DESCRIBE, not "
                              f"{result.type}")
        for triple in result.graph:
            data.add(triple)
    else:
        from kg_engine.analytics.paths import neighbourhood

        centre = entity if hasattr(entity, "n3") else URIRef(str(entity))
        sub = neighbourhood(store, centre, hops, **graphs)
        for triple in sub.triples:
            data.add(triple)
        for triple in _descriptions(store, sub.view.nodes, **graphs):
            data.add(triple)  # an RDF neighbourhood keeps its entities' types and literals
    for prefix, ns in store_prefixes(store.db):
        data.bind(prefix, ns, override=True, replace=True)
    with atomic_output(out, binary=True) as f:
        if fmt in ("nt", "nq"):
            data.serialize(destination=f, format="nt", encoding="utf-8")
        else:
            serialize(data, f, "turtle" if fmt == "trig" else fmt)  # Turtle is TriG
    return len(data)


def _descriptions(store: Any, nodes: list[int], *, graph: Any, include_inferred: bool,
                  include_predicted: bool) -> Iterator[tuple]:
    """The ``rdf:type`` and literal-valued statements of ``nodes`` (ids) in the view's graphs:
    what the entity-to-entity edges of a neighbourhood leave out."""
    from rdflib import RDF

    from kg_engine.analytics.view import graph_ids
    from kg_engine.store.schema import LITERAL

    gids, _ = graph_ids(store, graph, include_inferred, include_predicted)
    type_id = store.term_ids([RDF.type]).get(RDF.type, -1)
    graphs = ",".join(str(int(g)) for g in gids)
    for i in range(0, len(nodes), 500):
        chunk = ",".join(str(int(n)) for n in nodes[i:i + 500])
        rows = store.db.fetchall(
            "SELECT DISTINCT q.s, q.p, q.o FROM kg_quads q JOIN kg_terms t ON t.id = q.o "
            f"WHERE q.s IN ({chunk}) AND q.g IN ({graphs}) "
            f"AND (t.kind = {int(LITERAL)} OR q.p = {int(type_id)})")
        terms = store.decode({int(x) for row in rows for x in row})
        for s, p, o in rows:
            yield terms[int(s)], terms[int(p)], terms[int(o)]


def _write_view(store: Any, out: Path, fmt: str, *, entity: Any, hops: int, **view_args: Any
                ) -> int:
    from kg_engine.analytics.paths import neighbourhood
    from kg_engine.analytics.view import select

    centre = None
    if entity is not None:
        from rdflib import URIRef

        centre = entity if hasattr(entity, "n3") else URIRef(str(entity))
        view = neighbourhood(store, centre, hops, graph=view_args["graph"],
                             include_inferred=view_args["include_inferred"],
                             include_predicted=view_args["include_predicted"]).view
    else:
        view = select(store, **view_args)
    if fmt == "graphml":
        from kg_engine.export.networks import write_graphml

        return write_graphml(store, view, out)
    if fmt == "gexf":
        from kg_engine.export.networks import write_gexf

        return write_gexf(store, view, out)
    if fmt == "csv":
        from kg_engine.core.files import atomic_directory
        from kg_engine.export.networks import write_neo4j_csv

        with atomic_directory(out) as folder:
            return write_neo4j_csv(store, view, folder)
    if fmt in ("pyg", "pyg-hetero"):
        from kg_engine.export.pyg import write_pyg

        return write_pyg(store, view, out, hetero=fmt == "pyg-hetero")
    from kg_engine.export.html import write_html

    title = "kg-engine graph"
    if centre is not None:
        centre_id = store.term_ids([centre]).get(centre)
        name = view.labels.get(centre_id) or centre.n3()
        title = f"{name} ({hops} hop{'s' if hops != 1 else ''})"
    return write_html(store, view, out, title=title, centre=centre)
