"""SPARQL JSON results written by the database: the term dictionary joined in SQL.

A fresh process (``kg query --format json``) starts with an empty id → term cache: decoding a
large result through :mod:`.decode` fetches every term from ``kg_terms`` into Python, builds an
rdflib term for it, and then encodes that term again as JSON. :func:`json_bindings` instead wraps
the compiled SELECT so that the database looks up each cell's term and writes its binding
members itself (``"x": {"type": "uri", "value": "…"}``; SQLite ``json_quote``, PostgreSQL
``to_json``): Python receives one string per row and joins them. The text is byte-identical
to rdflib's ``result.serialize(format="json")`` (and to
:func:`kg_engine.sparql.results.select_json`).

Only plans whose every projected column is a term id qualify (no computed values such as
aggregates or string functions); a cell holding a query constant that is not in the dictionary
(a negative id) marks its row, and the caller falls back to the decoding path.

Example:
    >>> from rdflib import Literal, URIRef
    >>> from kg_engine.store import open_store
    >>> from kg_engine.sparql.compiler import compile_query
    >>> st = open_store("sqlite://")
    >>> st.add([(URIRef("urn:a"), URIRef("urn:p"), Literal("x", lang="en"))])
    1
    >>> plan = compile_query(st, "SELECT ?s ?o WHERE { ?s <urn:p> ?o }")
    >>> json_bindings(st, plan)
    '{"s": {"type": "uri", "value": "urn:a"}, "o": {"type": "literal", "value": "x", "xml:lang": "en"}}'

"""

from __future__ import annotations

from json.encoder import encode_basestring  # type: ignore[attr-defined]
from operator import itemgetter
from typing import Any

from kg_engine.store.schema import BNODE, IRI, LITERAL

__all__ = ["json_bindings", "json_sql"]

#: what the SQL writes for a cell it cannot write (a constant missing from the dictionary);
#: never produced by the quoting functions, which escape every control character
MARK = "\x01"


def _quote(dialect: str, expr: str) -> str:
    return f"json_quote({expr})" if dialect == "sqlite" else f"to_json(CAST({expr} AS text))::text"


def _term_json(dialect: str, t: str) -> str:
    """The JSON object of the ``kg_terms`` row ``t`` (NULL when there is none)."""
    def q(expr: str) -> str:
        return _quote(dialect, expr)

    literal = ("""'{"type": "literal", "value": ' || """ + q(f"{t}.lex")
               + f""" || CASE WHEN {t}.dt <> 0 THEN ', "datatype": ' || """
               + q(f"(SELECT kgd_.lex FROM kg_terms kgd_ WHERE kgd_.id = {t}.dt)") + " ELSE '' END"
               + f""" || CASE WHEN {t}.lang <> '' THEN ', "xml:lang": ' || """ + q(f"{t}.lang")
               + " ELSE '' END || '}'")
    return (f"CASE {t}.kind WHEN {IRI} THEN '{{\"type\": \"uri\", \"value\": ' || "
            f"{q(t + '.lex')} || '}}' WHEN {BNODE} THEN '{{\"type\": \"bnode\", \"value\": ' || "
            f"{q(t + '.lex')} || '}}' WHEN {LITERAL} THEN {literal} END")


def json_sql(dialect: str, plan: Any) -> str | None:
    """The statement that returns one text per row of ``plan``: the members of its binding
    object (``None`` when a projected column is a computed value, or nothing is projected).

    Each cell is ``, "name": {…}`` (empty when unbound, :data:`MARK` when its id is not a
    dictionary term); the row's text drops the leading ``", "``. Each term is a scalar
    subquery over the plan's statement, which stays the one ``FROM`` item (its rows come in
    its order; a join would let the planner reorder them)."""
    layout = plan.layout
    if not layout or any(kind != "id" for _v, kind, _i in layout):
        return None
    # three characters: the two the row's text drops never take all of a mark
    mark = "char(1, 1, 1)" if dialect == "sqlite" else "repeat(chr(1), 3)"
    cells = []
    for var, _kind, i in layout:
        name = encode_basestring(str(var)).replace("'", "''")
        col = f"kgr_.c{i}"
        term = f"(SELECT {_term_json(dialect, 'kgt_')} FROM kg_terms kgt_ WHERE kgt_.id = {col})"
        cells.append(f"CASE WHEN {col} IS NULL THEN '' ELSE "
                     f"COALESCE(', {name}: ' || {term}, {mark}) END")
    return f"SELECT substr({' || '.join(cells)}, 3) FROM ({plan.sql}) AS kgr_"


def json_bindings(store: Any, plan: Any) -> str | None:
    """Run ``plan`` (a full SELECT :class:`~.plan.CompiledQuery`, no prepared variables) with
    the dictionary joined in SQL: the binding objects of the rows, in order, comma-separated
    (the inside of ``"bindings": [...]``).

    ``None`` when the plan does not qualify (see :func:`json_sql`) or a cell holds a query
    constant that is not in the dictionary: decode the rows instead
    (:meth:`~.plan.CompiledQuery.run`).
    """
    from .plan import pinned_order, register_functions

    if plan.init_vars or plan.form != "SELECT":
        return None
    plan = plan._fresh(store)
    text = json_sql(store.dialect, plan) if plan.full else None
    if text is None:
        return None
    if plan.empty:  # a constant of the pattern is not in the store: no rows
        return ""
    if store.dialect == "sqlite":  # kg_regex, the kg_* callbacks (.pyexpr)
        register_functions(store)
    with pinned_order(store.db, plan.pin_joins):
        lines = store.db.fetchall(text, list(plan.params))
    if not lines:
        return ""
    body = "{" + "}, {".join(map(itemgetter(0), lines)) + "}"
    return None if MARK in body else body
