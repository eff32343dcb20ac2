"""``kg demo``: the main job end to end on the sample data shipped in ``data/``.

Into a fresh store: load the sample university graph and ask it SPARQL questions;
materialise OWL 2 RL and explain an inferred triple; train a small path GNN, write its
predictions back and explain one by its paths; extract entities and relations (with
provenance) from the sample corpus and query them.
Runs on a fresh machine with no ``../shared`` and no network.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rdflib import URIRef
from rich.markup import escape
from rich.table import Table

from kg_engine.cli.common import console, open_kg, user_errors
from kg_engine.errors import ConfigError, KgEngineError

DEMO_DB = "sqlite:///kg-demo.sqlite"
#: ``kg_meta`` key marking a store that ``kg demo`` made (and may recreate).
DEMO_KEY = "kg_demo"
DATA = Path(__file__).resolve().parents[2] / "data"

QUERIES = {
    "Who works where (with the city of the university)?": """
        PREFIX ex: <https://example.org/kg/>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT ?person ?org ?city WHERE {
          ?p ex:worksFor ?o . ?p rdfs:label ?person . ?o rdfs:label ?org .
          OPTIONAL { ?o ex:locatedIn ?c . ?c rdfs:label ?city }
        } ORDER BY ?person""",
    "Students per advisor": """
        PREFIX ex: <https://example.org/kg/>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT ?advisor (COUNT(?s) AS ?students) WHERE {
          ?s ex:advisor ?a . ?a rdfs:label ?advisor
        } GROUP BY ?advisor ORDER BY DESC(?students)""",
    "Researchers born before 1980 with more than 10 publications": """
        PREFIX ex: <https://example.org/kg/>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT ?name ?born ?n WHERE {
          ?r ex:born ?born ; ex:publications ?n ; rdfs:label ?name .
          FILTER (?born < "1980-01-01"^^<http://www.w3.org/2001/XMLSchema#date> && ?n > 10)
        } ORDER BY ?born""",
}


INFERRED_QUERY = """
    PREFIX ex: <https://example.org/kg/>
    PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
    SELECT ?name ?class WHERE {
      ?p ex:worksFor ?org ; rdfs:label ?name .
      ?org ex:subOrganizationOf* ex:Northfield .
      ?p a ex:Person .
      OPTIONAL { ?p a ?c . ?c rdfs:subClassOf ex:Person ; rdfs:label ?class }
    } ORDER BY ?name"""
EXPLAINED = "<https://example.org/kg/ada> <https://example.org/kg/worksFor> <https://example.org/kg/CompSci>"


def _print_result(title: str, result) -> None:
    table = Table(*[str(v) for v in result.vars], title=title, title_justify="left")
    for row in result:
        table.add_row(*["" if v is None else escape(str(v)) for v in row])
    console.print(table)


def _reason(kg) -> None:
    console.rule("[bold]3. reason with OWL 2 RL and explain an inferred fact")
    result = kg.reason("owl-rl")
    console.print(f"{result.derived} triples inferred in {result.rounds} rounds "
                  f"({result.seconds * 1000:.0f} ms), {len(result.violations)} violations")
    # inferred triples live in their own graph: ask for the union of graphs explicitly
    _print_result("Everyone working for Northfield University, with inferred triples "
                  "(headOf ⊑ worksFor, Student ⊑ Person, …)",
                  kg.query(INFERRED_QUERY, union_default_graph=True))
    console.print(str(kg.explain(EXPLAINED)), markup=False, highlight=False)


def _extract(kg) -> None:
    from kg_engine.extraction.demo import run_extraction_demo

    console.rule("[bold]5. extract a knowledge graph from text, with provenance")
    out = run_extraction_demo(kg)
    ex, rerun = out["extract"], out["rerun"]
    console.print(f"{ex.documents} documents → {ex.triples} triples ({ex.added} new) "
                  f"in {ex.seconds:.1f} s; re-run over the unchanged corpus skipped "
                  f"{rerun.skipped} documents and added {rerun.added}")
    for title, (names, rows) in out["queries"].items():
        table = Table(*names, title=title, title_justify="left")
        for row in rows:
            table.add_row(*[escape(v) for v in row])
        console.print(table)
    if out["explained"] is not None:
        triple, sources = out["explained"]
        console.print(f"why {' '.join(t.n3() for t in triple)}?", markup=False)
        for prov in sources:  # the NER gives no confidence: say nothing rather than "None"
            conf = f" (confidence {prov.confidence:.3g})" if prov.confidence is not None else ""
            console.print(f"  {prov.source} sentence {prov.sentence} "
                          f"[{prov.start}:{prov.end}] by {prov.agent} {prov.version}{conf}: "
                          f"{prov.text!r}", markup=False)


PREDICTIONS_QUERY = """
    PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
    SELECT ?head ?relation ?tail ?type_checks WHERE {
      GRAPH <urn:kg-engine:predicted:nbfnet> { ?h ?r ?t }
      ?h rdfs:label ?head . ?t rdfs:label ?tail .
      BIND (REPLACE(STR(?r), "^.*/", "") AS ?relation)
      # the tail has a type seen for the relation's objects in the graph (not in predictions)
      BIND (IF(EXISTS { ?t a ?c . ?y a ?c . ?x ?r ?y }, "yes", "NO") AS ?type_checks)
      FILTER (?r != <http://www.w3.org/1999/02/22-rdf-syntax-ns#type>)
    } ORDER BY ?relation ?head LIMIT 8"""


def _gnn(kg, workdir: Path) -> None:
    console.rule("[bold]4. train a path GNN (NBFNet) and write its predictions back")
    result = kg.train_gnn("nbfnet", output_dir=workdir, progress=False,
                          training__epochs=30, training__max_steps=0, training__eval_every=10)
    test = result.metrics.get("test") or {}
    console.print(f"trained on the demo graph (test MRR {test.get('mrr', float('nan')):.2f} "
                  f"on {len(result.data.test) if result.data is not None else '?'} held-out triples)")
    written = kg.predict(workdir, top_k=2)
    console.print(f"{written} predicted triples written to <urn:kg-engine:predicted:nbfnet>, "
                  "each with the model, checkpoint and calibrated probability as provenance")
    rows = kg.query(PREDICTIONS_QUERY)
    _print_result("Some predicted links", rows)
    advisor = URIRef("https://example.org/kg/advisor")
    predicted = next(iter(kg.triples((None, advisor, None),
                                     graph="urn:kg-engine:predicted:nbfnet")), None)
    if predicted is not None:
        console.print(str(kg.explain(predicted[:3])), markup=False, highlight=False)


def _gnn_dir(db: str) -> tuple[Path, bool]:
    """A new folder for the demo's GNN checkpoint, and whether it is scratch: ``STORE.gnn``
    beside an SQLite file store (kept), else a temporary folder."""
    from kg_engine.store.database import sqlite_path

    path = sqlite_path(db)
    if path is None:
        return Path(tempfile.mkdtemp(prefix="kg-demo-gnn-")), True
    workdir = Path(path + ".gnn").resolve()
    workdir.mkdir()
    return workdir, False


def _clear_demo_store(db: str) -> None:
    """Delete an SQLite store that an earlier ``kg demo`` made; refuse any other existing file."""
    from kg_engine.api import KnowledgeGraph
    from kg_engine.store.database import sqlite_path

    path = sqlite_path(db)
    if path is None:
        return
    if not os.path.lexists(path):
        shutil.rmtree(path + ".gnn", ignore_errors=True)  # left by a demo whose store was deleted
        return
    marker = None
    if os.path.isfile(path):
        with contextlib.suppress(KgEngineError), KnowledgeGraph(db, readonly=True) as kg:
            marker = kg.store.meta(DEMO_KEY)
    if marker is None:
        raise ConfigError(f"{path} exists and is not a store made by kg demo; nothing was "
                          "changed: give kg demo a new --db (it recreates only its own stores)")
    for suffix in ("", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)
    shutil.rmtree(path + ".gnn", ignore_errors=True)


def demo(
    db: Annotated[str, typer.Option(
        "--db", help="store for the demo: a new path, or one an earlier kg demo made "
        "(recreated); any other existing store or file is refused")] = DEMO_DB,
) -> None:
    """Run the main job on the sample data: load → query → reason → GNN → extract."""
    started = time.perf_counter()
    with user_errors():
        _clear_demo_store(db)
        kg = open_kg(db)
    with user_errors(), kg:
        if len(kg) and kg.store.meta(DEMO_KEY) is None:
            raise ConfigError(f"{db} holds {len(kg):,} statements not written by kg demo; "
                              "nothing was changed: give kg demo a new --db")
        kg.store.set_meta(DEMO_KEY, "1")
        console.rule("[bold]1. load the sample graph")
        result = kg.load(DATA / "sample" / "university.ttl")
        console.print(f"{result.statements} statements loaded into {db} "
                      f"in {result.seconds * 1000:.0f} ms")
        console.rule("[bold]2. ask SPARQL questions")
        for title, query in QUERIES.items():
            _print_result(title, kg.query(query))
        _reason(kg)
        # the GNN checkpoint is kept beside a file store (predictions name it as their
        # provenance; `kg serve` explains them by their paths), scratch otherwise; a failed
        # training leaves nothing behind
        workdir, scratch = _gnn_dir(db)
        try:
            _gnn(kg, workdir)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        if scratch:
            shutil.rmtree(workdir, ignore_errors=True)
        _extract(kg)
    console.print(f"[green]demo finished in {time.perf_counter() - started:.1f} s[/]")
    console.print(f"explore it: kg serve --db {db}  → http://127.0.0.1:7878/", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
