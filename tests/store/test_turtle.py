"""The strict Turtle / TriG parser: each grammar rule, each error class with its position,
streaming across block boundaries, and loads through it (same terms as rdflib's parser)."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from kg_engine.errors import RDFSyntaxError
from kg_engine.store import SQLStore, loader
from kg_engine.store.turtle import TurtleParser, key_row, key_term, resolve_iri

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XSD = "http://www.w3.org/2001/XMLSchema#"
E = "http://e/"
P = "@prefix : <http://e/> .\n"


def parse(text: str, trig: bool = False, block_size: int = 1 << 22,
          base: str | None = "http://base/dir/doc") -> list[tuple]:
    return TurtleParser("t.ttl", base=base, trig=trig, block_size=block_size).statements(
        io.StringIO(text))


def triples(text: str, **kw) -> list[tuple]:
    """Statements with blank nodes renamed b0, b1… in order of first appearance."""
    names: dict[tuple, tuple] = {}

    def k(x):
        if type(x) is tuple and len(x) == 1:
            return names.setdefault(x, (f"b{len(names)}",))
        return x

    return [tuple(k(x) for x in st) for st in parse(text, **kw)]


def error(text: str, trig: bool = False, block_size: int = 1 << 22) -> RDFSyntaxError:
    with pytest.raises(RDFSyntaxError) as info:
        parse(text, trig=trig, block_size=block_size)
    return info.value


# -- directives and IRIs ------------------------------------------------------------------------
def test_prefix_forms_and_reassignment() -> None:
    text = ("@prefix ex: <http://one/> .\nex:a ex:p ex:b .\nPREFIX ex: <http://two/>\n"
            "prefix EX: <http://three/>\nex:a ex:p EX:b .\n@prefix : <http://e/> . :a :b : .\n")
    assert parse(text) == [
        ("http://one/a", "http://one/p", "http://one/b", None),
        ("http://two/a", "http://two/p", "http://three/b", None),
        (E + "a", E + "b", E, None),
    ]


def test_base_forms_and_relative_iris_resolve_per_rfc3986() -> None:
    text = ("<a> <#p> <../c> .\n@base <http://x/y/z> .\n<q> <?k> <> .\n"
            "BASE <sub/>\n<r> <//h/p> </abs> .\n")
    assert parse(text) == [
        ("http://base/dir/a", "http://base/dir/doc#p", "http://base/c", None),
        ("http://x/y/q", "http://x/y/z?k", "http://x/y/z", None),
        ("http://x/y/sub/r", "http://h/p", "http://x/abs", None),
    ]


@pytest.mark.parametrize("ref, want", [
    ("g", "http://a/b/c/g"), ("./g", "http://a/b/c/g"), ("g/", "http://a/b/c/g/"),
    ("/g", "http://a/g"), ("//g", "http://g"), ("?y", "http://a/b/c/d;p?y"),
    ("g?y", "http://a/b/c/g?y"), ("#s", "http://a/b/c/d;p?q#s"), ("", "http://a/b/c/d;p?q"),
    (".", "http://a/b/c/"), ("..", "http://a/b/"), ("../..", "http://a/"),
    ("../../../g", "http://a/g"), ("/./g", "http://a/g"), ("g.", "http://a/b/c/g."),
    ("..g", "http://a/b/c/..g"), ("./../g", "http://a/b/g"), ("g;x=1/../y", "http://a/b/c/y"),
    ("g#s/../x", "http://a/b/c/g#s/../x"),
])
def test_resolve_iri_rfc3986_examples(ref: str, want: str) -> None:
    assert resolve_iri("http://a/b/c/d;p?q", ref) == want


def test_iri_escapes_are_decoded() -> None:
    assert parse("<http://e/\\u00e9> <http://e/\\U0001F600> <http://e/o> .") == [
        ("http://e/é", "http://e/😀", "http://e/o", None)]


# -- the triples: a, ';', ',', blank nodes, collections ------------------------------------------
def test_a_semicolons_commas_and_empty_trailing_semicolons() -> None:
    assert parse(P + ":s a :C ; :p :o1, :o2 ;; :q :o3 ; .") == [
        (E + "s", RDF + "type", E + "C", None), (E + "s", E + "p", E + "o1", None),
        (E + "s", E + "p", E + "o2", None), (E + "s", E + "q", E + "o3", None)]


def test_blank_node_labels_anon_and_property_lists() -> None:
    got = triples(P + "_:x :p [] , [ :q _:x ; :r [ :s :t ] ] .\n[ :u :v ] .\n[] :w _:x.y .\n")
    assert got == [
        (("b0",), E + "p", ("b1",), None), (("b2",), E + "q", ("b0",), None),
        (("b3",), E + "s", E + "t", None), (("b2",), E + "r", ("b3",), None),
        (("b0",), E + "p", ("b2",), None), (("b4",), E + "u", E + "v", None),
        (("b5",), E + "w", ("b6",), None)]
    assert parse("_:x.y <urn:p> _:x.y .")[0][0] == ("x.y",)


def test_blank_node_property_list_as_subject_with_predicates() -> None:
    assert triples(P + "[ :p :o ] :q :r .") == [
        (("b0",), E + "p", E + "o", None), (("b0",), E + "q", E + "r", None)]


def test_collections_empty_nested_and_as_subject() -> None:
    first, rest, nil = RDF + "first", RDF + "rest", RDF + "nil"
    assert triples(P + ":s :p () .") == [(E + "s", E + "p", nil, None)]
    assert triples(P + ":s :p ( :a ( 1 ) ) .") == [
        (("b0",), first, E + "a", None),
        (("b1",), first, ("1", XSD + "integer", ""), None), (("b1",), rest, nil, None),
        (("b0",), rest, ("b2",), None), (("b2",), first, ("b1",), None),
        (("b2",), rest, nil, None), (E + "s", E + "p", ("b0",), None)]
    assert triples(P + "( :a ) :p :o .") == [
        (("b0",), first, E + "a", None), (("b0",), rest, nil, None),
        (("b0",), E + "p", E + "o", None)]
    assert triples(P + "() :p :o .") == [(nil, E + "p", E + "o", None)]


# -- literals ---------------------------------------------------------------------------------
def test_numbers_and_booleans_keep_their_lexical_form_and_get_their_datatype() -> None:
    got = [o for _, _, o, _ in parse(P + ":s :p 1, -05, +1.50, .5, 1e3, -1.E-2, .5e+1, true, false .")]
    assert got == [("1", XSD + "integer", ""), ("-05", XSD + "integer", ""),
                   ("+1.50", XSD + "decimal", ""), (".5", XSD + "decimal", ""),
                   ("1e3", XSD + "double", ""), ("-1.E-2", XSD + "double", ""),
                   (".5e+1", XSD + "double", ""), ("true", XSD + "boolean", ""),
                   ("false", XSD + "boolean", "")]


def test_integer_before_the_final_dot() -> None:
    assert parse(P + ":s :p 1.")[0][2] == ("1", XSD + "integer", "")


def test_strings_quotes_escapes_language_and_datatypes() -> None:
    text = (P + ':s :p "a\\tb\\u00e9\\U0001F600\\"", \'s\\\'q\', """long "q" ""\nline""", '
            "'''l2\n''', \"x\"@en-GB, \"7\"^^:int, \"8\"^^<http://e/int>, \"\", \"s\"^^<" + XSD
            + "string> .")
    got = [o for _, _, o, _ in parse(text)]
    assert got == [("a\tbé😀\"", None, ""), ("s'q", None, ""), ('long "q" ""\nline', None, ""),
                   ("l2\n", None, ""), ("x", None, "en-GB"), ("7", E + "int", ""),
                   ("8", E + "int", ""), ("", None, ""), ("s", XSD + "string", "")]
    assert key_row(got[-1]).datatype is None  # "s"^^xsd:string is the simple literal "s"


def test_carriage_return_in_a_long_string_is_kept() -> None:
    assert parse('<urn:s> <urn:p> """a\r\nb""" .')[0][2] == ("a\r\nb", None, "")


def test_local_names_escapes_percent_dots_and_colons() -> None:
    got = [o for _, _, o, _ in parse(P + ":s :p :a\\,b, :c%20d, :e.f, :g:h, :0x, :_y, :z\\. .")]
    assert got == [E + "a,b", E + "c%20d", E + "e.f", E + "g:h", E + "0x", E + "_y", E + "z."]


def test_comments_and_whitespace_anywhere() -> None:
    assert parse("#c\n<urn:s>#c\n<urn:p> # c \"x\n\t<urn:o> # c\r\n.#end") == [
        ("urn:s", "urn:p", "urn:o", None)]


def test_keys_turn_into_rdflib_terms() -> None:
    s, p, o, _ = parse('_:b <urn:p> "01"^^<http://www.w3.org/2001/XMLSchema#integer> .')[0]
    assert str(key_term(s)) == "b" and str(key_term(p)) == "urn:p"
    assert key_term(o).n3() == '"01"^^<http://www.w3.org/2001/XMLSchema#integer>'


# -- TriG -------------------------------------------------------------------------------------
def test_trig_graph_forms() -> None:
    text = (P + "<g1> { :a :b :c } :g2 { :a :b :c . :d :e :f . }\nGRAPH :g3 { :a :b :c ; }\n"
            "{ :a :b :c } :x :y :z . _:g { } [] { :a :b [ :c :d ] }\n"
            "graph [] { :a :b :c }\n")
    got = triples(text, trig=True)
    assert got == [
        (E + "a", E + "b", E + "c", "http://base/dir/g1"), (E + "a", E + "b", E + "c", E + "g2"),
        (E + "d", E + "e", E + "f", E + "g2"), (E + "a", E + "b", E + "c", E + "g3"),
        (E + "a", E + "b", E + "c", None), (E + "x", E + "y", E + "z", None),
        (("b0",), E + "c", E + "d", ("b1",)), (E + "a", E + "b", ("b0",), ("b1",)),
        (E + "a", E + "b", E + "c", ("b2",))]


def test_trig_blank_node_labels_are_shared_across_graphs() -> None:
    got = parse("<urn:g1> { _:x <urn:p> <urn:o> } <urn:g2> { _:x <urn:p> <urn:o> }", trig=True)
    assert got[0][0] == got[1][0]


# -- errors: each class, with its position and what to do ---------------------------------------
@pytest.mark.parametrize("text, line, column, words", [
    # rdflib silently stored 1.2 and dropped the rest
    (P + ":a :p 1.2.3 .", 2, 10, "expected ','"),
    (P + ":a :p 1.2.3 .", 2, 10, "(1.2.3 is not a number: a decimal has one '.')"),
    # rdflib accepted a literal subject
    (P + '"x" :p :o .', 2, 1, "a literal cannot be the subject"),
    (P + "1 :p :o .", 2, 1, "a literal cannot be the subject"),
    (P + "true :p :o .", 2, 1, "a literal cannot be the subject"),
    (P + ":a :p :o .\n:b :p .", 3, 7, "expected an object"),
    (P + ":a :p :o", 2, 9, "the file ends here"),
    (P + ":a :p :o :q .", 2, 10, "a statement ends with '.'"),
    ("ex:a ex:p ex:o .", 1, 1, "undefined prefix 'ex:'"),
    # a typo of a declared prefix: the message names the prefix that was meant
    ("@prefix rail: <urn:r#> .\nrail:a rial:p 1 .", 2, 8, "undefined prefix 'rial:'; did you mean 'rail:'?"),
    ("<http://e/a b> <urn:p> <urn:o> .", 1, 1, "malformed IRI"),
    ("<http://e/a\\u00ZZ> <urn:p> <urn:o> .", 1, 1, "malformed IRI"),
    ("<http://e/a\\u0020> <urn:p> <urn:o> .", 1, 1, "percent-encode"),
    ("<urn:a> <urn:p> <urn:o .", 1, 17, "no closing '>'"),
    ('<urn:a> <urn:p> "a\\q" .', 1, 17, "invalid escape '\\\\q'"),
    ('<urn:a> <urn:p> "open .\n<urn:a> <urn:p> <urn:o> .', 1, 17, "string not closed"),
    ('<urn:a> <urn:p> """open .\n<urn:a> <urn:p> <urn:o> .', 1, 17, "unterminated long string"),
    ('<urn:a> <urn:p> "\\uD800" .', 1, 17, "not a Unicode character"),
    ("<urn:a> <urn:p> <urn:o> ..", 1, 26, "expected a subject"),
    (P + ":a :p :o ; , :x .", 2, 12, "expected a predicate"),
    (P + "a :p :o .", 2, 1, "'a' is only allowed as a predicate"),
    (P + ':a "p" :o .', 2, 4, "a predicate must be an IRI"),
    (P + ":a _:p :o .", 2, 4, "a predicate must be an IRI"),
    (P + "[] .", 2, 4, "a predicate"),
    (P + "( :a ) .", 2, 8, "a predicate"),
    (P + "[ :p :o ] ; :q :r .", 2, 11, "a predicate or '.'"),
    (P + ":a :p [ :q :r .", 2, 15, "']'"),
    (P + ":a :p ( :b .", 2, 12, "expected a list item or ')'"),
    (P + ':a :p "x"^^"y" .', 2, 12, "a datatype must be an IRI"),
    ("@prefix ex <urn:> .", 1, 9, "a prefix name ending in ':'"),
    ("@prefix ex: <urn:>", 1, 19, "expected '.' to end the @prefix"),
    ("@prefix ex: <urn:> <urn:a> <urn:b> <urn:c> .", 1, 20, "expected '.'"),
    ("PREFIX ex: <urn:> .", 1, 19, "expected a subject"),
    ("@PREFIX ex: <urn:> .", 1, 1, "unknown directive"),
    ("@base <urn:>", 1, 13, "expected '.' to end the @base"),
    ("<urn:a> <urn:p> <urn:o> . { <urn:a> <urn:p> <urn:o> }", 1, 27, ".trig"),
    (P + ":a :p :o .\n\t:b :p ~ .", 3, 8, "unexpected '~'"),
])
def test_errors_name_line_column_and_what_was_expected(text: str, line: int, column: int,
                                                       words: str) -> None:
    err = error(text)
    assert (err.source, err.line, err.column) == ("t.ttl", line, column), str(err)
    assert words in str(err) and str(err).startswith(f"t.ttl:{line}:{column}: ")


@pytest.mark.parametrize("text, line, column, words", [
    ("<urn:g> { @prefix ex: <urn:> . }", 1, 11, "not allowed inside a graph"),
    ("<urn:g> { <urn:a> <urn:p> <urn:o> ", 1, 35, "the file ends here"),
    ("<urn:g> { <urn:a> <urn:p> <urn:o> } .", 1, 37, "expected a subject"),
    ("( <urn:g> ) { <urn:a> <urn:p> <urn:o> }", 1, 13, "a predicate"),
    ('"g" { <urn:a> <urn:p> <urn:o> }', 1, 1, "a literal cannot be the subject"),
    ("GRAPH { <urn:a> <urn:p> <urn:o> }", 1, 7, "graph name"),
    ("<urn:g> { <urn:g2> { } }", 1, 20, "a predicate"),
    ("<urn:a> <urn:p> <urn:o> }", 1, 25, "expected ','"),
])
def test_trig_errors(text: str, line: int, column: int, words: str) -> None:
    err = error(text, trig=True)
    assert (err.line, err.column) == (line, column), str(err)
    assert words in str(err)


# -- streaming --------------------------------------------------------------------------------
DOC = (P + ":s :p \"\"\"a long\nstring . :x :y :z .\n\"\"\" ; :q ( 1 2\n 3 ) ,\n [ :r 'x' ] .\n"
       "# a comment . with a dot\n:t :p :o1 , :o2 .\n" * 3)


@pytest.mark.parametrize("block_size", [1, 5, 13, 64, 1 << 22])
def test_block_boundaries_anywhere_give_the_same_statements(block_size: int) -> None:
    assert triples(DOC, block_size=block_size) == triples(DOC)
    assert len(triples(DOC)) == 3 * 12


@pytest.mark.parametrize("block_size", [1, 7, 40, 1 << 22])
def test_error_positions_do_not_depend_on_blocks(block_size: int) -> None:
    err = error(DOC + ":late :p :o :oops .\n", block_size=block_size)
    assert (err.line, err.column) == (23, 13)


def test_blocks_are_yielded_before_the_end_of_the_input() -> None:
    text = "".join(f"<urn:s{i}> <urn:p> <urn:o> .\n" for i in range(1000))
    blocks = TurtleParser("t.ttl", block_size=1000).blocks(io.StringIO(text + "bad"))
    first = next(blocks)
    assert 0 < len(first) < 1000  # statements come before the bad end is read
    with pytest.raises(RDFSyntaxError):
        list(blocks)


# -- loads through the parser -----------------------------------------------------------------
VALID_TTL = (P + "@base <http://base/> .\n:s a :C ; :p 1, -2.50, 1e0, true, \"x\"@en-GB, "
             "\"01\"^^<" + XSD + "integer> ;\n :q [ :r ( 1 ( ) \"\"\"l\nx\"\"\" ) ] , _:b1 .\n"
             "_:b1 :p <rel> , :a\\,b . () :p [] .\n")
VALID_TRIG = (P + ":g1 { :s :p :o , [ :q 1.0 ] } { :d :p \"x\" } GRAPH <http://e/g2> "
              "{ _:x :p ( 1 ) } :g1 { :s :p 2 . }\n")


def _quads(store: SQLStore) -> dict:
    """Graph name -> rdflib Graph of its triples (blank graph names are not used here)."""
    graphs: dict = {}
    for s, p, o, g in store.triples():
        graphs.setdefault(str(g), Graph()).add((s, p, o))
    return graphs


@pytest.mark.parametrize("name, text", [("v.ttl", VALID_TTL), ("v.trig", VALID_TRIG)])
def test_loads_the_same_terms_as_the_rdflib_path(tmp_path: Path, monkeypatch,
                                                 name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    ours = SQLStore("sqlite://")
    ours.load(path)
    monkeypatch.setattr(loader, "_TURTLE_FORMATS", {})  # the old path: rdflib's parser
    theirs = SQLStore("sqlite://")
    theirs.load(path)
    a, b = _quads(ours), _quads(theirs)
    assert a.keys() == b.keys() and len(ours) == len(theirs) > 5
    for g in a:
        assert isomorphic(a[g], b[g]), g


def test_bad_file_loads_nothing_and_keeps_the_store(tmp_path: Path) -> None:
    store = SQLStore("sqlite://")
    good = tmp_path / "good.ttl"
    good.write_text(P + ":a :p :b .\n")
    store.load(good)
    before = (len(store), store.db.scalar("SELECT count(*) FROM kg_terms"),
              store.db.scalar("SELECT count(*) FROM kg_loads"))
    big = tmp_path / "big.ttl.gz"  # many statements, parsed and written, then the error
    with gzip.open(big, "wt") as f:
        f.write(P + "".join(f":s{i} :p {i} .\n" for i in range(120_000)) + ":z :p 1.2.3 .\n")
    with pytest.raises(RDFSyntaxError) as info:
        store.load([good, big])
    assert (info.value.line, info.value.column) == (120_002, 10)
    after = (len(store), store.db.scalar("SELECT count(*) FROM kg_terms"),
             store.db.scalar("SELECT count(*) FROM kg_loads"))
    assert after == before


def test_load_keeps_the_declared_prefixes(tmp_path: Path) -> None:
    store = SQLStore("sqlite://")
    path = tmp_path / "p.ttl"
    path.write_text("@prefix ex: <http://one/> .\nPREFIX ex: <http://two/>\n@prefix : <urn:> .\n"
                    "ex:a ex:b ex:c .\n")
    store.load(path)
    assert sorted(store.db.fetchall("SELECT key, value FROM kg_meta WHERE key LIKE 'ns:%'")) == [
        ("ns:", "urn:"), ("ns:ex", "http://one/")]


def test_not_utf8_is_a_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.ttl"
    path.write_bytes('<urn:a> <urn:p> "caf\xe9" .\n'.encode("latin-1"))
    with pytest.raises(RDFSyntaxError, match="not UTF-8"):
        SQLStore("sqlite://").load(path)


@pytest.mark.parametrize("name", ["latin1.ttl", "latin1.trig", "latin1.nt", "latin1.nq", "latin1.nt.gz"])
def test_not_utf8_names_the_line_and_column_of_the_first_bad_byte(tmp_path: Path, name: str) -> None:
    # was "latin1.ttl: not UTF-8 text (invalid continuation byte) after statement 0"
    text = '<urn:a> <urn:p> "ok" .\r\n<urn:a> <urn:p> "Gen\xe8ve" .\n'.encode("latin-1")
    path = tmp_path / name
    path.write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
    store = SQLStore("sqlite://")
    with pytest.raises(RDFSyntaxError) as info:
        store.load(path)
    assert (info.value.line, info.value.column) == (2, 21)
    assert "byte 0xe8" in str(info.value) and "save the file as UTF-8" in str(info.value)
    assert len(store) == 0


@pytest.mark.parametrize("text, words", [
    ("<http://exa%mple/> <urn:p> <urn:o> .", "does not start a %XX escape"),
    ("<ht)tp://x/> <urn:p> <urn:o> .", "no valid scheme before the first ':'"),
    ("<http://e/#a#b> <urn:p> <urn:o> .", "more than one '#'"),
    ("<http://host:port/> <urn:p> <urn:o> .", "not an IRI (RFC 3987)"),
    ("@prefix e: <http://e/#> .\ne:a\\#b <urn:p> <urn:o> .", "stands for 'http://e/#a#b'"),
])
def test_iris_that_rfc3987_refuses_are_refused(text: str, words: str) -> None:
    assert words in str(error(text))


def test_a_word_glued_to_a_number_is_one_bad_token() -> None:
    assert "unexpected 'true2'" in str(error("<urn:s> <urn:p> ( true2 ) ."))
    assert len(parse("<urn:s> <urn:p> ( 1true ) .")) == 5  # two tokens, as in the grammar


@pytest.mark.parametrize("block_size", [1, 1 << 22])
def test_a_byte_order_mark_is_skipped(block_size: int) -> None:
    assert parse("\ufeff<urn:s> <urn:p> <urn:o> .", block_size=block_size) == [
        ("urn:s", "urn:p", "urn:o", None)]


TRIG_DOC = (P + "<g1> {\n :a :b \"\"\"x\ny\"\"\" ; :c ( 1 [ :d :e ] ) .\n :f :g :h }\n"
            "GRAPH _:g2 { :a :b :c . }\n{ :a :b :c }\n:i :j :k .\n") * 2


@pytest.mark.parametrize("block_size", [1, 6, 17, 1 << 22])
def test_trig_block_boundaries_anywhere_give_the_same_statements(block_size: int) -> None:
    got = triples(TRIG_DOC, trig=True, block_size=block_size)
    assert got == triples(TRIG_DOC, trig=True) and len(got) == 2 * 11
    graphs = [st[3] for st in got]
    assert graphs.count("http://base/dir/g1") == 16 and graphs.count(None) == 4
    assert len(set(graphs)) == 3  # _:g2 twice in one document: one graph


def test_a_literal_that_is_no_value_of_its_datatype_is_kept_and_warned_about(caplog):
    """A new user's catalogue held ``lib:due "2024-13-01"^^xsd:date`` and ``"12,50"^^xsd:decimal``:
    kg load took them without a word, and every FILTER on them then dropped the row. They are
    still stored as written (RDF allows ill-typed literals), with a warning naming the place."""
    import io
    import logging

    doc = ('@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n'
           '<urn:a> <urn:due> "2024-13-01"^^xsd:date ;\n'
           '  <urn:price> "12,50"^^xsd:decimal , "12.50"^^xsd:decimal ;\n'
           '  <urn:born> "-0044-03-15"^^xsd:date , "2024-02-29"^^xsd:date ;\n'
           '  <urn:n> "300"^^xsd:byte , "1e3"^^xsd:double , "maybe"^^xsd:boolean ;\n'
           '  <urn:t> "soon"^^<urn:my-type> .\n')
    with caplog.at_level(logging.WARNING, logger="kg_engine.store.turtle"):
        parser = TurtleParser("cat.ttl")
        statements = parser.statements(io.StringIO(doc))
    assert len(statements) == 9  # all kept, as written
    assert parser.ill_typed == [(2, 19), (3, 15), (5, 11), (5, 49)]
    text = caplog.text
    assert 'cat.ttl:2:19: "2024-13-01"^^xsd:date is not a valid xsd:date' in text
    assert 'cat.ttl:3:15: "12,50"^^xsd:decimal is not a valid xsd:decimal' in text
    assert "fix the value" in text and "-0044" not in text and "urn:my-type" not in text
    # a statement read again because it ran past a block's end is warned about once
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="kg_engine.store.turtle"):
        parser = TurtleParser("cat.ttl", block_size=64)
        assert len(parser.statements(io.StringIO(doc))) == 9
    assert parser.ill_typed == [(2, 19), (3, 15), (5, 11), (5, 49)]
    assert caplog.text.count("is not a valid") == 4


def test_only_the_first_invalid_literals_are_named(caplog):
    import logging

    from kg_engine.store.turtle import MAX_WARNINGS

    doc = "".join(f'<urn:s{i}> <urn:p> "x{i}"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
                  for i in range(MAX_WARNINGS + 5))
    with caplog.at_level(logging.WARNING, logger="kg_engine.store.turtle"):
        parser = TurtleParser("many.ttl")
        assert len(parser.statements(io.StringIO(doc))) == MAX_WARNINGS + 5
    assert len(parser.ill_typed) == MAX_WARNINGS + 5
    assert caplog.text.count("is not a valid xsd:integer") == MAX_WARNINGS
    assert caplog.text.count(f"only the first {MAX_WARNINGS} are named") == 1


@pytest.mark.parametrize("block_size", [7, 1 << 22])
def test_lines_ending_in_cr_alone_are_counted(block_size: int) -> None:
    """A file with CR alone between lines was one line: an error on line 3 was reported at
    1:57 (and the whole file was read as one block); CR LF and LF keep their numbers."""
    for end in ("\r", "\r\n", "\n"):
        text = end.join(["<urn:a> <urn:p> 1 .", "<urn:a> <urn:p> 2 .", "<urn:a> <urn:p> oops ."])
        parser = TurtleParser("cr.ttl", block_size=block_size)
        with pytest.raises(RDFSyntaxError) as info:
            list(parser.blocks(io.StringIO(text, newline="")))
        assert (info.value.line, info.value.column) == (3, 17), repr(end)
    text = "@prefix x: <urn:x:> .\r" + "".join(f"x:s x:p {i} .\r" for i in range(50))
    assert len(TurtleParser("cr.ttl", block_size=block_size).statements(
        io.StringIO(text, newline=""))) == 50
