"""Records of the writes that are not file loads: SPARQL Update and the ``add`` API.

A bulk file load is recorded once per file and graph (``kg_loads``). A statement written by a
SPARQL update request (``INSERT DATA``, ``INSERT … WHERE``, ``ADD``/``COPY``/``MOVE``) or by
``add`` without a provenance of its own gets a per-statement row in ``kg_provenance`` instead
— only when the write made it new: a statement that was already there keeps the source it had.
The row says what wrote it and when, so ``explain`` answers "written by SPARQL update at …"
and never names a file that was loaded into the same graph but did not hold the statement.
A Graph Store Protocol write is recorded like a load (``kg_loads``, format ``graph-store``).

The rows are ordinary :class:`~kg_engine.core.Provenance` records of kind ``asserted``:

========  =================================================================================
field     value
========  =================================================================================
agent     :data:`SPARQL_UPDATE` or :data:`API_ADD`
source    ``kg-engine:sparql-update:<sha256 of the request, 16 hex>`` / ``kg-engine:add``
text      the request's first line after its PREFIX/BASE lines (at most 120 characters); the API call for an add
detail    ``{"at": time of the write (UTC, ISO 8601), "loads": newest kg_loads id then}``
========  =================================================================================

Stores created by this kg-engine carry the ``kg_meta`` row :data:`RECORDED_KEY`: every write
of theirs is recorded. A store created before has none, so a statement without a record there
may also come from an unrecorded write; ``explain`` says so.

Example:
    >>> r = update_record("INSERT DATA { <urn:a> <urn:p> 1 }\\n# more", 3, "2026-01-01T00:00:00+00:00")
    >>> r.agent, r.source, r.text
    ('sparql-update', 'kg-engine:sparql-update:28efc355ee69a1e2', 'INSERT DATA { <urn:a> <urn:p> 1 }')
    >>> describe(r)
    "written by SPARQL update at 2026-01-01T00:00:00+00:00: 'INSERT DATA { <urn:a> <urn:p> 1 }'"
    >>> loads_before(r)
    3
    >>> describe(api_record("KnowledgeGraph.add", 0, "2026-01-01T00:00:00+00:00"))
    'added through the API (KnowledgeGraph.add) at 2026-01-01T00:00:00+00:00'
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re

from kg_engine.core.provenance import Provenance

__all__ = ["API_ADD", "GRAPH_STORE", "RECORDED_KEY", "SPARQL_UPDATE", "api_record", "describe",
           "is_write", "loads_before", "now", "update_record", "written_at"]

#: ``agent`` of a statement written by a SPARQL update request.
SPARQL_UPDATE = "sparql-update"
#: ``agent`` of a statement added through ``add`` / ``add_batch`` without its own provenance.
API_ADD = "api-add"
#: ``kg_loads.format`` of a Graph Store Protocol write (one record per request and graph).
GRAPH_STORE = "graph-store"
#: ``kg_meta`` key present in stores whose writes are all recorded (created by this version).
RECORDED_KEY = "writes_recorded"
_FIRST_LINE = 120
#: a request's PREFIX / BASE declarations and comments before its first operation
_PROLOGUE = re.compile(r"\A(?:\s+|#[^\n]*|(?i:PREFIX)\s*[^\s:<]*:\s*<[^>]*>|(?i:BASE)\s*<[^>]*>)*")


def now() -> str:
    """The current time as the records write it (UTC, seconds)."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def update_record(text: str, loads: int = 0, at: str | None = None) -> Provenance:
    """The record of a SPARQL update request ``text``; ``loads``: the id of the store's
    newest load record then (:meth:`~kg_engine.store.SQLStore.last_load_id`)."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    body = _PROLOGUE.sub("", text, count=1)  # the PREFIX lines name no operation
    first = next((line.strip() for line in (body or text).splitlines() if line.strip()), "")
    if len(first) > _FIRST_LINE:
        first = first[:_FIRST_LINE - 3] + "..."
    return Provenance(kind="asserted", source=f"kg-engine:sparql-update:{digest}", text=first,
                      agent=SPARQL_UPDATE, detail=_detail(at, loads))


def api_record(call: str = "add", loads: int = 0, at: str | None = None) -> Provenance:
    """The record of statements added by the API call ``call`` (``loads``: as
    :func:`update_record`)."""
    return Provenance(kind="asserted", source="kg-engine:add", text=call, agent=API_ADD,
                      detail=_detail(at, loads))


def _detail(at: str | None, loads: int) -> str:
    return json.dumps({"at": at or now(), "loads": loads})


def written_at(p: Provenance) -> str:
    """When the write of record ``p`` ran."""
    return str(json.loads(p.detail or "{}").get("at", "?"))


def loads_before(p: Provenance) -> int:
    """The id of the newest load record when the write of record ``p`` ran: loads with a
    greater id came after it."""
    return int(json.loads(p.detail or "{}").get("loads", 0))


def is_write(p: Provenance) -> bool:
    """Whether ``p`` is a write record of this module."""
    return p.agent in (SPARQL_UPDATE, API_ADD) and (p.source or "").startswith("kg-engine:")


def describe(p: Provenance) -> str | None:
    """Readable text of a write record (``None`` for other provenance)."""
    if not is_write(p):
        return None
    if p.agent == SPARQL_UPDATE:
        return f"written by SPARQL update at {written_at(p)}" + (f": {p.text!r}" if p.text else "")
    return f"added through the API ({p.text or 'add'}) at {written_at(p)}"
