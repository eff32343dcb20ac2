/* kg-engine explorer: query editor, label search, entity pages with "why" for every fact.
   Plain DOM (no framework); every value from the store is inserted as text, never as HTML. */
(function () {
  "use strict";
  const RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
  const PREFIXES = [["rdf:", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"],
    ["rdfs:", "http://www.w3.org/2000/01/rdf-schema#"], ["owl:", "http://www.w3.org/2002/07/owl#"],
    ["xsd:", "http://www.w3.org/2001/XMLSchema#"]];

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
    return e;
  }
  function localName(iri) {
    const m = /[#/:]([^#/:]+)[#/:]?$/.exec(iri);
    return m ? m[1] : iri;
  }
  function short(iri) {
    for (const [p, ns] of PREFIXES) if (iri.startsWith(ns)) return p + iri.slice(ns.length);
    return localName(iri);
  }
  function entityLink(iri, text) {
    return el("a", {href: "/entity?iri=" + encodeURIComponent(iri), title: iri}, text || short(iri));
  }
  /* a term of a SPARQL JSON result or of the entity API */
  function termNode(t) {
    if (!t) return "";
    if (t.type === "uri") return entityLink(t.value, t.label);
    if (t.type === "bnode") return entityLink("_:" + t.value, t.label);  // its page: /entity?iri=_:label
    const span = el("span", {class: "lit"}, t.value);
    const lang = t["xml:lang"] || t.lang, dt = t.datatype;
    if (lang) span.append(el("small", {class: "muted"}, " @" + lang));
    else if (dt) span.append(el("small", {class: "muted"}, " " + short(dt)));
    return span;
  }
  /* an N-Triples term as text (derivation trees come as N3 strings) */
  function ntText(nt) {
    if (nt.startsWith("<") && nt.endsWith(">")) return short(nt.slice(1, -1));
    return nt;
  }
  function ntNode(nt) {
    if (nt.startsWith("<") && nt.endsWith(">")) return entityLink(nt.slice(1, -1));
    return el("span", {class: "lit"}, nt);
  }

  // -- search ---------------------------------------------------------------------------
  function setupSearch() {
    const input = document.getElementById("search"), list = document.getElementById("search-results");
    let timer = null, seq = 0;
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const q = input.value.trim(), my = ++seq;
        list.replaceChildren();
        if (!q) return;
        const r = await fetch("/api/search?q=" + encodeURIComponent(q));
        if (!r.ok || my !== seq) return;
        const data = await r.json();
        for (const hit of data.results)
          list.append(el("li", {}, el("a", {href: "/entity?iri=" + encodeURIComponent(hit.iri)},
            hit.label, " ", el("small", {}, short(hit.iri)))));
        if (!data.results.length) list.append(el("li", {class: "muted"}, "no label matches"));
      }, 200);
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && /^(https?|urn):/.test(input.value.trim()))
        location.href = "/entity?iri=" + encodeURIComponent(input.value.trim());
    });
  }

  // -- query page -----------------------------------------------------------------------
  const SHOWN_ROWS = 1000;
  function queryPage() {
    setupSearch();
    const q = document.getElementById("query"), status = document.getElementById("status");
    const params = new URLSearchParams(location.search);
    if (params.get("query")) q.value = params.get("query");
    async function run() {
      const err = document.getElementById("error"), out = document.getElementById("results");
      err.textContent = ""; out.replaceChildren(); status.textContent = "running…";
      const body = new URLSearchParams({query: q.value});
      if (document.getElementById("union").checked) body.set("union-default-graph", "true");
      const t0 = performance.now();
      const r = await fetch("/sparql", {method: "POST", body,
        headers: {"Accept": "application/sparql-results+json, text/turtle;q=0.9"}});
      const ms = Math.round(performance.now() - t0);
      if (!r.ok) { status.textContent = ""; err.textContent = r.status + " " + await r.text(); return; }
      const type = r.headers.get("content-type") || "";
      const downloads = document.getElementById("downloads");
      downloads.replaceChildren();
      if (!type.includes("json")) {
        out.append(el("pre", {}, await r.text()));
        status.textContent = ms + " ms";
        return;
      }
      const data = await r.json();
      if ("boolean" in data) { out.append(el("p", {}, "ASK: " + data.boolean)); status.textContent = ms + " ms"; return; }
      const vars = data.head.vars, rows = data.results.bindings;
      const table = el("table", {class: "results"}, el("thead", {}, el("tr", {}, ...vars.map((v) => el("th", {}, "?" + v)))));
      const tbody = el("tbody");
      // a table of 200,000 rows froze the page for minutes: the first SHOWN_ROWS are drawn,
      // the download links below give every row
      for (const row of rows.slice(0, SHOWN_ROWS))
        tbody.append(el("tr", {}, ...vars.map((v) => el("td", {}, termNode(row[v])))));
      table.append(tbody);
      out.append(table);
      status.textContent = rows.length.toLocaleString("en") + " rows" + (rows.length > SHOWN_ROWS
        ? " (the first " + SHOWN_ROWS.toLocaleString("en") + " shown; download them all below)" : "")
        + ", " + ms + " ms";
      for (const f of ["csv", "tsv", "json", "xml"]) {
        const link = new URLSearchParams(body); link.set("format", f);
        downloads.append(el("a", {href: "/sparql?" + link.toString()}, f), " ");
      }
    }
    document.getElementById("run").addEventListener("click", run);
    q.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) run(); });
    if (params.get("query")) run();
  }

  // -- explanations ---------------------------------------------------------------------
  function sentence(src) {
    const text = src.text || "", marks = src.highlights || [];
    const q = el("blockquote");
    let pos = 0;
    for (const [a, b] of marks) {
      if (a < pos) continue;
      q.append(text.slice(pos, a), el("mark", {}, text.slice(a, b)));
      pos = b;
    }
    q.append(text.slice(pos));
    return q;
  }
  function sourceNode(src) {
    const li = el("li", {}, el("span", {class: "badge " + (src.kind || "asserted")}, src.kind || "asserted"), " ");
    if (src.kind === "extracted") {
      li.append("from ", el("b", {}, src.source || "?"), " sentence " + src.sentence,
        src.agent ? " by " + src.agent + (src.version ? " " + src.version : "") : "",
        src.confidence != null ? ", confidence " + src.confidence.toFixed(3) : "");
      li.append(sentence(src));
    } else if (src.kind === "predicted") {
      li.append("by " + (src.agent || "a model") + " (" + (src.source || "") + ")",
        src.confidence != null ? ", confidence " + src.confidence.toFixed(3) : "");
    } else {
      li.append(src.summary || (src.source ? "loaded from " + src.source : "asserted"));
    }
    return li;
  }
  // a graph's load records name the files (and Graph Store writes) that went into it, not
  // the one that holds the fact; the later ones may hold a fact written by an update too
  const LOAD_RECORD = "file load record,", LATER_LOAD = "later load record,";
  function sourceNodes(sources) {
    const loads = sources.filter((s) => (s.detail || "").startsWith(LOAD_RECORD));
    const later = sources.filter((s) => (s.detail || "").startsWith(LATER_LOAD));
    const items = sources.filter((s) => !loads.includes(s) && !later.includes(s)).map(sourceNode);
    if (loads.length === 1) items.push(sourceNode(loads[0]));
    if (loads.length > 1) {
      items.push(el("li", {class: "loads"}, el("span", {class: "badge asserted"}, "asserted"), " ",
        loads.every((s) => !s.agent) ? "loaded from one of " + loads.map((s) => s.source).join(" or ")
          : "one of: " + loads.map((s) => s.summary).join(" or ")));
    }
    if (later.length) {
      items.push(el("li", {class: "loads"}, "possibly also in " + later.map((s) => s.source).join(" or ")
        + ", loaded into its graph later"));
    }
    return items;
  }
  function treeNode(node) {
    // an asserted leaf is shown by where it came from (extracted / predicted / asserted)
    const kinds = (node.sources || []).map((s) => s.kind);
    const kind = node.kind !== "asserted" ? node.kind
      : kinds.includes("extracted") ? "extracted" : kinds.includes("predicted") ? "predicted" : "asserted";
    const li = el("li", {}, el("span", {class: "badge " + (kind === "inferred" ? "inferred" : kind)}, kind), " ",
      ...node.triple.flatMap((t) => [ntNode(t), " "]));
    if (node.kind === "inferred") li.append(el("span", {class: "muted"}, "rule " + node.rule + ", round " + node.round));
    if (node.sources && node.sources.length) li.append(el("ul", {}, ...sourceNodes(node.sources)));
    const kids = (node.premises || []).concat(node.aggregated || []);
    if (kids.length) li.append(el("ul", {}, ...kids.map(treeNode)));
    return li;
  }
  function explanationNode(ex) {
    const box = el("div", {class: "explanation"});
    if (ex.kind === "predicted") {
      box.append(el("p", {}, el("span", {class: "badge predicted"}, "predicted"),
        " by " + ((ex.provenance || {}).agent || "a GNN"),
        ex.confidence != null ? ", confidence " + ex.confidence.toFixed(3) : "",
        ex.score != null ? ", score " + ex.score.toFixed(3) : ""));
      if (ex.paths && ex.paths.length) {
        box.append(el("p", {}, "the paths that contributed most to the score:"),
          el("ol", {class: "paths"}, ...ex.paths.map((p) => el("li", {}, p.text))));
      } else if (!ex.note) {
        box.append(el("p", {class: "muted"}, "no path of length ≤ 3 connects the head to the tail"));
      }
      const f = ex.fidelity;
      if (f) box.append(el("p", {class: "muted"}, "fidelity: without these paths' edges the score goes " +
        f.score_before.toFixed(3) + " → " + f.score_after.toFixed(3) + ", the rank " + f.rank_before + " → " + f.rank_after));
      if (ex.note) box.append(el("p", {class: "muted"}, ex.note));
    } else {
      for (const t of ex.trees || []) box.append(el("ul", {class: "tree"}, treeNode(t)));
    }
    box.append(el("details", {}, el("summary", {}, "as text"), el("pre", {class: "why-text"}, ex.text)));
    return box;
  }

  // -- entity page ----------------------------------------------------------------------
  async function entityPage() {
    setupSearch();
    const iri = new URLSearchParams(location.search).get("iri");
    const err = document.getElementById("error");
    if (!iri) { err.textContent = "no ?iri= given"; return; }
    const r = await fetch("/api/entity?iri=" + encodeURIComponent(iri));
    if (!r.ok) { err.textContent = r.status + " " + await r.text(); document.getElementById("title").textContent = short(iri); return; }
    const data = await r.json();
    document.title = data.label + " · kg-engine explorer";
    document.getElementById("title").textContent = data.label;
    document.getElementById("iri").textContent = iri;
    const types = document.getElementById("types");
    for (const t of data.types) types.append(entityLink(t.value, t.label), " ");
    document.getElementById("labels").textContent = data.labels.map((l) => l.value + (l.lang ? "@" + l.lang : "")).join(" · ");
    const tbody = document.querySelector("#facts tbody");
    for (const f of data.facts) {
      const why = el("button", {class: "why"}, "why?");
      const row = el("tr", {class: "fact " + f.kind},
        el("td", {}, el("span", {class: "badge " + f.kind}, f.kind)), el("td", {}, termNode(f.s)),
        el("td", {}, termNode(f.p)), el("td", {}, termNode(f.o)),
        el("td", {class: "muted"}, f.graph ? short(f.graph) : "default"),
        el("td", {}, f.confidence != null ? f.confidence.toFixed(3) : ""), el("td", {}, why));
      tbody.append(row);
      let open = null;
      why.addEventListener("click", async () => {
        if (open) { open.remove(); open = null; return; }
        const q = new URLSearchParams({s: f.s.nt, p: f.p.nt, o: f.o.nt});
        const cell = el("td", {colspan: "7"}, "explaining…");
        open = el("tr", {class: "why-row"}, cell);
        row.after(open);
        const res = await fetch("/api/explain?" + q.toString());
        cell.replaceChildren(res.ok ? explanationNode(await res.json()) : el("span", {class: "error"}, await res.text()));
      });
    }
    if (data.truncated) document.getElementById("truncated").textContent = "Only the first facts in each direction are shown.";
    drawGraph(iri, data);
  }

  function drawGraph(iri, data) {
    const colors = {asserted: "#6b7280", inferred: "#2563eb", predicted: "#d97706", extracted: "#059669"};
    const nodes = new Map([[iri, {data: {id: iri, label: data.label}, classes: "center"}]]);
    const edges = [];
    let n = 0;
    // a node's id is what /entity?iri= takes: the IRI, or _:label for a blank node
    const id = (t) => (t.type === "bnode" ? "_:" + t.value : t.value);
    for (const f of data.facts) {
      if (f.p.value === RDF_TYPE && f.dir === "out") continue;
      const other = f.dir === "out" ? f.o : f.s;
      if (other.type === "literal") continue;
      if (!nodes.has(id(other))) nodes.set(id(other), {data: {id: id(other), label: other.label || other.value}});
      edges.push({data: {id: "e" + (n++), source: id(f.s), target: id(f.o), label: f.p.label || short(f.p.value),
        color: colors[f.kind] || colors.asserted}, classes: f.kind});
    }
    const cy = cytoscape({
      container: document.getElementById("graph"),
      elements: [...nodes.values(), ...edges],
      style: [
        {selector: "node", style: {label: "data(label)", "font-size": 10, "background-color": "#93c5fd", width: 18, height: 18}},
        {selector: "node.center", style: {"background-color": "#1d4ed8", width: 28, height: 28, "font-weight": "bold"}},
        {selector: "edge", style: {label: "data(label)", "font-size": 8, "curve-style": "bezier", "target-arrow-shape": "triangle",
          "line-color": "data(color)", "target-arrow-color": "data(color)", width: 1.5, "text-rotation": "autorotate"}},
        {selector: "edge.predicted", style: {"line-style": "dashed"}},
        {selector: "edge.inferred", style: {"line-style": "dotted", width: 2}},
      ],
      layout: {name: "concentric", concentric: (node) => (node.id() === iri ? 2 : 1), levelWidth: () => 1, animate: false, padding: 40, minNodeSpacing: 30},
      wheelSensitivity: 0.3, maxZoom: 1.6,
    });
    cy.on("tap", "node", (e) => { if (e.target.id() !== iri) location.href = "/entity?iri=" + encodeURIComponent(e.target.id()); });
    cy.one("render", () => {
      const box = document.getElementById("graph");
      box.dataset.renderedMs = String(Math.round(performance.now()));  // since navigation start
      box.dataset.rendered = String(cy.nodes().length);
    });
    window.kgGraph = cy;
  }

  window.kgExplorer = {queryPage, entityPage};
})();
