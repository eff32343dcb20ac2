"""The RDF dataset a SPARQL query runs against (W3C SPARQL 1.1 §13), built over a store.

A query sees one *default graph* and a set of *named graphs*. Which graphs those are is decided
here, never by rdflib's process-wide globals:

* no ``FROM``/``FROM NAMED``: the default graph is the store's default graph (or, with
  ``union_default_graph=True``, the merge of every graph), and every named graph of the store
  is visible to ``GRAPH``; a store with a reasoning profile adds its inferred graph to the
  default graph (``merge_default``, see :mod:`kg_engine.store.reasoning`);
* ``FROM <a> FROM <b>``: the default graph is the RDF merge of the store's graphs ``a`` and ``b``
  (a triple in both counts once), and no named graphs are visible unless ``FROM NAMED`` names them;
* ``FROM NAMED <g>``: only ``g`` is visible to ``GRAPH``; with no ``FROM`` the default graph is empty.

``FROM``/``FROM NAMED``/``USING`` only *select graphs of the store*; nothing is fetched from the
network (a graph the store does not hold is simply empty).

Example:
    >>> from rdflib import Dataset, URIRef, Literal
    >>> ds = Dataset()
    >>> _ = ds.graph(URIRef("urn:g")).add((URIRef("urn:s"), URIRef("urn:p"), Literal(1)))
    >>> view = QueryDataset.build(ds, from_graphs=(URIRef("urn:g"),), from_named=())
    >>> len(list(view.active_default.triples((None, None, None))))
    1
    >>> view.kg_named_graphs
    ()
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from rdflib import Dataset, Graph
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID, ConjunctiveGraph, ReadOnlyGraphAggregate
from rdflib.paths import Path
from rdflib.term import Identifier, Node

__all__ = ["DatasetChoice", "MergedGraph", "QueryDataset", "query_dataset_of", "sql_store_of"]


@dataclass(frozen=True)
class DatasetChoice:
    """Which graphs of the store form a query's dataset (hashable: part of plan-cache keys).

    Attributes:
        default: ``None`` = the store's default graph; ``"union"`` = merge of every graph
            (default graph included); a tuple of graph names = merge of those graphs
            (``FROM``), possibly empty.
        named: ``None`` = every named graph of the store; a tuple = only these (``FROM NAMED``).
        disjoint: the graphs of ``default`` share no triple (no duplicate elimination).
    """

    default: None | str | tuple[Identifier, ...] = None
    named: None | tuple[Identifier, ...] = None
    disjoint: bool = False


class MergedGraph(ReadOnlyGraphAggregate):
    """Read-only RDF merge of several graphs of one store: each triple is reported once.

    rdflib's :class:`~rdflib.graph.ReadOnlyGraphAggregate` reports a triple once per member
    graph that holds it; the SPARQL default graph built from ``FROM <a> FROM <b>`` is a *merge*,
    so duplicates are removed here.

    Args:
        graphs: the member graphs (at least one), all on the same store.
        disjoint: the graphs share no triple, so none is reported twice without checking.
    """

    def __init__(self, graphs: list[Graph], disjoint: bool = False) -> None:
        super().__init__(graphs, store=graphs[0].store)
        self.kg_disjoint = disjoint

    def triples(self, triple: Any) -> Iterator[Any]:  # type: ignore[override]
        """Yield each matching triple once (property paths are evaluated over the merge)."""
        s, p, o = triple
        if isinstance(p, Path):
            for s2, o2 in p.eval(self, s, o):
                yield s2, p, o2
            return
        if len(self.graphs) == 1 or self.kg_disjoint:
            for g in self.graphs:
                yield from g.triples((s, p, o))
            return
        seen: set[tuple[Node, Node, Node]] = set()
        for g in self.graphs:
            for t in g.triples((s, p, o)):
                if t not in seen:
                    seen.add(t)
                    yield t

    def __len__(self) -> int:
        return sum(1 for _ in self.triples((None, None, None)))

    def __contains__(self, triple: Any) -> bool:  # type: ignore[override]
        for _ in self.triples(triple):
            return True
        return False

    def __repr__(self) -> str:
        return f"<MergedGraph of {[str(g.identifier) for g in self.graphs]}>"


class QueryDataset(Dataset):
    """The dataset of one query evaluation: a view over a store, restricted per §13.

    It is an :class:`rdflib.Dataset` (so it survives rdflib's ``QueryContext.clone``) over the
    same store as the queried dataset. ``contexts()`` lists only the visible named graphs and
    ``get_context()`` of an invisible graph returns an empty graph.

    Attributes:
        kg_named_graphs: visible named graph names, or ``None`` for every named graph.
        active_default: the graph patterns outside ``GRAPH`` match against.
        choice: the :class:`DatasetChoice` this view was built from.
        state: the evaluation state (deadline, options) of the query, set by the engine.
    """

    kg_named_graphs: tuple[Identifier, ...] | None
    active_default: Graph
    choice: DatasetChoice
    state: Any

    def __init__(self, base: ConjunctiveGraph) -> None:
        super().__init__(store=base.store, default_union=False)
        self._base = base
        self.kg_named_graphs = None
        self.state = None
        self.namespace_manager = base.namespace_manager

    @classmethod
    def build(
        cls,
        base: ConjunctiveGraph,
        *,
        from_graphs: Sequence[Identifier] | None = None,
        from_named: Sequence[Identifier] | None = None,
        default_graph: Identifier | None = None,
        union_default_graph: bool = False,
        merge_default: Sequence[Identifier] = (),
        disjoint: bool = False,
    ) -> QueryDataset:
        """Build the dataset view of a query.

        Args:
            base: the dataset (or conjunctive graph) being queried.
            from_graphs: graph names of ``FROM`` / ``USING`` clauses; ``None`` when the query has
                no dataset clause at all.
            from_named: graph names of ``FROM NAMED`` / ``USING NAMED`` (``None`` as above).
            default_graph: name of the graph that is the default graph when the query has no
                dataset clause (``None``: the store's default graph).
            union_default_graph: with no dataset clause, use the merge of every graph as the
                default graph.
            merge_default: with no dataset clause, graphs merged into the store's default
                graph (the inferred graph of a reasoning profile, prediction graphs).
            disjoint: the graphs of ``merge_default`` share no triple with the default graph
                or each other.

        Returns:
            The view; ``view.active_default`` is the default graph to evaluate against.
        """
        view = cls(base)
        has_clause = from_graphs is not None or from_named is not None
        if has_clause:
            fg = tuple(dict.fromkeys(from_graphs or ()))
            fn = tuple(dict.fromkeys(from_named or ()))
            view.choice = DatasetChoice(default=fg, named=fn)
            view.kg_named_graphs = fn
            if not fg:
                view.active_default = Graph(identifier=DATASET_DEFAULT_GRAPH_ID)  # empty
            elif len(fg) == 1:
                view.active_default = Graph(store=base.store, identifier=fg[0])
            else:
                view.active_default = MergedGraph(
                    [Graph(store=base.store, identifier=g) for g in fg]
                )
        elif union_default_graph:
            view.choice = DatasetChoice(default="union", named=None)
            view.active_default = view
            view.default_union = True
        elif merge_default and default_graph in (None, DATASET_DEFAULT_GRAPH_ID):
            names = (DATASET_DEFAULT_GRAPH_ID, *dict.fromkeys(merge_default))
            view.choice = DatasetChoice(default=names, named=None, disjoint=disjoint)
            view.active_default = MergedGraph(
                [Graph(store=base.store, identifier=g) for g in names], disjoint=disjoint
            )
        else:
            ident = default_graph if default_graph is not None else DATASET_DEFAULT_GRAPH_ID
            if ident == DATASET_DEFAULT_GRAPH_ID:
                view.choice = DatasetChoice(default=None, named=None)
            else:
                view.choice = DatasetChoice(default=(ident,), named=None)
            view.active_default = Graph(store=base.store, identifier=ident)
        # rdflib's GRAPH ?g skips the context equal to `default_context`: keep it the store's
        # default graph (never a FROM graph, which may also be a FROM NAMED graph).
        view._default_context = Graph(store=base.store, identifier=DATASET_DEFAULT_GRAPH_ID)
        return view

    def __copy__(self) -> QueryDataset:
        """A shallow copy sharing the graphs (the engine reuses built views per dataset)."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    def is_visible(self, name: Identifier) -> bool:
        """Whether ``GRAPH <name>`` may see the graph ``name`` (exists in the store and allowed)."""
        if name == DATASET_DEFAULT_GRAPH_ID:
            return False
        if self.kg_named_graphs is not None and name not in self.kg_named_graphs:
            return False
        return any(c.identifier == name for c in self._store_contexts())

    def _store_contexts(self) -> Iterator[Graph]:
        for c in self.store.contexts():
            ident = c.identifier if isinstance(c, Graph) else c
            yield Graph(store=self.store, identifier=ident, namespace_manager=self.namespace_manager)

    def contexts(self, triple: Any = None) -> Iterator[Graph]:  # type: ignore[override]
        """The visible named graphs (never the default graph)."""
        seen = set()
        for c in self._store_contexts():
            ident = c.identifier
            if ident == DATASET_DEFAULT_GRAPH_ID or ident in seen:
                continue
            if self.kg_named_graphs is not None and ident not in self.kg_named_graphs:
                continue
            seen.add(ident)
            if triple is not None and triple not in c:
                continue
            yield c

    graphs = contexts  # type: ignore[assignment]

    def get_context(self, identifier: Any, quoted: bool = False, base: Any = None) -> Graph:
        """The named graph ``identifier`` if visible, else an empty graph with that name."""
        if isinstance(identifier, Graph):
            identifier = identifier.identifier
        if self.kg_named_graphs is not None and identifier not in self.kg_named_graphs:
            return Graph(identifier=identifier)
        return Graph(store=self.store, identifier=identifier, namespace_manager=self.namespace_manager)


def sql_store_of(store: Any) -> Any | None:
    """The kg-engine :class:`~kg_engine.store.SQLStore` behind an rdflib store, or ``None``."""
    for candidate in (store, getattr(store, "sql_store", None), getattr(store, "store", None)):
        if candidate is not None and hasattr(candidate, "db") and hasattr(candidate, "term_ids"):
            return candidate
    return None


def query_dataset_of(ctx: Any) -> QueryDataset | None:
    """The :class:`QueryDataset` of an rdflib ``QueryContext``, or ``None`` if not ours."""
    ds = getattr(ctx, "_dataset", None)
    return ds if isinstance(ds, QueryDataset) else None
