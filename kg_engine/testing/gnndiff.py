"""Do GNN reasoners trained from a live store learn, name and write back the right things?

An independent check of the path *store → training data → checkpoint → predictions → store*,
against references computed here from SPARQL answers and the checkpoint's own files:

* **training data** (:func:`check_training_data`): the entities, relations and triples a
  checkpoint was trained on equal the instance graph the documentation promises, rebuilt from
  ``SELECT ?g ?s ?p ?o`` here: the default graph and every named graph except the inferred,
  predicted and analytics ones; literal objects only with ``data.include_literals``; no
  schema triple (RDF/RDFS/OWL/XSD predicate other than ``rdf:type``, vocabulary object); a
  triple held by two graphs once; train, valid and test disjoint; ``data.inferred`` the rule
  engine's triples between the data's entities and relations;
* **predictions after the store changed** (:func:`check_predictions`): after entities are
  added, deleted, re-added with new term ids (``vacuum``), the store reloaded into a fresh
  one in another order (term ids all different) or into PostgreSQL, every prediction names
  the IRIs the model's own scores rank first. Scores are recomputed here from the
  checkpoint's weights and ``vocab.json``: for models with an embedding per entity
  (DistMult, ComplEx …) over the training graph; for path models (NBFNet) over the store's
  current instance graph, rebuilt from SPARQL with the entity ids *permuted* (a path model's
  scores do not depend on ids, so a prediction naming the wrong entity shows). Each query's
  answers must be its top-k new candidates (known triples, the head itself and, for head
  queries, literals excluded; for embedding models only entities the store still holds, and
  their training triples stay known even when deleted since), with the recorded score;
* **write-back** (:func:`check_write_back`): predictions go into
  ``urn:kg-engine:predicted:<model>`` with ``predicted`` provenance (checkpoint, model,
  score, rank, weights digest), a re-run replaces them (same triples, no duplicates), they
  are invisible to SPARQL's default graph unless ``include_predicted``, removable, never
  training data, and ``kg.explain`` reports them as predictions;
* **edge cases** (:func:`check_edge_cases`): tiny graphs (1 relation, 2 entities), a store of
  literals only, unknown query terms, a checkpoint of another store, corrupt and
  pickle-carrying checkpoints (``weights_only=True``), corrupt calibration files, output
  graphs outside the prediction namespace;
* **determinism** (:func:`check_determinism`): the same seed on the same triples, loaded in
  another order into another store by processes with different ``PYTHONHASHSEED``, gives the
  same id maps, splits, weights and metrics (CPU, 1 thread).

:func:`run_seed` draws a store from a seed and runs everything;
``benchmarks/gnn_store_differential.py`` runs many seeds.

Example:
    >>> quads = generate(3)
    >>> len(quads) > 30, any(isinstance(q[2], Literal) for q in quads)
    (True, True)
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdflib import OWL, RDF, RDFS, XSD, BNode, Literal, URIRef

from kg_engine.core.graphs import (
    ANALYTICS_GRAPH_PREFIX,
    INFERRED_GRAPH_PREFIX,
    PREDICTED_GRAPH_PREFIX,
)

__all__ = [
    "MODELS",
    "Reference",
    "SeedReport",
    "check_determinism",
    "check_edge_cases",
    "check_predictions",
    "check_training_data",
    "check_write_back",
    "generate",
    "reference",
    "run_seed",
]

EX = "http://example.org/gd/"
_VOCAB = (str(RDF), str(RDFS), str(OWL), str(XSD))
_DERIVED = (INFERRED_GRAPH_PREFIX, PREDICTED_GRAPH_PREFIX, ANALYTICS_GRAPH_PREFIX)

#: tiny CPU configs: model name -> config overrides.
MODELS: dict[str, dict[str, Any]] = {
    "distmult": {"model.name": "distmult", "model.dim": 8, "training.batch_size": 32,
                 "training.lr": 0.1},
    "complex": {"model.name": "complex", "model.dim": 8, "training.batch_size": 32,
                "training.lr": 0.1},
    "nbfnet": {"model.name": "nbfnet", "model.hidden_dim": 8, "model.num_layers": 2,
               "model.num_negative": 0, "model.aggregate_func": "sum",
               "training.batch_size": 16, "training.lr": 0.01},
}
_COMMON = {"training.epochs": 2, "training.eval_every": 1, "training.patience": 0,
           "training.device": "cpu", "training.num_threads": 1, "training.amp": False,
           "training.checkpoint_every_minutes": 0, "data.valid_fraction": 0.1,
           "data.test_fraction": 0.1}


@dataclass
class SeedReport:
    """What :func:`run_seed` checked and found.

    Attributes:
        seed: the seed.
        backend: ``"sqlite"`` or ``"postgres"`` (the store reloaded into).
        checks: number of individual comparisons made.
        findings: one line per disagreement (empty: all agree).
        cases: the case names run.
    """

    seed: int
    backend: str = "sqlite"
    checks: int = 0
    findings: list[str] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No finding."""
        return not self.findings

    def check(self, case: str, condition: bool, message: str) -> bool:
        """Count one comparison; record ``message`` under ``case`` when it fails."""
        self.checks += 1
        if not condition:
            self.findings.append(f"seed {self.seed} [{case}] {message}")
        return condition


# ---------------------------------------------------------------- data
def generate(seed: int) -> list[tuple]:
    """A random store as quads ``(s, p, o, g)`` (``g`` ``None``: the default graph).

    Entities (IRIs, some non-ASCII, and blank nodes) linked by 1-4 relations in the default
    graph and a named graph (some triples in both); ``rdf:type`` and schema triples
    (``subClassOf``, ``domain``, ``owl:sameAs``, a vocabulary object); literal values with
    non-canonical lexical forms (``"01"^^xsd:integer``), labels, an entity with only literals;
    a rule-engine inferred graph, an earlier prediction graph and an analytics graph.
    """
    rng = random.Random(seed)
    n = rng.randint(6, 14)
    ents: list[Any] = [URIRef(f"{EX}{'é' if i % 5 == 4 else 'e'}{i}") for i in range(n)]
    ents += [BNode(f"gdb{seed}x{i}") for i in range(rng.randint(0, 2))]
    rels = [URIRef(f"{EX}r{j}") for j in range(rng.randint(1, 4))]
    named = URIRef(f"{EX}graph1")
    quads: list[tuple] = []
    for _ in range(rng.randint(2 * n, 4 * n)):
        s, o = rng.sample(ents, 2)
        g = rng.choice([None, None, named])
        quads.append((s, rng.choice(rels), o, g))
        if rng.random() < 0.1:
            quads.append((s, quads[-1][1], o, named if g is None else None))
    classes = [URIRef(f"{EX}C{k}") for k in range(2)]
    for e in rng.sample(ents, min(len(ents), 4)):
        quads.append((e, RDF.type, rng.choice(classes), None))
    quads += [(classes[0], RDFS.subClassOf, classes[1], None),
              (rels[0], RDFS.domain, classes[0], None),
              (classes[1], RDF.type, OWL.Class, None),
              (ents[0], OWL.sameAs, ents[1], None),
              (ents[1], URIRef(f"{EX}unit"), XSD.integer, None)]
    lexical = ["01", "1", " 7 ", "+3"]
    for e in rng.sample(ents, min(len(ents), 3)):
        quads.append((e, URIRef(f"{EX}age"),
                      Literal(rng.choice(lexical), datatype=XSD.integer, normalize=False), None))
        quads.append((e, RDFS.label, Literal(f"name {e}", lang="en"), None))
    quads.append((URIRef(f"{EX}lonely"), URIRef(f"{EX}age"),
                  Literal("2020-01-01T00:00:00Z", datatype=XSD.dateTime, normalize=False), None))
    inferred = URIRef(INFERRED_GRAPH_PREFIX + "gd")
    for _ in range(rng.randint(1, 5)):
        s, o = rng.sample(ents, 2)
        quads.append((s, rng.choice(rels), o, inferred))
    s, o = rng.sample(ents, 2)
    quads.append((s, rels[-1], o, URIRef(PREDICTED_GRAPH_PREFIX + "old")))
    quads.append((ents[-1], URIRef(f"{EX}score"), o, URIRef(ANALYTICS_GRAPH_PREFIX + "pr")))
    return quads


def fill(store: Any, quads: Iterable[tuple]) -> None:
    """Add ``quads`` (graph ``None``: the default graph) to ``store``."""
    from kg_engine.core.terms import DEFAULT_GRAPH

    store.add([(s, p, o, DEFAULT_GRAPH if g is None else g) for s, p, o, g in quads])


# ---------------------------------------------------------------- references
@dataclass
class Reference:
    """What a store holds, read through SPARQL and filtered by the documented rules.

    Attributes:
        triples: instance triples (N3 names) of asserted graphs: the training data.
        inferred: instance triples of the rule engine's graphs.
        known: every triple of every graph except predicted/analytics ones (literals,
            schema and inferred ones included): what a prediction must not repeat.
    """

    triples: set[tuple[str, str, str]]
    inferred: set[tuple[str, str, str]]
    known: set[tuple[str, str, str]]

    @property
    def entities(self) -> list[str]:
        """Sorted subjects and objects of :attr:`triples`."""
        return sorted({x for s, _, o in self.triples for x in (s, o)})

    @property
    def relations(self) -> list[str]:
        """Sorted predicates of :attr:`triples`."""
        return sorted({p for _, p, _ in self.triples})


def _vocab(term: Any) -> bool:
    return isinstance(term, URIRef) and str(term).startswith(_VOCAB)


def reference(kg: Any, include_literals: bool = False) -> Reference:
    """The :class:`Reference` of ``kg`` (a :class:`~kg_engine.api.KnowledgeGraph`), from one
    SPARQL query over the default graph and every named graph."""
    rows = kg.query("SELECT ?g ?s ?p ?o WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }",
                    include_inferred=False)
    triples, inferred, known = set(), set(), set()
    for g, s, p, o in rows:
        gname = "" if g is None else str(g)
        if gname.startswith((PREDICTED_GRAPH_PREFIX, ANALYTICS_GRAPH_PREFIX)):
            continue
        names = (s.n3(), p.n3(), o.n3())
        known.add(names)
        literal = isinstance(o, Literal)
        if literal and not include_literals:
            continue
        if _vocab(o) or (_vocab(p) and p != RDF.type and not literal):
            continue
        (inferred if gname.startswith(INFERRED_GRAPH_PREFIX) else triples).add(names)
    return Reference(triples, inferred, known)


def _split_names(folder: Path) -> dict[str, set[tuple[str, str, str]]]:
    """The checkpoint's splits as N3 triples, read with ``vocab.json`` (not the product's
    loader)."""
    import torch

    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    ents, rels = vocab["entities"], vocab["relations"]
    out = {}
    for split in ("train", "valid", "test", "inferred"):
        rows = torch.load(folder / f"{split}_triples.pt", weights_only=True).tolist()
        out[split] = {(ents[h], rels[r], ents[t]) for h, r, t in rows}
        out[split + "_rows"] = len(rows)  # type: ignore[assignment]
    return out


def check_training_data(report: SeedReport, case: str, kg: Any, folder: Path,
                        include_literals: bool) -> None:
    """Compare the checkpoint in ``folder`` with :func:`reference` of ``kg``."""
    ref = reference(kg, include_literals)
    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    splits = _split_names(folder)
    report.check(case, vocab["entities"] == ref.entities,
                 f"entities differ: extra {sorted(set(vocab['entities']) - set(ref.entities))[:5]}"
                 f" missing {sorted(set(ref.entities) - set(vocab['entities']))[:5]}")
    report.check(case, vocab["relations"] == ref.relations,
                 f"relations {vocab['relations']} != {ref.relations}")
    union = splits["train"] | splits["valid"] | splits["test"]
    report.check(case, union == ref.triples,
                 f"training triples differ: extra {sorted(union - ref.triples)[:3]} "
                 f"missing {sorted(ref.triples - union)[:3]}")
    total = sum(splits[s + "_rows"] for s in ("train", "valid", "test"))  # type: ignore[misc]
    report.check(case, total == len(union), f"splits overlap or repeat triples ({total} rows, "
                 f"{len(union)} distinct)")
    ents, rels = set(ref.entities), set(ref.relations)
    want = {t for t in ref.inferred if t[0] in ents and t[2] in ents and t[1] in rels}
    report.check(case, splits["inferred"] == want,
                 f"data.inferred differs: extra {sorted(splits['inferred'] - want)[:3]} "
                 f"missing {sorted(want - splits['inferred'])[:3]}")


def _is_path_model(loaded: Any) -> bool:
    return type(loaded.model).__name__ == "NBFNet"


def _reference_scores(loaded: Any, folder: Path, ref: Reference, seed: int
                      ) -> tuple[list[str], Any, Any]:
    """``(entity names, graph, scorer)`` of the model over what the store holds now.

    Embedding models: the checkpoint's ``vocab.json`` and ``train_triples.pt``. Path models:
    the reference instance graph, entity ids shuffled with ``seed``.
    """
    import torch

    from kg_engine.gnn.data import KGData

    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    if not _is_path_model(loaded):
        train = torch.load(folder / "train_triples.pt", weights_only=True)
        data = KGData(entities=vocab["entities"], relations=vocab["relations"], train=train)
    else:
        rels = {r: i for i, r in enumerate(vocab["relations"])}
        triples = [t for t in ref.triples if t[1] in rels and not t[2].startswith('"')]
        ents = sorted({x for s, _, o in triples for x in (s, o)})
        random.Random(seed).shuffle(ents)
        index = {e: i for i, e in enumerate(ents)}
        rows = [[index[s], rels[p], index[o]] for s, p, o in sorted(triples)]
        data = KGData(entities=ents, relations=vocab["relations"],
                      train=torch.tensor(rows, dtype=torch.long).reshape(-1, 3))
    graph = data.graph("train")
    with torch.no_grad():
        scorer = loaded.model.scorer(graph)
    return data.entities, graph, scorer


def check_predictions(report: SeedReport, case: str, loaded: Any, folder: Path, kg: Any,
                      batch: Any, top_k: int, seed: int) -> None:
    """Every query of ``batch`` (from ``predict_batch(..., range_filter=False,
    directions="both")``) answered with the model's top-k new candidates, recomputed here."""
    import torch

    ref = reference(kg, include_literals=False)
    full = reference(kg, include_literals=True)
    ents, _graph, scorer = _reference_scores(loaded, folder, ref, seed)
    rels = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))["relations"]
    e_index = {e: i for i, e in enumerate(ents)}
    r_index = {r: i for i, r in enumerate(rels)}
    present = {x for s, _, o in full.triples | full.inferred for x in (s, o)}
    path = _is_path_model(loaded)
    known = set(full.known)
    if not path:  # a triple the model trained on is never predicted, even if deleted since
        known |= _split_names(folder)["train"]
    got: dict[tuple[str, str, str], list[tuple[str, float]]] = {}
    for (s, p, o, _g), prov in zip(batch.quads, batch.provenance or [], strict=True):
        detail = json.loads(prov.detail)
        names = (s.n3(), p.n3(), o.n3())
        report.check(case, names not in full.known, f"predicted {names} is in the store")
        report.check(case, prov.kind == "predicted" and 0.0 <= (prov.confidence or 0) <= 1.0,
                     f"provenance {prov.kind} / confidence {prov.confidence}")
        if detail["query"] == "tail":
            got.setdefault(("tail", names[0], names[1]), []).append((names[2], detail["score"]))
        else:
            got.setdefault(("head", names[2], names[1]), []).append((names[0], detail["score"]))
    # the queries asked by default: every (h, r) of the evidence (path models: the store now;
    # others: the checkpoint's training split, heads the store still holds)
    if path:
        evidence = [t for t in ref.triples if t[1] in r_index]
    else:
        vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        train = torch.load(folder / "train_triples.pt", weights_only=True).tolist()
        evidence = [(vocab["entities"][h], vocab["relations"][r], vocab["entities"][t])
                    for h, r, t in train]
    queries = {("tail", s, p) for s, p, _ in evidence} | {("head", o, p) for _, p, o in evidence}
    if not path:
        queries = {q for q in queries if q[1] in present}
    for q in sorted(queries):
        kind, anchor, rel = q
        anchor_id = e_index.get(anchor)
        if anchor_id is None:
            report.check(case, q not in got, f"query {q} about an entity the model cannot score")
            continue
        r = r_index[rel] + (0 if kind == "tail" else len(rels))
        with torch.no_grad():
            scores = scorer(torch.tensor([anchor_id]), torch.tensor([r]))[0].float()
        cands = []
        for x, name in enumerate(ents):
            triple = (anchor, rel, name) if kind == "tail" else (name, rel, anchor)
            if name == anchor or triple in known:
                continue
            if kind == "head" and name.startswith('"'):
                continue
            if not path and name not in present:
                continue
            cands.append((float(scores[x]), name))
        cands.sort(key=lambda c: -c[0])
        want = cands[:top_k]
        answers = got.get(q, [])
        report.check(case, len(answers) == len(want),
                     f"query {q}: {len(answers)} answers, {len(want)} expected")
        if not want or not answers:
            continue
        cut = want[-1][0]
        tol = 1e-4 * max(1.0, abs(cut))
        ref_score = {name: s for s, name in cands}
        for name, score in answers:
            if not report.check(case, name in ref_score,
                                f"query {q}: answer {name} is no candidate (known, self, literal "
                                "head or unknown entity)"):
                continue
            report.check(case, abs(ref_score[name] - score) <= tol,
                         f"query {q}: {name} recorded score {score:.6f}, model gives "
                         f"{ref_score[name]:.6f}")
            report.check(case, ref_score[name] >= cut - tol,
                         f"query {q}: {name} (score {ref_score[name]:.6f}) is not in the top "
                         f"{top_k} (cut {cut:.6f}): best were {want}")


# ---------------------------------------------------------------- write-back
def check_write_back(report: SeedReport, case: str, kg: Any, folder: Path, model: str) -> None:
    """Write predictions twice, then look at them the ways a user would."""
    from kg_engine.gnn.predict import predicted_graph_iri

    graph = predicted_graph_iri(model)
    kg.store.remove((None, None, None), graph=graph)
    before = kg.store.count()
    old = URIRef(PREDICTED_GRAPH_PREFIX + "old")
    old_count = kg.store.count(old)
    first = kg.predict(folder, top_k=2, device="cpu", directions="both")
    quads1 = sorted(q[:3] for q in kg.store.triples(graph=graph))
    report.check(case, first == len(quads1), f"predict said {first}, graph holds {len(quads1)}")
    second = kg.predict(folder, top_k=2, device="cpu", directions="both")
    quads2 = sorted(q[:3] for q in kg.store.triples(graph=graph))
    report.check(case, quads1 == quads2 and first == second,
                 f"re-run changed the predictions ({first} -> {second})")
    report.check(case, kg.store.count() == before + len(quads2),
                 "the store changed by more than the predictions")
    report.check(case, kg.store.count(old) == old_count, "another model's predictions changed")
    provs = [kg.store.provenance_of((*t, graph)) for t in quads2]
    # one record per query that found the triple: (h, r, ?) and, with directions="both",
    # (?, r, t)
    bad = [p for p in provs if not (
        p and len({json.loads(x.detail)["query"] for x in p}) == len(p)
        and all(x.kind == "predicted" and x.source == str(folder) and x.agent == model
                and json.loads(x.detail).get("weights") for x in p))]
    report.check(case, not bad, f"provenance not one 'predicted' record per query naming "
                 f"{folder} and {model}: {bad[:1]}")
    if quads2:
        s, p, o = quads2[0]
        bound = {"s": s, "p": p, "o": o}  # a blank node written in a query is a variable
        report.check(case, not kg.query("ASK { ?s ?p ?o }", init_bindings=bound).askAnswer,
                     "a prediction is in the default graph")
        report.check(case, kg.query("ASK { ?s ?p ?o }", init_bindings=bound,
                                    include_predicted=True).askAnswer,
                     "include_predicted=True does not show a prediction")
        explained = str(kg.explain((s, p, o)))
        report.check(case, "predict" in explained.lower(),
                     f"kg.explain does not say it is predicted: {explained[:200]}")
    removed = kg.store.remove((None, None, None), graph=graph)
    report.check(case, removed == len(quads2) and kg.store.count(graph) == 0,
                 "predictions not removable as a graph")
    report.check(case, not any(kg.store.provenance_of((*t, graph)) for t in quads2),
                 "provenance of removed predictions stays")


# ---------------------------------------------------------------- training
def train_case(kg: Any, model: str, folder: Path, seed: int, include_literals: bool = False,
               **extra: Any) -> Any:
    """Train the tiny ``model`` of :data:`MODELS` on ``kg``'s store into ``folder``."""
    overrides = {**_COMMON, **MODELS[model], "training.seed": seed,
                 "data.split_seed": seed, "data.include_literals": include_literals, **extra}
    return kg.train_gnn(model, output_dir=folder, progress=False, resume=False, **overrides)


def _copy_store(src: Any, dst: Any, seed: int) -> None:
    """Every quad of ``src`` into ``dst``, in a shuffled order (other term ids)."""
    quads = list(src.triples())
    random.Random(seed).shuffle(quads)
    dst.add(quads)


def run_seed(seed: int, workdir: str | Path, models: Iterable[str] = ("distmult", "nbfnet"),
             postgres_url: str | None = None, top_k: int = 3) -> SeedReport:
    """Draw a store from ``seed``; train each model, mutate the store, check everything.

    Args:
        seed: the seed of the data, the split and the training.
        workdir: a folder for checkpoints.
        models: names of :data:`MODELS`.
        postgres_url: also reload the store into this PostgreSQL database and predict there.
        top_k: answers per query.
    """
    import torch

    from kg_engine.api import KnowledgeGraph
    from kg_engine.gnn.predict import predict_batch
    from kg_engine.gnn.training import load_model

    torch.set_num_threads(1)
    report = SeedReport(seed, "postgres" if postgres_url else "sqlite")
    workdir = Path(workdir)
    quads = generate(seed)
    rng = random.Random(seed)
    for model in models:
        include_literals = model != "nbfnet" and rng.random() < 0.5
        case = f"{model}{'+literals' if include_literals else ''}"
        report.cases.append(case)
        kg = KnowledgeGraph("sqlite://")
        fill(kg.store, quads)
        folder = workdir / f"{model}-{seed}"
        train_case(kg, model, folder, seed, include_literals)
        check_training_data(report, case + "/data", kg, folder, include_literals)
        loaded = load_model(folder, "cpu")

        def predicted(store: Any, loaded: Any = loaded, folder: Path = folder) -> Any:
            return predict_batch(loaded, checkpoint=folder, store=store, top_k=top_k,
                                 directions="both", range_filter=False)

        stage = f"{case}/unchanged"
        check_predictions(report, stage, loaded, folder, kg, predicted(kg.store), top_k, seed)
        # entities deleted, one re-added after a vacuum (new term id), new ones added
        vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))["entities"]
        iris = [e for e in vocab if e.startswith("<")]
        gone = [URIRef(x[1:-1]) for x in rng.sample(iris, min(2, len(iris) - 1))]
        back = [q for q in kg.store.triples() if q[0] == gone[0] or q[2] == gone[0]]
        for e in gone:
            kg.store.remove((e, None, None))
            kg.store.remove((None, None, e))
        kg.store.vacuum()
        rels = sorted({p for s, p, o, g in quads if str(p).startswith(EX + "r")})
        fresh = [URIRef(f"{EX}new{i}") for i in range(3)]
        kg.store.add([(fresh[0], rels[0], fresh[1]), (fresh[1], rels[-1], fresh[2]),
                      (fresh[2], URIRef(EX + "unseenRel"), fresh[0]),
                      (fresh[0], rels[0], URIRef(rng.choice(iris)[1:-1]))])
        kg.store.add(back)
        stage = f"{case}/mutated"
        check_predictions(report, stage, loaded, folder, kg, predicted(kg.store), top_k, seed)
        # a fresh store with every term id different
        other = KnowledgeGraph("sqlite://")
        _copy_store(kg.store, other.store, seed + 1)
        stage = f"{case}/reloaded"
        check_predictions(report, stage, loaded, folder, other, predicted(other.store), top_k,
                          seed)
        if postgres_url:
            pg = KnowledgeGraph(postgres_url)
            try:  # trained on PostgreSQL: the same checkpoint as on SQLite
                pg.store.remove()
                fill(pg.store, quads)
                pg_folder = workdir / f"{model}-{seed}-pg"
                train_case(pg, model, pg_folder, seed, include_literals)
                _same_checkpoint(report, f"{case}/postgres-train", folder, pg_folder)
                pg.store.remove()
                _copy_store(kg.store, pg.store, seed + 2)
                stage = f"{case}/postgres"
                check_predictions(report, stage, loaded, folder, pg, predicted(pg.store), top_k,
                                  seed)
            finally:
                pg.store.remove()
                pg.close()
        check_write_back(report, f"{case}/write-back", other, folder, model)
        other.close()
        kg.close()
    return report


# ---------------------------------------------------------------- determinism
def _train_child(seed: int, order: int, model: str, folder: str) -> None:
    """Body of a determinism child process (see :func:`check_determinism`)."""
    from kg_engine.api import KnowledgeGraph

    quads = generate(seed)
    random.Random(order).shuffle(quads)
    kg = KnowledgeGraph("sqlite://")
    kg.store.add([(URIRef(f"{EX}padding{order}x{i}"), URIRef(EX + "pad"), Literal(i))
                  for i in range(order)])  # shifts every term id
    fill(kg.store, quads)
    kg.store.remove((None, URIRef(EX + "pad"), None))
    train_case(kg, model, Path(folder), seed)
    kg.close()


def check_determinism(report: SeedReport, seed: int, workdir: str | Path,
                      model: str = "distmult") -> None:
    """Train the same seed twice in child processes (other ``PYTHONHASHSEED``, other load
    order and term ids): id maps, splits, weights and metrics must be identical."""
    folders = []
    for run, hash_seed in enumerate(("1", "2")):
        folder = Path(workdir) / f"det-{model}-{seed}-{run}"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "OMP_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1"}
        code = ("import sys; from kg_engine.testing.gnndiff import _train_child; "
                "_train_child(*map(int, sys.argv[1:3]), sys.argv[3], sys.argv[4])")
        proc = subprocess.run([sys.executable, "-c", code, str(seed), str(run * 7), model,
                               str(folder)], env=env, capture_output=True, text=True, timeout=600,
                              check=False)
        if not report.check(f"{model}/determinism", proc.returncode == 0,
                            f"child failed: {proc.stderr[-500:]}"):
            return
        folders.append(folder)
    _same_checkpoint(report, f"{model}/determinism", *folders)


def _same_checkpoint(report: SeedReport, case: str, a: Path, b: Path) -> None:
    """Two checkpoint folders hold the same id maps, splits, weights and metrics (the store
    URL they name aside)."""
    import torch

    def text(folder: Path, name: str) -> str:
        raw = (folder / name).read_text(encoding="utf-8")
        if name == "vocab.json":
            return json.dumps({**json.loads(raw), "name": ""})
        return "\n".join(x for x in raw.splitlines() if not x.startswith("db ="))

    for name in ("vocab.json", "config.cfg"):
        report.check(case, text(a, name) == text(b, name), f"{name} differs")
    for name in ("train_triples.pt", "valid_triples.pt", "test_triples.pt", "inferred_triples.pt"):
        ta, tb = (torch.load(f / name, weights_only=True) for f in (a, b))
        report.check(case, torch.equal(ta, tb), f"{name} differs")
    wa, wb = (torch.load(f / "best.pt", weights_only=True)["model"] for f in (a, b))
    report.check(case, wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa),
                 "best.pt weights differ")

    def metrics(folder: Path) -> Any:
        m = json.loads((folder / "metrics.json").read_text())
        return {k: v for k, v in m.items() if "seconds" not in k and k != "dataset"}

    report.check(case, metrics(a) == metrics(b), "metrics differ")


# ---------------------------------------------------------------- edge cases
def check_edge_cases(report: SeedReport, workdir: str | Path) -> None:
    """Tiny and degenerate stores, foreign and damaged checkpoints, bad output graphs."""
    import pickle

    import torch

    from kg_engine.api import KnowledgeGraph
    from kg_engine.errors import ConfigError, KgEngineError, ModelError
    from kg_engine.gnn.predict import predict_to_store
    from kg_engine.gnn.training import load_model

    workdir = Path(workdir)
    ex = URIRef
    # 1 relation, 2 entities: trains, predicts nothing it knows, never crashes
    kg = KnowledgeGraph("sqlite://")
    kg.store.add([(ex(EX + "a"), ex(EX + "r0"), ex(EX + "b"))])
    for model in ("distmult", "nbfnet"):
        folder = workdir / f"tiny-{model}"
        try:
            train_case(kg, model, folder, 0)
            written = kg.predict(folder, top_k=3, device="cpu", directions="both")
            got = {q[:3] for q in kg.store.triples(graph=URIRef(PREDICTED_GRAPH_PREFIX + model))}
            report.check("tiny", written == len(got) and all(
                t[0] != t[2] and t[0] in (ex(EX + "a"), ex(EX + "b")) for t in got),
                f"{model}: {got}")
        except KgEngineError as exc:  # a clear refusal is fine, a crash is not
            report.check("tiny", bool(str(exc)), f"{model}: {type(exc).__name__} without message")
        except Exception as exc:  # noqa: BLE001
            report.check("tiny", False, f"{model}: {type(exc).__name__}: {exc}")
    # literals only: refused clearly
    lit = KnowledgeGraph("sqlite://")
    lit.store.add([(ex(EX + "a"), ex(EX + "age"), Literal(3))])
    try:
        train_case(lit, "distmult", workdir / "lit", 0)
        report.check("literals-only", False, "trained on a store of literals only")
    except ConfigError as exc:
        report.check("literals-only", "no triples" in str(exc), str(exc))
    report.check("literals-only", not (workdir / "lit").exists(), "a failed start left a folder")
    # a checkpoint of another store, unknown query terms
    main = KnowledgeGraph("sqlite://")
    fill(main.store, generate(1))
    folder = workdir / "edge-distmult"
    train_case(main, "distmult", folder, 1)
    stranger = KnowledgeGraph("sqlite://")
    stranger.store.add([(ex(EX + "zz1"), ex(EX + "zz"), ex(EX + "zz2"))])
    try:
        stranger.predict(folder, device="cpu")
        report.check("foreign", False, "a checkpoint of another store predicted into it")
    except ModelError as exc:
        report.check("foreign", stranger.store.count() == 1, f"store changed: {exc}")
    for q in [(ex(EX + "e0"), ex(EX + "nope")), (ex(EX + "nobody"), ex(EX + "r0"))]:
        try:
            main.predict(folder, queries=[q], device="cpu")
            report.check("unknown-query", False, f"{q} accepted")
        except ConfigError as exc:
            report.check("unknown-query", "not an entity/relation the model knows" in str(exc),
                         str(exc))
    # output graph outside the prediction namespace: predictions there would be asserted facts
    before = main.store.count()
    for into in ("http://example.org/mine", INFERRED_GRAPH_PREFIX + "x"):
        try:
            predict_to_store(folder, main.store, top_k=1, device="cpu", output_graph=into)
            report.check("into", False, f"predictions written into {into}")
        except ConfigError as exc:
            report.check("into", PREDICTED_GRAPH_PREFIX in str(exc), str(exc))
        main.store.remove((None, None, None), graph=URIRef(PREDICTED_GRAPH_PREFIX + "distmult"))
    report.check("into", main.store.count() == before, "store changed by refused predictions")
    # damaged checkpoints: truncated, a pickle that runs code, a broken calibration file
    best = folder / "best.pt"
    good = best.read_bytes()
    marker = workdir / "pwned"

    class _Evil:
        def __reduce__(self) -> tuple:
            return (Path.touch, (marker,))

    for name, payload in (("truncated", good[: len(good) // 2]),
                          ("pickle", pickle.dumps({"model": _Evil()}, protocol=2))):
        best.write_bytes(payload)
        try:
            load_model(folder)
            report.check("corrupt", False, f"{name} best.pt loaded")
        except ModelError as exc:
            report.check("corrupt", "corrupt" in str(exc) and not marker.exists(), str(exc))
    best.write_bytes(good)
    cal = folder / "calibration.json"
    saved = cal.read_text() if cal.is_file() else None
    cal.write_text("{not json")
    try:
        load_model(folder)
        report.check("calibration", False, "a corrupt calibration.json loaded")
    except (ModelError, ConfigError) as exc:
        report.check("calibration", "calibration.json" in str(exc), str(exc))
    if saved is None:
        cal.unlink()
    else:
        cal.write_text(saved)
    torch.load(best, weights_only=True)  # intact again
    for k in (kg, lit, main, stranger):
        k.close()


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - benchmark entry
    """``python -m kg_engine.testing.gnndiff SEED...``: run seeds, print findings."""
    seeds = [int(a) for a in (argv if argv is not None else sys.argv[1:])] or [0]
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            r = run_seed(seed, tmp)
            print(f"seed {seed}: {r.checks} checks, {len(r.findings)} findings")
            for f in r.findings:
                print("  " + f)
            bad += len(r.findings)
    return 1 if bad else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
