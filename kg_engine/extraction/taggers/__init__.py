"""Sequence taggers for the ``kg_ner_tagger`` component: PyTorch modules, one concept per file.

==================================  ==================================================
``kg_engine.BiLSTMCRFTagger.v1``    :mod:`~kg_engine.extraction.taggers.bilstm_crf`
CRF layer (BIO, masked moves)       :mod:`~kg_engine.extraction.taggers.crf`
pretrained Transformer word vectors :mod:`~kg_engine.extraction.taggers.wordpiece`
==================================  ==================================================

Importing this package registers the architecture (it imports spaCy and torch).
"""

from __future__ import annotations

from kg_engine.extraction.taggers.bilstm_crf import BiLSTMCRFTagger, build_bilstm_crf_tagger
from kg_engine.extraction.taggers.crf import CRF, bio_encode, bio_spans, bio_tags

__all__ = [
    "CRF",
    "TAGGERS",
    "BiLSTMCRFTagger",
    "bio_encode",
    "bio_spans",
    "bio_tags",
    "build_bilstm_crf_tagger",
]

#: registered architecture name → builder
TAGGERS = {"kg_engine.BiLSTMCRFTagger.v1": build_bilstm_crf_tagger}
