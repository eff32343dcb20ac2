"""GNN link prediction over the knowledge graph (extra ``kg-engine[gnn]``: torch + PyG).

Modules (import them directly; this package imports nothing heavy itself):

* :mod:`kg_engine.gnn.data` — :class:`~kg_engine.gnn.data.KGData`: id maps, splits, PyG graph
  (also built from the SQL store);
* :mod:`kg_engine.gnn.datasets` — the standard split files (UMLS, Kinship, Nations,
  FB15k-237, WN18RR) from the shared data folder;
* :mod:`kg_engine.gnn.evaluation` — the one filtered-ranking evaluator;
* :mod:`kg_engine.gnn.models` — ComplEx, DistMult, R-GCN, CompGCN, NBFNet (one per file);
* :mod:`kg_engine.gnn.training` — config-driven training with checkpoints, exact resume,
  early stopping, AMP on CUDA and DDP via ``torchrun``.
"""
