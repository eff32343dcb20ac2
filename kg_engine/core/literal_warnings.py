"""rdflib's log record for an ill-typed literal, dropped where kg-engine makes the literal.

rdflib converts a typed literal's lexical form to a Python value when the literal is made and,
when that fails (``"abc"^^xsd:integer``, ``"1,000"^^xsd:decimal``), logs a WARNING on the
``rdflib.term`` logger *with the traceback* (``exc_info``). kg-engine stores such literals as
written and reports them itself (``kg load`` warns with file, line and column; see "Ill-typed
literals" in ``docs/sparql.md``), then decodes them on every query, ``triples()``, explanation
or export that returns them: one traceback on stderr per literal decoded, in a notebook or
``kg query``, and a log handler that keeps records (pytest's ``caplog``, a notebook's
capture) keeps each traceback, whose frames keep the store and its connection alive.

:func:`install` (run when :mod:`kg_engine.core.terms` is imported) adds a filter to that one
logger which drops that one message when kg-engine code is on the stack, i.e. when the
literal was made by kg-engine (decoding a stored term, a parser it runs). The same message
for a literal your own code makes outside kg-engine is kept, and no record of kg-engine's own
loggers, nor any other rdflib message, is touched.

Example:
    >>> import logging
    >>> from rdflib import Literal, XSD
    >>> install()
    >>> from kg_engine.store.terms import decode
    >>> records = []
    >>> class Keep(logging.Handler):
    ...     def emit(self, record):
    ...         records.append(record)
    >>> keep = Keep(); logging.getLogger("rdflib.term").addHandler(keep)
    >>> str(decode(3, "abc", str(XSD.integer), None))  # decoded by kg-engine: no record
    'abc'
    >>> len(records)
    0
    >>> logging.getLogger("rdflib.term").removeHandler(keep)
"""

from __future__ import annotations

import logging
import sys

__all__ = ["install"]

_RDFLIB_LOGGER = "rdflib.term"
_MESSAGE = "Failed to convert Literal lexical form to value"
_PACKAGE = __name__.split(".")[0] + "."


class _DropKgEngineConversionFailures(logging.Filter):
    """Drops rdflib's conversion-failure record when kg-engine made the literal."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.getMessage().startswith(_MESSAGE):
            return True
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_globals.get("__name__", "").startswith(_PACKAGE):
                return False
            frame = frame.f_back
        return True


_FILTER = _DropKgEngineConversionFailures()


def install() -> None:
    """Add the filter to rdflib's ``rdflib.term`` logger (once; calling again is harmless)."""
    logger = logging.getLogger(_RDFLIB_LOGGER)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
