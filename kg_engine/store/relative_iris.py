"""Relative IRIs in documents read by rdflib's parsers (RDF/XML, JSON-LD, TriX, N3, HexTuples).

The stores hold absolute IRIs (RDF 1.1 Concepts §3.2). kg-engine's Turtle and N-Triples
parsers resolve a relative IRI against the document's base or refuse it; rdflib's parsers
stored what they made of it without a word: RDF/XML parsed without a ``publicID`` kept
``rdf:about="a"`` as the IRI ``a``, and a file's relative IRIs became ``file:///…`` IRIs
that depend on where the file lay. :class:`BaseGuard` applies the Turtle policy to them:

* the parser is given the base (``publicID``); where the base was only where the document
  was read from (its file or address, or the current directory), the first IRI resolved
  against it is logged as a warning naming the document (and line, where the parser has
  one), as :class:`~kg_engine.store.turtle.TurtleParser` does;
* an IRI still relative after parsing (no base at all, or a relative ``xml:base``) is an
  :class:`~kg_engine.errors.RDFSyntaxError` naming the document and line.

To tell an IRI resolved against the implicit base from one written out in full, the parser
is given the base with a reserved host (``http://kg-engine-implicit-base.invalid/dir/doc``,
RFC 2606's ``.invalid``) or, for a ``file:///`` base without a host, a reserved first path
segment (``file:///kg-engine-implicit-base.invalid/dir/doc``): resolution (RFC 3986 §5.2)
copies the base's authority (and the path a relative reference does not replace) into every
IRI it makes, so the resolved IRIs carry the mark, and :meth:`absolute` takes it out again.

Example:
    >>> guard = BaseGuard("doc.rdf", "file:///data/doc.rdf", implicit=False)
    >>> guard.parse_base
    'file:///data/doc.rdf'
    >>> from rdflib import URIRef
    >>> guard.absolute(URIRef("file:///data/a"))
    rdflib.term.URIRef('file:///data/a')
    >>> try:
    ...     BaseGuard("doc.rdf", None).absolute(URIRef("a"))
    ... except Exception as exc:
    ...     print(exc)  # doctest: +ELLIPSIS
    doc.rdf: relative IRI <a> and no base IRI to resolve it against; ...
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from rdflib import URIRef

from kg_engine.errors import RDFSyntaxError

__all__ = ["BaseGuard"]

log = logging.getLogger(__name__)

#: the scheme that makes an IRI absolute (RFC 3986 §4.3)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
#: the host given to the parser in place of the implicit base's authority
_MARK = "kg-engine-implicit-base.invalid"


class BaseGuard:
    """Gives rdflib's parsers the base and checks the IRIs they make (see the module).

    Args:
        source: the document's name in messages.
        base: the base IRI (``None``: none; every relative IRI is then an error).
        implicit: ``base`` is where the document was read from, not a base the caller chose:
            the first IRI resolved against it is warned about.

    Attributes:
        parse_base: the base to hand the parser (``publicID``), marked when implicit.
    """

    def __init__(self, source: str, base: str | None, implicit: bool = False) -> None:
        self.source = source
        self.base = base or None
        self.parse_base = self.base
        self._marked: str | None = None
        self._real = ""
        self._warned = False
        if self.base is not None and implicit:
            parts = urlsplit(self.base)
            if self.base.startswith(f"{parts.scheme}://") and parts.netloc:  # mark the host
                self._marked = f"{parts.scheme}://{_MARK}"
                self._real = f"{parts.scheme}://{parts.netloc}"
                self.parse_base = urlunsplit((parts.scheme, _MARK, parts.path, parts.query,
                                              parts.fragment))
            elif self.base.startswith(f"{parts.scheme}:///"):  # file:///dir/doc: the path
                # (marking an empty host would not do: Python's urljoin gives an IRI written
                # in full, file:///x, the base's host, so an allow-listed JSON-LD context
                # file:///…/ctx.jsonld was fetched from the marked host and failed)
                self._marked = f"{parts.scheme}:///{_MARK}"
                self._real = f"{parts.scheme}://"
                self.parse_base = self._marked + self.base[len(self._real):]

    def absolute(self, term: Any) -> Any:
        """``term`` with an IRI resolved against the implicit base unmarked (the first one
        warned about); other terms unchanged.

        Raises:
            RDFSyntaxError: ``term`` is a relative IRI (with the parser's line if it has one).
        """
        if not isinstance(term, URIRef):
            return term
        if self._marked is not None and term.startswith(self._marked) and term[
                len(self._marked):len(self._marked) + 1] in ("", "/", "?", "#"):
            resolved = URIRef(self._real + term[len(self._marked):])
            if not self._warned:
                self._warned = True
                log.warning("warning: %s: relative IRI resolved against <%s> (where the "
                            "document was read from, or the current directory; it has no base "
                            "of its own): stored as <%s>, and so are its other relative IRIs; "
                            "give it one (xml:base in RDF/XML, @base in a JSON-LD @context, "
                            "@base in N3) or write the IRIs in full", self._where(), self.base,
                            resolved)
            return resolved
        if not _SCHEME.match(term):
            raise RDFSyntaxError(
                f"relative IRI <{term}> and no base IRI to resolve it against; write the IRI "
                "in full, give the document a base (xml:base in RDF/XML, @base in a JSON-LD "
                "@context), or pass one (publicID=)", source=self.source, line=_parser_line())
        return term

    def _where(self) -> str:
        line = _parser_line()
        return self.source if line is None else f"{self.source}:{line}"


def _parser_line() -> int | None:
    """The 1-based line rdflib's parser running below us on the stack has reached (its SAX
    handler's locator for RDF/XML and TriX, its line count for N3), or None (JSON-LD)."""
    frame = sys._getframe(1)
    while frame is not None:
        owner = frame.f_locals.get("self")
        locator = getattr(owner, "locator", None)
        if locator is not None and hasattr(locator, "getLineNumber"):
            line = locator.getLineNumber()
            return line if isinstance(line, int) and line > 0 else None
        if type(owner).__name__ == "SinkParser" and isinstance(getattr(owner, "lines", None),
                                                               int):
            return owner.lines + 1
        frame = frame.f_back
    return None

