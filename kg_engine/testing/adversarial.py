"""Adversarial inputs: hostile data and requests at every user-facing surface, judged against
kg-engine's security rules (docs/security.md).

Each *surface* is a function ``(Context) -> list[Outcome]`` in :data:`SURFACES`:

* ``store`` — hostile strings (quotes, backslashes, NUL, ``%``/``_``, SQL fragments, 10 KB
  IRIs, ``</script>``, U+2028) as IRIs, literals, language tags, graph names and prefixes,
  written through ``add``, ``update`` and ``load`` and read back exactly (a query that
  matches them by ``=``, the statement count, no extra table); the explorer's label search
  treats ``%``/``_`` as text.
* ``html`` — ``kg export --format html`` of a store full of hostile labels, opened in
  headless Chromium: no injected script ran (``window.__pwned`` unset), the graph was
  drawn, the labels are in the page's data as written.
* ``explorer`` — ``kg serve``'s query page and entity page over the same store, in
  Chromium: no script ran, the hostile label is shown as text.
* ``http`` — ``kg serve`` attacked over HTTP: every write route on a read-only server, an
  update smuggled through ``query=`` or ``GET``, ``SERVICE`` / ``FROM`` /
  ``default-graph-uri`` naming a loopback listener, static-file traversal (plain and
  percent-encoded), CORS defaults, writes from another site's page, a DNS-rebound ``Host``,
  non-UTF-8 parameters,
  nesting 10,000 deep, an oversized header.
* ``network`` — through the Python API and loaders: ``SERVICE``, ``FROM``, ``LOAD <http:…>``,
  a JSON-LD ``@context`` URL and an RDF/XML external entity naming the listener.
* ``models`` — a ``.pt`` whose pickle would run code (a checkpoint, a relation-extractor
  model file) and a spaCy pipeline directory whose config names a code-running factory:
  refused, and the code never ran.
* ``exhaustion`` — "billion laughs" RDF/XML, Turtle lists nested 10,000 deep, SPARQL nested
  10,000 deep, ``(a|b)*`` over cycles, a 100,000-value ``VALUES`` (the depth is a
  parameter): each ends with an answer
  or one clear :class:`~kg_engine.errors.KgEngineError`, never a crash or a bare
  ``RecursionError``.

"Nothing connects" is proven with a :class:`Listener` on a free loopback port: every
attack that names it is followed by a check that it accepted no connection.

:func:`run` runs the surfaces; ``benchmarks/adversarial.py`` runs them over many seeds (the
hostile strings are drawn from :func:`hostile_strings`), ``tests/testing/
test_adversarial.py`` once, in under a minute.

Example:
    >>> import random
    >>> strings = hostile_strings(random.Random(1), 3)
    >>> len(strings) == 3 and all(isinstance(s, str) and s for s in strings)
    True
    >>> Outcome("http", "x", True).ok
    True
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import random
import socket
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["FRAGMENTS", "SURFACES", "Context", "Listener", "Outcome", "hostile_strings", "run"]

#: Pieces hostile strings are made of (HTML/JS breakouts, SQL and LIKE metacharacters,
#: escapes, separators JavaScript treats as line ends, NUL).
FRAGMENTS = (
    "</script>", "<script>window.__pwned=1</script>", '"><img src=x onerror="window.__pwned=2">',
    "'><svg onload=window.__pwned=3>", "javascript:window.__pwned=4", "<!--", "<!--<script>",
    "-->", "\u2028", "\u2029", "'", '"', "\\", "\\'", "%", "_", "%_%", "'; DROP TABLE kg_quads; --",
    "\" OR 1=1 --", "{{DATA}}", "${x}", "&lt;", "&amp;#x3C;", "\x00", "\t", "\n", "é", "😀",
)
PWNED_JS = "return window.__pwned === undefined ? null : window.__pwned"


@dataclass
class Outcome:
    """One attack's verdict.

    Attributes:
        surface: the surface attacked (a key of :data:`SURFACES`).
        attack: what was sent.
        ok: the security rule held.
        detail: what was seen (why it failed, or the refusal).
    """

    surface: str
    attack: str
    ok: bool
    detail: str = ""


@dataclass
class Context:
    """What the surfaces share in one run.

    Attributes:
        seed: draws the hostile strings.
        workdir: scratch folder (stores, pages, model files).
        db_url: the store URL to attack (``None``: a SQLite file in ``workdir``).
        browser: drive headless Chromium (the ``html`` and ``explorer`` surfaces).
        strings: how many hostile strings to draw.
        depth: nesting of the deep Turtle lists and SPARQL groups (VALUES: ten times it).
    """

    seed: int
    workdir: Path
    db_url: str | None = None
    browser: bool = True
    strings: int = 12
    depth: int = 10_000
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def fresh_db(self, name: str) -> str:
        """A new empty store for one surface (the PostgreSQL URL is emptied first)."""
        if self.db_url is None:
            return f"sqlite:///{self.workdir / (name + '.sqlite')}"
        from kg_engine.api import KnowledgeGraph

        with KnowledgeGraph(self.db_url) as kg:
            kg.update("DROP SILENT ALL")
        return self.db_url


def hostile_strings(rng: random.Random, n: int) -> list[str]:
    """``n`` different strings of 1-4 :data:`FRAGMENTS` joined by text (about half of the
    first ones a fragment alone); the last is 10,000 characters long."""
    out = []
    for i in range(n):
        if i < len(FRAGMENTS) and rng.random() < 0.5:
            s = FRAGMENTS[(i + rng.randrange(len(FRAGMENTS))) % len(FRAGMENTS)]
        else:
            s = "x".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 4)))
        if i == n - 1 and n > 2:
            s = s + "y" * 10_000
        s = "a" + s  # never empty, never starting with a character a parser trims
        out.append(s if s not in out else f"{s}{i}")
    return out


class Listener:
    """A TCP server on a free loopback port that records every connection it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.connections = 0
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            with contextlib.suppress(OSError):
                conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/turtle\r\n\r\n"
                             b"<urn:fetched> <urn:from> <urn:network> .\n")
            conn.close()

    def close(self) -> None:
        self._stop = True
        self._thread.join(2)
        self.sock.close()


def _nt_literal(s: str) -> str:
    """``s`` as a SPARQL/N-Triples string literal (every character escaped as needed)."""
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ch in "\u2028\u2029\x7f":
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _iri(s: str) -> str:
    """An absolute IRI carrying ``s`` (percent-encoded where IRIs forbid the character)."""
    from urllib.parse import quote

    return "http://example.org/x/" + quote(s, safe="/'%_!$&()*+,;=:@~-.")


def _attempt(surface: str, attack: str, fn: Callable[[], str | None]) -> Outcome:
    """Run ``fn``: ``None`` or a note → ok; an AssertionError → the rule broke; any other
    exception that is not a KgEngineError → a bug (named with its traceback's last line)."""
    from kg_engine.errors import KgEngineError

    try:
        note = fn()
        return Outcome(surface, attack, True, note or "")
    except AssertionError as exc:
        return Outcome(surface, attack, False, str(exc) or "assertion failed")
    except KgEngineError as exc:
        return Outcome(surface, attack, False, f"unexpected refusal: {exc}"[:300])
    except Exception as exc:  # noqa: BLE001 - every failure becomes a verdict
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return Outcome(surface, attack, False, f"{type(exc).__name__}: {exc} "
                                               f"({Path(where.filename).name}:{where.lineno})"[:300])


def _refused(fn: Callable[[], Any], *, match: str = "") -> str:
    """Run ``fn`` and require a clear KgEngineError (its message, containing ``match``)."""
    from kg_engine.errors import KgEngineError

    try:
        fn()
    except KgEngineError as exc:
        assert match.lower() in str(exc).lower(), f"refused, but not as expected: {exc}"
        return str(exc)[:160]
    raise AssertionError("accepted, should have been refused")


# -- store: SQL injection and exact round trips ------------------------------------------------
def store_surface(ctx: Context) -> list[Outcome]:
    """Hostile strings through every write path, read back exactly."""
    from rdflib import Literal, URIRef

    from kg_engine.api import KnowledgeGraph

    strings = hostile_strings(ctx.rng, ctx.strings)
    out: list[Outcome] = []
    url = ctx.fresh_db("store")
    p = URIRef("http://example.org/p")
    with KnowledgeGraph(url) as kg:
        tables_before = _tables(kg)
        for i, s in enumerate(strings):
            if "\x00" in s and not url.startswith("sqlite"):
                s = s.replace("\x00", "")  # PostgreSQL text cannot hold NUL (refused cleanly)
            subject, graph = URIRef(_iri(s)), URIRef(_iri("g" + s))
            lang = "en-" + "".join(c for c in s if c.isalnum() and c.isascii())[:8] or "en"

            def add(s: str = s, subject: URIRef = subject, graph: URIRef = graph) -> None:
                kg.add([(subject, p, Literal(s))], graph=graph)
                got = {str(o) for o in kg.graph.get_context(graph).objects(subject, p)}
                assert got == {s}, f"add: read back {got!r}"

            def update(s: str = s, i: int = i) -> None:
                lit = _nt_literal(s)
                kg.update(f"INSERT DATA {{ <urn:u{i}> <{p}> {lit} }}")
                rows = list(kg.query(f"SELECT ?s WHERE {{ ?s <{p}> {lit} }}"))
                assert [str(r[0]) for r in rows] == [f"urn:u{i}"], f"update: {rows!r}"
                rows = list(kg.query(f"SELECT ?o WHERE {{ <urn:u{i}> <{p}> ?o }}"))
                assert [str(r[0]) for r in rows] == [s], "update: the literal changed"

            def tagged(s: str = s, i: int = i, lang: str = lang) -> None:
                kg.update(f"INSERT DATA {{ <urn:l{i}> <{p}> {_nt_literal(s)}@{lang} }}")
                rows = list(kg.query(f"SELECT ?o WHERE {{ <urn:l{i}> <{p}> ?o }}"))
                assert rows and rows[0][0] == Literal(s, lang=lang), f"lang: {rows!r}"

            def prefix(s: str = s, i: int = i) -> None:
                ns = _iri(s) + "#"
                kg.graph.bind(f"p{i}", ns)
                assert dict(kg.graph.namespaces()).get(f"p{i}") == URIRef(ns), "prefix lost"

            for name, fn in (("add", add), ("update", update), ("lang", tagged),
                             ("prefix", prefix)):
                out.append(_attempt("store", f"{name} {s[:40]!r}", fn))
        out.append(_attempt("store", "no table added or dropped",
                            lambda: _same(tables_before, _tables(kg))))
        out.append(_attempt("store", "label search LIKE wildcards", lambda: _like(kg)))
        out.append(_attempt("store", "load N-Triples of hostile strings",
                            lambda: _load_back(kg, strings, ctx.workdir)))
    return out


def _tables(kg: Any) -> set[str]:
    if kg.url.startswith("sqlite"):
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    else:
        sql = ("SELECT table_name FROM information_schema.tables "
               "WHERE table_schema = current_schema()")
    return {r[0] for r in kg.store.db.fetchall(sql)}


def _same(a: set[str], b: set[str]) -> None:
    assert a <= b and not {t for t in b - a if not t.startswith("kg")}, f"tables {a ^ b}"


def _like(kg: Any) -> None:
    from rdflib import Literal, URIRef
    from rdflib.namespace import RDFS

    from kg_engine.serve.explorer import search

    kg.add([(URIRef("urn:pct"), RDFS.label, Literal("100% sure")),
            (URIRef("urn:und"), RDFS.label, Literal("snake_case")),
            (URIRef("urn:plain"), RDFS.label, Literal("plain label"))])
    for needle, want in (("%", {"urn:pct"}), ("_", {"urn:und"}), ("\\", set())):
        got = {h["iri"] for h in search(kg, needle)} & {"urn:pct", "urn:und", "urn:plain"}
        assert got == want, f"search({needle!r}) found {sorted(got)}"


def _load_back(kg: Any, strings: list[str], workdir: Path) -> None:
    from rdflib import URIRef

    if not kg.url.startswith("sqlite"):  # PostgreSQL refuses NUL, clearly (tested apart)
        strings = [s.replace("\x00", "") for s in strings]
    path = workdir / "hostile.nt"
    lines = [f"<urn:n{i}> <urn:lbl> {_nt_literal(s)} ." for i, s in enumerate(strings)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    kg.load(path, graph="urn:loaded")
    got = {str(o) for o in kg.graph.get_context(URIRef("urn:loaded")).objects(
        None, URIRef("urn:lbl"))}
    assert got == set(strings), f"loaded back {len(got & set(strings))} of {len(strings)}"


# -- HTML outputs in Chromium ------------------------------------------------------------------
def _hostile_store(ctx: Context, name: str) -> tuple[str, list[str]]:
    """A store whose labels, IRIs, language tags and graph names are hostile strings."""
    from rdflib import Literal, URIRef
    from rdflib.namespace import RDF, RDFS

    from kg_engine.api import KnowledgeGraph

    strings = [s[:300] for s in hostile_strings(ctx.rng, ctx.strings)]
    strings[0] = "a<!--<script>window.__pwned=9</script>"  # the page-breaking one, always
    url = ctx.fresh_db(name)
    with KnowledgeGraph(url) as kg:
        centre = URIRef("http://example.org/centre")
        triples = [(centre, RDFS.label, Literal(strings[0]))]
        for i, s in enumerate(strings):
            node = URIRef(_iri(f"n{i}{s}"))
            triples += [(centre, URIRef(_iri(f"p{s}")), node), (node, RDFS.label, Literal(s)),
                        (node, RDF.type, URIRef("javascript:window.__pwned=5")),
                        (node, URIRef("urn:note"), Literal(s, lang="en"))]
        kg.add(triples, graph=URIRef(_iri("graph" + strings[1])))
        kg.add(triples)
    return url, strings


def html_surface(ctx: Context) -> list[Outcome]:
    """``kg export --format html`` of hostile labels, opened in Chromium."""
    from kg_engine.api import KnowledgeGraph

    url, strings = _hostile_store(ctx, "html")
    page = ctx.workdir / "hostile.html"
    with KnowledgeGraph(url) as kg:
        kg.export(page, format="html")
    text = page.read_text(encoding="utf-8")
    block = text.split('<script id="kg-data" type="application/json">', 1)[1].split("</script>")[0]
    out = [_attempt("html", "no '<' in the data block", lambda: _no_lt(block)),
           _attempt("html", "labels kept as written", lambda: _labels_in(block, strings))]
    if ctx.browser:
        out.append(_attempt("html", "Chromium: no script ran, graph drawn",
                            lambda: _html_in_browser(page)))
    return out


def _no_lt(block: str) -> None:
    assert "<" not in block, "a '<' in the page's data block"


def _labels_in(block: str, strings: list[str]) -> None:
    labels = {n["data"]["label"] for n in json.loads(block)["elements"]["nodes"]}
    missing = [s for s in strings if s not in labels]
    assert not missing, f"labels not as written: {missing[:2]!r}"


@contextlib.contextmanager
def _browser() -> Iterator[Any]:
    from kg_engine.testing.browser import chromium

    with chromium() as driver:
        yield driver


def _html_in_browser(page: Path) -> None:
    with _browser() as d:
        d.get(page.as_uri())
        _wait(lambda: d.execute_script(
            "return document.getElementById('graph').dataset.rendered || null"), 20,
            "the exported graph was never drawn")
        assert d.execute_script(PWNED_JS) is None, "an injected script ran"


def _wait(fn: Callable[[], Any], seconds: float, message: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(message)


@contextlib.contextmanager
def _server(url: str, **options: Any) -> Iterator[str]:
    """``kg serve`` on ``url`` in a thread, on a free loopback port; yields its base URL."""
    import uvicorn

    from kg_engine.api import KnowledgeGraph
    from kg_engine.serve import ServerConfig, create_app

    app = create_app(ServerConfig(url, **options), KnowledgeGraph)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="critical", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    _wait(lambda: server.started, 60, "kg serve did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def explorer_surface(ctx: Context) -> list[Outcome]:
    """The explorer's entity and query pages over hostile data, in Chromium."""
    if not ctx.browser:
        return []
    from urllib.parse import quote

    url, strings = _hostile_store(ctx, "explorer")
    out = []
    with _server(url) as base, _browser() as d:
        def entity() -> None:
            d.get(f"{base}/entity?iri={quote('http://example.org/centre', safe='')}")
            _wait(lambda: d.execute_script(
                "return document.querySelectorAll('#facts tbody tr').length"), 20,
                "the entity page showed no facts")
            d.execute_script("for (const b of document.querySelectorAll('button.why')) "
                             "b.click();")
            time.sleep(1.0)
            assert d.execute_script(PWNED_JS) is None, "an injected script ran"
            title = d.execute_script("return document.getElementById('title').textContent")
            assert title == strings[0], f"title shown as {title!r}"

        def query_page() -> None:
            q = "SELECT ?s ?l WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l }"
            d.get(f"{base}/?query={quote(q, safe='')}")
            _wait(lambda: d.execute_script(
                "return document.querySelectorAll('table.results tbody tr').length"), 20,
                "the query page showed no rows")
            assert d.execute_script(PWNED_JS) is None, "an injected script ran"
            cells = d.execute_script("return [...document.querySelectorAll("
                                     "'table.results td')].map(td => td.textContent)")
            assert any(strings[0] in c for c in cells), "the label is not shown as text"

        out.append(_attempt("explorer", "entity page with hostile facts", entity))
        out.append(_attempt("explorer", "query page with hostile rows", query_page))
    return out


# -- the HTTP endpoint -------------------------------------------------------------------------
def http_surface(ctx: Context) -> list[Outcome]:
    """``kg serve`` over HTTP: refusals, traversal, network, malformed requests."""
    import httpx

    from kg_engine.api import KnowledgeGraph

    url = ctx.fresh_db("http")
    with KnowledgeGraph(url) as kg:
        kg.update('INSERT DATA { <urn:a> <urn:p> "x" . GRAPH <urn:g> { <urn:a> <urn:p> "y" } }')
        before = len(kg)
    listener = Listener()
    out: list[Outcome] = []
    ins = 'INSERT DATA { <urn:evil> <urn:p> "z" }'
    nt = {"Content-Type": "application/n-triples"}
    try:
        from kg_engine.serve.guards import LOOPBACK_HOSTS

        with _server(url, hosts=LOOPBACK_HOSTS) as base, \
                httpx.Client(base_url=base, timeout=60) as c:
            attacks: list[tuple[str, Callable[[], str | None]]] = [
                ("update via GET query=", status_of(c, {400}, "GET", "/sparql", params={"query": ins})),
                ("update via POST query=", status_of(c, {400}, "POST", "/sparql", data={"query": ins})),
                ("update as sparql-query body", status_of(c, {400}, "POST", "/sparql", content=ins,
                                                       headers={"Content-Type": "application/sparql-query"})),
                ("update via GET update=", status_of(c, {405}, "GET", "/sparql", params={"update": ins})),
                ("update on read-only", status_of(c, {403}, "POST", "/sparql", data={"update": ins})),
                ("update body on read-only", status_of(c, {403}, "POST", "/update", content=ins,
                                                    headers={"Content-Type": "application/sparql-update"})),
                ("GSP PUT on read-only", status_of(c, {403}, "PUT", "/store?graph=urn:x",
                                                content=b"<urn:a> <urn:p> <urn:b> .", headers=nt)),
                ("GSP POST on read-only", status_of(c, {403}, "POST", "/store?default",
                                                 content=b"<urn:a> <urn:p> <urn:b> .", headers=nt)),
                ("GSP POST dataset on read-only", status_of(c, {403}, "POST", "/store", content=b"",
                                                         headers={"Content-Type": "application/n-quads"})),
                ("GSP DELETE on read-only", status_of(c, {403}, "DELETE", "/store?graph=urn:g")),
                ("GSP DELETE default on read-only", status_of(c, {403}, "DELETE", "/store?default")),
                ("SERVICE to loopback", status_of(c, {400}, "GET", "/sparql", params={
                    "query": f"SELECT * WHERE {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}"})),
                ("SERVICE SILENT to loopback", status_of(c, {400}, "GET", "/sparql", params={
                    "query": f"SELECT * WHERE {{ SERVICE SILENT <{listener.url}> {{ ?s ?p ?o }} }}"})),
                ("FROM loopback", status_of(c, {200}, "GET", "/sparql", params={
                    "query": f"SELECT * FROM <{listener.url}> WHERE {{ ?s ?p ?o }}"})),
                ("FROM NAMED loopback", status_of(c, {200}, "GET", "/sparql", params={
                    "query": f"SELECT * FROM NAMED <{listener.url}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}"})),
                ("default-graph-uri loopback", status_of(c, {200}, "GET", "/sparql", params={
                    "query": "SELECT * WHERE { ?s ?p ?o }", "default-graph-uri": listener.url})),
                ("named-graph-uri loopback", status_of(c, {200}, "GET", "/sparql", params={
                    "query": "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }",
                    "named-graph-uri": listener.url})),
                ("/static/../../etc/passwd", status_of(c, {404}, "GET", "/static/../../etc/passwd")),
                ("/static/%2e%2e/… traversal", status_of(c, {404}, "GET",
                                                      "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd")),
                ("/static/..%2f… traversal", status_of(c, {404}, "GET", "/static/..%2f..%2f..%2fapp.py")),
                ("/static/%252e%252e traversal", status_of(c, {404}, "GET",
                                                        "/static/%252e%252e/%252e%252e/etc/passwd")),
                ("non-UTF-8 query string", status_of(c, {400}, "GET", "/sparql?query=ASK%20%7B%7D%E9")),
                ("non-UTF-8 graph=", status_of(c, {400}, "GET", "/store?graph=urn:caf%E9")),
                ("SPARQL body not UTF-8", status_of(c, {400}, "POST", "/sparql", content=b"ASK {} \xff",
                                                 headers={"Content-Type": "application/sparql-query"})),
                ("unknown Content-Type", status_of(c, {415}, "POST", "/sparql", content=b"query=ASK {}",
                                                headers={"Content-Type": "text/plain"})),
                ("groups nested 10,000 deep", status_of(c, {200, 400}, "POST", "/sparql", data={
                    "query": "SELECT * WHERE " + "{" * 10000 + "}" * 10000})),
                ("parentheses nested 20,000 deep", status_of(c, {200, 400}, "POST", "/sparql", data={
                    "query": "ASK { FILTER(" + "(" * 20000 + "1" + ")" * 20000 + ") }"})),
                ("1 MB header, then a query", lambda: _big_header(c)),
                ("service description", lambda: _no_cors(c)),
                ("DNS-rebound Host header", status_of(c, {400}, "GET", "/sparql", params={
                    "query": "ASK {}"}, headers={"Host": "rebound.example"})),
            ]
            for name, fn in attacks:
                out.append(_attempt("http", name, fn))
        with _server(url, update=True) as base, httpx.Client(base_url=base, timeout=60) as c:
            for origin in ("http://evil.example", "null"):
                out.append(_attempt("http", f"write from a page of origin {origin}",
                                    status_of(c, {403}, "POST", "/sparql", data={"update": ins},
                                              headers={"Origin": origin})))
            out.append(_attempt("http", "LOAD file:///etc/passwd over HTTP",
                                status_of(c, {400}, "POST", "/sparql", data={
                                    "update": "LOAD <file:///etc/passwd> INTO GRAPH <urn:pw>"})))
            out.append(_attempt("http", f"LOAD <{listener.url}> over HTTP",
                                status_of(c, {400}, "POST", "/sparql",
                                          data={"update": f"LOAD <{listener.url}>"})))
            out.append(_attempt("http", "GSP PUT JSON-LD with a remote @context", status_of(
                c, {400}, "PUT", "/store?graph=urn:j", headers={"Content-Type": "application/ld+json"},
                content=json.dumps({"@context": listener.url, "@id": "urn:a", "name": "x"}))))
            out.append(_attempt("http", "GSP PUT RDF/XML with external entities", status_of(
                c, {201, 204, 400}, "PUT", "/store?graph=urn:x",
                headers={"Content-Type": "application/rdf+xml"},
                content=_xxe(listener.url, "file:///etc/passwd"))))
        out.append(_attempt("http", "the store holds no injected statement",
                            lambda: _unchanged(url, before)))
    finally:
        listener.close()
    out.append(_attempt("http", "nothing connected to the loopback listener",
                        lambda: _no_connections(listener)))
    return out


def status_of(c: Any, want: set[int], method: str, path: str, **kw: Any) -> Callable[[], str]:
    """An attack: ``c.request(...)`` must answer one of ``want``."""
    def check() -> str:
        r = c.request(method, path, **kw)
        assert r.status_code in want, f"{r.status_code} {r.text[:120]!r}"
        return str(r.status_code)
    return check


def _big_header(c: Any) -> str:
    import httpx

    try:
        r = c.get("/sparql", params={"query": "ASK {}"}, headers={"X-Big": "x" * 2**20})
        seen = str(r.status_code)
        assert r.status_code < 500, f"{r.status_code} {r.text[:100]!r}"
    except httpx.HTTPError as exc:  # the server may drop the connection
        seen = type(exc).__name__
    assert c.get("/sparql", params={"query": "ASK {}"}).status_code == 200, "server gone"
    return seen


def _no_cors(c: Any) -> None:
    r = c.get("/sparql", params={"query": "ASK {}"}, headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in r.headers, "CORS open by default"


def _xxe(url: str, file_url: str) -> str:
    return (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY web SYSTEM "{url}">'
            f'<!ENTITY file SYSTEM "{file_url}">]>'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description rdf:about="urn:xxe"><rdf:value>[&web;][&file;]</rdf:value>'
            '</rdf:Description></rdf:RDF>')


def _unchanged(url: str, before: int) -> None:
    from rdflib import URIRef

    from kg_engine.api import KnowledgeGraph

    with KnowledgeGraph(url) as kg:
        evil = list(kg.query("ASK { { <urn:evil> ?p ?o } UNION { GRAPH ?g { <urn:evil> ?p ?o } }"
                             " UNION { GRAPH ?g { ?s ?p ?o FILTER(CONTAINS(STR(?o), 'root:')) }"
                             " } }"))
        assert not evil[0], "an injected statement, or /etc/passwd, is in the store"
        now = len(kg) - len(kg.graph.get_context(URIRef("urn:x")))  # the RDF/XML PUT's graph
        assert now == before, f"{before} -> {now} statements"


def _no_connections(listener: Listener) -> None:
    assert listener.connections == 0, f"{listener.connections} connection(s) to the listener"


# -- network through the API and the loaders ---------------------------------------------------
def network_surface(ctx: Context) -> list[Outcome]:
    """SERVICE, FROM, LOAD and the loaders' remote paths, through the Python API."""
    from kg_engine.api import KnowledgeGraph

    listener = Listener()
    out: list[Outcome] = []
    url = ctx.fresh_db("network")
    work = ctx.workdir
    try:
        with KnowledgeGraph(url) as kg:
            u = listener.url
            jsonld = work / "remote-context.jsonld"
            jsonld.write_text(json.dumps({"@context": u, "@id": "urn:a", "name": "x"}))
            imported = work / "import-context.jsonld"
            imported.write_text(json.dumps({"@context": {"@import": u}, "@id": "urn:a"}))
            xxe = work / "xxe.rdf"
            xxe.write_text(_xxe(u, "file:///etc/passwd"))
            attacks: list[tuple[str, Callable[[], str | None]]] = [
                ("SERVICE", lambda: _refused(lambda: list(kg.query(
                    f"SELECT * WHERE {{ SERVICE <{u}> {{ ?s ?p ?o }} }}")), match="SERVICE")),
                ("FROM", lambda: _empty(kg, f"SELECT * FROM <{u}> WHERE {{ ?s ?p ?o }}")),
                ("FROM NAMED", lambda: _empty(
                    kg, f"SELECT * FROM NAMED <{u}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}")),
                ("LOAD http", lambda: _refused(lambda: kg.update(f"LOAD <{u}>"))),
                ("LOAD SILENT http", lambda: _silent_load(kg, u)),
                ("JSON-LD @context URL", lambda: _refused(lambda: kg.load(jsonld),
                                                          match="@context")),
                ("JSON-LD @import URL", lambda: _refused(lambda: kg.load(imported),
                                                         match="@import")),
                ("RDF/XML external entities", lambda: _xxe_load(kg, xxe)),
            ]
            for name, fn in attacks:
                out.append(_attempt("network", name, fn))
    finally:
        listener.close()
    out.append(_attempt("network", "nothing connected to the loopback listener",
                        lambda: _no_connections(listener)))
    return out


def _empty(kg: Any, query: str) -> None:
    rows = list(kg.query(query))
    assert not rows, f"{len(rows)} rows from a graph the store does not hold"


def _silent_load(kg: Any, url: str) -> None:
    before = len(kg)
    with contextlib.suppress(Exception):
        kg.update(f"LOAD SILENT <{url}>")
    assert len(kg) == before, "LOAD SILENT fetched data"


def _xxe_load(kg: Any, path: Path) -> str:
    from kg_engine.errors import KgEngineError

    with contextlib.suppress(KgEngineError):
        kg.load(path, graph="urn:xxe")
    values = [str(r[0]) for r in kg.query(
        "SELECT ?v WHERE { GRAPH <urn:xxe> { ?s ?p ?v } }")]
    assert not any("root:" in v or "network" in v for v in values), f"entity resolved: {values}"
    return f"values {values}"


# -- model and pipeline files ------------------------------------------------------------------
class _Payload:
    """Pickles to a call of ``os.system`` that creates a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def models_surface(ctx: Context) -> list[Outcome]:
    """Checkpoints and pipeline directories that would run code when loaded."""
    out: list[Outcome] = []
    marker = ctx.workdir / "pwned-by-pickle"
    evil_pt = ctx.workdir / "evil.pt"
    with evil_pt.open("wb") as f:
        pickle.dump({"model": _Payload(marker)}, f)
    try:
        import torch
    except ImportError:
        return [Outcome("models", "torch checkpoints", True, "torch not installed: skipped")]
    torch.save({"state": _Payload(marker)}, ctx.workdir / "evil-zip.pt")

    def gnn_checkpoint(path: Path) -> str:
        from kg_engine.gnn.training import read_checkpoint

        return _refused(lambda: read_checkpoint(path))

    def re_model(path: Path) -> str:
        from kg_engine.extraction.components.serialization import torch_load

        return _refused(lambda: torch_load(path, str(path)))

    for name, fn in (("GNN checkpoint (raw pickle)", lambda: gnn_checkpoint(evil_pt)),
                     ("GNN checkpoint (torch.save zip)",
                      lambda: gnn_checkpoint(ctx.workdir / "evil-zip.pt")),
                     ("component model.pt (torch.save zip)",
                      lambda: re_model(ctx.workdir / "evil-zip.pt"))):
        out.append(_attempt("models", name, fn))
    out.append(_attempt("models", "spaCy pipeline naming a code factory",
                        lambda: _spacy_dir(ctx.workdir, marker)))
    out.append(_attempt("models", "no payload ran", lambda: _no_marker(marker)))
    return out


def _spacy_dir(workdir: Path, marker: Path) -> str:
    try:
        import spacy  # noqa: F401
    except ImportError:
        return "spaCy not installed: skipped"
    from kg_engine.extraction.ner import load_pipeline

    d = workdir / "evil-pipeline"
    d.mkdir(exist_ok=True)
    (d / "meta.json").write_text(json.dumps({"lang": "en", "name": "evil", "version": "0.0.0",
                                             "pipeline": ["evil"], "components": ["evil"]}))
    (d / "config.cfg").write_text(
        "[nlp]\nlang = \"en\"\npipeline = [\"evil\"]\n\n[components]\n\n[components.evil]\n"
        f"factory = \"os.system\"\ncommand = \"touch {marker}\"\n")
    return _refused(lambda: load_pipeline(d))


def _no_marker(marker: Path) -> None:
    assert not marker.exists(), "a pickled payload ran"


# -- resource exhaustion ----------------------------------------------------------------------
def exhaustion_surface(ctx: Context) -> list[Outcome]:
    """Inputs built to exhaust memory, stack or time: an answer or one clear error."""
    from kg_engine.api import KnowledgeGraph

    work = ctx.workdir
    laughs = work / "laughs.rdf"
    ents = ['<!ENTITY l0 "lol">'] + [f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)]
    laughs.write_text('<?xml version="1.0"?><!DOCTYPE r [' + "".join(ents) + ']>'
                      '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                      '<rdf:Description rdf:about="urn:a"><rdf:value>&l9;</rdf:value>'
                      '</rdf:Description></rdf:RDF>')
    lists = work / "nested.ttl"
    deep = ctx.depth
    lists.write_text("<urn:a> <urn:p> " + "(" * deep + "1" + ")" * deep + " .\n")
    url = ctx.fresh_db("exhaustion")
    out: list[Outcome] = []
    with KnowledgeGraph(url) as kg:
        kg.update("INSERT DATA { " + " ".join(
            f"<urn:n{i}> <urn:a> <urn:n{(i + 1) % 50}> . <urn:n{i}> <urn:b> <urn:n{(i * 7) % 50}> ."
            for i in range(50)) + " }")
        values = " ".join(str(i) for i in range(10 * deep))
        attacks: list[tuple[str, Callable[[], str | None]]] = [
            ("billion laughs RDF/XML", lambda: _refused(lambda: kg.load(laughs),
                                                       match="expan")),
            (f"Turtle lists nested {deep:,} deep", lambda: _answer_or_clear(
                lambda: kg.load(lists))),
            (f"SPARQL groups nested {deep:,} deep", lambda: _answer_or_clear(lambda: list(
                kg.query("SELECT * WHERE " + "{" * deep + "?s <urn:a> ?o" + "}" * deep)))),
            ("SPARQL parentheses nested 20,000 deep", lambda: _answer_or_clear(
                lambda: list(kg.query("ASK { FILTER(" + "(" * 20000 + "1" + ")" * 20000
                                      + ") }")))),
            ("update nested 3,000 deep", lambda: _answer_or_clear(lambda: kg.update(
                "INSERT { <urn:x> <urn:y> 1 } WHERE { FILTER(" + "(" * 3000 + "1"
                + ")" * 3000 + ") }"))),
            ("(a|b)* over cycles", lambda: _path_count(kg)),
            (f"VALUES of {10 * deep:,}", lambda: _answer_or_clear(lambda: list(kg.query(
                f"SELECT (COUNT(*) AS ?n) WHERE {{ VALUES ?x {{ {values} }} }}")))),
        ]
        for name, fn in attacks:
            out.append(_attempt("exhaustion", name, fn))
    return out


def _answer_or_clear(fn: Callable[[], Any]) -> str:
    from kg_engine.errors import KgEngineError

    try:
        fn()
        return "answered"
    except KgEngineError as exc:
        return f"refused: {str(exc)[:120]}"


def _path_count(kg: Any) -> None:
    rows = list(kg.query("SELECT (COUNT(*) AS ?n) WHERE { <urn:n0> (<urn:a>|<urn:b>)* ?o }",
                         timeout=60))
    assert int(rows[0][0]) == 50, f"{rows[0][0]} nodes reachable, 50 expected"


#: The surfaces :func:`run` attacks, by name.
SURFACES: dict[str, Callable[[Context], list[Outcome]]] = {
    "store": store_surface,
    "html": html_surface,
    "explorer": explorer_surface,
    "http": http_surface,
    "network": network_surface,
    "models": models_surface,
    "exhaustion": exhaustion_surface,
}


def run(seed: int = 0, surfaces: list[str] | None = None, *, db_url: str | None = None,
        browser: bool = True, strings: int = 12, depth: int = 10_000) -> list[Outcome]:
    """Attack ``surfaces`` (default: all) once; returns every verdict.

    Args:
        seed: draws the hostile strings.
        surfaces: names from :data:`SURFACES`.
        db_url: a PostgreSQL URL to attack (emptied first); default a SQLite file per surface.
        browser: drive Chromium for the ``html`` and ``explorer`` surfaces.
        strings: hostile strings per surface.
        depth: nesting depth of the exhaustion surface's deep inputs.
    """
    with tempfile.TemporaryDirectory(prefix="kg-adversarial-") as tmp:
        ctx = Context(seed, Path(tmp), db_url=db_url, browser=browser, strings=strings,
                      depth=depth)
        out: list[Outcome] = []
        for name in surfaces or list(SURFACES):
            try:
                out.extend(SURFACES[name](ctx))
            except Exception as exc:  # noqa: BLE001 - a surface that crashed is a finding
                out.append(Outcome(name, "(setting up the surface)", False,
                                   f"{type(exc).__name__}: {exc}"[:300]))
        return out
