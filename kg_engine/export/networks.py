"""Property-graph formats: GraphML and GEXF (Gephi, Cytoscape, yEd) through networkx, and
CSV files in the layout ``neo4j-admin database import`` reads.

All three start from the analytics view (:func:`kg_engine.analytics.view.select`): nodes are
IRIs / blank nodes (literals with ``literals=True``), ``rdf:type`` becomes node types,
edges carry the predicate, origin and confidence.

* **GraphML / GEXF**: node id = the term in N-Triples form (``<iri>``, ``_:b``); attributes
  ``label`` (label or the IRI's local name), ``iri`` (a blank node or literal: its N-Triples
  form, as in the Neo4j files), ``types`` (the node's types separated by single spaces: each an
  IRI as itself, a blank node or literal in N-Triples form, any white space inside one written
  ``\\u0020``-style, so ``types.split(" ")`` gives them back; neither format has a list type
  networkx writes or Gephi reads for GraphML);
  edges ``predicate`` (IRI), ``label`` (its local name), ``origin``, ``confidence``.
  Characters XML 1.0 cannot hold (C0 controls but tab and line ends, U+FFFE…) are written as
  ``\\uXXXX`` escapes (ids stay valid N-Triples); a carriage return is kept (``&#13;``).
* **Neo4j CSV** (a folder): ``nodes.csv`` with ``iri:ID,label,types:string[],:LABEL`` and
  ``relationships.csv`` with ``:START_ID,:END_ID,:TYPE,predicate,origin,confidence:float``;
  ``:LABEL`` / ``:TYPE`` are local names (``Resource`` for untyped nodes). Import with the
  command in the folder's ``import.txt``. ``neo4j-admin`` splits arrays (``types``,
  ``:LABEL``) on one character and has no escape for it, so the export picks the first of
  ``;``, ``|``, U+001F and the private-use characters that no array value contains, and
  ``import.txt`` names it (``--array-delimiter``; ``--multiline-fields=true`` when a value
  holds a line break).

Example:
    >>> local_name("http://xmlns.com/foaf/0.1/knows"), local_name("urn:x:y#Z")
    ('knows', 'Z')
    >>> from rdflib import Literal
    >>> print(list_item(Literal("two words")), list_item(URIRef("http://ex.org/C")))
    "two\\u0020words" http://ex.org/C
    >>> array_delimiter(["a;b", "c|d"])
    '\\x1f'
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rdflib import URIRef

from kg_engine.analytics.view import ORIGINS, IdView, to_networkx
from kg_engine.core.files import atomic_output
from kg_engine.core.rdf_text import term_ntriples

__all__ = ["array_delimiter", "list_item", "local_name", "to_property_graph", "write_gexf",
           "write_graphml", "write_neo4j_csv", "xml_safe"]

_LOCAL = re.compile(r"[^/#:]+$")
_SPACE = re.compile(r"\s")
#: Neo4j array delimiters, in the order tried: the usual ';', then characters data rarely holds
_DELIMITERS = [";", "|", "\x1f", *map(chr, range(0xE000, 0xF900))]
#: characters XML 1.0 cannot hold, not even as character references
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def local_name(iri: str) -> str:
    """The last segment of an IRI (after ``#``, ``/`` or ``:``), or the IRI itself."""
    m = _LOCAL.search(iri.rstrip("/#"))
    return m.group() if m else iri


def list_item(term: Any) -> str:
    """``term`` as one item of a space-separated list: an IRI as itself, a blank node or
    literal in N-Triples form, white space inside it as ``\\uXXXX`` (an N-Triples escape)."""
    return _SPACE.sub(lambda m: f"\\u{ord(m.group()):04X}", _node_id(term))


def array_delimiter(values: Iterable[str]) -> str:
    """The first Neo4j array delimiter (``;``, ``|``, U+001F, private-use characters) that
    none of ``values`` contains (neo4j-admin has no escape for it)."""
    used = set().union(*map(set, values))
    return next(c for c in _DELIMITERS if c not in used)


def xml_safe(text: str) -> str:
    r"""``text`` with the characters XML 1.0 cannot hold written as ``\uXXXX``.

    Example:
        >>> xml_safe("a\x01b\tc")
        'a\\u0001b\tc'
    """
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04X}", text)


def to_property_graph(store: Any, view: IdView) -> Any:
    """A networkx ``MultiDiGraph`` with string node ids and only scalar attributes, every
    string one XML can hold (:func:`xml_safe`)."""
    import networkx as nx

    g = to_networkx(store, view=view)
    out = nx.MultiDiGraph()
    for node, data in g.nodes(data=True):
        out.add_node(xml_safe(node.n3()),
                     label=xml_safe(data.get("label") or local_name(str(node))),
                     iri=xml_safe(_node_id(node)),
                     types=xml_safe(" ".join(map(list_item, data.get("types", ())))))
    for i, (u, v, _key, data) in enumerate(g.edges(keys=True, data=True)):
        attrs = {"predicate": xml_safe(str(data["predicate"])),
                 "label": xml_safe(local_name(str(data["predicate"]))), "origin": data["origin"]}
        if "confidence" in data:
            attrs["confidence"] = float(data["confidence"])
        out.add_edge(xml_safe(u.n3()), xml_safe(v.n3()), key=f"e{i}", **attrs)
    return out


class _CarriageReturns:
    """A binary file whose carriage returns are written as ``&#13;``: GraphML values are
    element text, where an XML reader turns a raw CR (or CR LF) into LF."""

    def __init__(self, f: Any) -> None:
        self.f = f

    def write(self, data: bytes) -> int:
        return self.f.write(data.replace(b"\r", b"&#13;"))


def write_graphml(store: Any, view: IdView, path: str | Path) -> int:
    """Write GraphML; returns the number of edges."""
    import networkx as nx

    g = to_property_graph(store, view)
    with atomic_output(path, binary=True) as f:
        nx.write_graphml(g, _CarriageReturns(f), encoding="utf-8", prettyprint=True,
                         named_key_ids=True)
    return g.number_of_edges()


def write_gexf(store: Any, view: IdView, path: str | Path) -> int:
    """Write GEXF 1.2 (Gephi); returns the number of edges."""
    import networkx as nx

    g = to_property_graph(store, view)
    with atomic_output(path, binary=True) as f:
        nx.write_gexf(g, f, encoding="utf-8", prettyprint=True)
    return g.number_of_edges()


def write_neo4j_csv(store: Any, view: IdView, folder: Path) -> int:
    """Write ``nodes.csv``, ``relationships.csv`` and ``import.txt`` into ``folder``;
    returns the number of relationships."""
    terms = view.decode(store)
    nodes = []
    for n in view.nodes:
        types = sorted(_node_id(terms[t]) for t in view.types.get(n, ()))
        labels = sorted({local_name(t) for t in types}) or ["Resource"]
        nodes.append((_node_id(terms[n]), view.labels.get(n) or local_name(str(terms[n])),
                      types, labels))
    delimiter = array_delimiter(v for node in nodes for v in (*node[2], *node[3]))
    lines = False
    with atomic_output(folder / "nodes.csv") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["iri:ID", "label", "types:string[]", ":LABEL"])
        for node_id, label, types, labels in nodes:
            row = [node_id, label, delimiter.join(types), delimiter.join(labels)]
            lines = lines or any("\n" in v or "\r" in v for v in row)
            w.writerow(row)
    with atomic_output(folder / "relationships.csv") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow([":START_ID", ":END_ID", ":TYPE", "predicate", "origin", "confidence:float"])
        for s, p, o, c, conf in view.edges:
            row = [_node_id(terms[s]), _node_id(terms[o]), local_name(str(terms[p])),
                   str(terms[p]), ORIGINS[c], "" if conf is None else conf]
            lines = lines or any("\n" in v or "\r" in v for v in row[:4])
            w.writerow(row)
    shown = f"'{delimiter}'" if delimiter.isprintable() else f"U+{ord(delimiter):04X}"
    with atomic_output(folder / "import.txt") as f:
        f.write("neo4j-admin database import full neo4j --nodes=nodes.csv "
                f"--relationships=relationships.csv --array-delimiter={shown}"
                f"{' --multiline-fields=true' if lines else ''}\n")
    return len(view.edges)


def _node_id(term: Any) -> str:
    """IRIs as themselves, blank nodes / literals in N-Triples form (``_:b1``, ``"x"``)."""
    return str(term) if isinstance(term, URIRef) else term_ntriples(term)
