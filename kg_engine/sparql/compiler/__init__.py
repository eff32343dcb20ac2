"""SPARQL algebra → SQL compiler over kg-engine's store (``kg_terms`` / ``kg_quads``).

The compiler turns rdflib's SPARQL algebra into ONE SQL statement wherever it can:

* :func:`compile_query` – a whole query → :class:`CompiledQuery` (SQL text, parameters,
  ``full`` flag, ``execute``); the engine caches these by query text.
* :func:`evaluate_part` – rdflib ``CUSTOM_EVALS`` hook for hybrid plans: SQL evaluates every
  sub-tree that compiles, rdflib the rest (:func:`install` / :func:`uninstall`).

One concept per module: :mod:`.sql` (parameterised fragments), :mod:`.block` (the SELECT
under construction), :mod:`.context` (constants, statistics, dataset), :mod:`.bgp` (triple
patterns and join order), :mod:`.paths` (property paths), :mod:`.expressions` (FILTER/BIND
with SPARQL error semantics), :mod:`.patterns` (OPTIONAL, UNION, MINUS, EXISTS, VALUES,
GRAPH), :mod:`.aggregates`, :mod:`.modifiers` (ORDER BY, DISTINCT, LIMIT), :mod:`.render`,
:mod:`.decode` (SQL rows → rdflib terms), :mod:`.plan` and :mod:`.hook`.
"""

from __future__ import annotations

from .block import Decline
from .context import DatasetSpec
from .decode import RuntimeDecline
from .hook import evaluate_part, install, uninstall
from .plan import CompiledQuery, compile_query, parse_algebra

__all__ = [
    "CompiledQuery",
    "DatasetSpec",
    "Decline",
    "RuntimeDecline",
    "compile_query",
    "evaluate_part",
    "install",
    "parse_algebra",
    "uninstall",
]
