"""N-Triples and N-Quads straight from SQL: each term formatted once, statements streamed.

The writer scans the term dictionary once into a list of N-Triples texts by id and streams the
integer quads (``GSPO`` order, one graph after another) into the output, so no rdflib term
is made at all. Output is canonical-looking N-Triples: IRIs ``<…>`` (characters N-Triples
forbids written as ``\\uXXXX``), literals with ``\\"``, ``\\\\``, ``\\n``, ``\\r`` escaped,
blank nodes ``_:label`` (labels that are not plain ``[A-Za-z0-9_]`` replaced by a hash-based
one, the same every time).

Example:
    >>> from kg_engine.store.schema import IRI, LITERAL
    >>> term_text(IRI, "urn:a b", None, "")
    '<urn:a\\\\u0020b>'
    >>> term_text(LITERAL, 'say "hi"\\n', None, "en")
    '"say \\\\"hi\\\\"\\\\n"@en'
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any

from kg_engine.store.schema import BNODE, IRI

__all__ = ["statement_rows", "term_map", "term_text", "write_ntriples"]

_IRI_BAD = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_LIT_BAD = re.compile(r'[\\"\n\r]')
_BNODE_OK = re.compile(r"[A-Za-z0-9_]+")
_LIT_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"}


def _iri(lex: str) -> str:
    if _IRI_BAD.search(lex):
        lex = _IRI_BAD.sub(lambda m: f"\\u{ord(m.group()):04X}", lex)
    return f"<{lex}>"


def _bnode(lex: str) -> str:
    if _BNODE_OK.fullmatch(lex):
        return f"_:{lex}"
    return "_:h" + hashlib.blake2b(lex.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def term_text(kind: int, lex: str, datatype: str | None, lang: str) -> str:
    """The N-Triples text of a dictionary row."""
    if kind == IRI:
        return _iri(lex)
    if kind == BNODE:
        return _bnode(lex)
    if _LIT_BAD.search(lex):
        lex = _LIT_BAD.sub(lambda m: _LIT_ESCAPES[m.group()], lex)
    if lang:
        return f'"{lex}"@{lang}'
    if datatype:
        return f'"{lex}"^^{_iri(datatype)}'
    return f'"{lex}"'


def term_map(db: Any) -> list[str | None]:
    """N-Triples text of every term, indexed by term id (a list: faster than a dict when
    formatting millions of statements), from one dictionary scan."""
    out: list[str | None] = [None] * (int(db.scalar("SELECT max(id) FROM kg_terms") or 0) + 1)
    for id_, kind, lex, dt, lang in db.execute(
        "SELECT t.id, t.kind, t.lex, d.lex, t.lang FROM kg_terms t "
        "LEFT JOIN kg_terms d ON d.id = t.dt"
    ):
        out[id_] = term_text(kind, lex, dt, lang)
    return out


def statement_rows(db: Any, graph_ids: Sequence[int], quads: bool) -> Iterable[list[tuple]]:
    """Batches of integer statements of ``graph_ids``: ``(g, s, p, o)`` for quads, else
    ``(s, p, o)`` (a statement in several graphs written once)."""
    listed = ",".join(str(int(g)) for g in graph_ids)
    if quads or len(graph_ids) == 1:
        cols = "g, s, p, o" if quads else "s, p, o"
        sql = f"SELECT {cols} FROM kg_quads WHERE g IN ({listed}) ORDER BY g, s, p, o"
    else:
        sql = f"SELECT DISTINCT s, p, o FROM kg_quads WHERE g IN ({listed}) ORDER BY s, p, o"
    return db.stream(sql, batch=20_000)


def write_ntriples(
    db: Any,
    out: IO[str],
    graph_ids: Sequence[int],
    *,
    quads: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Write the statements of ``graph_ids`` as N-Triples (or N-Quads) to ``out``.

    Call it inside ``db.snapshot()`` so the dictionary scan and the statements agree.

    Returns:
        The number of statements written.
    """
    t = term_map(db)
    written = 0
    write = out.write
    for batch in statement_rows(db, graph_ids, quads):
        if quads:
            write("".join([
                f"{t[s]} {t[p]} {t[o]} .\n" if g == 0 else f"{t[s]} {t[p]} {t[o]} {t[g]} .\n"
                for g, s, p, o in batch
            ]))
        else:
            write("".join([f"{t[s]} {t[p]} {t[o]} .\n" for s, p, o in batch]))
        written += len(batch)
        if on_batch is not None:
            on_batch(len(batch))
    return written
