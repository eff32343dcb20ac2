"""``exact_literals``: rdflib's process-wide NORMALIZE_LITERALS switch, scoped safely across threads."""

from __future__ import annotations

import threading

import rdflib
from rdflib import XSD, Literal

from kg_engine.core.terms import exact_literals


def _exact_now() -> bool:
    return str(Literal("01", datatype=XSD.integer)) == "01"


def test_overlapping_blocks_in_two_threads_neither_wait_nor_restore_too_early() -> None:
    # A enters, B enters, A leaves while B still parses, B leaves. Before, the store's copy
    # of the context had no lock (and the core's held one for the whole block): A's exit
    # turned normalisation back on under B's parse ("01" stored as "1"), and B's exit then
    # restored the False it had found, leaving it off for the whole process; with a lock
    # held for the block, B waited for A (a kg serve request behind a whole load).
    assert rdflib.NORMALIZE_LITERALS is True
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def a() -> None:
        with exact_literals():
            a_in.set()
            seen["b entered while a held it"] = b_in.wait(5)
        a_out.set()

    def b() -> None:
        a_in.wait(5)
        with exact_literals():
            b_in.set()
            a_out.wait(5)
            seen["b still exact after a left"] = _exact_now()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert seen == {"b entered while a held it": True, "b still exact after a left": True}
    assert rdflib.NORMALIZE_LITERALS is True and not _exact_now()


def test_nested_blocks_restore_the_setting_found() -> None:
    with exact_literals():
        with exact_literals():
            assert _exact_now()
        assert _exact_now()
    assert rdflib.NORMALIZE_LITERALS is True
