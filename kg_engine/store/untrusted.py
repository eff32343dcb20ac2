"""Guards for RDF files from untrusted sources, checked before rdflib parses them.

* **JSON-LD contexts**: a document whose ``@context`` (or a context's ``@import``) names
  another document — a web address or a local file — would make rdflib fetch or read it
  during the load. That is refused unless the address is allow-listed; inline contexts
  (JSON objects) are always fine.
* **XML entity expansion** ("billion laughs"): the entities declared in an RDF/XML file's
  DTD are measured before parsing; one that expands past :data:`MAX_ENTITY_EXPANSION`
  characters is refused. External entities are never fetched (rdflib's parser does not
  resolve them).

Example:
    >>> check_jsonld_contexts({"@context": {"ex": "http://e/"}, "@id": "ex:a"}, "a.jsonld")
    >>> check_jsonld_contexts({"@context": "https://schema.org/"}, "a.jsonld")
    Traceback (most recent call last):
    ...
    kg_engine.errors.UnsupportedOperationError: a.jsonld: JSON-LD @context 'https://schema.org/' is not fetched (remote and local contexts are off): inline the context in the file, or allow it with allow_contexts=['https://schema.org/'] (kg load --allow-context https://schema.org/)
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from kg_engine.errors import RDFSyntaxError, UnsupportedOperationError

__all__ = ["DTD_WINDOW", "MAX_ENTITY_EXPANSION", "check_jsonld_contexts", "check_xml_entities"]

#: Characters one XML entity may expand to.
MAX_ENTITY_EXPANSION = 1_000_000
#: Bytes of an XML file searched for its DTD (a DTD is at the start of the document).
DTD_WINDOW = 4 * 1024 * 1024

_ENTITY = re.compile(
    rb"<!ENTITY\s+(%\s+)?([^\s\"'%>]+)\s+(?:\"([^\"]*)\"|'([^']*)'|((?:SYSTEM|PUBLIC)[^>]*))\s*>"
)
_REF = re.compile(rb"[&%]([^\s;&%<>\"']+);")


def check_jsonld_contexts(doc: Any, source: str, allow: Collection[str] = ()) -> None:
    """Refuse a JSON-LD document that refers to a context document not in ``allow``.

    Args:
        doc: the parsed JSON.
        source: the file name, for the message.
        allow: context addresses that may be fetched.

    Raises:
        UnsupportedOperationError: a ``@context`` / ``@import`` names a document that is not
            allow-listed.
    """
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            if key in ("@context", "@import"):
                refs = value if isinstance(value, list) else [value]
                for ref in refs:
                    if isinstance(ref, str) and ref not in allow:
                        shown = ref if len(ref) <= 100 else ref[:100] + "…"
                        raise UnsupportedOperationError(
                            f"{source}: JSON-LD {key} {shown!r} is not fetched (remote and "
                            "local contexts are off): inline the context in the file, or allow "
                            f"it with allow_contexts=[{shown!r}] (kg load --allow-context "
                            f"{shown})")
            if isinstance(value, (dict, list)):
                stack.append(value)


def check_xml_entities(head: bytes, source: str, limit: int = MAX_ENTITY_EXPANSION) -> None:
    """Refuse an XML document whose DTD declares an entity expanding past ``limit`` characters.

    Args:
        head: the first bytes of the document (its DTD comes first).
        source: the file name, for the message.
        limit: the most characters one entity may expand to.

    Raises:
        RDFSyntaxError: an entity expands past ``limit``, refers to itself, or the DTD does
            not end within the first bytes read.

    Example:
        >>> dtd = b'<!DOCTYPE r [<!ENTITY a "xxxxxxxxxx"><!ENTITY b "&a;&a;&a;&a;&a;">]><r/>'
        >>> check_xml_entities(dtd, "ok.rdf")
        >>> try:
        ...     check_xml_entities(dtd, "small.rdf", limit=20)
        ... except RDFSyntaxError as exc:
        ...     print(exc)
        small.rdf: XML entity &b; expands to 50 characters (limit 20); entity expansion is bounded to protect against 'billion laughs' files
    """
    start = head.find(b"<!DOCTYPE")
    if start < 0 or b"<!ENTITY" not in head:
        return
    if len(head) >= DTD_WINDOW and head.find(b"]>", start) < 0:
        raise RDFSyntaxError(f"the DTD is longer than {DTD_WINDOW:,} bytes; such files are "
                             "refused to bound entity expansion", source=source)
    values: dict[bytes, bytes] = {}
    for m in _ENTITY.finditer(head, start):
        if m.group(5) is not None:  # external entity: never resolved, expands to nothing
            values.setdefault(m.group(2), b"")
        else:
            values.setdefault(m.group(2), m.group(3) if m.group(3) is not None else m.group(4))
    sizes: dict[bytes, int] = {}
    for name in values:
        _expanded_size(name, values, sizes, limit, source)


def _expanded_size(name: bytes, values: dict[bytes, bytes], sizes: dict[bytes, int],
                   limit: int, source: str) -> int:
    """Characters entity ``name`` expands to (iterative, memoised; cycles are errors)."""
    stack = [name]
    active: set[bytes] = set()
    while stack:
        current = stack[-1]
        if current in sizes:
            stack.pop()
            continue
        refs = [r for r in _REF.findall(values[current]) if r in values]
        pending = [r for r in refs if r not in sizes]
        if pending:
            active.add(current)
            for r in pending:
                if r in active:
                    raise RDFSyntaxError(f"XML entity &{r.decode(errors='replace')}; refers to "
                                         "itself", source=source)
                stack.append(r)
            continue
        text = _REF.sub(lambda m: b"" if m.group(1) in values else m.group(0), values[current])
        size = len(text) + sum(sizes[r] for r in refs)
        if size > limit:
            raise RDFSyntaxError(
                f"XML entity &{current.decode(errors='replace')}; expands to {size:,} "
                f"characters (limit {limit:,}); entity expansion is bounded to protect against "
                "'billion laughs' files", source=source)
        sizes[current] = size
        active.discard(current)
        stack.pop()
    return sizes[name]
