"""PyTorch Geometric graphs of the store, saved so ``torch.load(weights_only=True)`` reads them.

* ``pyg`` — a homogeneous ``Data``: the view's statements as a
  :class:`~kg_engine.gnn.data.KGData` (entities and relations numbered by their sorted N3
  names, as the GNN trainer numbers them) and its message-passing graph without inverse
  edges: ``edge_index [2, E]``, ``edge_type [E]``, ``num_nodes``.
* ``pyg-hetero`` — a ``HeteroData``: node type = local name of the node's first
  ``rdf:type`` (``Resource`` when untyped), edge type ``(source type, predicate local
  name, target type)``; every node type keeps its IRIs (``node_names``).

The file holds plain tensors, lists and dicts (no pickled classes); :func:`load_pyg` builds
the PyG object again.

Example:
    >>> from rdflib import URIRef, RDF
    >>> from kg_engine.store import open_store
    >>> from kg_engine.analytics.view import select
    >>> store = open_store("sqlite://")
    >>> ex = lambda n: URIRef("urn:ex:" + n)
    >>> _ = store.add([(ex("a"), ex("knows"), ex("b")), (ex("a"), RDF.type, ex("Person"))])
    >>> data = from_payload(payload(store, select(store), hetero=True))
    >>> data.node_types, data.edge_types
    (['Person', 'Resource'], [('Person', 'knows', 'Resource')])
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any

from kg_engine.analytics.view import IdView
from kg_engine.core.files import atomic_output, is_gzip
from kg_engine.errors import MissingDependencyError, ModelError
from kg_engine.export.networks import local_name

__all__ = ["FORMAT_TAG", "from_payload", "load_pyg", "payload", "write_pyg"]

FORMAT_TAG = "kg-engine-pyg-1"


def _torch() -> Any:
    try:
        import torch
        import torch_geometric  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(exc.name or "torch_geometric", "gnn") from exc
    return torch


def payload(store: Any, view: IdView, *, hetero: bool) -> dict[str, Any]:
    """The file content: tensors and names only."""
    torch = _torch()
    terms = view.decode(store)
    if not hetero:
        from kg_engine.gnn.data import KGData

        entities = sorted({terms[n].n3() for n in view.nodes})
        relations = sorted({terms[p].n3() for _, p, _, _, _ in view.edges})
        e_index = {n: i for i, n in enumerate(entities)}
        r_index = {r: i for i, r in enumerate(relations)}
        triples = torch.tensor(
            [[e_index[terms[s].n3()], r_index[terms[p].n3()], e_index[terms[o].n3()]]
             for s, p, o, _, _ in view.edges], dtype=torch.long).reshape(-1, 3)
        graph = KGData(entities=entities, relations=relations, train=triples).graph(inverse=False)
        return {"format": FORMAT_TAG, "kind": "data", "edge_index": graph.edge_index,
                "edge_type": graph.edge_type, "num_nodes": len(entities),
                "entities": entities, "relations": relations}
    node_type: dict[int, str] = {}
    for n in view.nodes:
        types = sorted(local_name(str(terms[t])) for t in view.types.get(n, ()))
        node_type[n] = types[0] if types else "Resource"
    names: dict[str, list[str]] = {}
    index: dict[int, int] = {}
    for n in sorted(view.nodes, key=lambda n: terms[n].n3()):
        members = names.setdefault(node_type[n], [])
        index[n] = len(members)
        members.append(terms[n].n3())
    edges: dict[str, list[list[int]]] = {}
    predicates: dict[str, list[str]] = {}
    for s, p, o, _, _ in view.edges:
        key = "\t".join((node_type[s], local_name(str(terms[p])), node_type[o]))
        edges.setdefault(key, [[], []])
        edges[key][0].append(index[s])
        edges[key][1].append(index[o])
        iris = predicates.setdefault(key, [])
        if str(terms[p]) not in iris:
            iris.append(str(terms[p]))
    return {"format": FORMAT_TAG, "kind": "hetero", "node_names": names,
            "edge_index": {k: torch.tensor(v, dtype=torch.long) for k, v in sorted(edges.items())},
            "edge_predicates": predicates}


def from_payload(data: dict[str, Any]) -> Any:
    """The PyG ``Data`` / ``HeteroData`` of a :func:`payload`."""
    _torch()
    from torch_geometric.data import Data, HeteroData

    if data.get("format") != FORMAT_TAG:
        raise ModelError(f"not a kg-engine PyG export (format tag {data.get('format')!r})")
    if data["kind"] == "data":
        out = Data(edge_index=data["edge_index"], edge_type=data["edge_type"],
                   num_nodes=data["num_nodes"])
        out.entities, out.relations = data["entities"], data["relations"]
        return out
    het = HeteroData()
    for t, members in sorted(data["node_names"].items()):
        het[t].num_nodes = len(members)
        het[t].node_names = members
    for key, index in data["edge_index"].items():
        src, rel, dst = key.split("\t")
        het[src, rel, dst].edge_index = index
        het[src, rel, dst].predicates = data["edge_predicates"][key]
    return het


def write_pyg(store: Any, view: IdView, path: str | Path, *, hetero: bool) -> int:
    """Save the view for PyG; returns the number of edges."""
    torch = _torch()
    content = payload(store, view, hetero=hetero)
    with atomic_output(path, binary=True) as f:
        torch.save(content, f)
    return len(view.edges)


def load_pyg(path: str | Path) -> Any:
    """Read a file written by ``kg export --format pyg|pyg-hetero`` (``weights_only`` load).

    Raises:
        ModelError: the file is not such an export.
    """
    torch = _torch()
    try:
        with (gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")) as f:
            data = torch.load(io.BytesIO(f.read()), weights_only=True)
    except Exception as exc:
        raise ModelError(f"{path}: not a kg-engine PyG export ({exc})") from exc
    return from_payload(data)
