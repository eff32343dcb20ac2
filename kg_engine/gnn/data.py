"""Knowledge-graph-completion data: contiguous id maps, split tensors and the PyG graph.

:class:`KGData` is the one object every GNN model, the trainer and the evaluator share.
Entities and relations get contiguous ids ``0..N-1`` / ``0..R-1``; triples are
``LongTensor [n, 3]`` rows ``(h, r, t)`` with ``r`` a *base* relation. The message-passing
graph adds every edge's inverse as relation ``r + R`` (so models see ``2R`` relation
types), which is also how head queries ``(?, r, t)`` are asked: as ``(t, r + R, ?)``.

Data comes either from the standard split files (:mod:`kg_engine.gnn.datasets`) or from
the SQL store (:meth:`KGData.from_store`: one scan of ``kg_quads`` plus one dictionary
decode; entity names are the N3 form of the RDF term, so ids round-trip to IRIs).

Example:
    >>> import torch
    >>> data = KGData(entities=["a", "b", "c"], relations=["p"],
    ...               train=torch.tensor([[0, 0, 1], [1, 0, 2]]))
    >>> g = data.graph()
    >>> g.edge_index.tolist(), g.edge_type.tolist()
    ([[0, 1, 1, 2], [1, 2, 0, 1]], [0, 0, 1, 1])
    >>> data.num_entities, data.num_relations, g.num_relations
    (3, 1, 2)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from kg_engine.core.files import atomic_write
from kg_engine.core.graphs import (
    ANALYTICS_GRAPH_PREFIX,
    INFERRED_GRAPH_PREFIX,
    PREDICTED_GRAPH_PREFIX,
)
from kg_engine.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from torch_geometric.data import Data

__all__ = ["PREDICTED_GRAPH_PREFIX", "RDF_TYPE", "KGData", "empty_triples", "is_schema_term"]


#: N3 name of ``rdf:type`` (the relation whose objects are classes).
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
_VOCABULARIES = (
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "http://www.w3.org/2000/01/rdf-schema#",
    "http://www.w3.org/2002/07/owl#",
    "http://www.w3.org/2001/XMLSchema#",
)


def is_schema_term(term: Any) -> bool:
    """Whether ``term`` is an RDF, RDFS, OWL or XSD vocabulary IRI (``rdfs:subClassOf``,
    ``owl:Class``, ``xsd:integer`` …): schema, not an entity of the instance graph.

    Example:
        >>> from rdflib import OWL, XSD, URIRef
        >>> is_schema_term(OWL.Class), is_schema_term(XSD.integer), is_schema_term(URIRef("urn:x"))
        (True, True, False)
    """
    from rdflib import URIRef

    return isinstance(term, URIRef) and str(term).startswith(_VOCABULARIES)


def _instance_rows(store: Any, rows: list) -> list:
    """The instance triples of ``rows`` (term-id triples): see ``include_schema``."""
    from rdflib import RDF, Literal

    preds = {r[1] for r in rows}
    objs = {r[2] for r in rows}
    terms = store.decode(sorted(preds | objs))
    bad_p = {i for i in preds if is_schema_term(terms.get(i)) and terms.get(i) != RDF.type}
    bad_o = {i for i in objs if is_schema_term(terms.get(i))}
    # literal values (only read with include_literals) keep their annotation property (rdfs:label)
    lits = {i for i in objs if isinstance(terms.get(i), Literal)}
    return [r for r in rows if (r[1] not in bad_p or r[2] in lits) and r[2] not in bad_o]


def empty_triples() -> Tensor:
    """Return an empty ``LongTensor [0, 3]`` (the value of a missing split)."""
    return torch.empty((0, 3), dtype=torch.long)


@dataclass
class KGData:
    """Entities, relations and the train/valid/test triples of one knowledge graph.

    Attributes:
        entities: entity index -> name (dataset name, or the N3 form of an RDF term).
        relations: relation index -> name (base relations only, no inverses).
        train: ``LongTensor [n_train, 3]`` of ``(h, r, t)``.
        valid: ``LongTensor [n_valid, 3]``.
        test: ``LongTensor [n_test, 3]``.
        entity_labels: optional entity index -> human-readable label.
        relation_labels: optional relation index -> human-readable label.
        name: a short name for logs and checkpoints.
        inferred: ``LongTensor [n_inferred, 3]``: triples known to be true that are in no
            split, the rule engine's inferences between the entities of the splits
            (:meth:`from_store`): never trained on, but filtered by the evaluation like every
            known triple.

    Shapes:
        ``train/valid/test/inferred``: ``[n, 3]`` int64, columns ``h, r, t``, ``0 <= r < R``.
    """

    entities: list[str]
    relations: list[str]
    train: Tensor = field(default_factory=empty_triples)
    valid: Tensor = field(default_factory=empty_triples)
    test: Tensor = field(default_factory=empty_triples)
    entity_labels: dict[int, str] | None = None
    relation_labels: dict[int, str] | None = None
    name: str = ""
    inferred: Tensor = field(default_factory=empty_triples)

    def __post_init__(self) -> None:
        for split in ("train", "valid", "test", "inferred"):
            value = getattr(self, split)
            value = torch.as_tensor(value, dtype=torch.long).reshape(-1, 3)
            if value.numel():
                n, r = len(self.entities), len(self.relations)
                if value[:, [0, 2]].min() < 0 or value[:, [0, 2]].max() >= n:
                    raise ValueError(f"{split}: entity id out of range [0, {n})")
                if value[:, 1].min() < 0 or value[:, 1].max() >= r:
                    raise ValueError(f"{split}: relation id out of range [0, {r})")
            setattr(self, split, value)
        self._entity_index: dict[str, int] | None = None
        self._relation_index: dict[str, int] | None = None

    # ------------------------------------------------------------------ sizes
    @property
    def num_entities(self) -> int:
        """Number of entities ``N`` (every entity of every split is ranked)."""
        return len(self.entities)

    @property
    def num_relations(self) -> int:
        """Number of base relations ``R`` (the graph has ``2R`` edge types)."""
        return len(self.relations)

    def __repr__(self) -> str:
        return (
            f"KGData(name={self.name!r}, entities={self.num_entities}, "
            f"relations={self.num_relations}, train={len(self.train)}, "
            f"valid={len(self.valid)}, test={len(self.test)})"
        )

    # ------------------------------------------------------------------ graph
    def split_triples(self, split: str | Sequence[str]) -> Tensor:
        """Return the triples of one split or the concatenation of several.

        Raises:
            ValueError: for an unknown split name.
        """
        names = [split] if isinstance(split, str) else list(split)
        parts = []
        for name in names:
            if name not in ("train", "valid", "test"):
                raise ValueError(f"unknown split {name!r}; expected 'train', 'valid' or 'test'")
            parts.append(getattr(self, name))
        return torch.cat(parts) if parts else empty_triples()

    def known_triples(self) -> Tensor:
        """All known true triples (train + valid + test + inferred): the filter of the
        evaluation."""
        return torch.cat([self.split_triples(("train", "valid", "test")), self.inferred])

    def graph(self, split: str | Sequence[str] = "train", inverse: bool = True) -> Data:
        """The message-passing graph of ``split`` as a PyG ``Data`` object.

        Args:
            split: which split(s) provide the edges (normally only ``"train"``).
            inverse: add the inverse of every edge as relation ``r + R``.

        Returns:
            ``Data(edge_index [2, E'], edge_type [E'], num_nodes=N, num_relations=R or 2R)``
            where ``E' = 2E`` with inverses (first the ``E`` forward edges, then their inverses
            in the same order).
        """
        from torch_geometric.data import Data

        triples = self.split_triples(split)
        h, r, t = triples[:, 0], triples[:, 1], triples[:, 2]
        if inverse:
            edge_index = torch.stack([torch.cat([h, t]), torch.cat([t, h])])
            edge_type = torch.cat([r, r + self.num_relations])
            num_rel = 2 * self.num_relations
        else:
            edge_index = torch.stack([h, t])
            edge_type = r.clone()
            num_rel = self.num_relations
        return Data(
            edge_index=edge_index.contiguous(),
            edge_type=edge_type,
            num_nodes=self.num_entities,
            num_relations=num_rel,
        )

    # ------------------------------------------------------------------ id maps
    def entity_id(self, name: str) -> int:
        """Index of an entity given its name (N3 form for store data).

        Raises:
            KeyError: the entity is unknown.
        """
        if self._entity_index is None:
            self._entity_index = {e: i for i, e in enumerate(self.entities)}
        try:
            return self._entity_index[name]
        except KeyError:
            raise KeyError(f"unknown entity {name!r} (not in the training vocabulary)") from None

    def relation_id(self, name: str) -> int:
        """Index of a base relation given its name.

        Raises:
            KeyError: the relation is unknown.
        """
        if self._relation_index is None:
            self._relation_index = {e: i for i, e in enumerate(self.relations)}
        try:
            return self._relation_index[name]
        except KeyError:
            raise KeyError(f"unknown relation {name!r} (not in the training vocabulary)") from None

    def entity_term(self, index: int) -> Any:
        """The rdflib term of entity ``index`` (store data: names are N3).

        Raises:
            ValueError: the name is not an N3 IRI / blank node / literal.

        Example (a literal keeps its lexical form: ``"01"`` is not the literal ``"1"``):
            >>> from rdflib import XSD, Literal
            >>> one = Literal("01", datatype=XSD.integer, normalize=False)
            >>> str(KGData(entities=[one.n3()], relations=[]).entity_term(0))
            '01'
        """
        return _from_n3(self.entities[index])

    def relation_term(self, index: int) -> Any:
        """The rdflib term (IRI) of base relation ``index``."""
        return _from_n3(self.relations[index])

    def entity_label(self, index: int) -> str:
        """A display label: the label from the data if any, else the name."""
        if self.entity_labels and index in self.entity_labels:
            return self.entity_labels[index]
        return self.entities[index]

    def relation_label(self, index: int) -> str:
        """A display label for a relation (``r >= R`` is shown as ``inverse of ...``)."""
        if index >= self.num_relations:
            return "inverse of " + self.relation_label(index - self.num_relations)
        if self.relation_labels and index in self.relation_labels:
            return self.relation_labels[index]
        return self.relations[index]

    def fingerprint(self) -> str:
        """A digest of the id maps and the three splits: equal exactly when a model's rows
        and its train/valid/test partition mean the same thing (checkpoints record it).

        Example:
            >>> import torch
            >>> a = KGData(entities=["x", "y"], relations=["p"], train=torch.tensor([[0, 0, 1]]))
            >>> b = KGData(entities=["x", "z"], relations=["p"], train=torch.tensor([[0, 0, 1]]))
            >>> a.fingerprint() == b.fingerprint(), len(a.fingerprint())
            (False, 64)
        """
        digest = hashlib.sha256(json.dumps([self.entities, self.relations]).encode("utf-8"))
        for split in (self.train, self.valid, self.test):
            digest.update(str(len(split)).encode("ascii") + b";")
            digest.update(split.to(torch.int64).contiguous().numpy().tobytes())
        return digest.hexdigest()

    # ------------------------------------------------------------------ vocab files
    def vocab(self) -> dict[str, Any]:
        """The id maps and labels as a JSON-able dict (saved beside checkpoints)."""
        return {
            "name": self.name,
            "entities": self.entities,
            "relations": self.relations,
            # by index: the same maps give the same file, whatever order the labels were read in
            "entity_labels": {str(k): v for k, v in sorted((self.entity_labels or {}).items())},
            "relation_labels": {str(k): v for k, v in sorted((self.relation_labels or {}).items())},
        }

    def save_vocab(self, path: str | Path) -> None:
        """Write :meth:`vocab` to ``path`` as JSON."""
        atomic_write(path, json.dumps(self.vocab(), ensure_ascii=False).encode("utf-8"))

    @classmethod
    def from_vocab(cls, vocab: dict[str, Any]) -> KGData:
        """A :class:`KGData` with the id maps of ``vocab`` and empty splits."""
        return cls(
            entities=list(vocab["entities"]),
            relations=list(vocab["relations"]),
            entity_labels={int(k): v for k, v in vocab.get("entity_labels", {}).items()} or None,
            relation_labels={int(k): v for k, v in vocab.get("relation_labels", {}).items()}
            or None,
            name=vocab.get("name", ""),
        )

    @classmethod
    def load_vocab(cls, path: str | Path) -> KGData:
        """Read a vocab JSON written by :meth:`save_vocab`."""
        return cls.from_vocab(json.loads(Path(path).read_text(encoding="utf-8")))

    # ------------------------------------------------------------------ splitting
    def split(self, valid_fraction: float = 0.05, test_fraction: float = 0.05, seed: int = 0) -> KGData:
        """Randomly move a fraction of the training triples to valid/test.

        Args:
            valid_fraction: share of the triples that go to ``valid``.
            test_fraction: share of the triples that go to ``test``.
            seed: seed of the permutation.

        Returns:
            A new :class:`KGData` with the same id maps.
        """
        if not 0 <= valid_fraction + test_fraction < 1:
            raise ValueError("valid_fraction + test_fraction must be in [0, 1)")
        triples = self.train
        gen = torch.Generator().manual_seed(seed)
        perm = torch.randperm(len(triples), generator=gen)
        n_valid = round(valid_fraction * len(triples))
        n_test = round(test_fraction * len(triples))
        valid = triples[perm[:n_valid]]
        test = triples[perm[n_valid : n_valid + n_test]]
        train = triples[perm[n_valid + n_test :]]
        return KGData(
            entities=self.entities,
            relations=self.relations,
            train=train,
            valid=torch.cat([self.valid, valid]),
            test=torch.cat([self.test, test]),
            entity_labels=self.entity_labels,
            relation_labels=self.relation_labels,
            name=self.name,
            inferred=self.inferred,
        )

    # ------------------------------------------------------------------ from the store
    @classmethod
    def from_store(
        cls,
        store: Any,
        graph: Any = None,
        *,
        include_literals: bool = False,
        exclude_graphs: Iterable[Any] = (),
        include_predictions: bool = False,
        include_inferred: bool = False,
        include_schema: bool = False,
        name: str = "",
    ) -> KGData:
        """Build a :class:`KGData` from the triples of a kg-engine store.

        One SQL scan of ``kg_quads`` collects the integer triples; one ``store.decode``
        call maps the distinct term ids to rdflib terms. Entity and relation ids are
        assigned in the order of the sorted N3 names and ``train`` is sorted by those ids,
        so two stores with the same triples give the same data (and the same seeded
        :meth:`split`), whatever order the triples were loaded in. Every triple goes to
        ``train``; use :meth:`split`.

        Args:
            store: an open ``SQLStore``.
            graph: ``None`` for every graph (default + named), ``DEFAULT_GRAPH`` (or the
                string ``"default"``) for the default graph, or a graph IRI.
            include_literals: keep triples whose object is a literal (off: literals are
                attribute values, not entities).
            exclude_graphs: graph IRIs to skip when ``graph`` is ``None``.
            include_predictions: with ``graph=None``, also read the graphs of earlier GNN
                predictions and analytics results (:mod:`kg_engine.core.graphs`); off by default.
            include_inferred: with ``graph=None``, also read the rule engine's inferred graphs.
                Off by default: an inferred triple is a consequence of asserted ones, and a
                random split would put e.g. ``(b, knows, a)`` (inferred from a symmetric
                property) in train and its premise ``(a, knows, b)`` in test, so the model would
                be tested on what it was shown. Those between the data's entities are kept in
                ``inferred`` (filtered by the evaluation, never trained on), and predictions
                never repeat them (:func:`kg_engine.gnn.predict.predict_batch` filters the
                whole store).
            include_schema: keep schema triples. Off: the model sees the *instance* graph:
                triples whose predicate is RDF/RDFS/OWL vocabulary (except ``rdf:type``:
                ``subClassOf``, ``domain``, ``range``, ``unionOf`` lists …) and triples whose
                object is a vocabulary or datatype IRI (``owl:Class``, ``xsd:integer``) are
                dropped, so classes, properties and datatypes never become candidate entities
                (:func:`is_schema_term`).
            name: the name to record.

        Returns:
            The data; ``entity_labels`` come from ``rdfs:label`` literals when present.

        Raises:
            ValueError: the graph does not exist or holds no usable triples.
        """
        from rdflib import RDFS, URIRef

        from kg_engine.core.terms import DEFAULT_GRAPH

        db = store.db
        literal_filter = "" if include_literals else " AND t.kind <> 3"
        base = (
            "SELECT q.s, q.p, q.o FROM kg_quads q JOIN kg_terms t ON t.id = q.o WHERE 1 = 1"
            + literal_filter
        )
        params: list[Any] = []
        if graph is not None:
            if graph == "default" or graph == DEFAULT_GRAPH:
                gid = 0
            else:
                iri = URIRef(str(graph)) if isinstance(graph, str) else graph
                ids = store.term_ids([iri])
                if iri not in ids:
                    raise ConfigError(f"graph {iri} does not exist in the store")
                gid = ids[iri]
            base += " AND q.g = ?"
            params.append(gid)
        excluded = []
        for g in exclude_graphs:
            iri = URIRef(str(g)) if isinstance(g, str) else g
            ids = store.term_ids([iri])
            if iri in ids:
                excluded.append(ids[iri])
        for gid in excluded:
            base += " AND q.g <> ?"
            params.append(gid)
        skipped = [] if graph is not None else (
            ([] if include_predictions else [PREDICTED_GRAPH_PREFIX, ANALYTICS_GRAPH_PREFIX])
            + ([] if include_inferred else [INFERRED_GRAPH_PREFIX]))
        if skipped:
            base += (" AND q.g NOT IN (SELECT id FROM kg_terms WHERE kind = 1 AND ("
                     + " OR ".join(["substr(lex, 1, ?) = ?"] * len(skipped)) + "))")
            params += [x for prefix in skipped for x in (len(prefix), prefix)]
        rows = db.fetchall(base, tuple(params))
        if rows and not include_schema:
            rows = _instance_rows(store, rows)
        if not rows:
            raise ConfigError("the store holds no triples to train on" + (f" in graph {graph}" if graph else "")
                              + ": load data first (kg load), or train on a --dataset")
        spo = torch.tensor(rows, dtype=torch.long)
        spo = torch.unique(spo, dim=0)  # the same triple in several graphs counts once
        node_ids = torch.unique(torch.cat([spo[:, 0], spo[:, 2]]))
        rel_ids = torch.unique(spo[:, 1])
        terms = store.decode([int(i) for i in torch.cat([node_ids, rel_ids]).unique().tolist()])
        node_n3 = sorted((terms[int(i)].n3(), int(i)) for i in node_ids)
        rel_n3 = sorted((terms[int(i)].n3(), int(i)) for i in rel_ids)
        entities = [n for n, _ in node_n3]
        relations = [n for n, _ in rel_n3]
        node_map = torch.full((int(node_ids.max()) + 1,), -1, dtype=torch.long)
        node_map[torch.tensor([i for _, i in node_n3])] = torch.arange(len(node_n3))
        rel_map = torch.full((int(rel_ids.max()) + 1,), -1, dtype=torch.long)
        rel_map[torch.tensor([i for _, i in rel_n3])] = torch.arange(len(rel_n3))
        # rows in (h, r, t) order of the sorted names, not in the order of the store's term ids
        # (which follow insertion order): the seeded split then picks the same triples
        train = torch.unique(torch.stack(
            [node_map[spo[:, 0]], rel_map[spo[:, 1]], node_map[spo[:, 2]]], dim=1
        ), dim=0)
        inferred = empty_triples()
        if graph is None and not include_inferred:  # known true, so filtered by the evaluation
            rows = db.fetchall(
                "SELECT q.s, q.p, q.o FROM kg_quads q JOIN kg_terms t ON t.id = q.o WHERE q.g IN "
                "(SELECT id FROM kg_terms WHERE kind = 1 AND substr(lex, 1, ?) = ?)" + literal_filter
                + "".join(" AND q.g <> ?" for _ in excluded),
                (len(INFERRED_GRAPH_PREFIX), INFERRED_GRAPH_PREFIX, *excluded))
            if rows and not include_schema:
                rows = _instance_rows(store, rows)
            if rows:
                ids = torch.tensor(rows, dtype=torch.long)
                ids = ids[(ids[:, [0, 2]] < len(node_map)).all(1) & (ids[:, 1] < len(rel_map))]
                mapped = torch.stack(
                    [node_map[ids[:, 0]], rel_map[ids[:, 1]], node_map[ids[:, 2]]], dim=1)
                inferred = torch.unique(mapped[(mapped >= 0).all(1)], dim=0)
        labels = _store_labels(store, {i: k for k, (_, i) in enumerate(node_n3)}, RDFS.label)
        rel_labels = _store_labels(store, {i: k for k, (_, i) in enumerate(rel_n3)}, RDFS.label)
        return cls(
            entities=entities,
            relations=relations,
            train=train,
            entity_labels=labels or None,
            relation_labels=rel_labels or None,
            name=name,
            inferred=inferred,
        )


def _store_labels(store: Any, index_of: dict[int, int], label_iri: Any) -> dict[int, str]:
    """``rdfs:label`` literals of the given term ids (first label by lexical order wins)."""
    ids = store.term_ids([label_iri])
    if label_iri not in ids:
        return {}
    rows = store.db.fetchall(
        "SELECT q.s, t.lex FROM kg_quads q JOIN kg_terms t ON t.id = q.o "
        "WHERE q.p = ? AND t.kind = 3 ORDER BY q.s, t.lex",
        (ids[label_iri],),
    )
    labels: dict[int, str] = {}
    for s, lex in rows:
        k = index_of.get(int(s))
        if k is not None and k not in labels:
            labels[k] = lex
    return labels


def _from_n3(text: str) -> Any:
    """The term of an N3 name, literals with their lexical form as stored: rdflib would make
    ``"01"^^xsd:integer`` the other literal ``"1"`` (and a prediction about ``"01"`` would be
    written about ``"1"``, or dropped as an entity the store does not hold)."""
    from kg_engine.core.terms import term_from_n3

    if not text.startswith(("<", "_:", '"')):
        raise ValueError(
            f"{text!r} is not an RDF term in N3 form; only data read from a store "
            "(KGData.from_store) maps back to RDF terms"
        )
    return term_from_n3(text)
