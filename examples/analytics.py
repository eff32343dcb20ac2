"""Analytics tour on the sample university graph: PageRank, communities, a path, exports.

Run ``python examples/analytics.py [--plot docs/analytics_pagerank.png]``; the plot (needs
matplotlib) is the figure of ``docs/analytics.md``: nodes sized and coloured by PageRank,
edges coloured by origin.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from kg_engine import KnowledgeGraph

DATA = Path(__file__).resolve().parents[1] / "data" / "sample" / "university.ttl"
KG = "https://example.org/kg/"


def main(db: str = "sqlite://", plot: str | None = None) -> KnowledgeGraph:
    kg = KnowledgeGraph(db)
    kg.load(DATA)
    rank = kg.analyze("pagerank")
    print(f"PageRank of {rank.nodes} nodes written to <{rank.graph}>; top 3:")
    for node, value in rank.top(3):
        print(f"  {value:.4f}  {rank.label(node) or node}")
    groups = kg.analyze("communities", seed=0)
    print(f"{len(set(groups.values.values()))} Louvain communities")
    path = kg.shortest_path(KG + "ada", KG + "Harbortown")
    print("path ada → Harbortown:")
    for s, p, o in path.triples:
        print(f"  {s.n3()} {p.n3()} {o.n3()} .")
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("kg.ttl", "kg.graphml", "ada.html"):
            res = kg.export(Path(tmp) / name, entity=KG + "ada" if name.endswith("html") else None)
            print(f"exported {res.statements} {res.format} statements/edges")
    if plot:
        draw_pagerank(kg, plot)
    return kg


def draw_pagerank(kg: KnowledgeGraph, out: str) -> None:
    """Draw the view with node size and colour by PageRank (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx

    g = kg.to_networkx()
    rank = kg.analyze("pagerank", write=False).as_terms()
    pos = nx.spring_layout(g, seed=7, k=0.9)
    top = max(rank.values())
    fig, ax = plt.subplots(figsize=(8, 6), dpi=90)
    colors = {"asserted": "#9ca3af", "inferred": "#2563eb", "predicted": "#d97706",
              "extracted": "#059669"}
    nx.draw_networkx_edges(g, pos, ax=ax, alpha=0.6, arrowsize=8, width=0.8,
                           edge_color=[colors[d["origin"]] for *_, d in g.edges(data=True)])
    nodes = nx.draw_networkx_nodes(g, pos, ax=ax, node_size=[60 + 900 * rank[n] / top for n in g],
                                   node_color=[rank[n] for n in g], cmap="viridis")
    best = sorted(g, key=lambda n: -rank[n])[:10]
    nx.draw_networkx_labels(g, pos, ax=ax, font_size=8,
                            labels={n: g.nodes[n]["label"] or str(n).rsplit("/", 1)[-1]
                                    for n in best})
    fig.colorbar(nodes, ax=ax, shrink=0.7, label="PageRank")
    ax.set_title("PageRank of the sample university graph (kg analyze pagerank)")
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="sqlite://")
    ap.add_argument("--plot", help="write the PageRank figure to this PNG")
    args = ap.parse_args()
    main(args.db, args.plot)
