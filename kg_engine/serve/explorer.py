"""The browser explorer's JSON API: label search, entity pages and "why" for every fact.

* ``/api/search?q=`` — entities whose label contains ``q`` (case-insensitive; labels are
  ``rdfs:label``, SKOS / FOAF / schema.org / Dublin Core names and titles, and any predicate
  whose local name is ``name``, ``label`` or ``title``), best matches first.
* ``/api/entity?iri=`` — labels, types and the facts around an entity (both directions, every
  graph), each fact marked ``asserted``, ``inferred`` (in a rule engine's graph),
  ``predicted`` (a GNN's graph) or ``extracted`` (text provenance), with its confidence.
* ``/api/explain?s=&p=&o=`` (N-Triples terms) — :meth:`KnowledgeGraph.explain` as JSON: the
  source sentence with the mention's character spans, the rule derivation tree, or the GNN's
  paths with their scores; ``text`` is the same explanation as ``kg explain`` prints it.

Everything reads the store inside one snapshot, with SQL over the quad table (no SPARQL
round trips), so an entity page is one request of a few indexed lookups.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import anyio
from rdflib import RDF, BNode, Literal, URIRef
from rdflib.namespace import XSD
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from kg_engine.core.graphs import PREDICTED_GRAPH_PREFIX
from kg_engine.core.terms import DEFAULT_GRAPH

from .errors import HTTPError, error_response
from .formats import term_ntriples

__all__ = ["entity", "entity_endpoint", "explain_endpoint", "search", "search_endpoint"]

PREDICTED_PREFIX = PREDICTED_GRAPH_PREFIX
#: facts returned per direction for one entity
FACT_LIMIT = 300


def _local_name(iri: str) -> str:
    for sep in ("#", "/", ":"):
        if sep in iri.rstrip(sep):
            iri = iri.rstrip(sep).rsplit(sep, 1)[1]
            break
    return iri


def label_predicates(kg: Any) -> list[int]:
    """Ids of the predicates that hold labels in this store, preferred first."""
    from kg_engine.analytics.view import label_predicates as of_store

    return of_store(kg.store)


def _graph_kinds(kg: Any) -> dict[int, str]:
    """Graph id -> ``inferred`` / ``predicted`` for the rule engine's and the GNNs' graphs."""
    store = kg.store
    kinds = {int(g): "inferred" for (g,) in store.db.fetchall("SELECT g FROM kg_rules_programs")}
    graphs = store.db.fetchall("SELECT id FROM kg_graphs")
    names = store.decode(int(g) for (g,) in graphs)
    for i, name in names.items():
        if str(name).startswith(PREDICTED_PREFIX):
            kinds[i] = "predicted"
    return kinds


def _labels_of(kg: Any, ids: Iterable[int], label_ids: list[int]) -> dict[int, str]:
    ids = sorted(set(ids))
    if not ids or not label_ids:
        return {}
    out: dict[int, tuple[int, str]] = {}
    pm = ", ".join("?" * len(label_ids))
    for k in range(0, len(ids), 500):
        chunk = ids[k:k + 500]
        marks = ", ".join("?" * len(chunk))
        rows = kg.store.db.fetchall(
            f"SELECT q.s, q.p, t.lex, t.lang FROM kg_quads q JOIN kg_terms t ON t.id = q.o "
            f"WHERE q.p IN ({pm}) AND q.s IN ({marks})", [*label_ids, *chunk])
        for s, p, lex, lang in rows:
            rank = (label_ids.index(p) if p in label_ids else 99) + (0 if lang in ("", "en") else 50)
            if int(s) not in out or rank < out[int(s)][0]:
                out[int(s)] = (rank, lex)
    return {s: lex for s, (_, lex) in out.items()}


def _lower_sql(db: Any, column: str) -> tuple[str, list[str]]:
    """SQL lower-casing ``column`` as Python's ``str.lower`` lower-cases the needle (SQLite's
    ``lower()`` changes ASCII letters only, PostgreSQL's follows the server's locale)."""
    if db.dialect == "sqlite":
        db.raw.create_function("kg_lower", 1, _python_lower, deterministic=True)
        return f"kg_lower({column})", []
    from kg_engine.sparql.compiler.expressions import lower_sql_pg

    return lower_sql_pg(column)


def _python_lower(text: Any) -> Any:
    return text.lower() if isinstance(text, str) else text


def search(kg: Any, text: str, limit: int = 20) -> list[dict[str, str]]:
    """Entities whose label contains ``text`` (case-insensitive), exact and prefix matches
    first.

    Example:
        >>> from kg_engine.api import KnowledgeGraph
        >>> kg = KnowledgeGraph("sqlite://")
        >>> kg.update('INSERT DATA { <urn:ada> <http://www.w3.org/2000/01/rdf-schema#label> '
        ...           '"Ada Lovelace" }')
        >>> search(kg, "lovel")
        [{'iri': 'urn:ada', 'label': 'Ada Lovelace'}]
    """
    text = text.strip()
    if not text:
        return []
    label_ids = label_predicates(kg)
    if not label_ids:
        return []
    needle = text.lower()
    pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    pm = ", ".join("?" * len(label_ids))
    lowered, params = _lower_sql(kg.store.db, "t.lex")
    rows = kg.store.db.fetchall(
        f"SELECT s, lex FROM (SELECT q.s AS s, t.lex AS lex, {lowered} AS low FROM kg_quads q "
        f"JOIN kg_terms t ON t.id = q.o WHERE q.p IN ({pm})) x WHERE low LIKE ? ESCAPE '\\' "
        f"ORDER BY CASE WHEN low = ? THEN 0 WHEN low LIKE ? ESCAPE '\\' THEN 1 ELSE 2 END, "
        f"length(lex) LIMIT ?",
        [*params, *label_ids, pattern, needle, pattern[1:], limit * 3])
    seen: dict[int, str] = {}
    for s, lex in rows:
        seen.setdefault(int(s), lex)
    terms = kg.store.decode(seen)
    out = []
    for s, lex in seen.items():
        t = terms.get(s)
        if isinstance(t, URIRef):
            out.append({"iri": str(t), "label": lex})
    return out[:limit]


def _term_json(term: Any, label: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"nt": term_ntriples(term)}
    if isinstance(term, URIRef):
        out.update(type="uri", value=str(term), label=label or _local_name(str(term)))
    elif isinstance(term, Literal):
        out.update(type="literal", value=str(term), lang=term.language,
                   datatype=None if term.datatype in (None, XSD.string) else str(term.datatype))
    else:
        out.update(type="bnode", value=str(term), label=label or f"_:{term}")
    return out


def entity(kg: Any, iri: str, limit: int = FACT_LIMIT) -> dict[str, Any]:
    """Everything the entity page shows about ``iri`` (see the module doc).

    Raises:
        HTTPError: 404 when the store has no statement about ``iri``.
    """
    store = kg.store
    # a blank node by its label in the store (``_:b1f…_x``, as kg query prints it)
    node: URIRef | BNode = BNode(iri[2:]) if iri.startswith("_:") else URIRef(iri)
    nid = store.term_ids([node]).get(node)
    if nid is None:
        raise HTTPError(404, f"{node.n3()} is not in the store")
    db = store.db
    out_rows = db.fetchall("SELECT g, s, p, o FROM kg_quads WHERE s = ? LIMIT ?", (nid, limit + 1))
    in_rows = db.fetchall("SELECT g, s, p, o FROM kg_quads WHERE o = ? LIMIT ?", (nid, limit + 1))
    truncated = len(out_rows) > limit or len(in_rows) > limit
    out_rows, in_rows = out_rows[:limit], in_rows[:limit]
    if not out_rows and not in_rows:
        raise HTTPError(404, f"{node.n3()} is in no statement of the store")
    # provenance (kind and confidence) of every fact: out by the (s, p, o, g) index, in by s
    prov: dict[tuple[int, int, int, int], list[tuple[str, float | None]]] = {}
    for g, s, p, o, kind, conf in db.fetchall(
            "SELECT g, s, p, o, kind, confidence FROM kg_provenance WHERE s = ?", (nid,)):
        prov.setdefault((int(g), int(s), int(p), int(o)), []).append((kind, conf))
    subjects = sorted({int(r[1]) for r in in_rows})
    for k in range(0, len(subjects), 500):
        chunk = subjects[k:k + 500]
        marks = ", ".join("?" * len(chunk))
        for g, s, p, o, kind, conf in db.fetchall(
                f"SELECT g, s, p, o, kind, confidence FROM kg_provenance "
                f"WHERE s IN ({marks}) AND o = ?", [*chunk, nid]):
            prov.setdefault((int(g), int(s), int(p), int(o)), []).append((kind, conf))
    graph_kinds = _graph_kinds(kg)
    ids = {nid}
    for g, s, p, o in (*out_rows, *in_rows):
        ids.update((int(g), int(s), int(p), int(o)))
    terms = store.decode(ids)
    label_ids = label_predicates(kg)
    labels = _labels_of(kg, [i for i in ids if isinstance(terms.get(i), (URIRef, BNode))],
                        label_ids)
    facts = []
    own_labels = []
    for direction, rows in (("out", out_rows), ("in", in_rows)):
        for g, s, p, o in rows:
            key = (int(g), int(s), int(p), int(o))
            records = prov.get(key, [])
            kinds = {k for k, _ in records}
            kind = graph_kinds.get(key[0])
            if kind is None:
                kind = "extracted" if "extracted" in kinds else (
                    "predicted" if "predicted" in kinds else "asserted")
            confs = [c for _, c in records if c is not None]
            graph = terms[key[0]]
            obj = terms[key[3]]
            if direction == "out" and key[2] in label_ids and isinstance(obj, Literal):
                own_labels.append({"value": str(obj), "lang": obj.language})
            facts.append({
                "dir": direction, "kind": kind,
                "s": _term_json(terms[key[1]], labels.get(key[1])),
                "p": _term_json(terms[key[2]], labels.get(key[2])),
                "o": _term_json(terms[key[3]], labels.get(key[3])),
                "graph": None if graph == DEFAULT_GRAPH else str(graph),
                "confidence": max(confs) if confs else None,
            })
    types = [f["o"] for f in facts if f["dir"] == "out" and f["p"]["value"] == str(RDF.type)]
    return {
        "iri": iri, "label": labels.get(nid, iri if isinstance(node, BNode) else _local_name(iri)),
        "labels": own_labels,
        "types": list({t["value"]: t for t in types}.values()), "facts": facts,
        "truncated": truncated,
    }


def _highlights(source: dict[str, Any]) -> list[list[int]]:
    """Character spans of the mention(s) inside ``source["text"]`` (the sentence)."""
    try:
        detail = json.loads(source.get("detail") or "{}")
    except ValueError:
        detail = {}
    base = detail.get("sentence_start") if isinstance(detail, dict) else None
    if base is None or source.get("text") is None:
        return []
    spans = [detail[k] for k in ("head", "tail") if isinstance(detail.get(k), list)]
    if not spans and source.get("start") is not None and source.get("end") is not None:
        spans = [[source["start"], source["end"]]]
    n = len(source["text"])
    return sorted([max(0, a - base), min(n, b - base)] for a, b in spans if b - base > 0
                  and a - base < n)


def explanation_json(result: Any) -> dict[str, Any]:
    """The JSON of an explanation (rule tree / provenance / GNN paths) plus its text."""
    out: dict[str, Any] = {"kind": result.kind, "text": str(result)}
    if result.kind == "predicted" and hasattr(result, "provenance"):
        prov = result.provenance.as_dict()
        out["provenance"] = prov
        ex = result.explanation
        out["score"] = None if ex is None else ex.score
        out["confidence"] = prov.get("confidence")
        out["paths"] = [{"text": line} for line in result.lines]
        out["note"] = result.note
        if ex is not None:
            for path, p in zip(out["paths"], ex.paths):
                path["importance"] = p.importance
            f = ex.fidelity
            if f is not None:
                out["fidelity"] = {"score_before": f.score_before, "score_after": f.score_after,
                                   "rank_before": f.rank_before, "rank_after": f.rank_after}
        return out
    from kg_engine.core.provenance import Provenance
    from kg_engine.rules.explain import source_text

    trees = result.to_dict()["trees"]
    for tree in trees:
        stack = [tree]
        while stack:
            node = stack.pop()
            for src in node.get("sources", []):
                src["summary"] = source_text(Provenance(**src))
                src["highlights"] = _highlights(src)
            stack.extend(node.get("premises", []))
            stack.extend(node.get("aggregated", []))
    out["trees"] = trees
    return out


def _term_param(text: str | None, name: str) -> str:
    if not text:
        raise HTTPError(400, f"missing `{name}` (an N-Triples term such as <http://ex.org/a>)")
    return text


def explain_fact(kg: Any, s: str, p: str, o: str) -> dict[str, Any]:
    """``kg.explain`` of the fact given as three N-Triples terms, as JSON."""
    from kg_engine.rules.explain import parse_triple

    triple = parse_triple(f"{s} {p} {o}")
    return explanation_json(kg.explain(triple))


async def search_endpoint(request: Request) -> Response:
    """``/api/search?q=&limit=``."""
    q = request.query_params.get("q", "")

    def run() -> list[dict[str, str]]:
        with request.app.state.pool.reader() as kg:
            return search(kg, q, limit)
    try:
        given = request.query_params.get("limit") or "20"
        if not given.isdigit() or int(given) < 1:  # a negative SQL LIMIT means no limit
            raise HTTPError(400, f"limit={given!r}: give a whole number from 1 to 100")
        limit = min(100, int(given))
        return JSONResponse({"results": await anyio.to_thread.run_sync(run)})
    except Exception as exc:  # noqa: BLE001
        return error_response(exc, request.app.state.config.db)


async def entity_endpoint(request: Request) -> Response:
    """``/api/entity?iri=``."""
    iri = request.query_params.get("iri")

    def run() -> dict[str, Any]:
        if not iri:
            raise HTTPError(400, "missing `iri`")
        with request.app.state.pool.reader() as kg:
            return entity(kg, iri)
    try:
        return JSONResponse(await anyio.to_thread.run_sync(run))
    except Exception as exc:  # noqa: BLE001
        return error_response(exc, request.app.state.config.db)


async def explain_endpoint(request: Request) -> Response:
    """``/api/explain?s=&p=&o=`` (N-Triples terms)."""
    params = request.query_params

    def run() -> dict[str, Any]:
        terms = [_term_param(params.get(k), k) for k in ("s", "p", "o")]
        with request.app.state.pool.reader() as kg:
            return explain_fact(kg, *terms)
    try:
        return JSONResponse(await anyio.to_thread.run_sync(run))
    except Exception as exc:  # noqa: BLE001
        return error_response(exc, request.app.state.config.db)
