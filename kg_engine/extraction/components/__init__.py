"""spaCy components of kg-engine; importing this package registers them (and the encoders).

* ``kg_relation_extractor`` — :class:`~kg_engine.extraction.components.relation_extractor.RelationExtractor`.
* ``kg_doc_relation_extractor`` — :class:`~kg_engine.extraction.components.doc_relation_extractor.DocRelationExtractor`
  (document-level relations, Wikidata schema).
* ``kg_pattern_relation_extractor`` — :class:`~kg_engine.extraction.pattern_relations.PatternRelationExtractor`
  (Wikidata relations from dependency paths through trigger words; the default pipeline's).
* ``kg_entity_typer`` — :class:`~kg_engine.extraction.components.entity_typer.EntityTyper`
  (re-scores the NER's PER/ORG/LOC types in context with the document relation model's encoder).
* ``kg_ner_tagger`` — :class:`~kg_engine.extraction.components.ner_tagger.NERTagger` (BiLSTM-CRF NER).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kg_engine.errors import ModelError
from kg_engine.extraction import encoders as _encoders  # noqa: F401 - registers architectures
from kg_engine.extraction.components.doc_relation_extractor import (
    DocRelationExtractor,
    make_doc_relation_extractor,
)
from kg_engine.extraction.components.entity_typer import EntityTyper, make_entity_typer
from kg_engine.extraction.components.ner_tagger import NERTagger, make_ner_tagger
from kg_engine.extraction.components.relation_extractor import (
    RelationExtractor,
    make_relation_extractor,
)
from kg_engine.extraction.pattern_relations import (
    PatternRelationExtractor,
    make_pattern_relation_extractor,
)

__all__ = [
    "DocRelationExtractor",
    "EntityTyper",
    "NERTagger",
    "PatternRelationExtractor",
    "RelationExtractor",
    "add_relation_extractor",
    "load_relation_pipeline",
    "make_doc_relation_extractor",
    "make_entity_typer",
    "make_ner_tagger",
    "make_pattern_relation_extractor",
    "make_relation_extractor",
]


def load_relation_pipeline(path: str | Path) -> Any:
    """Load a saved pipeline containing ``kg_relation_extractor`` (e.g. ``OUTPUT/model-best``).

    Raises:
        ModelError: the folder is missing or is not a spaCy pipeline.
    """
    import spacy

    path = Path(path)
    if not (path / "config.cfg").is_file():
        raise ModelError(f"{path}: not a saved spaCy pipeline (no config.cfg)")
    return spacy.load(path)


def add_relation_extractor(nlp: Any, path: str | Path, name: str = "kg_relation_extractor") -> Any:
    """Append the trained relation extractor saved at ``path`` to ``nlp`` (after its NER).

    Args:
        nlp: a spaCy pipeline that sets ``doc.ents`` (e.g. a NER model).
        path: a pipeline saved by ``kg train-re`` (``OUTPUT/model-best``).
        name: name of the component in the saved pipeline.

    Returns:
        The added :class:`RelationExtractor`.
    """
    source = load_relation_pipeline(path)
    if name not in source.pipe_names:
        raise ModelError(f"{path}: has no component {name!r} (has {source.pipe_names})")
    return nlp.add_pipe(name, source=source)
