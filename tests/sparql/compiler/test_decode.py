"""The id → term cache of result decoding (``sparql/compiler/decode.py``)."""

from __future__ import annotations

from rdflib import URIRef, Variable

from kg_engine.sparql.compiler import decode
from kg_engine.store import open_store


def _store(n: int):
    st = open_store("sqlite://")
    terms = [URIRef(f"urn:t{i}") for i in range(n)]
    st.add([(t, URIRef("urn:p"), t) for t in terms])
    ids = st.term_ids(terms)
    return st, [ids[t] for t in terms], terms


def _decode(st, ids):
    return [r[0] for r in decode.decode_rows(st, [(Variable("x"), "id", 0)], [(i,) for i in ids],
                                             lambda k: None)]


def _count_fetches(monkeypatch) -> list[int]:
    """The number of terms each ``decode.fetch_terms`` call fetched, recorded from now on."""
    fetched: list[int] = []
    real = decode.fetch_terms

    def counting(store, need, cache=None):
        fetched.append(len(need))
        return real(store, need, cache)

    monkeypatch.setattr(decode, "fetch_terms", counting)
    return fetched


def test_result_larger_than_the_bound_is_decoded_from_memory_when_run_again(monkeypatch):
    st, ids, terms = _store(20)
    monkeypatch.setattr(decode, "_TERM_CACHE_MAX", 5)
    fetched = _count_fetches(monkeypatch)
    assert _decode(st, ids) == terms
    assert _decode(st, ids) == terms  # 20 terms > the bound of 5: kept, not fetched again
    assert fetched == [20]


def test_reset_keeps_the_terms_that_were_cached_before(monkeypatch):
    st, ids, terms = _store(12)
    monkeypatch.setattr(decode, "_TERM_CACHE_MAX", 5)
    assert _decode(st, ids[:3]) == terms[:3]  # cached
    # 3 cached + 9 new > 5: the cache starts over; the 3 cached ones are decoded too
    assert _decode(st, ids) == terms
    assert _decode(st, ids[:4]) == terms[:4]


def test_warm_and_partly_cached_results_decode_the_same(monkeypatch):
    st, ids, terms = _store(6)
    fetched = _count_fetches(monkeypatch)
    layout = [(Variable("x"), "id", 0), (Variable("y"), "id", 1)]
    const = URIRef("urn:not-in-the-store")
    rows = [(ids[0], None), (ids[1], ids[2]), (None, ids[0])]
    want = [(terms[0], None), (terms[1], terms[2]), (None, terms[0])]
    assert decode.decode_rows(st, layout, rows, lambda k: None) == want  # cold: one fetch
    assert decode.decode_rows(st, layout, rows, lambda k: None) == want  # warm, NULLs unbound
    assert fetched == [3]
    # a miss among cached ids, and a query constant (negative id), go through the fetch
    rows2 = [*rows, (ids[5], -1)]
    got = decode.decode_rows(st, layout, rows2, lambda k: const if k == -1 else None)
    assert got == [*want, (terms[5], const)]
    assert fetched == [3, 1]


def test_result_rows_are_made_when_read_and_decode_as_plain_rows(monkeypatch):
    from kg_engine.sparql.rows import ColumnRows, row_type

    st, ids, terms = _store(12)
    const = URIRef("urn:not-in-the-store")
    ids = [*ids, None, -1, ids[0]]  # unbound, a query constant, a repeated id
    layout = [(Variable("x"), "id", 0), (Variable("y"), "id", 1)]
    rows = list(zip(ids, reversed(ids)))

    def both():
        made = decode.decode_rows(st, layout, rows, lambda k: const if k == -1 else None,
                                  row_type([Variable("x"), Variable("y")]))
        plain = decode.decode_rows(st, layout, rows, lambda k: const if k == -1 else None)
        return made, plain

    made, plain = both()
    assert isinstance(made, ColumnRows)
    assert list(made) == plain and list(made) == list(made)  # read twice: the same rows
    assert made[12] == (None, terms[2]) and made[13].x == const and made[-1].y == terms[0]
    assert len(made) == 15 and made[1:3] == plain[1:3]
    made, plain = both()  # warm
    assert list(made) == plain
    # the same when the cache overflows and starts over with this result's terms
    monkeypatch.setattr(decode, "_TERM_CACHE_MAX", 5)
    decode.forget_terms(st)
    made, plain = both()
    assert list(made) == plain


def test_a_large_result_adds_no_object_for_the_garbage_collector_per_row():
    """A query result's rows are made when read: one tracked row object per solution was
    walked by every full collection (LUBM(10) x4, OPTIONAL: 351 -> 265 CPU-ms per run)."""
    import gc

    from kg_engine import KnowledgeGraph

    kg = KnowledgeGraph("sqlite://")
    kg.store.add([(URIRef(f"urn:s{i}"), URIRef("urn:p"), URIRef(f"urn:o{i}")) for i in range(3000)])
    query = "SELECT ?s ?o WHERE { ?s <urn:p> ?o }"
    assert len(kg.query(query)) == 3000  # terms decoded and cached
    before = len(gc.get_objects())
    result = kg.query(query)
    assert len(gc.get_objects()) - before < 300  # not one row (or term) each
    assert sorted(str(r.s) for r in result) == sorted(f"urn:s{i}" for i in range(3000))


def test_a_new_generation_of_term_ids_empties_the_id_indexed_cache_too():
    """The cache keeps the terms twice, in a dict and in a list indexed by id (the warm path
    reads the list); a new generation of the store's ids (a rollback or vacuum that freed ids)
    must empty both, or the list would still name the terms of the freed ids."""
    st, ids, terms = _store(4)
    assert _decode(st, ids) == terms
    assert _decode(st, ids) == terms  # warm: from the list
    cache, by_id = decode._term_cache(st)
    assert by_id[ids[0]] == terms[0]
    stale = URIRef("urn:stale")
    cache[ids[0]] = by_id[ids[0]] = stale  # as if the id had named another term before
    assert _decode(st, ids)[0] == stale
    st.dictionary.generation += 1
    assert _decode(st, ids) == terms


def test_columns_the_id_indexed_cache_cannot_answer_decode_through_the_dict(monkeypatch):
    """Unbound cells, query constants (negative ids: a list would answer them from its end)
    and ids past the list's bound are decoded as before."""
    st, ids, terms = _store(6)
    monkeypatch.setattr(decode, "_BY_ID_MAX", ids[3])  # ids[3:] are kept in the dict only
    const = URIRef("urn:not-in-the-store")
    layout = [(Variable("x"), "id", 0)]
    for column, want in (([*ids, None], [*terms, None]), ([ids[0], -1], [terms[0], const]),
                         (ids[3:], terms[3:])):
        rows = [(i,) for i in column]
        for _ in range(2):  # cold, then warm
            got = decode.decode_rows(st, layout, rows, lambda k: const if k == -1 else None)
            assert [r[0] for r in got] == want
