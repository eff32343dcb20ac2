"""Predictions into the store (named graph + provenance) and their path explanations."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_geometric")

from rdflib import RDFS, Literal, Namespace

from kg_engine.gnn.data import KGData
from kg_engine.gnn.explain import PredictionExplanation, explain_prediction
from kg_engine.gnn.predict import (
    predict_to_store,
    predict_top_k,
    predicted_graph_iri,
)
from kg_engine.gnn.training import load_model, train
from kg_engine.store import open_store

EX = Namespace("http://example.org/")
K, HELD = 30, 5


def fill(store) -> None:
    """x_i -r0-> y_i -r1-> z_i for all i; r2(x_i, z_i) for i < K - HELD (rule to learn)."""
    g = torch.Generator().manual_seed(0)
    triples = []
    for i in range(K):
        x, y, z = EX[f"x{i}"], EX[f"y{i}"], EX[f"z{i}"]
        triples += [(x, EX.r0, y), (y, EX.r1, z)]
        if i < K - HELD:
            triples.append((x, EX.r2, z))
    ents = [EX[f"{c}{i}"] for c in "xyz" for i in range(K)]
    for a, b in torch.randint(0, len(ents), (20, 2), generator=g).tolist():
        triples.append((ents[a], EX.r3, ents[b]))
    triples.append((EX[f"x{K - 1}"], RDFS.label, Literal("Xavier")))
    store.add(triples)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    store = open_store("sqlite://")
    fill(store)
    data = KGData.from_store(store)
    out = tmp_path_factory.mktemp("nbf") / "ckpt"
    cfg = {
        "model": {
            "name": "nbfnet",
            "hidden_dim": 16,
            "num_layers": 3,
            "aggregate_func": "sum",
            "num_negative": 0,
        },
        "training": {
            "epochs": 10,
            "batch_size": 16,
            "lr": 0.005,
            "eval_every": 100,
            "patience": 0,
            "device": "cpu",
            "checkpoint_every_minutes": 0,
            "seed": 0,
        },
        "evaluation": {"test": False},
    }
    train(cfg, data=data, output_dir=out, progress=False)
    return store, out


def test_predict_top_k_filters_known_and_maps_head_queries(trained):
    _store, out = trained
    loaded = load_model(out)
    from kg_engine.gnn.evaluation import KnownFilter

    data = loaded.data
    known = KnownFilter(data.train, data.num_entities, data.num_relations)
    r2 = data.relation_id(EX.r2.n3())
    h = data.entity_id(EX.x0.n3())
    preds = predict_top_k(
        loaded.model, loaded.graph, torch.tensor([[h, r2]]), data.num_relations, 5, known
    )
    assert len(preds) == 5 and [p.rank for p in preds] == [1, 2, 3, 4, 5]
    assert all((p.head, p.relation, p.tail) != (h, r2, data.entity_id(EX.z0.n3())) for p in preds)
    assert all(0.0 <= p.confidence <= 1.0 and p.query == "tail" for p in preds)
    assert preds[0].score >= preds[-1].score
    t = data.entity_id(EX.z3.n3())
    inv = predict_top_k(
        loaded.model,
        loaded.graph,
        torch.tensor([[t, r2 + data.num_relations]]),
        data.num_relations,
        3,
        known,
    )
    assert all(p.tail == t and p.relation == r2 and p.query == "head" for p in inv)


def test_predictions_written_with_provenance_and_replaced_on_rerun(trained):
    store, out = trained
    queries = [(EX[f"x{i}"], EX.r2) for i in range(K - HELD, K)]
    n = predict_to_store(out, store, top_k=1, queries=queries)
    assert n == HELD
    g = predicted_graph_iri("nbfnet")
    quads = list(store.triples((None, None, None), graph=g))
    assert len(quads) == HELD
    correct = sum(str(q[2]) == str(q[0]).replace("/x", "/z") for q in quads)
    assert correct >= HELD - 1, quads  # the learned rule answers held-out chains
    prov = store.provenance_of(quads[0])
    assert len(prov) == 1 and prov[0].kind == "predicted"
    assert prov[0].agent == "nbfnet" and prov[0].source == str(out)
    assert 0.0 <= prov[0].confidence <= 1.0
    detail = json.loads(prov[0].detail)
    assert detail["rank"] == 1 and "score" in detail
    before = store.count()
    assert predict_to_store(out, store, top_k=1, queries=queries) == HELD
    assert store.count() == before  # replaced, not duplicated
    # the default query set: every (h, r) of the graph (prediction graph excluded)
    m = predict_to_store(out, store, top_k=2)
    assert m > HELD and len(list(store.triples((None, None, None), graph=g))) == m


def test_explain_prediction_renders_paths_with_labels(trained):
    store, out = trained
    predict_to_store(out, store, top_k=1, queries=[(EX[f"x{K - 1}"], EX.r2)])
    quad = next(
        iter(store.triples((EX[f"x{K - 1}"], EX.r2, None), graph=predicted_graph_iri("nbfnet")))
    )
    ex = explain_prediction(store, quad[:3])
    assert isinstance(ex, PredictionExplanation) and ex.explanation is not None
    assert ex.lines and ex.lines[0].startswith("Xavier --<http://example.org/r0>-->")
    text = str(ex)
    assert "predicted by nbfnet" in text and "path 1:" in text and "fidelity" in text
    with pytest.raises(ValueError, match="predicted"):
        explain_prediction(store, (EX.x0, EX.r0, EX.y0))


def test_bad_queries_are_reported(trained):
    store, out = trained
    with pytest.raises(ValueError, match="not an entity/relation"):
        predict_to_store(out, store, queries=[(EX.nobody, EX.r2)])
    with pytest.raises(ValueError, match="directions"):
        predict_to_store(out, store, directions="sideways")


def test_knowledge_graph_predict_and_explain(tmp_path):
    from kg_engine.api import KnowledgeGraph

    kg = KnowledgeGraph.open(f"sqlite:///{tmp_path / 'kg.sqlite'}")
    try:
        fill(kg.store)
        data = KGData.from_store(kg.store)
        out = tmp_path / "ckpt"
        cfg = {
            "model": {
                "name": "nbfnet",
                "hidden_dim": 8,
                "num_layers": 3,
                "aggregate_func": "sum",
                "num_negative": 0,
            },
            "training": {
                "epochs": 2,
                "batch_size": 32,
                "eval_every": 100,
                "patience": 0,
                "device": "cpu",
                "checkpoint_every_minutes": 0,
            },
            "evaluation": {"test": False},
        }
        train(cfg, data=data, output_dir=out, progress=False)
        assert kg.predict(out, top_k=1, queries=[(EX.x0, EX.r2)]) == 1
        quad = next(
            iter(kg.store.triples((EX.x0, EX.r2, None), graph=predicted_graph_iri("nbfnet")))
        )
        ex = kg.explain(quad[:3])
        assert isinstance(ex, PredictionExplanation) and ex.provenance.kind == "predicted"
        assert "predicted by nbfnet" in str(ex)
    finally:
        kg.close()


def test_confidence_is_the_calibrated_probability(trained):
    """The written confidence is sigmoid(score / T) with the checkpoint's fitted temperature."""
    from kg_engine.gnn.calibration import Calibration

    store, out = trained
    Calibration(4.0, "sigmoid").save(out)  # as if fitted on validation
    try:
        predict_to_store(out, store, top_k=1, queries=[(EX.x0, EX.r2)])
        quad = next(iter(store.triples((EX.x0, EX.r2, None), graph=predicted_graph_iri("nbfnet"))))
        prov = store.provenance_of(quad)[0]
        detail = json.loads(prov.detail)
        assert detail["temperature"] == 4.0 and detail["range_filter"] is False  # untyped data
        expected = float(torch.sigmoid(torch.tensor(detail["score"] / 4.0)))
        assert abs(prov.confidence - expected) < 1e-6 and detail["probability"] == prov.confidence
        assert "probability" in str(explain_prediction(store, quad[:3]))
    finally:
        (out / "calibration.json").unlink()


def test_a_model_with_its_own_vocabulary_predicts_only_about_the_target_store(tmp_path):
    """A DistMult checkpoint predicted into a store it was not trained on wrote its training
    graph's entities there (53 facts about strangers into an unrelated store): now an unrelated
    store is refused, and a store holding part of them gets facts about that part only."""
    from kg_engine.errors import ModelError

    source = open_store("sqlite://")
    fill(source)
    out = tmp_path / "dm"
    cfg = {"model": {"name": "distmult", "dim": 8},
           "training": {"epochs": 2, "batch_size": 64, "eval_every": 100, "patience": 0,
                        "device": "cpu", "checkpoint_every_minutes": 0, "seed": 0},
           "evaluation": {"test": False}}
    train(cfg, data=KGData.from_store(source), output_dir=out, progress=False)

    stranger = open_store("sqlite://")
    stranger.add([(EX.alien, EX.knows, EX.other)])
    with pytest.raises(ModelError, match="none of the .* entities of the model"):
        predict_to_store(out, stranger, top_k=3)
    assert stranger.count() == 1

    part = open_store("sqlite://")  # the x and y entities, not the z ones
    part.add([(EX[f"x{i}"], EX.r0, EX[f"y{i}"]) for i in range(K)])
    assert predict_to_store(out, part, top_k=3) > 0
    held = {str(t) for q in part.triples((None, None, None), graph=predicted_graph_iri("distmult"))
            for t in (q[0], q[2])}
    assert held and not any("/z" in t for t in held), held


def test_a_path_model_on_a_store_without_its_relations_is_refused(trained):
    """NBFNet predicting over a store none of whose relations it knows wrote nothing and
    exited 0 ('wrote 0 predicted triples'): now a ModelError says why."""
    from kg_engine.errors import ModelError

    _store, out = trained
    other = open_store("sqlite://")
    other.add([(EX.a, EX.unknownRelation, EX.b)])
    with pytest.raises(ModelError, match="none of the 1 relations of the store"):
        predict_to_store(out, other, top_k=1)
    assert other.count() == 1


def test_a_model_trained_on_a_names_dataset_cannot_write_triples(tmp_path):
    """`kg gnn predict` of a checkpoint trained on a TSV dataset (umls) into a store was an
    internal error (exit 1, "'acquired_abnormality' is not an RDF term in N3 form")."""
    from kg_engine.errors import ModelError

    names = KGData(entities=["a", "b", "c", "d"], relations=["r"],
                   train=torch.tensor([[0, 0, 1], [1, 0, 2], [2, 0, 3]]), name="toy")
    out = tmp_path / "toy"
    cfg = {"model": {"name": "distmult", "dim": 8},
           "training": {"epochs": 1, "batch_size": 8, "eval_every": 100, "patience": 0,
                        "device": "cpu", "checkpoint_every_minutes": 0, "seed": 0},
           "evaluation": {"test": False}}
    train(cfg, data=names, output_dir=out, progress=False)
    store = open_store("sqlite://")
    store.add([(EX.a, EX.r, EX.b)])
    with pytest.raises(ModelError, match="trained on a dataset of plain names \\(toy\\)"):
        predict_to_store(out, store, top_k=1)
    assert store.count() == 1


def test_predictions_never_repeat_what_the_store_holds_now(tmp_path):
    """A DistMult model filtered its predictions by its training triples only: a triple
    loaded after training, or inferred by the live reasoner, was written again as a new
    'predicted' fact. Now the store's current triples (inferred ones included) are known."""
    from rdflib import OWL, RDF, URIRef

    from kg_engine.api import KnowledgeGraph
    from kg_engine.core.graphs import INFERRED_GRAPH_PREFIX

    kg = KnowledgeGraph("sqlite://")
    kg.add([(EX[f"a{i}"], EX.knows, EX[f"a{(i + 1) % 6}"]) for i in range(6)])
    kg.train_gnn("distmult", output_dir=tmp_path, epochs=2, model__dim=4, progress=False,
                 data__valid_fraction=0, data__test_fraction=0, training__device="cpu")

    def predicted():
        kg.predict(tmp_path, top_k=6, device="cpu", range_filter=False)
        return {q[:3] for q in kg.store.triples((None, None, None), graph=predicted_graph_iri("distmult"))}

    first = predicted()
    added = min(first)
    kg.add([added, (EX.knows, RDF.type, OWL.SymmetricProperty)])
    assert kg.reason("owl-rl").derived >= 6
    inferred = {q[:3] for q in kg.store.triples((None, None, None), graph=URIRef(INFERRED_GRAPH_PREFIX + "owl-rl"))}
    assert inferred & first  # the mirrors (a1 knows a0) … were predicted before
    again = predicted()
    assert again and added not in again and not again & inferred


def test_an_entity_deleted_since_training_gets_no_predictions(tmp_path):
    """A DistMult model counted an entity as in the store while its term was still in the
    dictionary: after its triples were removed (no vacuum) 5 of 30 predicted triples were about
    it, bringing a deleted entity back. Now only entities occurring in a triple count, and an
    explicit query about a deleted one is refused."""
    from kg_engine.api import KnowledgeGraph
    from kg_engine.errors import ConfigError

    kg = KnowledgeGraph("sqlite://")
    kg.add([(EX[f"e{i}"], EX.p, EX[f"e{(i + 1) % 10}"]) for i in range(10)])
    kg.train_gnn("distmult", output_dir=tmp_path, epochs=1, model__dim=4, progress=False,
                 training__device="cpu")
    kg.remove((EX.e0, None, None))
    kg.remove((None, None, EX.e0))
    assert kg.predict(tmp_path, top_k=3, device="cpu", range_filter=False) > 0
    predicted = list(kg.store.triples((None, None, None), graph=predicted_graph_iri("distmult")))
    assert not any(EX.e0 in q[:3] for q in predicted)
    with pytest.raises(ConfigError, match="e0> is no longer in the store"):
        kg.predict(tmp_path, queries=[(EX.e0, EX.p)], device="cpu")
    kg.add([(EX.newcomer, EX.p, EX.e3)])
    with pytest.raises(ConfigError, match="newcomer.*retrain it on the store as it is now"):
        kg.predict(tmp_path, queries=[(EX.newcomer, EX.p)], device="cpu")


def test_a_prediction_is_not_explained_by_a_model_retrained_since(tmp_path):
    """The checkpoint folder named in a prediction's provenance was retrained (another seed):
    explain showed the new model's paths, score (.091 against the recorded -.010) and rank
    as the reason for the old prediction. Now the weights' digest is recorded and a mismatch
    says to predict again."""
    from kg_engine.api import KnowledgeGraph

    kg = KnowledgeGraph("sqlite://")
    fill(kg.store)
    settings = {"resume": False, "epochs": 1, "model__hidden_dim": 4, "model__num_layers": 2,
                "training__device": "cpu", "progress": False, "training__batch_size": 32}
    kg.train_gnn("nbfnet", output_dir=tmp_path, **settings)
    kg.predict(tmp_path, top_k=1, device="cpu", queries=[(EX.x0, EX.r2)])
    triple = next(iter(kg.triples((None, None, None), graph=predicted_graph_iri("nbfnet"))))[:3]
    assert kg.explain(triple).explanation is not None
    kg.train_gnn("nbfnet", output_dir=tmp_path, training__seed=7, **settings)
    retrained = kg.explain(triple)
    assert retrained.explanation is None and "retrained since this prediction" in str(retrained)


def test_a_store_changed_while_the_model_ran_gets_only_valid_predictions(tmp_path, monkeypatch):
    """Another process deleted an entity and asserted a predicted triple while predictions
    were computed: both were written anyway (a deleted entity brought back, a stored fact
    written again as 'predicted'). Now the batch is checked in the write transaction."""
    import kg_engine.gnn.predict as predict_module
    from kg_engine.api import KnowledgeGraph

    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    kg = KnowledgeGraph(url)
    kg.add([(EX[f"e{i}"], EX.p, EX[f"e{(i + 1) % 8}"]) for i in range(8)])
    kg.train_gnn("distmult", output_dir=tmp_path / "run", epochs=1, model__dim=4, progress=False,
                 training__device="cpu", data__valid_fraction=0, data__test_fraction=0)
    original, meanwhile = predict_module.predict_batch, []

    def racing(*args, **kwargs):
        batch = original(*args, **kwargs)
        gone, asserted = batch.quads[0][0], batch.quads[-1][:3]
        assert gone != asserted[0] and gone != asserted[2]
        other = open_store(url)  # another process, while the model ran
        other.remove((gone, None, None))
        other.remove((None, None, gone))
        other.add([asserted])
        other.close()
        meanwhile.extend([gone, asserted])
        return batch

    monkeypatch.setattr(predict_module, "predict_batch", racing)
    written = kg.predict(tmp_path / "run", top_k=2, device="cpu", range_filter=False)
    gone, asserted = meanwhile
    predicted = {q[:3] for q in kg.store.triples((None, None, None), graph=predicted_graph_iri("distmult"))}
    assert written == len(predicted) > 0
    assert asserted not in predicted and not any(gone in (s, o) for s, _, o in predicted)


def test_the_range_filter_sees_the_types_the_reasoner_infers(tmp_path):
    """Advisors are Professors; a FullProfessor (a subclass, so a Professor by RDFS) was never
    a candidate advisor: the range filter read only the training graph's asserted types."""
    from rdflib import RDF, RDFS

    from kg_engine.api import KnowledgeGraph

    kg = KnowledgeGraph("sqlite://")
    kg.add([(EX[f"s{i}"], EX.advisor, EX[f"p{i}"]) for i in range(4)]
           + [(EX[f"p{i}"], RDF.type, EX.Professor) for i in range(4)]
           + [(EX[f"s{i}"], RDF.type, EX.Student) for i in range(5)]
           + [(EX.q, RDF.type, EX.FullProfessor), (EX.q, EX.worksWith, EX.p0),
              (EX.FullProfessor, RDFS.subClassOf, EX.Professor)])
    kg.reason("rdfs")
    kg.train_gnn("distmult", output_dir=tmp_path, epochs=1, model__dim=4, progress=False,
                 training__device="cpu", data__valid_fraction=0, data__test_fraction=0)
    kg.predict(tmp_path, top_k=20, device="cpu", queries=[(EX.s4, EX.advisor)])
    tails = {q[2] for q in kg.store.triples((None, None, None), graph=predicted_graph_iri("distmult"))}
    assert EX.q in tails and tails <= {EX.q, *(EX[f"p{i}"] for i in range(4))}, tails


def test_a_model_trained_with_literals_never_predicts_a_literal_subject(tmp_path):
    """data.include_literals makes literal values entities; a head query (?, r, t) could then
    answer a literal, and writing (literal, r, t) failed: TermError, nothing written."""
    from rdflib import Literal

    from kg_engine.api import KnowledgeGraph

    kg = KnowledgeGraph("sqlite://")
    kg.add([(EX[f"e{i}"], EX.p, EX[f"e{(i + 1) % 6}"]) for i in range(6)]
           + [(EX[f"e{i}"], EX.age, Literal(i % 3)) for i in range(6)])
    kg.train_gnn("distmult", output_dir=tmp_path, epochs=1, model__dim=4, progress=False,
                 training__device="cpu", data__include_literals=True)
    assert kg.predict(tmp_path, top_k=3, device="cpu", directions="both", range_filter=False) > 0
    predicted = list(kg.store.triples((None, None, None), graph=predicted_graph_iri("distmult")))
    assert not any(isinstance(q[0], Literal) for q in predicted)
    assert any(q[1] == EX.age for q in predicted)


def test_predictions_go_only_into_prediction_graphs(tmp_path):
    """``kg gnn predict --into http://…/mine`` wrote predictions into an ordinary graph, where
    they are asserted facts: training data of the next model, and known to the next run, which
    dropped them when it replaced the graph (20, then 7, then 20 triples on three reruns).
    Now only graphs named urn:kg-engine:predicted:… are accepted, before anything is written."""
    from rdflib import URIRef

    from kg_engine.api import KnowledgeGraph
    from kg_engine.errors import ConfigError

    kg = KnowledgeGraph("sqlite://")
    kg.add([(EX[f"a{i}"], EX.knows, EX[f"a{(i + 1) % 6}"]) for i in range(6)])
    kg.add([(EX[f"a{i}"], EX.likes, EX[f"a{(i + 2) % 6}"]) for i in range(6)])
    kg.train_gnn("distmult", output_dir=tmp_path, epochs=2, model__dim=4, progress=False,
                 data__valid_fraction=0, data__test_fraction=0, training__device="cpu")
    before = kg.store.count()
    for into in ("http://example.org/mine", "urn:kg-engine:inferred:mine"):
        with pytest.raises(ConfigError, match="urn:kg-engine:predicted:mine"):
            predict_to_store(tmp_path, kg.store, top_k=3, device="cpu", output_graph=into,
                             range_filter=False)
    assert kg.store.count() == before
    mine = "urn:kg-engine:predicted:mine"
    runs = [predict_to_store(tmp_path, kg.store, top_k=3, device="cpu", output_graph=mine,
                             range_filter=False) for _ in range(2)]
    assert runs[0] > 0 and runs == [runs[0]] * 2 == [kg.store.count(URIRef(mine))] * 2
    assert len(KGData.from_store(kg.store).train) == 12  # never training data
