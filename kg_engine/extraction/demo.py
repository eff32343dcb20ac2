"""The extraction step of ``kg demo``: sample corpus → extract → store → query → explain.

Runs on a fresh machine with no ``../shared`` and no network: the corpus is
``data/demo_corpus.jsonl`` (written for this project; invented people and companies in real
cities) and the pipeline is the default one: the installed small English spaCy pipeline (NER,
parser) and Wikidata relations from dependency patterns (``kg_pattern_relation_extractor``,
``pipelines/schemas/wikidata_patterns.cfg``), each shown with the sentence it came from. Pass
``relation_model=DOCRE_MODEL`` to use the shipped document-level model instead (pipeline
``docre_open``: the open-text schema with per-relation thresholds; less precise, see
docs/benchmarks.md, "Document-level relations").

:func:`run_extraction_demo` takes a ``KnowledgeGraph`` (anything with ``extract``, ``query``,
``triples`` and ``store.provenance_of``) so that this package does not import the API layer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["DEMO_CORPUS", "DEMO_QUERIES", "DEMO_RELATION_MODEL", "DOCRE_MODEL", "RELATION_QUERY",
           "WIKIDATA_PROP", "run_extraction_demo"]

_DATA = Path(__file__).resolve().parents[2] / "data"
#: The sample corpus (JSON Lines: id, title, text).
DEMO_CORPUS = _DATA / "demo_corpus.jsonl"
#: The document-level relation model shipped with the project (experimental, opt-in).
DOCRE_MODEL = _DATA / "models" / "docre_minilm"
#: The document-level relation model the demo uses (none: the default pipeline's patterns).
DEMO_RELATION_MODEL: Path | None = None
#: Namespace of the default schema's predicates.
WIKIDATA_PROP = "http://www.wikidata.org/prop/direct/"

_PREFIXES = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX cls: <urn:kg-engine:class/>
"""

#: Title → SPARQL query over the extracted graph.
DEMO_QUERIES: dict[str, str] = {
    "Extracted entities per class": _PREFIXES + """
        SELECT ?class (COUNT(DISTINCT ?e) AS ?entities) WHERE {
          ?e a ?class FILTER(STRSTARTS(STR(?e), "urn:kg-engine:entity/")) }
        GROUP BY ?class ORDER BY DESC(?entities) ?class""",
    "Organisations and how they were named": _PREFIXES + """
        SELECT ?org (GROUP_CONCAT(DISTINCT ?name; separator=" | ") AS ?names) WHERE {
          ?org a cls:Organization ; rdfs:label ?name }
        GROUP BY ?org ORDER BY ?org LIMIT 12""",
}

#: Title and SPARQL of the relation table.
RELATION_QUERY = ("Wikidata relations between entities (head, property, tail)", _PREFIXES + """
        SELECT ?head ?relation ?tail WHERE {
          ?h ?p ?t . ?h rdfs:label ?head . ?p rdfs:label ?relation .
          OPTIONAL { ?t rdfs:label ?tname }
          FILTER(STRSTARTS(STR(?p), "http://www.wikidata.org/prop/direct/"))
          BIND(COALESCE(?tname, STR(?t)) AS ?tail)
        } ORDER BY ?relation ?head ?tail LIMIT 20""")


def run_extraction_demo(
    kg: Any,
    *,
    corpus: str | Path = DEMO_CORPUS,
    relation_model: str | Path | None = DEMO_RELATION_MODEL,
    progress: bool | None = False,
) -> dict[str, Any]:
    """Extract the sample corpus into ``kg``, query it and explain one extracted triple.

    Args:
        kg: a ``KnowledgeGraph``.
        corpus: the corpus (default :data:`DEMO_CORPUS`).
        relation_model: a document-level relation model folder (e.g. :data:`DOCRE_MODEL`);
            ``None`` or a missing folder: the default pipeline (pattern relations).
        progress: progress bar.

    Returns:
        ``{"extract": ExtractResult, "rerun": ExtractResult (unchanged corpus: skipped),
        "relations": bool (relations were extracted), "queries": {title: (variables, rows)},
        "explained": (triple, [Provenance])}``; the last "query" is a table of the extracted
        relations with the source sentence(s) of each (from the provenance).
    """
    use_model = relation_model is not None and Path(relation_model).exists()
    overrides: dict[str, Any] = (
        {"pipeline.doc_relation_model": str(relation_model)} if use_model else {})
    pipeline = "docre_open" if use_model else "default"
    result = kg.extract(corpus, pipeline, overrides=overrides, progress=progress)
    rerun = kg.extract(corpus, pipeline, overrides=overrides, progress=progress)
    queries: dict[str, tuple[list[str], list[list[str]]]] = {}
    for title, sparql in [*DEMO_QUERIES.items(), RELATION_QUERY]:
        res = kg.query(sparql)
        names = [str(v) for v in res.vars]
        rows = [["" if v is None else str(v) for v in row] for row in res]
        queries[title] = (names, rows)
    explained = None
    from rdflib import RDFS, URIRef

    def label(term: Any) -> str:
        if not isinstance(term, URIRef):
            return str(term)
        # the longest of an entity's names ("Callum Reid", not "Reid")
        names = [str(q[2]) for q in kg.triples((term, RDFS.label, None))]
        return max(names, key=lambda n: (len(n), n)) if names else str(term)

    rel_triples = sorted((q for q in kg.triples((None, None, None))
                          if isinstance(q[1], URIRef) and str(q[1]).startswith(WIKIDATA_PROP)),
                         key=lambda q: (str(q[1]), str(q[0]), str(q[2])))
    rows = []
    for quad in rel_triples:
        sentences = sorted({(p.source, p.sentence, p.text or "") for p in kg.store.provenance_of(quad)})
        evidence = " | ".join(f"[{src} s{idx}] {text}" for src, idx, text in sentences)
        rows.append([label(quad[0]), label(quad[1]), label(quad[2]), evidence])
    if rows:
        queries["Extracted relations and the sentences they come from"] = (
            ["head", "relation", "tail", "source sentence(s)"], rows)
    else:
        queries.pop(RELATION_QUERY[0], None)
    # the first relation, else the first label, that text extraction wrote (the sample graph
    # loaded earlier has no sentence to show)
    for quad in rel_triples or kg.triples((None, RDFS.label, None)):
        sources = kg.store.provenance_of(quad)
        if sources:
            explained = (quad[:3], sources)
            break
    return {"extract": result, "rerun": rerun, "relations": bool(rows), "queries": queries,
            "explained": explained}
