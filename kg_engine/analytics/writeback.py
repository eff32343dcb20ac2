"""Results of graph algorithms written back to the store, with their provenance.

Each analysis owns one named graph, ``urn:kg-engine:analytics:<name>``, replaced as a whole
when the analysis runs again (in one transaction: a failed run leaves the old results). A
node's value is one statement ``<node> kga:<measure> value`` (``xsd:double`` scores,
``xsd:integer`` component / community numbers, see :data:`VOCAB`), and the graph describes
its own run::

    <urn:kg-engine:analytics:pagerank> kga:algorithm "pagerank" ; kga:backend "networkx 3.6" ;
        kga:parameters "{\\"alpha\\": 0.85, …}" ; kga:nodes 1234 ;
        prov:generatedAtTime "2026-…"^^xsd:dateTime ; kga:sourceGraph <…> .

The run is also recorded once for the whole graph, like a file load (``kg_loads``, format
``analytics``: algorithm, backend and parameters), so ``KnowledgeGraph.explain`` of any value
says where it came from. The graphs stay out of default-graph answers; query them with
``GRAPH <urn:kg-engine:analytics:…>``.

Example:
    >>> from rdflib import URIRef
    >>> from kg_engine.store import open_store
    >>> store = open_store("sqlite://")
    >>> _ = store.add([(URIRef("urn:a"), URIRef("urn:p"), URIRef("urn:b"))])
    >>> ids = store.term_ids([URIRef("urn:a"), URIRef("urn:b")])
    >>> g, n = write_values(store, "demo", "score", {i: 0.5 for i in ids.values()},
    ...                     RunInfo("demo", "networkx", {}))
    >>> str(g), n
    ('urn:kg-engine:analytics:demo', 2)
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rdflib import Literal, Namespace, URIRef
from rdflib.namespace import PROV, XSD

from kg_engine.core.batch import TripleBatch
from kg_engine.core.graphs import ANALYTICS_GRAPH_PREFIX
from kg_engine.errors import ConfigError
from kg_engine.store.schema import LITERAL
from kg_engine.store.terms import make_row

__all__ = ["VOCAB", "RunInfo", "analytics_graph", "write_triples", "write_values"]

#: Predicates of analytics results: ``kga:pagerank``, ``kga:component``…
VOCAB = Namespace("urn:kg-engine:analytics#")
_NAME_OK = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.")


@dataclass
class RunInfo:
    """What produced a result: the algorithm, the backend and its parameters."""

    algorithm: str
    backend: str
    parameters: dict[str, Any] = field(default_factory=dict)
    source_graphs: Sequence[Any] = ()
    time: str = field(
        default_factory=lambda: _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    )

    def describe(self) -> str:
        """One line naming the run, kept as the graph's load record (what ``explain`` shows)."""
        return (f"kg-engine analytics {self.algorithm} ({self.backend}), "
                f"parameters {self.parameters_json()}")

    def parameters_json(self) -> str:
        return json.dumps(self.parameters, sort_keys=True, default=str)


def analytics_graph(name: str) -> URIRef:
    """The graph of analysis ``name`` (lower-case letters, digits, ``-_.``).

    Raises:
        ConfigError: for another name.
    """
    if not name or not set(name) <= _NAME_OK:
        raise ConfigError(f"analysis name {name!r}: use lower-case letters, digits, '-', '_', '.'")
    return URIRef(ANALYTICS_GRAPH_PREFIX + name)


def _replace_graph(store: Any, graph: URIRef, run: RunInfo, count: int) -> int:
    """Empty ``graph`` (and its run record) and write its run description; returns its id."""
    old = store.term_ids([graph]).get(graph)
    if old is not None:
        store.db.execute("DELETE FROM kg_loads WHERE graph = ?", (old,))
    store.drop_graph(graph)
    desc = [
        (VOCAB.algorithm, Literal(run.algorithm)),
        (VOCAB.backend, Literal(run.backend)),
        (VOCAB.parameters, Literal(run.parameters_json())),
        (VOCAB.nodes, Literal(count)),
        (PROV.generatedAtTime, Literal(run.time, datatype=XSD.dateTime)),
    ]
    desc += [(VOCAB.sourceGraph, URIRef(str(g))) for g in run.source_graphs]
    store.add_batch(TripleBatch(graph=graph, quads=[(graph, p, o, graph) for p, o in desc]))
    return store.term_ids([graph])[graph]


def _record(store: Any, gid: int, pid: int | None, statements: int, run: RunInfo) -> None:
    """The run's provenance — one record for the whole graph, as for a file load (per-statement
    records would double the cost of writing) — and fresh statistics for the predicate."""
    db = store.db
    db.execute(
        "INSERT INTO kg_loads (source, graph, format, statements, loaded_at) "
        "VALUES (?, ?, 'analytics', ?, ?)", (run.describe(), gid, statements, run.time))
    if pid is None:
        return
    db.execute("DELETE FROM kg_stats WHERE p = ?", (pid,))
    db.execute(
        "INSERT INTO kg_stats (p, triples, subjects, objects) SELECT p, count(*), "
        "count(DISTINCT s), count(DISTINCT o) FROM kg_quads WHERE p = ? GROUP BY p", (pid,)
    )


def write_values(
    store: Any,
    name: str,
    measure: str,
    values: Mapping[int, float | int],
    run: RunInfo,
) -> tuple[URIRef, int]:
    """Replace graph ``urn:kg-engine:analytics:<name>`` with ``<node> kga:<measure> value``.

    Args:
        store: the ``SQLStore``.
        name: the analysis name (its graph).
        measure: local name of the predicate in :data:`VOCAB`.
        values: node term id -> value (``int`` values become ``xsd:integer``, others
            ``xsd:double``).
        run: the provenance of the run.

    Returns:
        The graph IRI and the number of value statements written.
    """
    graph = analytics_graph(name)
    predicate = VOCAB[measure]
    lexical: dict[int, str] = {}
    rows_by_lex: dict[str, Any] = {}
    integer, double = str(XSD.integer), str(XSD.double)
    for node, v in values.items():
        if isinstance(v, int) and not isinstance(v, bool):
            lex = str(v)
            rows_by_lex.setdefault(lex, (lex, integer))
        else:
            lex = repr(float(v))
            rows_by_lex.setdefault(lex, (lex, double))
        lexical[node] = lex
    with store.db.transaction(), store.unmaintained():  # never part of a reasoning closure
        gid = _replace_graph(store, graph, run, len(values))
        pid = store.term_ids([predicate], create=True)[predicate]
        term_rows = {lex: make_row(LITERAL, lex, dt) for lex, dt in rows_by_lex.values()}
        found = store.dictionary.resolve(list(term_rows.values()), create=True)
        lit_id = {lex: found[(r.kind, r.lex, r.datatype, r.lang)] for lex, r in term_rows.items()}
        rows = [(gid, node, pid, lit_id[lex]) for node, lex in lexical.items() if node > 0]
        store.bulk_begin()
        store.bulk_add(rows)
        store.bulk_finish()
        _record(store, gid, pid, len(rows), run)
    return graph, len(rows)


def write_triples(store: Any, name: str, quads_ids: Sequence[tuple[int, int, int]],
                  run: RunInfo) -> tuple[URIRef, int]:
    """Replace graph ``urn:kg-engine:analytics:<name>`` with copies of statements (by id):
    a path or a neighbourhood kept for later queries and exports."""
    graph = analytics_graph(name)
    with store.db.transaction(), store.unmaintained():
        gid = _replace_graph(store, graph, run, len({x for s, _, o in quads_ids for x in (s, o)}))
        rows = sorted({(gid, s, p, o) for s, p, o in quads_ids if min(s, p, o) > 0})
        store.bulk_begin()
        store.bulk_add(rows)
        store.bulk_finish()
        _record(store, gid, None, len(rows), run)
    return graph, len(rows)
