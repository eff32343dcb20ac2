"""Observed relation ranges: candidates of a query must have a type seen for its answers."""

from __future__ import annotations

import pytest
import torch

from kg_engine.gnn.data import RDF_TYPE, KGData
from kg_engine.gnn.evaluation import RankingEvaluator
from kg_engine.gnn.ranges import RangeFilter

# 0 ann, 1 bob, 2 cat, 3 grp, 4 Person, 5 Group, 6 paris (untyped)
ENTS = ["<ann>", "<bob>", "<cat>", "<grp>", "<Person>", "<Group>", "<paris>"]
RELS = ["<advisor>", RDF_TYPE, "<memberOf>", "<bornIn>"]
TRAIN = torch.tensor([
    [0, 0, 1],  # ann advisor bob
    [0, 1, 4], [1, 1, 4], [2, 1, 4], [3, 1, 5],
    [2, 2, 3],  # cat memberOf grp
    [1, 3, 6],  # bob bornIn paris (untyped answer: bornIn unconstrained)
])


def data(**kw):
    return KGData(entities=ENTS, relations=RELS, train=TRAIN, **kw)


def test_ranges_and_domains_come_from_the_types_of_observed_answers():
    f = RangeFilter.from_data(data())
    assert f.allowed[0].tolist() == [True, True, True, False, False, False, False]  # people
    assert f.allowed[0 + 4].tolist() == f.allowed[0].tolist()  # advisor's subjects: people
    assert f.allowed[2].tolist() == [False, False, False, True, False, False, False]  # groups
    assert f.allowed[3].all()  # bornIn: its answer has no type, nothing to check against
    assert f.allowed[1].tolist() == [False] * 4 + [True, True, False]  # rdf:type -> classes
    assert f.type_checks(2, 0, 1) and not f.type_checks(0, 0, 3)
    assert f.mask(torch.tensor([0, 2])).shape == (2, 7)


def test_no_rdf_type_no_filter(tiny_data):
    assert RangeFilter.from_data(tiny_data) is None


def test_evaluator_drops_wrong_types_but_never_the_answer():
    d = data(valid=torch.tensor([[2, 0, 3]]))  # a wrongly typed "truth" still ranks
    f = RangeFilter.from_data(d)
    scores = torch.zeros(1, 7)
    scores[0, 3] = 1.0  # the answer is best
    scores[0, 5] = 5.0  # a class scores higher: dropped by the range filter
    scorer = lambda h, r: scores.expand(len(h), 7)
    plain = RankingEvaluator(d).ranks(scorer, d.valid)
    typed = RankingEvaluator(d, ranges=f).ranks(scorer, d.valid)
    assert plain[0] == 2.0 and typed[0] == 1.0
    assert (typed <= plain).all()  # filtering candidates can only improve a rank


class _Fixed(torch.nn.Module):
    """A scorer with fixed logits (favours the group for every query)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.logits = torch.nn.Parameter(torch.arange(n, dtype=torch.float) * 0.1)
        self.logits.data[3] = 10.0

    def scorer(self, graph):
        return lambda h, r: self.logits.expand(len(h), -1)


def test_predictions_type_check_unless_switched_off():
    from kg_engine.gnn.evaluation import KnownFilter
    from kg_engine.gnn.predict import predict_top_k

    d = data()
    known = KnownFilter(d.train, d.num_entities, d.num_relations)
    q = torch.tensor([[2, 0]])  # cat advisor ?
    f = RangeFilter.from_data(d)
    typed = predict_top_k(_Fixed(7), None, q, 4, k=3, known=known, ranges=f)
    assert [p.tail for p in typed] == [1, 0]  # people only (cat itself excluded)
    assert all(f.type_checks(p.head, p.relation, p.tail) for p in typed)
    assert abs(sum(p.confidence for p in typed) - 1.0) < 1e-6  # softmax over the candidates
    untyped = predict_top_k(_Fixed(7), None, q, 4, k=3, known=known)
    assert untyped[0].tail == 3  # the group wins without the filter


@pytest.mark.parametrize("backend", ["sqlite://"])
def test_store_predictions_respect_ranges(backend, tmp_path):
    """End to end on a typed store: every prediction written type-checks; the switch turns
    the filter off."""
    from rdflib import RDF, URIRef

    from kg_engine.gnn.predict import predict_to_store
    from kg_engine.gnn.training import train
    from kg_engine.store import open_store

    ex = "http://example.org/"
    person, group, advisor, member = (URIRef(ex + x) for x in ("Person", "Group", "advisor", "memberOf"))
    store = open_store(backend)
    triples = []
    for i in range(12):
        p, q, g = URIRef(f"{ex}p{i}"), URIRef(f"{ex}q{i}"), URIRef(f"{ex}g{i % 3}")
        triples += [(p, RDF.type, person), (q, RDF.type, person), (p, advisor, q), (p, member, g),
                    (q, member, g)]
    triples += [(URIRef(f"{ex}g{i}"), RDF.type, group) for i in range(3)]
    store.add(triples)
    d = KGData.from_store(store).split(0.1, 0.0, seed=0)
    out = tmp_path / "ckpt"
    cfg = {"model": {"name": "nbfnet", "hidden_dim": 8, "num_layers": 2, "aggregate_func": "sum",
                     "num_negative": 0},
           "training": {"epochs": 2, "batch_size": 32, "eval_every": 1, "patience": 0,
                        "device": "cpu", "checkpoint_every_minutes": 0, "seed": 0},
           "evaluation": {"test": False}}
    train(cfg, data=d, output_dir=out, progress=False)
    predict_to_store(out, store, top_k=3)
    g = URIRef("urn:kg-engine:predicted:nbfnet")
    types = {s: o for s, _, o, graph in store.triples((None, RDF.type, None)) if graph != g}
    preds = [q for q in store.triples((None, None, None), graph=g) if q[1] != RDF.type]
    assert preds
    for s, p, o, _ in preds:
        assert types.get(o) == (person if p == advisor else group), (s, p, o)
    predict_to_store(out, store, top_k=3, range_filter=False)
    off = [q for q in store.triples((None, advisor, None), graph=g)]
    assert any(types.get(o) != person for _, _, o, _ in off)  # without the filter, groups creep in
