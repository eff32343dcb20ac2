"""The extraction step of ``kg demo``: sample corpus → extract → store → query → explain.

Runs on a fresh machine with no ``../shared`` and no network: the corpus is
``data/demo_corpus.jsonl`` (written for this project; invented people and companies in real
cities), the NER is the installed small English spaCy pipeline, and the relation extractor
is used when a trained one is shipped in ``data/models/`` (see ``data/README.md``).

:func:`run_extraction_demo` takes a ``KnowledgeGraph`` (anything with ``extract``, ``query``,
``triples`` and ``store.provenance_of``) so that this package does not import the API layer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["DEMO_CORPUS", "DEMO_QUERIES", "DEMO_RELATION_MODEL", "run_extraction_demo"]

_DATA = Path(__file__).resolve().parents[2] / "data"
#: The sample corpus (JSON Lines: id, title, text).
DEMO_CORPUS = _DATA / "demo_corpus.jsonl"
#: A small relation extractor shipped with the project (used when present).
DEMO_RELATION_MODEL = _DATA / "models" / "re_semeval_cnn"

_PREFIXES = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX cls: <urn:kg-engine:class/>
"""

#: Title → SPARQL query over the extracted graph.
DEMO_QUERIES: dict[str, str] = {
    "Extracted entities per class": _PREFIXES + """
        SELECT ?class (COUNT(DISTINCT ?e) AS ?entities) WHERE { ?e a ?class }
        GROUP BY ?class ORDER BY DESC(?entities) ?class""",
    "Organisations and how they were named": _PREFIXES + """
        SELECT ?org (GROUP_CONCAT(DISTINCT ?name; separator=" | ") AS ?names) WHERE {
          ?org a cls:Organization ; rdfs:label ?name }
        GROUP BY ?org ORDER BY ?org LIMIT 12""",
    "Relations found between entities (most confident model output)": _PREFIXES + """
        SELECT ?head ?relation ?tail WHERE {
          ?h ?p ?t . ?h rdfs:label ?head . ?t rdfs:label ?tail .
          FILTER(STRSTARTS(STR(?p), "urn:kg-engine:relation/"))
          BIND(STRAFTER(STR(?p), "urn:kg-engine:relation/") AS ?relation)
        } ORDER BY ?relation ?head LIMIT 12""",
}


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
        relation_model: a trained relation extractor folder; skipped when it does not exist.
        progress: progress bar.

    Returns:
        ``{"extract": ExtractResult, "rerun": ExtractResult (unchanged corpus: skipped),
        "relations": bool, "queries": {title: (variables, rows)},
        "explained": (triple, [Provenance])}``.
    """
    overrides: dict[str, Any] = {}
    use_rel = relation_model is not None and Path(relation_model).exists()
    if use_rel:
        overrides["pipeline.relation_model"] = str(relation_model)
    result = kg.extract(corpus, "default", overrides=overrides, progress=progress)
    rerun = kg.extract(corpus, "default", overrides=overrides, progress=progress)
    queries: dict[str, tuple[list[str], list[list[str]]]] = {}
    for title, sparql in DEMO_QUERIES.items():
        res = kg.query(sparql)
        names = [str(v) for v in res.vars]
        rows = [["" if v is None else str(v) for v in row] for row in res]
        queries[title] = (names, rows)
    explained = None
    from rdflib import URIRef

    rel_triples = [q for q in kg.triples((None, None, None))
                   if isinstance(q[1], URIRef) and str(q[1]).startswith("urn:kg-engine:relation/")]
    pool = rel_triples or list(kg.triples((None, None, None)))
    if pool:
        quad = pool[0]
        explained = (quad[:3], kg.store.provenance_of(quad))
    return {"extract": result, "rerun": rerun, "relations": use_rel, "queries": queries,
            "explained": explained}
