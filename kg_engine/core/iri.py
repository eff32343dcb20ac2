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

__all__ = ["DEFAULT_BASE", "mint_iri", "slug"]

#: Base namespace for IRIs kg-engine mints when the user gives none.
DEFAULT_BASE = "urn:kg-engine:"

_SPACE = re.compile(r"\s+")


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
