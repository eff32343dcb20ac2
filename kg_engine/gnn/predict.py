"""Predicted triples back into the graph: top-k link predictions as scored, sourced statements.

A trained model (a checkpoint folder written by :func:`kg_engine.gnn.training.train`) answers
queries ``(h, r, ?)``; the ``k`` best *new* tails of each query (known triples filtered out)
become triples in their own named graph ``urn:kg-engine:predicted:<model>``, each with a
:class:`~kg_engine.core.Provenance` of kind ``predicted``: the checkpoint as ``source``, the
model name as ``agent``, kg-engine's version, a ``confidence`` in ``[0, 1]`` and the raw
score and rank as JSON ``detail``. Running the prediction again replaces that graph.

Candidates are type-checked: with ``range_filter`` (the default) a tail must have an
``rdf:type`` seen for the relation's objects in the graph (a head, one seen for its subjects),
:mod:`kg_engine.gnn.ranges`; data without ``rdf:type`` is not filtered.

Confidence is a calibrated probability (:mod:`kg_engine.gnn.calibration`, temperature fitted on
the validation split when the model was trained): NBFNet is trained with binary
cross-entropy, so ``sigmoid(logit / T)`` estimates that the triple is true; models trained
with 1-vs-all softmax cross-entropy (ComplEx, DistMult, R-GCN, CompGCN) get the probability
``softmax(logit / T)`` of the answer among the query's new, type-checked candidates.

Path models are inductive: predictions (and their explanations) use the store's *current*
triples, so entities added after training get predictions without retraining. Embedding
models use the graph they were trained on.

Example:
    >>> predicted_graph_iri("nbfnet")
    rdflib.term.URIRef('urn:kg-engine:predicted:nbfnet')
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdflib import URIRef

from kg_engine.core.graphs import PREDICTED_GRAPH_PREFIX
from kg_engine.errors import ConfigError, ModelError

__all__ = [
    "PREDICTED_GRAPH_PREFIX",
    "Prediction",
    "inference_data",
    "predict_batch",
    "predict_to_store",
    "predict_top_k",
    "predicted_graph_iri",
]


def predicted_graph_iri(model_name: str) -> URIRef:
    """The named graph holding the predictions of ``model_name``."""
    return URIRef(PREDICTED_GRAPH_PREFIX + model_name)


@dataclass(frozen=True)
class Prediction:
    """One predicted triple in id space.

    Attributes:
        head, relation, tail: the triple with a *base* relation (head queries are turned
            back into stored direction).
        score: the model's raw logit.
        confidence: calibrated score in ``[0, 1]``.
        rank: 1-based rank of the answer among the query's new candidates.
        query: ``"tail"`` for ``(h, r, ?)``, ``"head"`` for ``(?, r, t)``.
    """

    head: int
    relation: int
    tail: int
    score: float
    confidence: float
    rank: int
    query: str


def _is_bce_model(model: Any) -> bool:
    return type(model).__name__ == "NBFNet"


def predict_top_k(
    model: Any,
    graph: Any,
    queries: Any,
    num_relations: int,
    k: int = 10,
    known: Any = None,
    batch_size: int = 64,
    exclude_self: bool = True,
    ranges: Any = None,
    calibration: Any = None,
    candidates: Any = None,
) -> list[Prediction]:
    """The ``k`` best new answers of every query.

    Args:
        model: a :class:`~kg_engine.gnn.models.base.KGCModel` in eval mode.
        graph: the message-passing graph (PyG ``Data``) on the model's device.
        queries: ``LongTensor [Q, 2]`` rows ``(h, r)`` with ``r in [0, 2R)``.
        num_relations: ``R`` (base relations).
        k: answers per query.
        known: a :class:`~kg_engine.gnn.evaluation.KnownFilter` of triples that are already
            true (never predicted); ``None`` predicts everything.
        batch_size: queries per forward pass.
        exclude_self: never predict ``(h, r, h)``.
        ranges: a :class:`~kg_engine.gnn.ranges.RangeFilter`: only type-checked candidates.
        calibration: the :class:`~kg_engine.gnn.calibration.Calibration` of the confidences
            (``None``: temperature 1).
        candidates: ``BoolTensor [N]`` of the entities that may be answers (``None``: all).

    Returns:
        Predictions, query by query, best first.
    """
    import torch

    device = next(model.parameters()).device
    queries = torch.as_tensor(queries, dtype=torch.long).reshape(-1, 2)
    out: list[Prediction] = []
    if calibration is None:
        from kg_engine.gnn.calibration import Calibration

        calibration = Calibration(kind="sigmoid" if _is_bce_model(model) else "softmax")
    with torch.no_grad():
        scorer = model.scorer(graph)
        for i in range(0, len(queries), batch_size):
            q = queries[i : i + batch_size].to(device)
            logits = scorer(q[:, 0], q[:, 1]).float()
            drop = torch.zeros_like(logits, dtype=torch.bool)
            if known is not None:
                drop |= known.mask(q[:, 0], q[:, 1])
            if ranges is not None:
                drop |= ranges.mask(q[:, 1])
            if candidates is not None:
                drop |= ~candidates.to(device)
            if exclude_self:
                drop[torch.arange(len(q), device=device), q[:, 0]] = True
            conf = calibration.probabilities(logits, drop)
            masked = logits.masked_fill(drop, float("-inf"))
            kk = min(k, masked.shape[1])
            top_val, top_idx = masked.topk(kk, dim=1)
            for row in range(len(q)):
                h, r = int(q[row, 0]), int(q[row, 1])
                for rank in range(kk):
                    if not torch.isfinite(top_val[row, rank]):
                        break
                    x = int(top_idx[row, rank])
                    score = float(logits[row, x])
                    c = min(max(float(conf[row, x]), 0.0), 1.0)
                    if r < num_relations:
                        out.append(Prediction(h, r, x, score, c, rank + 1, "tail"))
                    else:
                        out.append(Prediction(x, r - num_relations, h, score, c, rank + 1, "head"))
    return out


def inference_data(loaded: Any, store: Any = None, graph: Any = None) -> tuple[Any, Any]:
    """The id maps and message-passing graph a checkpoint predicts on.

    Inductive (path) models use the store's current triples of ``graph`` (prediction graphs
    excluded), with relations mapped to the checkpoint's relation ids (triples of relations the
    model never saw are dropped); other models use the checkpoint's own vocabulary and graph.

    Args:
        loaded: a :class:`~kg_engine.gnn.training.LoadedModel`.
        store: an open store (``None``: the checkpoint's graph).
        graph: the store graph to read (``None``: every graph).

    Returns:
        ``(data, pyg_graph)`` with ``data`` a :class:`~kg_engine.gnn.data.KGData` whose
        ``train`` holds the triples the graph was built from.

    Raises:
        ModelError: the store has triples, but none of a relation the model knows.
    """
    import torch

    from kg_engine.gnn.data import KGData

    if store is None or not _is_bce_model(loaded.model):
        return loaded.data, loaded.graph
    exclude = [g for g in store.graphs() if str(g).startswith(PREDICTED_GRAPH_PREFIX)]
    current = KGData.from_store(store, graph, exclude_graphs=exclude)
    rel_index = {name: i for i, name in enumerate(loaded.data.relations)}
    remap = torch.tensor([rel_index.get(name, -1) for name in current.relations], dtype=torch.long)
    triples = current.train.clone()
    triples[:, 1] = remap[triples[:, 1]]
    triples = triples[triples[:, 1] >= 0]
    if len(current.train) and not len(triples):
        raise ModelError(
            f"none of the {len(current.relations)} relations of the store "
            f"({', '.join(current.relations[:3])}{', …' if len(current.relations) > 3 else ''}) "
            "is one the model was trained on (it was trained on another graph): predict into a "
            "store with its relations, or train a model on this one (kg gnn train --db URL)")
    data = KGData(
        entities=current.entities,
        relations=list(loaded.data.relations),
        train=triples,
        entity_labels=current.entity_labels,
        relation_labels=loaded.data.relation_labels,
        name=current.name,
    )
    device = next(loaded.model.parameters()).device
    return data, data.graph("train").to(device)


def _store_now(store: Any, data: Any, checkpoint: Any, own_vocabulary: bool) -> tuple[Any, Any]:
    """What the store holds now, in the id space of ``data`` (matched by name, so whatever
    was loaded, deleted, vacuumed or inferred since training is seen as it is).

    Returns:
        ``(known, present)``: ``LongTensor [n, 3]`` of the store's triples that the model can
        name (every graph but predictions, inferred ones included: a prediction must not repeat
        them) and, for a model with its own vocabulary, ``BoolTensor [N]`` of its entities that
        occur in a triple of the store (``None`` for path models, whose entities are the
        store's own).

    Raises:
        ModelError: a model with its own vocabulary none of whose entities is in the store
            (it was trained on another graph).
    """
    import torch

    from kg_engine.gnn.data import KGData, empty_triples

    try:
        current = KGData.from_store(store, include_inferred=True, include_literals=True)
    except ConfigError:  # the store holds no triples
        current = KGData(entities=[], relations=[])
    ent_index = {name: i for i, name in enumerate(data.entities)}
    rel_index = {name: i for i, name in enumerate(data.relations)}
    ent = torch.tensor([ent_index.get(n, -1) for n in current.entities], dtype=torch.long)
    rel = torch.tensor([rel_index.get(n, -1) for n in current.relations], dtype=torch.long)
    known = empty_triples()
    if len(current.train):
        t = current.train
        known = torch.stack([ent[t[:, 0]], rel[t[:, 1]], ent[t[:, 2]]], 1)
        known = known[(known >= 0).all(1)]
    if not own_vocabulary:
        return known, None
    present = torch.zeros(data.num_entities, dtype=torch.bool)
    present[ent[ent >= 0]] = True
    if not bool(present.any()):
        raise ModelError(
            f"none of the {data.num_entities} entities of the model in {checkpoint} is in this "
            "store (it was trained on another graph): predict into the store it was trained on, "
            "or train a model on this one (kg gnn train --db URL)")
    return known, present


def _version() -> str:
    try:
        from kg_engine import __version__

        return str(__version__)
    except ImportError:  # pragma: no cover
        return "unknown"


def predict_batch(
    loaded: Any,
    *,
    checkpoint: str | Path,
    store: Any = None,
    graph: Any = None,
    queries: Sequence[tuple[Any, Any]] | None = None,
    top_k: int = 10,
    directions: str = "tail",
    batch_size: int = 64,
    output_graph: Any = None,
    range_filter: bool = True,
) -> Any:
    """Top-k predictions as a :class:`~kg_engine.core.TripleBatch` with provenance.

    Args:
        loaded: the model (:func:`kg_engine.gnn.training.load_model`).
        checkpoint: the checkpoint folder (recorded as provenance ``source``).
        store: the store to read current triples from (inductive models), or ``None``.
        graph: store graph to read (``None``: all graphs except prediction graphs).
        queries: ``(head, relation)`` pairs of rdflib terms (or N3 names); default: every
            ``(h, r)`` of the known triples.
        top_k: answers per query.
        directions: ``"tail"`` (ask ``(h, r, ?)``) or ``"both"`` (also ``(?, r, t)``).
        batch_size: queries per forward pass.
        output_graph: graph IRI for the predictions (default ``urn:kg-engine:predicted:<model>``);
            it must start with ``urn:kg-engine:predicted:``.
        range_filter: only type-checked tails/heads (:mod:`kg_engine.gnn.ranges`).

    Returns:
        A ``TripleBatch`` in graph ``urn:kg-engine:predicted:<model>`` (or ``output_graph``).

    Raises:
        ValueError: unknown query terms, bad ``directions``/``top_k``, or an ``output_graph``
            outside ``urn:kg-engine:predicted:``.
        ModelError: ``store`` holds none of the model's entities (it was trained on another
            graph), or the model was trained on a dataset of names, not RDF terms.
    """
    import torch

    from kg_engine.core import Provenance, TripleBatch
    from kg_engine.gnn.evaluation import KnownFilter

    if directions not in ("tail", "both"):
        raise ConfigError(f"directions must be 'tail' or 'both', got {directions!r}")
    if top_k < 1:
        raise ConfigError(f"top_k must be >= 1, got {top_k}")
    if output_graph is not None and not str(output_graph).startswith(PREDICTED_GRAPH_PREFIX):
        # anywhere else they would be asserted facts (kg_engine.core.graphs): training data,
        # rule premises, default-graph answers, and "known" to the next run, which would drop
        # them when it replaces the graph (a rerun wrote 20, then 7, then 20 triples)
        raise ConfigError(
            f"predictions cannot go into <{output_graph}>: only a graph named "
            f"{PREDICTED_GRAPH_PREFIX}… keeps them apart from asserted facts (training data, "
            f"rule premises, query answers); use e.g. {PREDICTED_GRAPH_PREFIX}"
            f"{str(output_graph).rstrip('/').rsplit('/', 1)[-1].rsplit(':', 1)[-1] or 'mine'}")
    data, pyg = inference_data(loaded, store, graph)
    try:  # a model trained on a TSV dataset (umls, a folder) names things, with no RDF terms
        data.entity_term(0), data.relation_term(0)
    except (ValueError, IndexError):
        raise ModelError(
            f"the model in {checkpoint} was trained on a dataset of plain names "
            f"({data.name or 'a triples folder'}), not on RDF terms from a store, so its "
            "predictions cannot be written as triples; train it on a store "
            "(kg gnn train --db URL) to predict into one") from None
    num_rel = data.num_relations
    if queries is None:
        q = torch.unique(data.train[:, :2], dim=0)
        if directions == "both":
            inv = torch.unique(
                torch.stack([data.train[:, 2], data.train[:, 1] + num_rel], 1), dim=0
            )
            q = torch.cat([q, inv])
    else:
        rows = []
        for head, rel in queries:
            hn = head.n3() if hasattr(head, "n3") else str(head)
            rn = rel.n3() if hasattr(rel, "n3") else str(rel)
            try:
                rows.append((data.entity_id(hn), data.relation_id(rn)))
            except KeyError as exc:
                fix = ("give terms that occur in the graph" if _is_bce_model(loaded.model) else
                       "this model knows only the entities and relations of its training graph: "
                       "retrain it on the store as it is now (kg gnn train --no-resume), or train "
                       "a path model (nbfnet), which answers about entities added since")
                raise ConfigError(f"query ({hn}, {rn}) is not an entity/relation the model "
                                  f"knows ({exc.args[0]}); {fix}") from exc
        q = torch.tensor(rows, dtype=torch.long).reshape(-1, 2)
        if directions == "both":
            q = torch.cat([q, torch.stack([q[:, 0], q[:, 1] + num_rel], 1)])
    # what the store holds now is known; a model with its own vocabulary predicts only about
    # the entities the store still holds (present)
    known_triples, present = data.train, None
    if store is not None:
        now, present = _store_now(store, data, checkpoint, not _is_bce_model(loaded.model))
        known_triples = torch.cat([known_triples, now])
    if present is not None:
        if queries is None:
            q = q[present[q[:, 0]]]
        elif not bool(present[q[:, 0]].all()):
            gone = data.entities[int(q[~present[q[:, 0]], 0][0])]
            raise ConfigError(
                f"query head {gone} is no longer in the store (deleted since the model was "
                "trained): its predictions would bring it back; ask about entities the store holds")
    known = KnownFilter(known_triples, data.num_entities, num_rel)
    from kg_engine.gnn.ranges import RangeFilter

    # types as the store has them now, inferred ones included (a FullProfessor is a Professor)
    ranges = RangeFilter.from_data(data, known_triples) if range_filter else None
    calibration = getattr(loaded, "calibration", None)
    # the answer of a head query (?, r, t) becomes a subject, which a literal cannot be (a
    # model trained with data.include_literals has literal entities)
    subjects = torch.tensor([not name.startswith('"') for name in data.entities], dtype=torch.bool)
    preds = []
    for rows, allowed in ((q[:, 1] < num_rel, present),
                          (q[:, 1] >= num_rel, subjects if present is None else subjects & present)):
        if bool(rows.any()):
            preds += predict_top_k(loaded.model, pyg, q[rows], num_rel, top_k, known, batch_size,
                                   ranges=ranges, calibration=calibration, candidates=allowed)
    model_name = str(getattr(loaded.config.model, "name", type(loaded.model).__name__.lower()))
    target = predicted_graph_iri(model_name) if output_graph is None else URIRef(str(output_graph))
    batch = TripleBatch(graph=target)
    version = _version()
    for p in preds:
        prov = Provenance(
            kind="predicted",
            source=str(checkpoint),
            agent=model_name,
            version=version,
            confidence=p.confidence,
            detail=json.dumps(
                {
                    "score": p.score,
                    "probability": p.confidence,
                    "temperature": calibration.temperature if calibration is not None else 1.0,
                    "range_filter": ranges is not None,
                    "rank": p.rank,
                    "query": p.query,
                    "graph": None if graph is None else str(graph),
                    "weights": getattr(loaded, "weights_digest", ""),
                }
            ),
        )
        triple = (
            data.entity_term(p.head),
            data.relation_term(p.relation),
            data.entity_term(p.tail),
        )
        batch.add(triple, prov)
    return batch


def predict_to_store(
    checkpoint_dir: str | Path,
    store: Any,
    *,
    top_k: int = 10,
    graph: str | None = None,
    device: str = "auto",
    batch_size: int = 256,
    queries: Sequence[tuple[Any, Any]] | None = None,
    directions: str = "tail",
    output_graph: str | None = None,
    range_filter: bool = True,
) -> int:
    """Predict and write the top-k triples into ``urn:kg-engine:predicted:<model>``.

    The prediction graph is replaced atomically (old predictions of that model removed, new
    ones added with provenance, in one transaction).

    Args:
        checkpoint_dir: folder written by :func:`kg_engine.gnn.training.train`.
        store: an open :class:`~kg_engine.store.SQLStore`.
        top_k: answers per query.
        graph: the store graph to predict over, i.e. whose triples are the model's evidence
            (``None``: every graph except prediction graphs).
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` …
        batch_size: queries per forward pass.
        queries: optional ``(head, relation)`` pairs; default every ``(h, r)`` in the graph.
        directions: ``"tail"`` or ``"both"``.
        output_graph: graph receiving the predictions (default
            ``urn:kg-engine:predicted:<model>``; any other name must also start with
            ``urn:kg-engine:predicted:``); it is replaced.
        range_filter: only type-checked tails/heads (off: every entity is a candidate).

    Returns:
        Number of triples written.

    Raises:
        ModelError: the folder is not a readable checkpoint.
        ValueError: bad queries or arguments.
    """
    from kg_engine.gnn.training import load_model, resolve_device

    loaded = load_model(checkpoint_dir, resolve_device(device))
    batch = predict_batch(
        loaded,
        checkpoint=Path(checkpoint_dir),
        store=store,
        graph=graph,
        queries=queries,
        top_k=top_k,
        directions=directions,
        batch_size=batch_size,
        output_graph=output_graph,
        range_filter=range_filter,
    )
    with store.db.transaction():  # the store as it is now, not as the model read it
        batch = _still_new(batch, store)
        store.remove((None, None, None), graph=batch.graph)
        written = store.add_batch(batch)
    return written


def _still_new(batch: Any, store: Any) -> Any:
    """The predictions of ``batch`` still about entities the store holds and not in it yet.

    The model read the store before it ran; another process may have deleted an entity or
    added a predicted triple meanwhile. Called inside the write transaction, so what is
    written matches the store it is written into.
    """
    from kg_engine.core import TripleBatch
    from kg_engine.gnn.data import KGData

    try:
        current = KGData.from_store(store, include_inferred=True, include_literals=True)
    except ConfigError:  # the store holds nothing any more: nothing to predict about
        return TripleBatch(graph=batch.graph)
    ent = {name: i for i, name in enumerate(current.entities)}
    rel = {name: i for i, name in enumerate(current.relations)}
    n, r = current.num_entities, current.num_relations
    stored = set(((current.train[:, 0] * r + current.train[:, 1]) * n + current.train[:, 2]).tolist())
    keep = []
    for i, (s, p, o, _g) in enumerate(batch.quads):
        h, t, rr = ent.get(s.n3()), ent.get(o.n3()), rel.get(p.n3())
        if h is not None and t is not None and (rr is None or (h * r + rr) * n + t not in stored):
            keep.append(i)
    if len(keep) == len(batch.quads):
        return batch
    provenance = None if batch.provenance is None else [batch.provenance[i] for i in keep]
    return TripleBatch(graph=batch.graph, quads=[batch.quads[i] for i in keep], provenance=provenance)
