"""The static HTML view: one self-contained file with the subgraph's data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kg_engine.errors import ConfigError
from kg_engine.export import html as html_mod

from .conftest import EX, ex


def _data(page: str) -> dict:
    m = re.search(r'<script id="kg-data" type="application/json">(.*?)</script>', page, re.DOTALL)
    assert m
    return json.loads(m.group(1))


def test_self_contained_page(sample_kg, tmp_path: Path) -> None:
    sample_kg.analyze("pagerank")
    out = tmp_path / "ada.html"
    res = sample_kg.export(out, entity=ex("ada"), hops=1)
    page = out.read_text(encoding="utf-8")
    assert "<script src=" not in page and "<link" not in page and "http-equiv" not in page
    assert "Cytoscape Consortium" in page  # the vendored library and its licence notice
    data = _data(page)
    ids = {n["data"]["iri"] for n in data["elements"]["nodes"]}
    assert {f"{EX}ada", f"{EX}charles"} <= ids and len(data["elements"]["edges"]) == res.statements
    assert data["centre"] is not None
    ada = next(n["data"] for n in data["elements"]["nodes"] if n["data"]["iri"] == f"{EX}ada")
    assert ada["label"] == "Ada Lovelace" and ada["pagerank"] > 0 and ada["size"] > 14
    assert {e["data"]["origin"] for e in data["elements"]["edges"]} == {"asserted"}


def test_script_breakout_is_escaped(tmp_path: Path) -> None:
    from kg_engine.api import KnowledgeGraph

    kg = KnowledgeGraph("sqlite://")
    kg.add([(ex("a"), ex("p"), ex("b")), (ex("a"), ex("label"), ex("c"))])
    from rdflib import RDFS, Literal

    kg.add([(ex("a"), RDFS.label, Literal("</script><script>alert(1)</script>"))])
    kg.export(tmp_path / "x.html")
    page = (tmp_path / "x.html").read_text()
    assert "</script><script>alert" not in page
    assert _data(page)["elements"]["nodes"][0]["data"]["label"].startswith("</script>")


def test_too_big(sample_kg, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(html_mod, "MAX_NODES", 2)
    with pytest.raises(ConfigError, match="--query or --entity"):
        sample_kg.export(tmp_path / "big.html")
    assert not (tmp_path / "big.html").exists()
