"""``Graph.parse`` into a kg-engine store: strict parsers, exact lexical forms, all or nothing."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.exceptions import ParserError
from rdflib.namespace import RDF, XSD

from kg_engine.errors import RDFSyntaxError
from kg_engine.store.rdflib_store import KgEngineStore

A, P, G = URIRef("urn:a"), URIRef("urn:p"), URIRef("urn:g")
KEEP = (URIRef("urn:keep"), P, Literal("kept"))


def _quads(ds: Dataset) -> set[tuple]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return {(s, p, o, getattr(g, "identifier", g)) for s, p, o, g in ds.quads()}


@pytest.fixture
def ds(store_url: str) -> Iterator[Dataset]:
    """A Dataset over a fresh store holding one statement that no parse may touch."""
    dataset = Dataset(store=KgEngineStore(store_url))
    dataset.add(KEEP)
    dataset.graph(G).add(KEEP)
    yield dataset
    dataset.store.close()


def test_turtle_that_rdflib_truncates_is_refused_and_nothing_is_written(ds: Dataset) -> None:
    before = _quads(ds)
    good = "".join(f"<urn:s{i}> <urn:p> {i} .\n" for i in range(1000))
    with pytest.raises(RDFSyntaxError) as err:  # rdflib stored 1.2 and dropped the rest
        ds.graph(G).parse(data=good + "<urn:a> <urn:p> 1.2.3 .\n", format="turtle")
    assert "<data>:1001:20" in str(err.value) and "a decimal has one '.'" in str(err.value)
    with pytest.raises(RDFSyntaxError, match="<data>:1:1"):  # rdflib took a literal subject
        ds.parse(data='"s" <urn:p> <urn:o> .', format="turtle")
    assert _quads(ds) == before


XML_01 = ('<r:RDF xmlns:r="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><r:Description '
          f'r:about="urn:a"><p xmlns="urn:" r:datatype="{XSD.integer}">01</p></r:Description>'
          "</r:RDF>")


@pytest.mark.parametrize("fmt, text, lex", [
    ("turtle", "<urn:a> <urn:p> +01 .", "+01"),
    ("turtle", "<urn:a> <urn:p> 1.50 .", "1.50"),
    ("trig", "<urn:a> <urn:p> 01 .", "01"),
    ("nt", f'<urn:a> <urn:p> "01"^^<{XSD.integer}> .\n', "01"),
    ("nquads", f'<urn:a> <urn:p> " true"^^<{XSD.boolean}> .\n', " true"),
    ("xml", XML_01, "01"),
    ("application/rdf+xml", XML_01.encode(), "01"),  # bytes, as from a file
    ("json-ld", f'{{"@id": "urn:a", "urn:p": {{"@value": "01", "@type": "{XSD.integer}"}}}}',
     "01"),
])
def test_lexical_forms_are_kept_as_written(ds: Dataset, fmt: str, text: str, lex: str) -> None:
    ds.parse(data=text, format=fmt)
    (o,) = [o for o in ds.objects(A, P)]
    assert str(o) == lex  # rdflib's parsers rewrite these ("01" -> "1")


def test_nquads_keep_the_default_graph_and_go_to_their_graphs(ds: Dataset) -> None:
    # rdflib 7's N-Quads parser empties the default graph of the store it parses into
    ds.parse(data='<urn:a> <urn:p> "g" <urn:g2> .\n<urn:a> <urn:p> "d" .\n', format="nquads")
    quads = _quads(ds)
    assert (*KEEP, ds.default_graph.identifier) in quads and (*KEEP, G) in quads
    assert (A, P, Literal("g"), URIRef("urn:g2")) in quads
    assert (A, P, Literal("d"), ds.default_graph.identifier) in quads
    # into a named graph: the file's default-graph statements go there, as rdflib does
    ds.graph(G).parse(data='<urn:a> <urn:p> "n" .\n', format="nt")
    assert (A, P, Literal("n"), G) in _quads(ds)


def test_trig_bases_prefixes_and_blank_nodes(ds: Dataset) -> None:
    doc = "@prefix ex: <http://ex.org/> .\nex:a ex:p <rel>, _:b .\nGRAPH ex:g { _:b ex:p 1 }\n"
    ds.parse(data=doc, format="trig", publicID="http://base.org/dir/doc")
    ds.parse(data=doc, format="trig", publicID="http://base.org/dir/doc")
    ex = "http://ex.org/"
    assert set(ds.objects(URIRef(ex + "a"), URIRef(ex + "p"))) >= {
        URIRef("http://base.org/dir/rel")}
    blanks = {o for o in ds.objects(URIRef(ex + "a"), URIRef(ex + "p"))
              if not isinstance(o, URIRef)}
    assert len(blanks) == 2  # one per parse, as rdflib scopes blank nodes
    named = ds.graph(URIRef(ex + "g"))
    assert {s for s, _, _ in named} == blanks  # _:b is one node across the file's graphs
    assert ds.store.namespace("ex") == URIRef(ex)


def test_files_file_objects_and_error_positions(ds: Dataset, tmp_path: Path) -> None:
    path = tmp_path / "bad.nt"
    path.write_text('<urn:a> <urn:p> "x" .\n<urn:a> <urn:p> "y .\n')
    with pytest.raises(RDFSyntaxError, match=r"bad\.nt:2:17: expected an object"):
        ds.parse(path)  # the format from the extension, as rdflib guesses it
    with open(path, "rb") as f, pytest.raises(RDFSyntaxError, match=r"bad\.nt:2"):
        ds.parse(file=f, format="nt")
    with pytest.raises(RDFSyntaxError, match="not UTF-8"):
        ds.parse(data=b'<urn:a> <urn:p> "\xff" .', format="turtle")
    ok = tmp_path / "ok.ttl"
    ok.write_text("<a> <urn:p> 1 .\n")
    ds.parse(ok)
    assert (URIRef(ok.resolve().parent.as_uri() + "/a"), P, Literal("1", datatype=XSD.integer)) \
        in ds
    ds.parse(io.StringIO('<urn:a> <urn:p> "s" .'), format="nt")  # a text stream
    assert (A, P, Literal("s")) in ds


def test_a_failed_parse_inside_an_explicit_transaction_writes_nothing(store_url: str) -> None:
    store = KgEngineStore(store_url)
    ds = Dataset(store=store)
    store.begin()
    ds.add(KEEP)
    good = "".join(f"<urn:s{i}> <urn:p> {i} .\n" for i in range(10))
    with pytest.raises(RDFSyntaxError):
        ds.parse(data=good + "<urn:a> <urn:p> ( .\n", format="turtle")
    store.commit()
    assert _quads(ds) == {(*KEEP, ds.default_graph.identifier)}


def test_rdfxml_failing_half_way_writes_nothing(ds: Dataset) -> None:
    before = _quads(ds)
    doc = ('<r:RDF xmlns:r="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="urn:">'
           '<r:Description r:about="urn:a"><e:p>1</e:p></r:Description>'
           '<r:Description r:about="urn:b"><e:p r:parseType="Bogus" r:resource="x"/>'
           "</r:Description></r:RDF>")
    with pytest.raises(ParserError):  # rdflib's own error type, as for any rdflib store
        ds.parse(data=doc, format="xml")
    assert _quads(ds) == before


def test_other_stores_keep_rdflib_parsers() -> None:
    g = Graph()
    g.parse(data="<urn:a> <urn:p> +01 .", format="turtle")
    assert [str(o) for o in g.objects()] == ["1"]  # rdflib's behaviour, untouched


def test_untrusted_input_guards_apply(ds: Dataset) -> None:
    from kg_engine.errors import UnsupportedOperationError

    before = _quads(ds)
    with pytest.raises(UnsupportedOperationError, match="allow_contexts="):
        # rdflib would fetch this address while parsing
        ds.parse(data='{"@context": "http://127.0.0.1:9/ctx", "@id": "urn:a", "p": 1}',
                 format="json-ld")
    laugh = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, 8))
    bomb = (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e0 "aaaaaaaaaa">{laugh}]>'
            '<r:RDF xmlns:r="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><r:Description '
            'r:about="urn:a"><p xmlns="urn:">&e7;</p></r:Description></r:RDF>')
    with pytest.raises(RDFSyntaxError, match="billion laughs"):
        ds.parse(data=bomb, format="xml")
    assert _quads(ds) == before
    ds.parse(data={"@context": {"p": "urn:p"}, "@id": "urn:a", "p": "x"}, format="json-ld")
    assert (A, P, Literal("x")) in ds  # a Python object, and an inline context, are fine


RDFXML_RELATIVE = ('<?xml version="1.0"?>\n'
                   '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
                   '  <rdf:Description rdf:about="a"><rdf:value rdf:resource="b"/>'
                   '</rdf:Description>\n</rdf:RDF>\n')


def test_relative_iris_of_rdfxml_and_jsonld_resolve_and_are_warned_about(
        ds: Dataset, caplog: pytest.LogCaptureFixture) -> None:
    """RDF/XML parsed without publicID stored rdf:about="a" as the IRI <a>, and RDF/XML or
    JSON-LD with relative IRIs were resolved against the current directory without a word;
    now they resolve as Turtle's do (publicID, else the source's address or the current
    directory), the first one warned about (with the line where the parser has one), an IRI
    that stays relative is an error, and a base the caller chose says nothing."""
    import logging

    from rdflib.parser import create_input_source

    from kg_engine.store.rdflib_parsers import read

    here = Path.cwd().as_uri() + "/"
    with caplog.at_level(logging.WARNING, logger="kg_engine.store.relative_iris"):
        ds.parse(data=RDFXML_RELATIVE, format="xml")
        ds.parse(data='{"@id": "c", "urn:p": {"@id": "../d"}}', format="json-ld")
    assert (URIRef(here + "a"), RDF.value, URIRef(here + "b")) in set(ds.default_graph)
    assert (URIRef(here + "c"), P, URIRef(str(Path.cwd().parent.as_uri()) + "/d")
            ) in set(ds.default_graph) or Path.cwd() == Path("/")
    assert f"<data>:3: relative IRI resolved against <{here}>" in caplog.text
    assert f"<data>: relative IRI resolved against <{here}>" in caplog.text
    assert f"stored as <{here}a>" in caplog.text and caplog.text.count("resolved") == 2
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="kg_engine.store.relative_iris"):
        ds.parse(data=RDFXML_RELATIVE, format="xml", publicID="http://ex.org/doc")
        ds.parse(data=RDFXML_RELATIVE.replace("<rdf:RDF ", '<rdf:RDF xml:base="http://b/" '),
                 format="xml")
    assert (URIRef("http://ex.org/a"), RDF.value, URIRef("http://ex.org/b")) in set(ds.default_graph)
    assert (URIRef("http://b/a"), RDF.value, URIRef("http://b/b")) in set(ds.default_graph)
    assert caplog.text == ""
    with pytest.raises(RDFSyntaxError) as info:  # no base at all: refused, with the line
        read(create_input_source(data=RDFXML_RELATIVE), "xml")
    assert str(info.value).startswith("<data>:3: relative IRI <a> and no base IRI")


def test_rdfxml_and_jsonld_files_warn_about_relative_iris(tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    """`kg load` resolved them against the file's address without a word (Turtle warns)."""
    import logging

    from kg_engine.store import SQLStore

    (tmp_path / "rel.rdf").write_text(RDFXML_RELATIVE)
    (tmp_path / "rel.jsonld").write_text('{"@id": "c", "urn:p": {"@id": "d"}}')
    store = SQLStore("sqlite://")
    with caplog.at_level(logging.WARNING, logger="kg_engine.store.relative_iris"):
        store.load([tmp_path / "rel.rdf", tmp_path / "rel.jsonld"])
    folder = tmp_path.resolve().as_uri()
    assert f"{tmp_path / 'rel.rdf'}:3: relative IRI resolved against <{folder}/rel.rdf>" in caplog.text
    assert f"{tmp_path / 'rel.jsonld'}: relative IRI resolved against" in caplog.text
    assert {str(t[0]) for t in store.triples()} == {f"{folder}/a", f"{folder}/c"}


def test_file_iris_written_in_full_are_not_taken_for_resolved_ones(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # the implicit base was marked in its (empty) host: Python's urljoin gives file:///x, an
    # IRI written in full, the base's host, so it was warned about as resolved (and a JSON-LD
    # context file:///…/ctx.jsonld was fetched from the marked host: "file not on local host")
    import logging

    from kg_engine.store import SQLStore

    (tmp_path / "full.rdf").write_text(
        '<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        ' xmlns:e="http://e/">\n<rdf:Description rdf:about="file:///data/x">'
        '<e:p rdf:resource="file:///data/y"/></rdf:Description>\n</rdf:RDF>\n')
    store = SQLStore("sqlite://")
    with caplog.at_level(logging.WARNING, logger="kg_engine.store.relative_iris"):
        store.load(tmp_path / "full.rdf")
    assert caplog.text == ""
    assert {(str(s), str(o)) for s, _, o, *_ in store.triples()} == {
        ("file:///data/x", "file:///data/y")}
