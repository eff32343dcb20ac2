"""A static, self-contained HTML view of a subgraph: one file, no network, opens anywhere.

The page inlines the Cytoscape.js build that ``kg serve``'s explorer vendors
(``kg_engine/serve/static/vendor/cytoscape.min.js``, MIT licence, its notice kept in the
file) and draws the subgraph with the explorer's look: edges coloured by origin (asserted
grey, extracted green, inferred blue dotted, predicted orange dashed), nodes labelled,
sized by PageRank when ``urn:kg-engine:analytics:pagerank`` holds values for them. Clicking
a node lists its IRI, types and statements; a search box finds nodes by label.

The subgraph is a SPARQL projection (``query``), an entity's ``k``-hop neighbourhood
(``entity``), or a whole (small) view — above :data:`MAX_NODES` nodes the export stops
and asks for a query or an entity instead.

Example:
    >>> from rdflib import URIRef
    >>> from kg_engine.store import open_store
    >>> from kg_engine.analytics.view import select
    >>> store = open_store("sqlite://")
    >>> _ = store.add([(URIRef("urn:a"), URIRef("urn:p"), URIRef("urn:b"))])
    >>> page = render_html(store, select(store), title="demo")
    >>> "cytoscape" in page and '"urn:a"' in page and "<script src=" not in page
    True
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

from kg_engine.analytics.view import ORIGINS, IdView
from kg_engine.core.files import atomic_output
from kg_engine.errors import ConfigError
from kg_engine.export.networks import local_name

__all__ = ["MAX_NODES", "render_html", "write_html"]

#: Largest subgraph drawn (a browser lays out a few thousand nodes comfortably).
MAX_NODES = 5_000
_SLOT = re.compile(r"\{\{(TITLE|COUNTS|CYTOSCAPE|DATA)\}\}")
_PAGERANK = ("urn:kg-engine:analytics:pagerank", "urn:kg-engine:analytics#pagerank")


def _cytoscape() -> str:
    path = resources.files("kg_engine") / "serve" / "static" / "vendor" / "cytoscape.min.js"
    return path.read_text(encoding="utf-8")


def _pagerank(store: Any, nodes: list[int]) -> dict[int, float]:
    """PageRank values written by ``kg analyze pagerank`` for these nodes, if any."""
    from rdflib import URIRef

    ids = store.term_ids([URIRef(_PAGERANK[0]), URIRef(_PAGERANK[1])])
    if len(ids) < 2:
        return {}
    g, p = ids[URIRef(_PAGERANK[0])], ids[URIRef(_PAGERANK[1])]
    wanted = set(nodes)
    return {s: float(num) for s, num in store.db.execute(
        "SELECT q.s, t.num FROM kg_quads q JOIN kg_terms t ON t.id = q.o "
        "WHERE q.g = ? AND q.p = ?", (g, p)) if s in wanted and num is not None}


def _elements(store: Any, view: IdView) -> dict[str, Any]:
    terms = view.decode(store)
    rank = _pagerank(store, view.nodes)
    top = max(rank.values(), default=0.0)
    nodes = []
    for n in view.nodes:
        t = terms[n]
        kind = type(t).__name__
        label = view.labels.get(n) or (local_name(str(t)) if kind == "URIRef" else str(t))
        data = {"id": f"n{n}", "iri": str(t), "nt": t.n3(), "label": label, "kind": kind,
                "types": sorted(str(terms[x]) for x in view.types.get(n, ()))}
        if n in rank:
            data["pagerank"] = rank[n]
            data["size"] = 14 + 26 * (rank[n] / top if top else 0)
        nodes.append({"data": data})
    edges = []
    for i, (s, p, o, c, conf) in enumerate(view.edges):
        data = {"id": f"e{i}", "source": f"n{s}", "target": f"n{o}", "iri": str(terms[p]),
                "label": local_name(str(terms[p])), "origin": ORIGINS[c]}
        if conf is not None:
            data["confidence"] = conf
        edges.append({"data": data, "classes": ORIGINS[c]})
    return {"nodes": nodes, "edges": edges}


def render_html(store: Any, view: IdView, *, title: str = "kg-engine graph",
                centre: Any = None) -> str:
    """The page as a string (see the module docstring).

    Raises:
        ConfigError: the subgraph has more than :data:`MAX_NODES` nodes.
    """
    if len(view.nodes) > MAX_NODES:
        raise ConfigError(
            f"the subgraph has {len(view.nodes):,} nodes, more than the {MAX_NODES:,} an HTML "
            "view can lay out; pick part of it with --query or --entity/--hops"
        )
    elements = _elements(store, view)
    centre_id = None
    if centre is not None:
        ids = store.term_ids([centre])
        centre_id = f"n{ids[centre]}" if centre in ids else None
    # every "<" escaped: "</script>" would end the data block and "<!--<script>" would make
    # the parser swallow the page's own script into it (the graph was never drawn)
    payload = json.dumps({"elements": elements, "centre": centre_id, "title": title},
                         ensure_ascii=False).replace("<", "\\u003c")
    fills = {"TITLE": html.escape(title),
             "COUNTS": f"{len(view.nodes):,} nodes · {len(view.edges):,} statements",
             "CYTOSCAPE": _cytoscape().replace("</script", "<\\/script"), "DATA": payload}
    # one pass: a title holding "{{DATA}}" must not receive the (unescaped) payload
    return _SLOT.sub(lambda m: fills[m.group(1)], _PAGE)


def write_html(store: Any, view: IdView, path: str | Path, **kwargs: Any) -> int:
    """Write the page to ``path`` (atomically); returns the number of statements drawn."""
    page = render_html(store, view, **kwargs)
    with atomic_output(path) as f:
        f.write(page)
    return len(view.edges)


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="kg-engine">
<title>{{TITLE}}</title>
<style>
:root { --asserted: #6b7280; --inferred: #2563eb; --predicted: #d97706; --extracted: #059669;
        --fg: #1f2937; --muted: #6b7280; --line: #e5e7eb; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, sans-serif; color: var(--fg); margin: 0; display: flex;
       flex-direction: column; height: 100vh; }
header { display: flex; gap: 1em; align-items: center; padding: .6em 1em;
         border-bottom: 1px solid var(--line); }
header h1 { font-size: 16px; margin: 0; } header .muted { color: var(--muted); }
header input { padding: .3em .6em; min-width: 16em; }
.legend span { margin-right: .8em; font-size: 12px; }
.legend i { display: inline-block; width: 18px; height: 3px; vertical-align: middle;
            margin-right: .3em; }
main { flex: 1; display: flex; min-height: 0; }
#graph { flex: 1; }
aside { width: 340px; border-left: 1px solid var(--line); padding: .8em; overflow: auto;
        font-size: 13px; }
aside h2 { font-size: 15px; margin: .2em 0; word-break: break-all; }
aside code { word-break: break-all; }
aside table { border-collapse: collapse; width: 100%; }
aside td { border-bottom: 1px solid var(--line); padding: .2em .3em; vertical-align: top;
           word-break: break-all; }
.badge { display: inline-block; padding: 0 .45em; border-radius: .6em; font-size: 11px;
         color: #fff; white-space: nowrap; }
aside td:first-child { width: 1%; } aside td:nth-child(2) { white-space: nowrap; }
.badge.asserted { background: var(--asserted); } .badge.inferred { background: var(--inferred); }
.badge.predicted { background: var(--predicted); }
.badge.extracted { background: var(--extracted); }
</style>
</head>
<body>
<header>
  <h1>{{TITLE}}</h1><span class="muted">{{COUNTS}}</span>
  <input id="search" type="search" placeholder="find a node by label…">
  <span class="legend">
    <span><i style="background:var(--asserted)"></i>asserted</span>
    <span><i style="background:var(--extracted)"></i>extracted</span>
    <span><i style="background:var(--inferred)"></i>inferred</span>
    <span><i style="background:var(--predicted)"></i>predicted</span>
  </span>
</header>
<main><div id="graph"></div><aside id="info"><p class="muted">Click a node to see its
statements.</p></aside></main>
<script>{{CYTOSCAPE}}</script>
<script id="kg-data" type="application/json">{{DATA}}</script>
<script>
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("kg-data").textContent);
  const colors = {asserted: "#6b7280", inferred: "#2563eb", predicted: "#d97706",
                  extracted: "#059669"};
  for (const e of data.elements.edges) e.data.color = colors[e.data.origin] || colors.asserted;
  const centre = data.centre;
  const cy = cytoscape({
    container: document.getElementById("graph"),
    elements: [...data.elements.nodes, ...data.elements.edges],
    style: [
      {selector: "node", style: {label: "data(label)", "font-size": 10,
        "background-color": "#93c5fd", width: "data(size)", height: "data(size)"}},
      {selector: "node[!size]", style: {width: 18, height: 18}},
      {selector: "node[kind = 'Literal']", style: {shape: "round-rectangle",
        "background-color": "#fde68a"}},
      {selector: "node.centre", style: {"background-color": "#1d4ed8", "font-weight": "bold"}},
      {selector: "node:selected", style: {"border-width": 3, "border-color": "#111827"}},
      {selector: "node.match", style: {"background-color": "#f59e0b"}},
      {selector: "edge", style: {label: "data(label)", "font-size": 8, "curve-style": "bezier",
        "target-arrow-shape": "triangle", "line-color": "data(color)",
        "target-arrow-color": "data(color)", width: 1.5, "text-rotation": "autorotate"}},
      {selector: "edge.predicted", style: {"line-style": "dashed"}},
      {selector: "edge.inferred", style: {"line-style": "dotted", width: 2}},
    ],
    layout: centre ? {name: "concentric", concentric: (n) => (n.id() === centre ? 2 : 1),
                      levelWidth: () => 1, animate: false, padding: 40, minNodeSpacing: 30}
                   : {name: "cose", animate: false, padding: 30},
    wheelSensitivity: 0.3,
  });
  if (centre) cy.getElementById(centre).addClass("centre");
  const info = document.getElementById("info");
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const k of kids) e.append(k);
    return e;
  }
  function show(node) {
    const d = node.data();
    const rows = node.connectedEdges().map((e) => {
      const out = e.source().id() === node.id();
      const other = out ? e.target() : e.source();
      return el("tr", {}, el("td", {}, el("span", {class: "badge " + e.data("origin")},
        e.data("origin"))), el("td", {}, (out ? "→ " : "← ") + e.data("label")),
        el("td", {}, other.data("label")));
    });
    info.replaceChildren(el("h2", {}, d.label), el("code", {}, d.nt),
      d.types.length ? el("p", {}, "types: " + d.types.join(", ")) : "",
      d.pagerank !== undefined ? el("p", {}, "PageRank " + d.pagerank.toPrecision(4)) : "",
      el("table", {}, ...rows));
  }
  cy.on("tap", "node", (e) => show(e.target));
  document.getElementById("search").addEventListener("input", (e) => {
    const q = e.target.value.trim().toLowerCase();
    cy.nodes().removeClass("match");
    if (q) cy.nodes().filter((n) => n.data("label").toLowerCase().includes(q)).addClass("match");
  });
  cy.one("render", () => { document.getElementById("graph").dataset.rendered =
    String(cy.nodes().length); });
  window.kgGraph = cy;
})();
</script>
</body>
</html>
"""
