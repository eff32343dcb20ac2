"""Minting IRIs for things found in text or predicted: stable, readable, collision-free.

Example:
    >>> mint_iri("Barack  Obama", base="https://kg.example/entity/")
    rdflib.term.URIRef('https://kg.example/entity/Barack_Obama')
    >>> mint_iri("Café & Co.", base="https://kg.example/entity/", kind="Org")
    rdflib.term.URIRef('https://kg.example/entity/Org/Caf%C3%A9_%26_Co.')
"""

from __future__ import annotations

import re
from urllib.parse import quote

from rdflib import URIRef

__all__ = ["DEFAULT_BASE", "check_iri", "mint_iri", "slug"]

#: Base namespace for IRIs kg-engine mints when the user gives none.
DEFAULT_BASE = "urn:kg-engine:"

_SPACE = re.compile(r"\s+")
#: An absolute IRI (RFC 3987): a scheme, then no spaces, controls or <>"{}|^`\\.
_ABSOLUTE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\x00-\x20<>\"{}|^`\\]*")


def check_iri(value: str, what: str = "IRI") -> str:
    """``value`` if it is an absolute IRI, else :class:`~kg_engine.errors.ConfigError`.

    Args:
        value: the text given (``<…>`` brackets are removed).
        what: the option or argument it came from, for the message (``"--graph"``).

    Example:
        >>> check_iri("<https://example.org/g>")
        'https://example.org/g'
        >>> check_iri("my graph", "--graph")
        Traceback (most recent call last):
        ...
        kg_engine.errors.ConfigError: --graph 'my graph' is not an absolute IRI: expected a scheme and no spaces, e.g. https://example.org/graph or urn:example:graph
    """
    from kg_engine.errors import ConfigError

    text = value[1:-1] if value.startswith("<") and value.endswith(">") else value
    if not _ABSOLUTE_IRI.fullmatch(text):
        raise ConfigError(f"{what} {value!r} is not an absolute IRI: expected a scheme and no "
                          "spaces, e.g. https://example.org/graph or urn:example:graph")
    return text


def slug(text: str) -> str:
    """Whitespace-normalised, IRI-safe local name for ``text`` (percent-encoded, reversible)."""
    text = _SPACE.sub(" ", text.strip())
    if not text:
        raise ValueError("cannot mint an IRI for an empty name")
    return quote(text.replace(" ", "_"), safe="_-.~")


def mint_iri(name: str, base: str = DEFAULT_BASE, kind: str | None = None) -> URIRef:
    """IRI for ``name`` under ``base``, optionally inside a ``kind`` segment (e.g. an entity type)."""
    local = slug(name)
    return URIRef(f"{base}{slug(kind)}/{local}" if kind else f"{base}{local}")
