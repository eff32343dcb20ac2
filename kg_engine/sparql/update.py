"""SPARQL 1.1 Update: every request atomic, graph-level operations as set-based SQL.

Supported: ``INSERT DATA``, ``DELETE DATA``, ``DELETE WHERE``, ``DELETE/INSERT … WHERE`` (with
``WITH``, ``USING``, ``USING NAMED``), ``LOAD`` (local files only unless the engine allows remote
loads), ``CLEAR``, ``DROP``, ``CREATE``, ``ADD``, ``MOVE``, ``COPY``, each with ``SILENT``.

Atomicity: a request runs in ONE store transaction; if any operation fails (without
``SILENT``) the whole request is rolled back and the store is exactly as before. On a kg-engine
store ``CLEAR``/``DROP``/``ADD``/``MOVE``/``COPY`` are single SQL statements on ``kg_quads`` and
the ``WHERE`` of ``DELETE/INSERT`` is evaluated by the SQL compiler. On other rdflib stores the
same semantics are implemented with rdflib calls (atomicity by snapshot and restore).

Example:
    >>> from rdflib import Dataset
    >>> from kg_engine.sparql.engine import QueryEngine
    >>> ds, engine = Dataset(), QueryEngine()
    >>> engine.update(ds, 'INSERT DATA { <urn:a> <urn:p> "x" . GRAPH <urn:g> { <urn:a> <urn:p> "y" } }')
    >>> engine.update(ds, "COPY <urn:g> TO DEFAULT")
    >>> sorted(str(o) for o in ds.default_graph.objects())
    ['y']
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from rdflib import BNode, Graph, Literal, URIRef, Variable
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID, ConjunctiveGraph
from rdflib.plugins.sparql.evaluate import evalPart
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import Prologue, QueryContext, Update
from rdflib.term import Identifier, Node

from kg_engine.errors import KgEngineError, StoreError, UnsupportedOperationError
from kg_engine.sparql.dataset import QueryDataset, sql_store_of
from kg_engine.sparql.evaluation import EvalState

__all__ = ["UpdateError", "run_update"]

DEFAULT = DATASET_DEFAULT_GRAPH_ID


class UpdateError(StoreError):
    """An update operation failed (the whole request was rolled back)."""


# ---------------------------------------------------------------------------------------------
# Targets: where operations are applied (kg-engine SQL store, or any rdflib store)
# ---------------------------------------------------------------------------------------------
class _RdflibTarget:
    """Update target over any graph-aware rdflib store (atomic by snapshot/restore)."""

    def __init__(self, ds: ConjunctiveGraph, default_graph: Identifier) -> None:
        self.ds = ds
        self.store = ds.store
        self.default = default_graph

    def _g(self, name: Identifier) -> Graph:
        return Graph(store=self.store, identifier=self.default if name == DEFAULT else name)

    # -- atomicity
    def begin(self) -> None:
        self._snapshot = [(s, p, o, c.identifier) for s, p, o, c in self._all_quads()]
        self._graphs = set(self.named_graphs())

    def _all_quads(self) -> Iterator[tuple[Node, Node, Node, Graph]]:
        for (s, p, o), ctxs in self.store.triples((None, None, None), context=None):
            for c in ctxs:
                yield s, p, o, c

    def commit(self) -> None:
        self._snapshot = []

    def rollback(self) -> None:
        for s, p, o, c in list(self._all_quads()):
            self.store.remove((s, p, o), c)
        for g in self.named_graphs():
            if g not in self._graphs:
                self.store.remove_graph(Graph(store=self.store, identifier=g))
        for g in self._graphs:
            self.store.add_graph(Graph(store=self.store, identifier=g))
        self.store.addN((s, p, o, self._g(c)) for s, p, o, c in self._snapshot)

    # -- graphs
    def named_graphs(self) -> list[Identifier]:
        out = []
        for c in self.store.contexts():
            ident = c.identifier if isinstance(c, Graph) else c
            if ident != DATASET_DEFAULT_GRAPH_ID and ident != self.default:
                out.append(ident)
        return out

    def exists(self, name: Identifier) -> bool:
        if name == DEFAULT or name == self.default:
            return True
        return name in self.named_graphs()

    def create(self, name: Identifier) -> None:
        self.store.add_graph(Graph(store=self.store, identifier=name))

    def clear(self, name: Identifier) -> None:
        self.store.remove((None, None, None), self._g(name))

    def drop(self, name: Identifier) -> None:
        if name == DEFAULT or name == self.default:
            self.clear(name)
        else:
            self.store.remove_graph(self._g(name))

    def copy_into(self, src: Identifier, dst: Identifier) -> None:
        triples = list(self._g(src).triples((None, None, None)))
        self.add(dst, triples)

    # -- triples
    def add(self, name: Identifier, triples: Iterable[tuple[Node, Node, Node]]) -> None:
        g = self._g(name)
        self.store.addN((s, p, o, g) for s, p, o in triples)

    def remove(self, name: Identifier, triples: Iterable[tuple[Node, Node, Node]]) -> None:
        g = self._g(name)
        for t in triples:
            self.store.remove(t, g)

    def load(self, path: Path, name: Identifier | None) -> None:
        """Parse the whole file with kg-engine's parsers (strict Turtle/TriG/N-Triples/N-Quads,
        lexical forms kept; rdflib's N-Quads parser would empty the default graph), then add."""
        from rdflib.parser import create_input_source

        from kg_engine.store.rdflib_parsers import quads, read

        g = self._g(DEFAULT if name is None else name)
        fmt = _rdf_format(path)
        source = create_input_source(source=str(path), format=fmt)
        try:
            parsed = quads(read(source, fmt, base=path.resolve().as_uri(), name=str(path)))
        finally:
            source.close()
        self.store.addN((s, p, o, g if c is None else self._g(c)) for s, p, o, c in parsed)


class _SqlTarget(_RdflibTarget):
    """Update target over a kg-engine SQL store: one transaction per request, graph-level
    operations (CLEAR/DROP/ADD/COPY/MOVE) as single set-based statements."""

    def __init__(self, ds: ConjunctiveGraph, default_graph: Identifier, sql_store: Any) -> None:
        super().__init__(ds, default_graph)
        self.sql = sql_store
        self.db = sql_store.db
        self._tx: Any = None

    def begin(self) -> None:
        flush = getattr(self.store, "flush", None)
        if flush is not None:
            flush()  # statements buffered by the rdflib plugin go first
        self._tx = self.db.transaction()
        self._tx.__enter__()

    def commit(self) -> None:
        tx, self._tx = self._tx, None
        tx.__exit__(None, None, None)

    def rollback(self) -> None:
        """Roll back; must be called from the ``except`` block handling the failure."""
        tx, self._tx = self._tx, None
        exc = sys.exc_info()
        if exc[0] is None:
            exc = (UpdateError, UpdateError("rolled back"), None)
        tx.__exit__(*exc)

    def _name(self, name: Identifier) -> Identifier:
        return self.default if name == DEFAULT else name

    def _gid(self, name: Identifier, create: bool = False) -> int | None:
        name = self._name(name)
        return self.sql.term_ids([name], create=create).get(name)

    def named_graphs(self) -> list[Identifier]:
        rows = self.db.fetchall(
            "SELECT id FROM kg_graphs UNION SELECT DISTINCT g FROM kg_quads WHERE g <> 0"
        )
        ids = [r[0] for r in rows]
        terms = self.sql.decode(ids)
        return [terms[i] for i in ids if terms.get(i) is not None and terms[i] != self.default]

    def exists(self, name: Identifier) -> bool:
        if name == DEFAULT or name == self.default:
            return True
        gid = self._gid(name)
        if gid is None:
            return False
        return (
            self.db.fetchone("SELECT 1 FROM kg_graphs WHERE id = ?", (gid,)) is not None
            or self.db.fetchone("SELECT 1 FROM kg_quads WHERE g = ? LIMIT 1", (gid,)) is not None
        )

    def create(self, name: Identifier) -> None:
        self.sql.create_graph(self._name(name))

    def clear(self, name: Identifier) -> None:
        self.sql.remove((None, None, None), self._name(name))

    def drop(self, name: Identifier) -> None:
        name = self._name(name)
        if name == DATASET_DEFAULT_GRAPH_ID:
            self.clear(name)
        else:
            self.sql.drop_graph(name)

    def copy_into(self, src: Identifier, dst: Identifier) -> None:
        sid = self._gid(src)
        did = self._gid(dst, create=True)
        assert did is not None
        if did != 0:
            self.db.execute("INSERT INTO kg_graphs (id) VALUES (?) ON CONFLICT DO NOTHING", (did,))
        if sid is None:
            return
        self.sql.copy_graph(sid, did)

    def add(self, name: Identifier, triples: Iterable[tuple[Node, Node, Node]]) -> None:
        triples = list(triples)
        if triples:
            self.sql.add(triples, self._name(name))

    def remove(self, name: Identifier, triples: Iterable[tuple[Node, Node, Node]]) -> None:
        g = self._name(name)
        quads = [(s, p, o, g) for s, p, o in triples]
        if quads:
            self.sql.remove_quads(quads)

    def load(self, path: Path, name: Identifier | None) -> None:
        if name is not None:
            self.create(name)
        # no INTO: the default graph, which for a plain rdflib Graph is that graph
        g = self._name(DEFAULT if name is None else name)
        self.sql.load([path], graph=None if g == DATASET_DEFAULT_GRAPH_ID else g)


def _rdf_format(path: Path) -> str | None:
    from rdflib.util import guess_format

    name = path.name.removesuffix(".gz")
    return guess_format(name) or "turtle"


# ---------------------------------------------------------------------------------------------
# Operations
# ---------------------------------------------------------------------------------------------
def _valid(t: tuple[Node, Node, Node]) -> bool:
    s, p, o = t
    return (
        isinstance(s, (URIRef, BNode))
        and isinstance(p, URIRef)
        and isinstance(o, (URIRef, BNode, Literal))
        and not isinstance(s, Variable)
        and not isinstance(o, Variable)
    )


def fill_template(
    template: Iterable[tuple[Node, Node, Node]], solution: Mapping[Any, Any], fresh_bnodes: bool,
    bmap: dict[BNode, BNode] | None = None,
) -> Iterator[tuple[Node, Node, Node]]:
    """Instantiate a triple template with one solution (unbound or ill-formed triples skipped).

    Args:
        template: triples with variables (and, for INSERT/CONSTRUCT, blank nodes).
        solution: the variable bindings.
        fresh_bnodes: replace template blank nodes by new ones (one set per solution).
        bmap: the blank nodes already replaced (shared by several calls that make one set).
    """
    if bmap is None:
        bmap = {}
    for t in template:
        out = []
        for x in t:
            if isinstance(x, Variable):
                x = solution.get(x)
            elif isinstance(x, BNode) and fresh_bnodes:
                x = bmap.setdefault(x, BNode())
            out.append(x)
        tr = (out[0], out[1], out[2])
        if None not in tr and _valid(tr):
            yield tr


class _Runner:
    def __init__(self, engine: Any, ds: ConjunctiveGraph, target: _RdflibTarget,
                 bindings: dict, default_graph: Identifier) -> None:
        self.engine = engine
        self.ds = ds
        self.t = target
        self.bindings = bindings
        self.default_graph = default_graph

    def _graph_ref(self, ref: Any) -> Identifier:
        return DEFAULT if ref in ("DEFAULT", None) else ref

    def _targets(self, ref: Any) -> list[Identifier]:
        if ref == "DEFAULT":
            return [DEFAULT]
        if ref == "NAMED":
            return self.t.named_graphs()
        if ref == "ALL":
            return [DEFAULT, *self.t.named_graphs()]
        return [ref]

    # ---- graph management
    def Load(self, u: CompValue) -> None:
        path = self._local_path(str(u.iri))
        self.t.load(path, u.graphiri)

    def _local_path(self, iri: str) -> Path:
        parsed = urlparse(iri)
        if parsed.scheme in ("http", "https", "ftp"):
            if not self.engine.allow_remote_load:
                raise UnsupportedOperationError(
                    f"LOAD <{iri}>: remote LOAD is disabled; download the file and LOAD "
                    "<file:///path>, or create the engine with allow_remote_load=True"
                )
            raise UnsupportedOperationError(f"LOAD <{iri}>: remote LOAD is not implemented")
        if parsed.scheme == "file":
            path = Path(unquote(parsed.path))
        elif parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):
            path = Path(iri)
        else:
            raise UnsupportedOperationError(f"LOAD <{iri}>: unsupported IRI scheme {parsed.scheme!r}")
        if not path.is_file():
            raise UpdateError(f"LOAD <{iri}>: no such file {str(path)!r}")
        return path

    def Create(self, u: CompValue) -> None:
        if self.t.exists(u.graphiri):
            raise UpdateError(f"CREATE GRAPH <{u.graphiri}>: the graph already exists "
                              "(use CREATE SILENT to ignore)")
        self.t.create(u.graphiri)

    def Clear(self, u: CompValue) -> None:
        for g in self._targets(u.graphiri):
            if g != DEFAULT and not self.t.exists(g):
                raise UpdateError(f"CLEAR GRAPH <{g}>: no such graph (use CLEAR SILENT)")
            self.t.clear(g)

    def Drop(self, u: CompValue) -> None:
        for g in self._targets(u.graphiri):
            if g != DEFAULT and not self.t.exists(g):
                raise UpdateError(f"DROP GRAPH <{g}>: no such graph (use DROP SILENT)")
            self.t.drop(g)

    def _src_dst(self, u: CompValue) -> tuple[Identifier, Identifier] | None:
        src, dst = (self._graph_ref(x) for x in u.graph)
        if src == dst:
            return None
        if src != DEFAULT and not self.t.exists(src):
            raise UpdateError(f"{u.name.upper()}: source graph <{src}> does not exist")
        return src, dst

    def Add(self, u: CompValue) -> None:
        sd = self._src_dst(u)
        if sd:
            self.t.copy_into(*sd)

    def Copy(self, u: CompValue) -> None:
        sd = self._src_dst(u)
        if sd:
            self.t.clear(sd[1])
            self.t.copy_into(*sd)

    def Move(self, u: CompValue) -> None:
        sd = self._src_dst(u)
        if sd:
            self.t.clear(sd[1])
            self.t.copy_into(*sd)
            self.t.drop(sd[0])

    # ---- data
    def InsertData(self, u: CompValue) -> None:
        # §3.1.1: the data's blank nodes are fresh ones, new at every execution (the parsed
        # request is cached: its blank nodes would be the same each time) and shared by the
        # default-graph and GRAPH blocks of the operation
        bmap: dict[BNode, BNode] = {}
        if u.triples:
            self.t.add(DEFAULT, fill_template(u.triples, {}, fresh_bnodes=True, bmap=bmap))
        for g, triples in (u.quads or {}).items():
            self.t.add(g, fill_template(triples, {}, fresh_bnodes=True, bmap=bmap))

    def DeleteData(self, u: CompValue) -> None:
        if u.triples:
            self.t.remove(DEFAULT, list(u.triples))
        for g, triples in (u.quads or {}).items():
            self.t.remove(g, list(triples))

    def _solutions(self, where: CompValue, *, using: Any = None, with_graph: Any = None,
                   op: CompValue | None = None) -> list:
        from_graphs = from_named = None
        if using:
            from_graphs = tuple(d["default"] for d in using if "default" in d)
            from_named = tuple(d["named"] for d in using if "named" in d)
        default = with_graph if (with_graph is not None and not using) else None
        if default is None and self.default_graph != DATASET_DEFAULT_GRAPH_ID:
            default = self.default_graph
        view = QueryDataset.build(
            self.ds, from_graphs=from_graphs, from_named=from_named, default_graph=default
        )

        view.state = EvalState(
            allow_service=self.engine.allow_service,
            use_compiler=self.engine.use_compiler and sql_store_of(self.ds.store) is not None,
        )
        ctx = QueryContext(view, initBindings=self.bindings)
        prologue = getattr(op, "prologue", None)  # rdflib sets it on each operation
        if isinstance(prologue, Prologue):
            ctx.prologue = prologue  # the base IRI() resolves against
        ctx.graph = view.active_default
        return [dict(row) for row in evalPart(ctx, where)]

    def DeleteWhere(self, u: CompValue) -> None:
        pattern = CompValue("BGP", triples=list(u.triples or []))
        where: CompValue = pattern
        for g, triples in (u.quads or {}).items():
            graph_part = CompValue("Graph", term=g, p=CompValue("BGP", triples=list(triples)))
            where = CompValue("Join", p1=where, p2=graph_part, lazy=True)
        sols = self._solutions(where, op=u)
        self._apply(sols, delete=u, insert=None, with_graph=None)

    def Modify(self, u: CompValue) -> None:
        sols = self._solutions(u.where, using=u.using, with_graph=u.withClause, op=u)
        self._apply(sols, delete=u.delete, insert=u.insert, with_graph=u.withClause)

    def _apply(self, sols: list, *, delete: Any, insert: Any, with_graph: Any) -> None:
        dflt = with_graph if with_graph is not None else DEFAULT
        removals: dict[Identifier, list] = {}
        additions: dict[Identifier, list] = {}
        for sol in sols:
            if delete is not None:
                removals.setdefault(dflt, []).extend(
                    fill_template(delete.triples or [], sol, fresh_bnodes=False)
                )
                for g, triples in (delete.quads or {}).items():
                    gname = sol.get(g) if isinstance(g, Variable) else g
                    if isinstance(gname, (URIRef, BNode)):
                        removals.setdefault(gname, []).extend(
                            fill_template(triples, sol, fresh_bnodes=False)
                        )
            if insert is not None:
                bsol = dict(sol)
                fresh: dict[BNode, BNode] = {}
                tmpl = [tuple(fresh.setdefault(x, BNode()) if isinstance(x, BNode) else x
                              for x in t) for t in (insert.triples or [])]
                additions.setdefault(dflt, []).extend(fill_template(tmpl, bsol, False))
                for g, triples in (insert.quads or {}).items():
                    gname = sol.get(g) if isinstance(g, Variable) else g
                    if isinstance(gname, URIRef):
                        tq = [tuple(fresh.setdefault(x, BNode()) if isinstance(x, BNode) else x
                                    for x in t) for t in triples]
                        additions.setdefault(gname, []).extend(fill_template(tq, bsol, False))
        for g, triples in removals.items():
            self.t.remove(g, triples)
        for g, triples in additions.items():
            self.t.add(g, triples)


def run_update(engine: Any, ds: ConjunctiveGraph, update: Update,
               init_bindings: Mapping[str, Identifier], default_graph: Identifier | None,
               *, text: str = "(a prepared update)") -> None:
    """Execute a parsed update request atomically against ``ds`` (see module doc).

    On a kg-engine store each statement the request makes new is recorded as written by it
    (``text``: the request, see :mod:`kg_engine.store.writes`).

    Raises:
        UnsupportedOperationError: remote LOAD while disabled.
        UpdateError / KgEngineError: an operation failed (the request was rolled back).
    """

    dg = default_graph if default_graph is not None else DATASET_DEFAULT_GRAPH_ID
    sql_store = sql_store_of(ds.store)
    target: _RdflibTarget = (
        _SqlTarget(ds, dg, sql_store) if sql_store is not None else _RdflibTarget(ds, dg)
    )
    bindings = {Variable(str(k)): v for k, v in init_bindings.items()}
    runner = _Runner(engine, ds, target, bindings, dg)
    from kg_engine.sparql.evaluation import Refused

    recording: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if sql_store is not None:
        from kg_engine.store.writes import update_record

        recording = sql_store.recording(update_record(text, sql_store.last_load_id()))
    target.begin()
    try:
        with recording:
            _run_operations(runner, update)
    except Refused as exc:
        target.rollback()
        raise exc.error from None
    except BaseException:
        target.rollback()
        raise
    target.commit()


def _run_operations(runner: _Runner, update: Update) -> None:
    for op in update.algebra:
        handler = getattr(runner, op.name, None)
        if handler is None:
            raise UnsupportedOperationError(f"unknown SPARQL Update operation {op.name!r}")
        if op.silent:
            try:
                handler(op)
            except (UpdateError, KgEngineError, OSError, ValueError):
                continue
        else:
            handler(op)
