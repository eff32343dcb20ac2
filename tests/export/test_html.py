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


def test_comment_and_script_openers_cannot_swallow_the_page_script(tmp_path: Path) -> None:
    # "<!--<script>" in a literal put Chromium's tokenizer in the "script data double escaped"
    # state: the data block ran on through the page's own script, which never ran (no graph)
    from rdflib import RDFS, Literal

    from kg_engine.api import KnowledgeGraph

    kg = KnowledgeGraph("sqlite://")
    hostile = "<!--<script>x</script>-->\u2028"
    kg.add([(ex("a"), RDFS.label, Literal(hostile)), (ex("a"), ex("p"), ex("b"))])
    kg.export(tmp_path / "x.html")
    page = (tmp_path / "x.html").read_text()
    block = re.search(r'<script id="kg-data" type="application/json">(.*?)</script>', page,
                      re.DOTALL).group(1)
    assert "<" not in block
    labels = {n["data"]["label"] for n in json.loads(block)["elements"]["nodes"]}
    assert hostile in labels  # shown as written


def test_a_title_naming_a_slot_gets_no_payload(sample_kg) -> None:
    # the page was filled by successive str.replace: a title holding "{{DATA}}" received the
    # JSON payload (unescaped HTML in the <h1>)
    from kg_engine.analytics.view import select

    page = html_mod.render_html(sample_kg.store, select(sample_kg.store), title="{{DATA}}")
    assert "<h1>{{DATA}}</h1>" in page and page.count('"elements"') == 1


def test_too_big(sample_kg, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(html_mod, "MAX_NODES", 2)
    with pytest.raises(ConfigError, match="--query or --entity"):
        sample_kg.export(tmp_path / "big.html")
    assert not (tmp_path / "big.html").exists()
