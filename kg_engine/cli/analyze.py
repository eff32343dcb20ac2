"""``kg analyze ALGORITHM`` and ``kg path A B``: graph algorithms and paths over the store.

``kg analyze pagerank|degree|betweenness|centrality|components|strong|communities`` runs the
algorithm on the asserted graphs (``--graph`` picks graphs; inferred statements are
included when the store has a reasoning profile, ``--include-inferred/--asserted-only``
decide otherwise), prints the top ``--top N`` nodes and writes every node's value into
``urn:kg-engine:analytics:<name>`` (``--no-write`` only prints). ``centrality`` is degree
centrality (``--measure betweenness`` for betweenness).

``kg path A B`` prints the statements along a shortest path between two entities, one
N-Triples line each, in their stored direction.

Entities are IRIs with or without ``<>``, or prefixed names with the prefixes ``kg query``
knows (rdf, rdfs, owl, xsd and the store's own); the table of ``kg analyze`` names nodes
with the same prefixes, as ``kg query`` tables do.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from kg_engine.cli.common import (
    DEFAULT_DB,
    DbOption,
    console,
    open_kg,
    store_prefixes,
    user_errors,
)

_CHOICES = ("pagerank", "degree", "betweenness", "centrality", "components", "strong",
            "communities")

GraphOption = Annotated[
    list[str] | None,
    typer.Option("--graph", "-g", help="graph IRI to analyse ('default' for the default "
                 "graph); repeat for several (default: every asserted graph)"),
]


InferredOption = Annotated[
    bool | None,
    typer.Option("--include-inferred/--asserted-only",
                 help="add the rule engine's inferred graphs (default: when the store has a "
                 "reasoning profile, see kg reason)"),
]


def _inferred(flag: bool | None) -> dict:
    return {} if flag is None else {"include_inferred": flag}


def _term(text: str, prefixes: dict[str, str]):  # -> URIRef
    """``<iri>``, ``iri`` or ``prefix:local`` with a prefix of ``prefixes`` as an IRI.

    Raises:
        ConfigError: ``text`` is none of these (``<not an iri``).

    Example:
        >>> _term("ex:ada", {"ex": "http://ex.org/"}), _term("<urn:x>", {})
        (rdflib.term.URIRef('http://ex.org/ada'), rdflib.term.URIRef('urn:x'))
    """
    from rdflib import URIRef
    from rdflib.term import _is_valid_uri

    from kg_engine.errors import ConfigError

    given = text
    text = text.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    else:
        prefix, colon, local = text.partition(":")
        if colon and prefix in prefixes and not local.startswith("//"):
            text = prefixes[prefix] + local
    if not text or not _is_valid_uri(text):
        raise ConfigError(f"{given!r} is not an IRI: give <http://…>, http://… or a prefixed "
                          f"name with a prefix of the store ({', '.join(sorted(prefixes))})")
    return URIRef(text)


def analyze(
    algorithm: Annotated[str, typer.Argument(help=" | ".join(_CHOICES))],
    graph: GraphOption = None,
    write: Annotated[bool, typer.Option("--write/--no-write",
                                        help="write values to urn:kg-engine:analytics:<name>")] = True,
    top: Annotated[int, typer.Option("--top", help="nodes (or groups) to print", min=0)] = 10,
    backend: Annotated[str, typer.Option("--backend", help="networkx | rustworkx")] = "networkx",
    measure: Annotated[str, typer.Option("--measure",
                                         help="for centrality: degree | betweenness")] = "degree",
    include_inferred: InferredOption = None,
    samples: Annotated[int | None, typer.Option("--k", help="betweenness: sampled sources")] = None,
    seed: Annotated[int, typer.Option("--seed", help="betweenness / communities seed")] = 0,
    name: Annotated[str | None, typer.Option("--name", help="analysis name (its graph)")] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Run a graph algorithm, print the top nodes and write the values back to the store."""
    from rdflib import Literal

    from kg_engine.errors import ConfigError
    from kg_engine.sparql.results import human_term

    with user_errors():
        if algorithm not in _CHOICES:
            raise ConfigError(f"unknown algorithm {algorithm!r}; choose one of {', '.join(_CHOICES)}")
        if algorithm == "centrality":
            if measure not in ("degree", "betweenness"):
                raise ConfigError(f"--measure {measure!r}: choose degree or betweenness")
            algorithm = measure
        params: dict = {}
        if algorithm == "betweenness":
            params = {"k": samples, "seed": seed}
        elif algorithm == "communities":
            params = {"seed": seed}
        with open_kg(db, create=False) as kg:
            res = kg.analyze(algorithm, backend=backend, write=write, name=name,
                             graph=graph or None, **_inferred(include_inferred), **params)
            rows = res.top(top)
            prefixes = store_prefixes(kg)
            grouped = algorithm in ("components", "strong", "communities")
            table = Table("node", "label", "size" if grouped else algorithm)
            for term, value in rows:
                node = term.n3() if isinstance(term, Literal) else human_term(term, prefixes)
                table.add_row(escape(node), escape(res.label(term) or ""),
                              f"{value:,}" if grouped else f"{value:.6g}")
    console.print(table)
    secs = res.seconds
    where = f"{res.written:,} values written to <{res.graph}>" if res.graph else "not written"
    groups = f", {len(set(res.values.values())):,} groups" if grouped else ""
    console.print(
        f"{res.algorithm} ({res.backend}) on {res.nodes:,} nodes / {res.edges:,} edges{groups}; "
        f"{where}; view {secs['view']:.2f}s, build {secs['build']:.2f}s, "
        f"algorithm {secs['algorithm']:.2f}s, write {secs['write']:.2f}s",
        markup=False, highlight=False,
    )


def path(
    source: Annotated[str, typer.Argument(help="entity IRI (with or without <>) or prefixed name")],
    target: Annotated[str, typer.Argument(help="entity IRI (with or without <>) or prefixed name")],
    graph: GraphOption = None,
    directed: Annotated[bool, typer.Option("--directed", help="follow subject → object only")] = False,
    include_inferred: InferredOption = None,
    backend: Annotated[str, typer.Option("--backend", help="networkx | rustworkx")] = "networkx",
    write: Annotated[bool, typer.Option("--write/--no-write",
                                        help="copy the path into urn:kg-engine:analytics:path")] = False,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Print the statements along a shortest path between two entities (exit 1: no path)."""
    with user_errors(), open_kg(db, readonly=not write, create=False) as kg:
        prefixes = store_prefixes(kg)
        source_iri, target_iri = _term(source, prefixes), _term(target, prefixes)
        result = kg.shortest_path(source_iri, target_iri, graph=graph or None,
                                  directed=directed, backend=backend, write=write,
                                  **_inferred(include_inferred))
    if not result.nodes:
        console.print(f"no path between {source_iri.n3()} and {target_iri.n3()}",
                      markup=False, highlight=False)
        raise typer.Exit(1)
    for s, p, o in result.triples:
        console.print(f"{s.n3()} {p.n3()} {o.n3()} .", markup=False, highlight=False,
                      soft_wrap=True)
    console.print(f"# {len(result.triples)} statement(s)", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``analyze`` and ``path`` to ``app``."""
    app.command("analyze")(analyze)
    app.command("path")(path)
