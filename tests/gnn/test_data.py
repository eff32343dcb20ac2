"""KGData: graph with inverse relations, id maps, vocab round trip, random split."""

from __future__ import annotations

import json

import pytest
import torch

from kg_engine.gnn.data import KGData


def test_graph_has_inverse_edges(tiny_data):
    g = tiny_data.graph()
    n = len(tiny_data.train)
    assert g.edge_index.shape == (2, 2 * n)
    assert g.num_nodes == 6 and g.num_relations == 4
    assert torch.equal(g.edge_index[:, n:], tiny_data.train[:, [2, 0]].t())
    assert torch.equal(g.edge_type[n:], tiny_data.train[:, 1] + 2)
    g2 = tiny_data.graph(inverse=False)
    assert g2.edge_index.shape == (2, n) and g2.num_relations == 2


def test_out_of_range_ids_rejected():
    with pytest.raises(ValueError, match="entity id"):
        KGData(entities=["a"], relations=["p"], train=torch.tensor([[0, 0, 1]]))
    with pytest.raises(ValueError, match="relation id"):
        KGData(entities=["a", "b"], relations=["p"], train=torch.tensor([[0, 1, 1]]))


def test_vocab_roundtrip(tmp_path, tiny_data):
    tiny_data.entity_labels = {0: "zero"}
    tiny_data.save_vocab(tmp_path / "v.json")
    back = KGData.load_vocab(tmp_path / "v.json")
    assert back.entities == tiny_data.entities and back.relations == tiny_data.relations
    assert back.entity_label(0) == "zero" and back.entity_label(1) == "e1"
    assert back.entity_id("e3") == 3 and back.relation_id("q") == 1
    assert back.relation_label(3) == "inverse of q"
    with pytest.raises(KeyError):
        back.entity_id("nope")


def test_split_is_partition_and_seeded(tiny_data):
    data = KGData(entities=tiny_data.entities, relations=tiny_data.relations, train=tiny_data.train)
    a = data.split(0.3, 0.3, seed=1)
    b = data.split(0.3, 0.3, seed=1)
    assert torch.equal(a.valid, b.valid)
    allrows = torch.cat([a.train, a.valid, a.test])
    assert sorted(map(tuple, allrows.tolist())) == sorted(map(tuple, data.train.tolist()))
    assert len(a.valid) == 2 and len(a.test) == 2


def test_non_n3_names_do_not_pretend_to_be_iris(tiny_data):
    with pytest.raises(ValueError, match="N3"):
        tiny_data.entity_term(0)


def test_from_store_roundtrips_to_iris_and_skips_literals(store_url):
    from rdflib import RDFS, Literal, URIRef

    from kg_engine.store import open_store

    ex = "http://example.org/"
    a, b, c, p, q, g = (URIRef(ex + x) for x in ("a", "b", "c", "p", "q", "g"))
    store = open_store(store_url)
    store.add([(a, p, b), (b, q, c), (a, RDFS.label, Literal("Alice")), (c, p, Literal(3))])
    store.add([(c, p, a), (a, p, b)], graph=g)  # (a, p, b) again in a named graph: counted once
    data = KGData.from_store(store)
    assert data.num_entities == 3 and data.relations == [p.n3(), q.n3()]
    triples = {(data.entity_term(h), data.relation_term(r), data.entity_term(t)) for h, r, t in data.train.tolist()}
    assert triples == {(a, p, b), (b, q, c), (c, p, a)}
    assert data.entity_label(data.entity_id(a.n3())) == "Alice"
    only_g = KGData.from_store(store, g)
    assert len(only_g.train) == 2
    default = KGData.from_store(store, "default")
    assert len(default.train) == 2  # (a,p,b), (b,q,c)
    with_lits = KGData.from_store(store, "default", include_literals=True)
    assert len(with_lits.train) == 4
    excluded = KGData.from_store(store, exclude_graphs=[g])
    assert len(excluded.train) == 2
    with pytest.raises(ValueError, match="does not exist"):
        KGData.from_store(store, URIRef(ex + "nope"))


def test_literal_entities_map_back_to_the_stored_literal(store_url):
    """An entity ``"01"^^xsd:integer`` (model trained with literals) mapped back to the term
    ``"1"``: rdflib's from_n3 canonicalises, so predictions about ``"01"`` were written about
    the other literal ``"1"`` (with ``"01"``'s score) or dropped when ``"1"`` was not stored."""
    from rdflib import XSD, Literal, URIRef

    from kg_engine.store import open_store

    ex = "http://example.org/"
    a, b, p = (URIRef(ex + x) for x in ("a", "b", "p"))
    lits = [Literal(x, datatype=XSD.integer, normalize=False) for x in ("01", "1", " 7 ")]
    lits.append(Literal("2020-01-01T00:00:00Z", datatype=XSD.dateTime, normalize=False))
    store = open_store(store_url)
    store.add([(a, p, b), (b, p, a)] + [(a, p, x) for x in lits])
    data = KGData.from_store(store, include_literals=True)
    terms = [data.entity_term(i) for i in range(data.num_entities)]
    assert sorted(str(t) for t in terms if isinstance(t, Literal)) == sorted(str(x) for x in lits)
    ids = store.term_ids(terms)
    assert len(ids) == len(terms) and len(set(ids.values())) == len(terms)


def test_from_store_skips_prediction_graphs(store_url):
    from rdflib import URIRef

    from kg_engine.gnn.data import PREDICTED_GRAPH_PREFIX
    from kg_engine.store import open_store

    a, b, p = URIRef("http://x/a"), URIRef("http://x/b"), URIRef("http://x/p")
    store = open_store(store_url)
    store.add([(a, p, b)])
    store.add([(b, p, a)], graph=URIRef(PREDICTED_GRAPH_PREFIX + "complex"))
    assert len(KGData.from_store(store).train) == 1
    assert len(KGData.from_store(store, include_predictions=True).train) == 2
    assert len(KGData.from_store(store, URIRef(PREDICTED_GRAPH_PREFIX + "complex")).train) == 1
    try:
        from kg_engine.gnn.predict import PREDICTED_GRAPH_PREFIX as used_by_predict
    except ImportError:  # pragma: no cover
        return
    assert used_by_predict == PREDICTED_GRAPH_PREFIX


def test_from_store_skips_inferred_graphs_unless_asked(store_url):
    from rdflib import URIRef

    from kg_engine.core.graphs import INFERRED_GRAPH_PREFIX
    from kg_engine.store import open_store

    a, b, p = URIRef("http://x/a"), URIRef("http://x/b"), URIRef("http://x/p")
    inferred = URIRef(INFERRED_GRAPH_PREFIX + "owl-rl")
    store = open_store(store_url)
    store.add([(a, p, b)])
    store.add([(b, p, a)], graph=inferred)
    assert len(KGData.from_store(store).train) == 1
    assert len(KGData.from_store(store, include_inferred=True).train) == 2
    assert len(KGData.from_store(store, inferred).train) == 1


def test_from_store_reads_the_instance_graph_only(store_url):
    """Schema triples, classes-as-subjects, datatype IRIs and guesses are not entities."""
    from rdflib import OWL, RDF, RDFS, XSD, URIRef

    from kg_engine.store import open_store

    ex = "http://example.org/"
    dana, ada, lab, advisor, age, student, person = (
        URIRef(ex + x) for x in ("dana", "ada", "lab", "advisor", "age", "Student", "Person"))
    store = open_store(store_url)
    store.add([
        (student, RDFS.subClassOf, person), (student, RDF.type, OWL.Class),
        (advisor, RDFS.domain, student), (advisor, RDFS.range, person),
        (age, RDFS.range, XSD.integer), (advisor, RDF.type, OWL.ObjectProperty),
        (dana, RDF.type, student), (ada, RDF.type, person), (dana, advisor, ada),
    ])
    store.add([(dana, advisor, lab)], graph=URIRef("urn:kg-engine:predicted:nbfnet"))
    store.add([(lab, advisor, ada)], graph=URIRef("urn:kg-engine:analytics:pagerank"))
    data = KGData.from_store(store)
    assert set(data.entities) == {dana.n3(), ada.n3(), student.n3(), person.n3()}
    assert set(data.relations) == {advisor.n3(), RDF.type.n3()}
    assert len(data.train) == 3
    everything = KGData.from_store(store, include_schema=True, include_predictions=True)
    assert XSD.integer.n3() in everything.entities and lab.n3() in everything.entities


def test_from_store_does_not_depend_on_load_order(store_url, request):
    """The same triples loaded in another order gave the same ids but rows in term-id order,
    so the seeded split held out other triples: the same seed trained and tested on other
    data from run to run (term ids follow insertion order, which followed set iteration)."""
    from rdflib import RDFS, Literal, URIRef

    from kg_engine.store import open_store

    triples = [(URIRef(f"http://x/e{i}"), URIRef(f"http://x/p{i % 2}"), URIRef(f"http://x/e{(i * 7) % 13}"))
               for i in range(13)]
    datas = []
    urls = [store_url, "sqlite://" if store_url.startswith("sqlite") else
            request.getfixturevalue("pg_server").new_database_url()]
    labels = [(URIRef(f"http://x/e{i}"), RDFS.label, Literal(f"e {i}")) for i in range(13)]
    for url, order in zip(urls, (triples + labels, (triples + labels)[::-1])):
        store = open_store(url)
        for t in order:  # one at a time: term ids in this order
            store.add([t])
        datas.append(KGData.from_store(store))
    assert datas[0].entities == datas[1].entities
    assert torch.equal(datas[0].train, datas[1].train)
    # the vocab file too (its labels were written in term-id order: same maps, other bytes)
    assert json.dumps(datas[0].vocab()) == json.dumps(datas[1].vocab())
    a, b = (d.split(0.2, 0.2, seed=3) for d in datas)
    assert torch.equal(a.test, b.test) and torch.equal(a.train, b.train)
