"""Graph views of the store: the statements an analysis looks at, in id space, then networkx.

:func:`select` reads the statements of a view straight from ``kg_quads`` as integer ids (one
SQL scan, deduplicated across graphs) into an :class:`IdView`; :func:`to_networkx` decodes the
distinct node and predicate ids once and builds a ``networkx.MultiDiGraph`` (or ``DiGraph``)
from it. No rdflib term is made per statement, only one per distinct term.

What a view contains:

* **graphs** — by default the default graph and every named graph holding asserted
  statements; ``include_inferred`` adds the rule engine's graphs, ``include_predicted`` the
  GNN's; graphs of earlier analyses (``urn:kg-engine:analytics:…``) only when named in
  ``graph``. ``graph="default"`` is the default graph alone; an IRI (or a list) names graphs.
* **edges** — statements between IRIs / blank nodes (``literals=True`` also makes literal
  objects nodes). ``rdf:type`` statements become the ``types`` attribute of their subject,
  not edges (``type_edges=True`` keeps them as edges too); ``predicates`` keeps only
  statements with those predicates.
* **node attributes** — ``label`` (an ``rdfs:label``, else ``skos:prefLabel``,
  ``schema:name``, ``foaf:name`` literal, then one of any predicate named ``name``, ``label``,
  ``title`` or ``prefLabel``, by IRI — English or untagged first, then the smallest text —
  else ``None``) and ``types`` (sorted list of the
  node's ``rdf:type`` IRIs).
* **edge attributes** — ``predicate`` (the edge key of a MultiDiGraph too), ``origin``
  (``asserted``, ``extracted``, ``inferred`` or ``predicted``) and ``confidence`` where the
  statement's provenance records in the view's graphs have one (the highest). A statement in
  several graphs is one edge; its origin is the first of asserted, extracted, inferred,
  predicted it has (a statement extracted into one graph and loaded into another is asserted).
* **projection** — ``query`` takes a SPARQL ``CONSTRUCT`` or a ``SELECT ?s ?p ?o`` instead
  of the graph selection; origins are looked up in the store for the statements it returns.

Example:
    >>> from rdflib import URIRef, RDF
    >>> from kg_engine.store import open_store
    >>> store = open_store("sqlite://")
    >>> ex = lambda n: URIRef("urn:ex:" + n)
    >>> _ = store.add([(ex("a"), ex("knows"), ex("b")), (ex("a"), RDF.type, ex("Person"))])
    >>> g = to_networkx(store)
    >>> sorted(g.nodes[ex("a")]["types"]), g.number_of_edges()
    ([rdflib.term.URIRef('urn:ex:Person')], 1)
    >>> g.edges[ex("a"), ex("b"), ex("knows")]["origin"]
    'asserted'
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import RDF

from kg_engine.core.graphs import graph_origin
from kg_engine.core.terms import DEFAULT_GRAPH, LABEL_PREDICATES, Term
from kg_engine.errors import ConfigError, UnsupportedOperationError
from kg_engine.store.schema import BNODE, IRI, LITERAL
from kg_engine.store.terms import decode

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

__all__ = ["ORIGINS", "IdView", "decode_ids", "graph_ids", "select", "to_networkx"]

#: Edge origins, best first: a statement asserted and also inferred counts as asserted.
ORIGINS = ("asserted", "extracted", "inferred", "predicted")
_ASSERTED, _EXTRACTED, _INFERRED, _PREDICTED = range(4)
_GRAPH_CODE = {"asserted": _ASSERTED, "inferred": _INFERRED, "predicted": _PREDICTED,
               "analytics": _ASSERTED}
#: Label predicates, preferred first; after them any predicate of the store whose local name
#: is one of :data:`_LABEL_LOCAL_NAMES` (``shop:name`` of a schema-less JSON-LD catalogue)
_LABELS = LABEL_PREDICATES
_LABEL_LOCAL_NAMES = ("name", "label", "title", "prefLabel")
#: Above this many ids, decoding scans the dictionary instead of looking ids up in chunks.
_SCAN_THRESHOLD = 20_000
_CHUNK = 500


@dataclass
class IdView:
    """The statements of a view as integer term ids (see the module docstring).

    Attributes:
        edges: ``(s, p, o, origin code, confidence)`` per distinct statement; the origin code
            indexes :data:`ORIGINS`.
        nodes: every node id, in a stable order (edge endpoints, then typed entities).
        types: node id -> ids of its ``rdf:type`` classes.
        labels: node id -> label text.
        terms: ids already decoded (terms a CONSTRUCT query made up get negative ids here).
        graphs: ids of the graphs read (empty for a query projection).
    """

    edges: list[tuple[int, int, int, int, float | None]] = field(default_factory=list)
    nodes: list[int] = field(default_factory=list)
    types: dict[int, list[int]] = field(default_factory=dict)
    labels: dict[int, str] = field(default_factory=dict)
    terms: dict[int, Term] = field(default_factory=dict)
    graphs: list[int] = field(default_factory=list)

    def decode(self, store: Any, ids: Iterable[int] | None = None) -> dict[int, Term]:
        """Terms of ``ids`` (default: every node, predicate and type), decoded once and kept."""
        if ids is None:
            wanted = set(self.nodes)
            wanted.update(e[1] for e in self.edges)
            for ts in self.types.values():
                wanted.update(ts)
        else:
            wanted = set(ids)
        missing = [i for i in wanted if i not in self.terms]
        if missing:
            self.terms.update(decode_ids(store, missing))
        return self.terms


def decode_ids(store: Any, ids: Sequence[int]) -> dict[int, Term]:
    """rdflib terms of many term ids in one pass (a dictionary scan when there are many)."""
    out: dict[int, Term] = {}
    db = store.db
    wanted = set(ids)
    sql = ("SELECT t.id, t.kind, t.lex, d.lex, t.lang FROM kg_terms t "
           "LEFT JOIN kg_terms d ON d.id = t.dt")
    if len(wanted) > _SCAN_THRESHOLD:
        rows: Iterable[tuple] = db.execute(sql)
        rows = (r for r in rows if r[0] in wanted)
    else:
        listed = sorted(wanted)
        rows = []
        for i in range(0, len(listed), _CHUNK):
            chunk = listed[i:i + _CHUNK]
            rows.extend(db.fetchall(f"{sql} WHERE t.id IN ({','.join('?' * len(chunk))})", chunk))
    for id_, kind, lex, dt, lang in rows:
        if kind == IRI:
            out[id_] = URIRef(lex)
        elif kind == BNODE:
            out[id_] = BNode(lex)
        else:
            out[id_] = decode(kind, lex, dt, lang)
    if 0 in wanted:
        out[0] = DEFAULT_GRAPH
    return out


def _term_id(store: Any, term: Term) -> int | None:
    return store.term_ids([term]).get(term)


def graph_ids(
    store: Any, graph: Any, include_inferred: bool, include_predicted: bool
) -> tuple[list[int], dict[int, int]]:
    """Ids of the graphs a view reads and the origin code each one gives its statements."""
    named = [r[0] for r in store.db.fetchall("SELECT id FROM kg_graphs")]
    names = decode_ids(store, named)
    if graph is None:
        chosen = {0: _ASSERTED}
        for gid in named:
            origin = graph_origin(names.get(gid))
            if origin == "asserted" or (origin == "inferred" and include_inferred) or (
                origin == "predicted" and include_predicted
            ):
                chosen[gid] = _GRAPH_CODE[origin]
        return sorted(chosen), chosen
    wanted = [graph] if isinstance(graph, (str, URIRef, BNode)) else list(graph)
    chosen = {}
    for g in wanted:
        if g == "default" or g == DEFAULT_GRAPH:
            chosen[0] = _ASSERTED
            continue
        term = g if isinstance(g, (URIRef, BNode)) else URIRef(str(g))
        gid = _term_id(store, term)
        if gid is None or gid not in names:
            raise ConfigError(
                f"graph <{term}> is not in the store {store.url}; its named graphs are listed "
                "by `kg stats` (use 'default' for the default graph)"
            )
        chosen[gid] = _GRAPH_CODE[graph_origin(term)]
    return sorted(chosen), chosen


def _in_list(ids: Sequence[int]) -> str:
    return ",".join(str(int(i)) for i in ids)  # integers only: safe to inline


def select(
    store: Any,
    *,
    graph: Any = None,
    predicates: Iterable[URIRef | str] | None = None,
    include_inferred: bool = False,
    include_predicted: bool = False,
    literals: bool = False,
    type_edges: bool = False,
    query: str | None = None,
    kg: Any = None,
    nodes: Iterable[int] | None = None,
) -> IdView:
    """The statements of a view as ids (see the module docstring for the arguments).

    Args:
        store: an open ``SQLStore``.
        kg: the ``KnowledgeGraph`` to run ``query`` on (needed only with ``query``).
        nodes: keep only statements between these node ids (a neighbourhood).

    Raises:
        ConfigError: an unknown graph, or a query that is not CONSTRUCT / ``SELECT ?s ?p ?o``.
    """
    if query is not None:
        return _select_query(store, kg, query, literals=literals)
    wanted_nodes = None if nodes is None else list(dict.fromkeys(nodes))
    db = store.db
    gids, codes = graph_ids(store, graph, include_inferred, include_predicted)
    view = IdView(graphs=gids)
    type_id = _term_id(store, RDF.type)
    where = [f"q.g IN ({_in_list(gids)})"]
    if predicates is not None:
        wanted = [p if isinstance(p, URIRef) else URIRef(str(p)) for p in predicates]
        pids = [i for i in store.term_ids(wanted).values()]
        if not pids:
            return view
        where.append(f"q.p IN ({_in_list(pids)})")
    elif type_id is not None and not type_edges:
        where.append(f"q.p <> {int(type_id)}")
    if wanted_nodes is not None:
        listed = _in_list(sorted(wanted_nodes))
        where.append(f"q.s IN ({listed}) AND q.o IN ({listed})")
    join = ""
    if not literals:
        join = " JOIN kg_terms t ON t.id = q.o"
        where.append(f"t.kind <> {LITERAL}")
    clause = " AND ".join(where)
    if len(gids) == 1:
        rows = db.execute(f"SELECT q.s, q.p, q.o, {codes[gids[0]]} FROM kg_quads q{join} "
                          f"WHERE {clause}")
    else:
        case = " ".join(f"WHEN {g} THEN {c}" for g, c in codes.items())
        rows = db.execute(
            f"SELECT q.s, q.p, q.o, min(CASE q.g {case} END) FROM kg_quads q{join} "
            f"WHERE {clause} GROUP BY q.s, q.p, q.o"
        )
    prov = _provenance(db, gids, codes)
    with _gc_paused():
        if prov:
            edges = []
            for s, p, o, c in rows:
                rec = prov.get((s, p, o))
                if rec is None:
                    edges.append((s, p, o, c, None))
                else:
                    kind, conf = rec  # an asserted-graph statement with extraction records
                    edges.append((s, p, o, _EXTRACTED if c == _ASSERTED and kind == _EXTRACTED
                                  else c, conf))
            view.edges = edges
        else:
            view.edges = [(s, p, o, c, None) for s, p, o, c in rows]
    seen: dict[int, None] = {}
    for s, _, o, _, _ in view.edges:
        seen[s] = None
        seen[o] = None
    if type_id is not None:
        only = "" if wanted_nodes is None else f" AND s IN ({listed})"
        for s, o in db.execute(
            f"SELECT DISTINCT s, o FROM kg_quads WHERE p = ? AND g IN ({_in_list(gids)}){only}",
            (type_id,),
        ):
            view.types.setdefault(s, []).append(o)
            if predicates is None and wanted_nodes is None:
                seen[s] = None
    for n in wanted_nodes or ():
        seen[n] = None
    view.nodes = list(seen)
    view.labels = _labels(store, gids, seen)
    return view


def _provenance(db: Any, gids: Sequence[int], codes: dict[int, int]
                ) -> dict[tuple[int, int, int], tuple[int, float | None]]:
    """``(s, p, o) -> (origin code, confidence)`` from per-statement provenance records (the
    best origin code of its records, the highest confidence any of them has).

    The code is ``extracted`` for a statement with extraction records only when every
    asserted graph of ``gids`` (``codes``: graph id -> origin code) that holds it has one
    there: a statement also loaded into a graph of its own is asserted (with the extraction's
    confidence)."""
    out: dict[tuple[int, int, int], tuple[int, float | None]] = {}
    code = {"extracted": _EXTRACTED, "predicted": _PREDICTED, "inferred": _INFERRED}
    for s, p, o, kind, conf in db.execute(
        "SELECT s, p, o, kind, max(confidence) FROM kg_provenance "
        f"WHERE g IN ({_in_list(gids)}) GROUP BY s, p, o, kind"
    ):
        c = code.get(kind, _ASSERTED)
        old = out.get((s, p, o))
        if old is not None:
            c = min(c, old[0])
            conf = old[1] if conf is None else conf if old[1] is None else max(conf, old[1])
        out[(s, p, o)] = (c, conf)
    asserted = [g for g in gids if codes.get(g) == _ASSERTED]
    if asserted and any(c == _EXTRACTED for c, _ in out.values()):
        # the asserted graphs holding each extracted statement without a record there
        for s, p, o in db.execute(
            "SELECT DISTINCT q.s, q.p, q.o FROM kg_quads q JOIN kg_provenance e "
            "ON e.s = q.s AND e.p = q.p AND e.o = q.o "
            f"WHERE e.kind = 'extracted' AND e.g IN ({_in_list(gids)}) "
            f"AND q.g IN ({_in_list(asserted)}) AND NOT EXISTS (SELECT 1 FROM kg_provenance r "
            "WHERE r.g = q.g AND r.s = q.s AND r.p = q.p AND r.o = q.o AND r.kind = 'extracted')"
        ):
            c, conf = out[(s, p, o)]
            if c == _EXTRACTED:
                out[(s, p, o)] = (_ASSERTED, conf)
    return out


def label_predicates(store: Any) -> list[int]:
    """Ids of the store's label predicates, preferred first: :data:`_LABELS`, then every
    predicate whose local name is ``name``, ``label``, ``title`` or ``prefLabel``, by IRI.

    Example:
        >>> from kg_engine.store import open_store
        >>> store = open_store("sqlite://")
        >>> _ = store.add([(URIRef("urn:p1"), URIRef("http://shop.example/vocab#name"),
        ...                 Literal("Teapot"))])
        >>> [str(t) for t in store.decode(label_predicates(store)).values()]
        ['http://shop.example/vocab#name']
    """
    known = store.term_ids(_LABELS)
    ids = [known[t] for t in _LABELS if t in known]
    used = [int(p) for (p,) in store.db.fetchall(_PREDICATES_SQL) if p is not None]
    # by IRI, not by term id: a node's label must not depend on which file came first
    named = sorted((str(t), i) for i, t in store.decode(used).items()
                   if isinstance(t, URIRef) and i not in ids
                   and _local_name(str(t)) in _LABEL_LOCAL_NAMES)
    return ids + [i for _, i in named]


#: every predicate in use, one index seek each (a loose index scan of the POSG index;
#: kg_stats is refreshed by loads only, so it misses predicates written by add/update)
_PREDICATES_SQL = (
    "WITH RECURSIVE ps(p) AS (SELECT MIN(p) FROM kg_quads UNION ALL "
    "SELECT (SELECT MIN(q.p) FROM kg_quads q WHERE q.p > ps.p) FROM ps WHERE ps.p IS NOT NULL) "
    "SELECT p FROM ps")


def _local_name(iri: str) -> str:
    return iri.rstrip("#/:").replace("#", "/").replace(":", "/").rsplit("/", 1)[-1]


def _labels(store: Any, gids: Sequence[int], nodes: dict[int, None]) -> dict[int, str]:
    """First label literal of each node, by the preference order of :func:`label_predicates`."""
    rank = {p: i for i, p in enumerate(label_predicates(store))}
    if not rank:
        return {}
    best: dict[int, tuple[int, int, str]] = {}
    for s, p, lex, lang in store.db.execute(
        "SELECT q.s, q.p, t.lex, t.lang FROM kg_quads q JOIN kg_terms t ON t.id = q.o "
        f"WHERE q.p IN ({_in_list(rank)}) AND q.g IN ({_in_list(gids)}) AND t.kind = {LITERAL}"
    ):
        if s in nodes:
            english = 0 if lang in ("", "en") or lang.startswith("en-") else 1
            key = (rank[p], english, lex)
            if s not in best or key < best[s]:
                best[s] = key
    return {s: key[2] for s, key in best.items()}


def _select_query(store: Any, kg: Any, text: str, *, literals: bool) -> IdView:
    """A view projected by a SPARQL CONSTRUCT or ``SELECT ?s ?p ?o``."""
    if kg is None:
        raise UnsupportedOperationError("a query projection needs the KnowledgeGraph (kg=…)")
    result = kg.query(text)
    if result.type == "CONSTRUCT":
        triples: Iterable[tuple] = result.graph
    elif result.type == "SELECT" and len(result.vars or []) == 3:
        triples = (tuple(row) for row in result)
    else:
        raise ConfigError(
            "a graph view needs a CONSTRUCT query or a SELECT of exactly three variables "
            f"(subject, predicate, object); got a {result.type} query"
            + (f" with {len(result.vars)} variables" if result.type == "SELECT" else "")
        )
    triples = [
        t for t in triples
        if None not in t and isinstance(t[0], (URIRef, BNode)) and isinstance(t[1], URIRef)
        and (literals or not isinstance(t[2], Literal))
    ]
    terms = {x for t in triples for x in t}
    ids = dict(store.term_ids(terms))
    local = -1
    for t in terms:  # terms a CONSTRUCT template made up are not in the store
        if t not in ids:
            ids[t] = local
            local -= 1
    view = IdView(terms={i: t for t, i in ids.items()})
    rows = sorted({(ids[s], ids[p], ids[o]) for s, p, o in triples})
    origins = _stored_origins(store, [r for r in rows if min(r) > 0])
    view.edges = [(s, p, o, *origins.get((s, p, o), (_ASSERTED, None))) for s, p, o in rows]
    seen: dict[int, None] = {}
    for s, _, o in rows:
        seen[s] = None
        seen[o] = None
    view.nodes = list(seen)
    type_ids = [i for t, i in ids.items() if t == RDF.type]
    if type_ids:
        for s, p, o in rows:
            if p == type_ids[0]:
                view.types.setdefault(s, []).append(o)
    return view


def _stored_origins(
    store: Any, rows: Sequence[tuple[int, int, int]]
) -> dict[tuple[int, int, int], tuple[int, float | None]]:
    """Origin code and confidence of statements given by id, from their graphs and provenance."""
    if not rows:
        return {}
    db = store.db
    named = [r[0] for r in db.fetchall("SELECT id FROM kg_graphs")]
    names = decode_ids(store, named)
    gcode = {g: _GRAPH_CODE[graph_origin(names.get(g))] for g in named}
    gcode[0] = _ASSERTED
    out: dict[tuple[int, int, int], tuple[int, float | None]] = {}
    for i in range(0, len(rows), _CHUNK):
        chunk = rows[i:i + _CHUNK]
        values = ",".join("(?, ?, ?)" for _ in chunk)
        for s, p, o, g in db.fetchall(
            # a join, not a row-value IN (VALUES …): SQLite scanned all of kg_quads per chunk
            f"WITH v(s, p, o) AS (VALUES {values}) SELECT q.s, q.p, q.o, q.g FROM v "
            "JOIN kg_quads q ON q.s = v.s AND q.p = v.p AND q.o = v.o",
            [x for r in chunk for x in r],
        ):
            c = gcode.get(g, _ASSERTED)
            if (s, p, o) not in out or c < out[(s, p, o)][0]:
                out[(s, p, o)] = (c, None)
    prov = _provenance(db, [0, *named], {0: _ASSERTED, **gcode})
    for key, (c, conf) in prov.items():
        if key in out:
            old = out[key][0]
            out[key] = (_EXTRACTED if old == _ASSERTED and c == _EXTRACTED else old, conf)
    return out


def to_networkx(
    store: Any,
    *,
    graph: Any = None,
    query: str | None = None,
    predicates: Iterable[URIRef | str] | None = None,
    include_inferred: bool = False,
    include_predicted: bool = False,
    literals: bool = False,
    type_edges: bool = False,
    directed_multi: bool = True,
    kg: Any = None,
    view: IdView | None = None,
) -> nx.MultiDiGraph | nx.DiGraph:
    """A networkx graph of the store (see the module docstring for what it contains).

    Args:
        store: an open ``SQLStore``.
        graph: ``None`` (asserted graphs), ``"default"``, a graph IRI or a list of them.
        query: a SPARQL CONSTRUCT / ``SELECT ?s ?p ?o`` projecting the view instead.
        predicates: keep only statements with these predicates.
        include_inferred: add the rule engine's inferred graphs.
        include_predicted: add the GNN prediction graphs.
        literals: make literal objects nodes too.
        type_edges: keep ``rdf:type`` statements as edges (they are always node ``types``).
        directed_multi: ``MultiDiGraph`` keyed by predicate (default); ``False`` gives a
            ``DiGraph`` whose edges carry ``predicates`` (all of them), ``predicate`` (the
            first), ``weight`` (how many statements) and the best ``origin``.
        kg: the ``KnowledgeGraph`` (needed with ``query``).
        view: an :class:`IdView` already selected (the other selection arguments are ignored).

    Raises:
        MissingDependencyError: networkx is not installed.
        ConfigError: unknown graph or unusable query.
    """
    try:
        import networkx as nx
    except ImportError as exc:  # pragma: no cover - networkx is in the analytics extra
        from kg_engine.errors import MissingDependencyError

        raise MissingDependencyError("networkx", "analytics") from exc
    if view is None:
        view = select(store, graph=graph, predicates=predicates, include_inferred=include_inferred,
                      include_predicted=include_predicted, literals=literals,
                      type_edges=type_edges, query=query, kg=kg)
    with _gc_paused():
        return _build(nx, store, view, directed_multi)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of acyclic dicts are made (it would
    rescan them again and again: a third of the build time on LUBM(10))."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _build(nx: Any, store: Any, view: IdView, directed_multi: bool) -> Any:
    terms = view.decode(store)
    types, labels = view.types, view.labels
    g: Any = nx.MultiDiGraph() if directed_multi else nx.DiGraph()
    nodes = ((terms[n], {"label": labels.get(n),
                         "types": sorted(terms[t] for t in types.get(n, ()) if t in terms)})
             for n in view.nodes)
    if directed_multi:
        edges = ((terms[s], terms[o], terms[p],
                  {"predicate": terms[p], "origin": ORIGINS[c]} if conf is None else
                  {"predicate": terms[p], "origin": ORIGINS[c], "confidence": conf})
                 for s, p, o, c, conf in view.edges)
        _fill_multidigraph(nx, g, nodes, edges)
        return g
    g.add_nodes_from(nodes)
    adj: dict[tuple[int, int], dict[str, Any]] = {}
    for s, p, o, c, conf in view.edges:
        data = adj.get((s, o))
        if data is None:
            adj[(s, o)] = {"predicate": terms[p], "predicates": [terms[p]], "weight": 1,
                           "origin": c, "confidence": conf}
        else:
            data["predicates"].append(terms[p])
            data["weight"] += 1
            data["origin"] = min(data["origin"], c)
            if conf is not None:
                data["confidence"] = max(conf, data["confidence"] or 0.0)
    for data in adj.values():
        data["origin"] = ORIGINS[data["origin"]]
        if data["confidence"] is None:
            del data["confidence"]
    g.add_edges_from((terms[s], terms[o], d) for (s, o), d in adj.items())
    return g


def _fill_multidigraph(nx: Any, g: Any, nodes: Iterable[tuple], edges: Iterable[tuple]) -> None:
    """Add nodes ``(n, attrs)`` and then edges ``(u, v, key, attrs)`` between those nodes
    (distinct ``(u, v, key)``) to an empty ``MultiDiGraph``.

    The same result as ``add_nodes_from`` + ``add_edges_from``, which spend most of their
    time building an ``AtlasView`` per edge (4x slower on LUBM(10)): the adjacency dicts are
    filled the way ``MultiDiGraph.add_edge`` fills them. Used only on a plain networkx 3
    ``MultiDiGraph`` with the standard dict factories; anything else takes the public path
    (``tests/analytics/test_view.py`` checks both give equal graphs).
    """
    plain = (type(g) is nx.MultiDiGraph and g.number_of_nodes() == 0
             and g._adj is g._succ and g.node_attr_dict_factory is dict
             and g.edge_key_dict_factory is dict and g.adjlist_inner_dict_factory is dict)
    if not plain:
        g.add_nodes_from(nodes)
        g.add_edges_from(edges)
        return
    node, succ, pred = g._node, g._succ, g._pred
    for n, attrs in nodes:
        node[n] = attrs
        succ[n] = {}
        pred[n] = {}
    for u, v, key, attrs in edges:
        keys = succ[u].get(v)
        if keys is None:
            keys = succ[u][v] = {}
            pred[v][u] = keys
        keys[key] = attrs
    nx._clear_cache(g)
