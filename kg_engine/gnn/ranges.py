"""Type-checked candidates: a relation's answers must have a type seen for it in training.

A link predictor ranks *every* entity as the answer of ``(h, r, ?)``; on an RDF graph that
lets ``<dana> :advisor <LogicGroup>`` through, because nothing tells the model that advisors
are people. :class:`RangeFilter` learns the observed range (and domain) of each relation from
the ``rdf:type`` triples of the training graph:

* the range of ``r`` is the set of classes of the entities seen as objects of ``r``; a
  candidate tail is allowed when it has one of those classes (the domain, for head queries
  ``(?, r, t)``, likewise from the subjects of ``r``);
* the answers of ``rdf:type`` itself are the classes seen as its objects (and its inverse:
  typed entities);
* a relation whose training answers carry no type at all is not filtered.

Data without ``rdf:type`` (UMLS, Kinship, FB15k-237 in their standard form) gets no filter at
all (:meth:`RangeFilter.from_data` returns ``None``).

Example:
    >>> import torch
    >>> from kg_engine.gnn.data import KGData, RDF_TYPE
    >>> ents = ["<ann>", "<bob>", "<grp>", "<Person>", "<Group>"]
    >>> data = KGData(entities=ents, relations=["<advisor>", RDF_TYPE],
    ...               train=torch.tensor([[0, 0, 1], [0, 1, 3], [1, 1, 3], [2, 1, 4]]))
    >>> f = RangeFilter.from_data(data)
    >>> f.allowed[0].tolist()          # advisor's answers: people only
    [True, True, False, False, False]
    >>> f.allowed[1].tolist()          # rdf:type's answers: the classes
    [False, False, False, True, True]
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

__all__ = ["RangeFilter"]


@dataclass
class RangeFilter:
    """Which entities may answer which query relation.

    Attributes:
        allowed: ``BoolTensor [2R, N]``; row ``r < R`` lists the allowed tails of ``r``, row
            ``r + R`` the allowed heads (answers of the inverse query).

    Shapes:
        :meth:`mask` returns ``BoolTensor [B, N]``, True for candidates to drop.
    """

    allowed: Tensor

    @classmethod
    def from_data(cls, data: Any, triples: Tensor | None = None) -> RangeFilter | None:
        """Observed ranges/domains from the ``rdf:type`` triples of ``triples`` (default
        ``data.train``); ``None`` when there is nothing to filter by (no ``rdf:type``)."""
        from kg_engine.gnn.data import RDF_TYPE

        if RDF_TYPE not in data.relations:
            return None
        triples = data.train if triples is None else triples
        n, nr = data.num_entities, data.num_relations
        type_rel = data.relation_id(RDF_TYPE)
        typed = triples[triples[:, 1] == type_rel]
        if not len(typed):
            return None
        # entity -> class incidence [N, C] and relation -> answer incidence [2R, N] (tails in
        # rows 0..R-1, heads in rows R..2R-1), both sparse: memory grows with the triples
        classes, cls_index = torch.unique(typed[:, 2], return_inverse=True)
        with warnings.catch_warnings():  # "sparse … beta" notices
            warnings.simplefilter("ignore", UserWarning)
            inc = torch.sparse_coo_tensor(
                torch.stack([typed[:, 0], cls_index]), torch.ones(len(typed)), (n, len(classes))
            ).coalesce()
            rows = torch.cat([triples[:, 1], triples[:, 1] + nr])
            cols = torch.cat([triples[:, 2], triples[:, 0]])
            rel = torch.sparse_coo_tensor(torch.stack([rows, cols]), torch.ones(len(rows)), (2 * nr, n))
            rel_classes = torch.sparse.mm(rel.coalesce(), inc).to_dense() > 0  # [2R, C]
            allowed = torch.sparse.mm(inc, rel_classes.float().T).T > 0  # [2R, N]
        untyped = ~rel_classes.any(1)  # answers never typed: no constraint
        allowed[untyped] = True
        is_class = torch.zeros(n, dtype=torch.bool)
        is_class[classes] = True
        allowed[type_rel] = is_class
        allowed[type_rel + nr] = torch.zeros(n, dtype=torch.bool).index_fill_(0, typed[:, 0], True)
        return cls(allowed)

    def mask(self, r: Tensor) -> Tensor:
        """``BoolTensor [B, N]``: True where the entity may not answer query relation ``r[i]``."""
        allowed = self.allowed.to(r.device)
        return ~allowed[r]

    def type_checks(self, h: int, r: int, t: int) -> bool:
        """Whether the triple ``(h, r, t)`` (base relation) has an allowed tail and head."""
        nr = self.allowed.shape[0] // 2
        return bool(self.allowed[r, t]) and bool(self.allowed[r + nr, h])
