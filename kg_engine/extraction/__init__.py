"""Text → entities → relations → RDF triples with provenance.

Sub-modules (heavy dependencies such as spaCy and torch are imported inside them, never here):

* :mod:`kg_engine.extraction.ner` — load a spaCy pipeline, map its labels, clean entity spans.
* :mod:`kg_engine.extraction.linking` — mentions → canonical IRIs (aliases, acronyms, types).
* :mod:`kg_engine.extraction.context_split` — split same-name mentions by their contexts.
* :mod:`kg_engine.extraction.to_rdf` — a processed ``Doc`` → :class:`~kg_engine.core.TripleBatch`.
* :mod:`kg_engine.extraction.corpus` / :mod:`kg_engine.extraction.runner` — read corpora and run
  the pipeline over them, resumably.
* :mod:`kg_engine.extraction.pipeline` — ``pipelines/*.cfg`` → a ready pipeline + RDF mapping.
* :mod:`kg_engine.extraction.ingest` — idempotent writes into a store (used by
  ``KnowledgeGraph.extract``); :mod:`kg_engine.extraction.demo` — the ``kg demo`` step.
* :mod:`kg_engine.extraction.components` — the ``kg_relation_extractor`` spaCy component.
* :mod:`kg_engine.extraction.training` — training and scoring NER and relation models.
"""
