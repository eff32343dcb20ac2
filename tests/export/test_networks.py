"""GraphML, GEXF and Neo4j CSV: readable by networkx / csv, same nodes and edges as the view."""

from __future__ import annotations

import csv
from pathlib import Path

import networkx as nx

from .conftest import EX, ex


def test_graphml_and_gexf_read_back(sample_kg, tmp_path: Path) -> None:
    view = sample_kg.to_networkx()
    for ext, reader in (("graphml", nx.read_graphml), ("gexf", nx.read_gexf)):
        out = tmp_path / f"kg.{ext}"
        res = sample_kg.export(out)
        assert res.statements == view.number_of_edges()
        g = reader(out)
        assert g.number_of_nodes() == view.number_of_nodes()
        assert g.number_of_edges() == view.number_of_edges()
        ada = g.nodes[f"<{EX}ada>"]
        assert ada["label"] == "Ada Lovelace" and ada["types"] == f"{EX}Person"
        preds = {d["predicate"] for *_, d in g.edges(data=True)}
        assert f"{EX}knows" in preds and all(d["origin"] for *_, d in g.edges(data=True))


def test_neo4j_csv_layout(sample_kg, tmp_path: Path) -> None:
    folder = tmp_path / "neo4j"
    res = sample_kg.export(folder, "csv")
    nodes = list(csv.DictReader((folder / "nodes.csv").read_text("utf-8").splitlines()))
    rels = list(csv.DictReader((folder / "relationships.csv").read_text("utf-8").splitlines()))
    assert list(nodes[0]) == ["iri:ID", "label", "types:string[]", ":LABEL"]
    assert list(rels[0]) == [":START_ID", ":END_ID", ":TYPE", "predicate", "origin",
                             "confidence:float"]
    ids = {n["iri:ID"] for n in nodes}
    assert all(r[":START_ID"] in ids and r[":END_ID"] in ids for r in rels)
    assert len(rels) == res.statements
    ada = next(n for n in nodes if n["iri:ID"] == f"{EX}ada")
    assert ada[":LABEL"] == "Person" and ada["label"] == "Ada Lovelace"
    assert {"knows", "address", "near"} <= {r[":TYPE"] for r in rels}
    assert "neo4j-admin database import" in (folder / "import.txt").read_text()


def test_subgraph_by_entity_and_query(sample_kg, tmp_path: Path) -> None:
    res = sample_kg.export(tmp_path / "n.graphml", entity=ex("charles"), hops=1)
    g = nx.read_graphml(tmp_path / "n.graphml")
    weird = "<http://example.org/a%20b?x=1&y=2#frag>"
    assert set(g.nodes) == {f"<{EX}charles>", f"<{EX}ada>", weird} and res.statements == 3
    q = "CONSTRUCT { ?a <urn:k> ?b } WHERE { ?a <http://example.org/kg/knows> ?b }"
    sample_kg.export(tmp_path / "q.gexf", query=q)
    g = nx.read_gexf(tmp_path / "q.gexf")
    assert g.number_of_edges() == 1


def test_xml_formats_hold_any_literal_and_blank_node_types(tmp_path: Path) -> None:
    """A label with a control character made GraphML and GEXF files XML readers reject
    ("not well-formed"); a carriage return came back from GraphML as a line feed; a blank
    node type was written as its bare label, which reads as a relative IRI (found by
    kg_engine.testing.analyticsdiff)."""
    from rdflib import RDF, RDFS, BNode, Literal

    from kg_engine.api import KnowledgeGraph

    cls = BNode("cls")
    with KnowledgeGraph("sqlite://") as kg:
        kg.add([(ex("a"), ex("knows"), ex("b")), (ex("a"), RDFS.label, Literal("x\x01y\r\nz")),
                (ex("b"), RDF.type, cls), (ex("b"), RDF.type, ex("Person"))])
        for ext, reader in (("graphml", nx.read_graphml), ("gexf", nx.read_gexf)):
            kg.export(tmp_path / f"kg.{ext}")
            g = reader(tmp_path / f"kg.{ext}")
            assert g.nodes[f"<{EX}a>"]["label"] == "x\\u0001y\r\nz"
            assert sorted(g.nodes[f"<{EX}b>"]["types"].split()) == ["_:cls", f"{EX}Person"]
        kg.export(tmp_path / "neo4j", "csv")
        nodes = list(csv.DictReader((tmp_path / "neo4j" / "nodes.csv").open(encoding="utf-8",
                                                                           newline="")))
        b = next(n for n in nodes if n["iri:ID"] == f"{EX}b")
        assert sorted(b["types:string[]"].split(";")) == ["_:cls", f"{EX}Person"]


def test_list_values_keep_items_holding_their_separators(tmp_path: Path) -> None:
    """GraphML/GEXF ``types`` were joined with spaces and Neo4j arrays with ';' whatever the
    items held: a literal type "two words" read back as two types, a class IRI with ';'
    (http://ex.org/k;v=C) as two types and two labels in Neo4j. Now list items never hold
    white space (written \\u0020) and the Neo4j delimiter is one no item holds, named in
    import.txt (found by kg_engine.testing.analyticsdiff with types like these)."""
    from rdflib import RDF, Literal, URIRef

    from kg_engine.api import KnowledgeGraph
    from kg_engine.export.networks import array_delimiter

    odd = URIRef("http://ex.org/k;v=C")
    with KnowledgeGraph("sqlite://") as kg:
        kg.add([(ex("a"), RDF.type, Literal("two words; a|b", lang="EN-GB")),
                (ex("a"), RDF.type, odd), (ex("b"), RDF.type, Literal("line\nbreak"))])
        for ext, reader in (("graphml", nx.read_graphml), ("gexf", nx.read_gexf)):
            kg.export(tmp_path / f"kg.{ext}")
            g = reader(tmp_path / f"kg.{ext}")
            assert sorted(g.nodes[f"<{EX}a>"]["types"].split(" ")) == [
                '"two\\u0020words;\\u0020a|b"@en-gb', str(odd)]
            assert g.nodes[f"<{EX}b>"]["types"] == '"line\\nbreak"'
        kg.export(tmp_path / "neo4j", "csv")
        folder = tmp_path / "neo4j"
        nodes = list(csv.DictReader((folder / "nodes.csv").open(encoding="utf-8", newline="")))
        a = next(n for n in nodes if n["iri:ID"] == f"{EX}a")
        command = (folder / "import.txt").read_text()
        assert "--array-delimiter=U+001F" in command and "--multiline-fields" not in command
        assert sorted(a["types:string[]"].split("\x1f")) == ['"two words; a|b"@en-gb', str(odd)]
        assert sorted(a[":LABEL"].split("\x1f")) == ['"two words; a|b"@en-gb', "k;v=C"]
        kg.add([(ex("c"), ex("name"), ex("d")), (ex("c"), URIRef(f"{EX}label"),
                                                  Literal("two\nlines"))])
        kg.export(folder, "csv")
        assert "--multiline-fields=true" in (folder / "import.txt").read_text()
    assert array_delimiter(["a", "b c"]) == ";" and array_delimiter(["a;b"]) == "|"
    assert array_delimiter(["a;b|\x1f\ue000"]) == "\ue001"
