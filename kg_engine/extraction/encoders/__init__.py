"""Relation encoders: PyTorch modules registered as spaCy architectures, one per file.

=====================================  ===================================================
registered name                        module
=====================================  ===================================================
``kg_engine.CNNEncoder.v1``            :mod:`~kg_engine.extraction.encoders.cnn`
``kg_engine.PCNNEncoder.v1``           :mod:`~kg_engine.extraction.encoders.pcnn`
``kg_engine.RNNEncoder.v1``            :mod:`~kg_engine.extraction.encoders.rnn`
``kg_engine.TransformerEncoder.v1``    :mod:`~kg_engine.extraction.encoders.transformer`
``kg_engine.PretrainedTransformerEncoder.v1``  :mod:`~kg_engine.extraction.encoders.pretrained`
=====================================  ===================================================

Importing this package registers them all (it imports spaCy and torch).
"""

from __future__ import annotations

from typing import Any

from kg_engine.errors import ConfigError
from kg_engine.extraction.encoders.base import PairBatch, RelationEncoder, Sentence
from kg_engine.extraction.encoders.cnn import CNNEncoder, build_cnn_encoder
from kg_engine.extraction.encoders.pcnn import PCNNEncoder, build_pcnn_encoder
from kg_engine.extraction.encoders.pretrained import (
    PretrainedTransformerEncoder,
    build_pretrained_encoder,
)
from kg_engine.extraction.encoders.rnn import RNNEncoder, build_rnn_encoder
from kg_engine.extraction.encoders.transformer import TransformerEncoder, build_transformer_encoder

__all__ = [
    "ENCODERS",
    "CNNEncoder",
    "PCNNEncoder",
    "PairBatch",
    "PretrainedTransformerEncoder",
    "RNNEncoder",
    "RelationEncoder",
    "Sentence",
    "TransformerEncoder",
    "check_encoder_name",
    "make_encoder",
]

#: registered architecture name → builder
ENCODERS = {
    "kg_engine.CNNEncoder.v1": build_cnn_encoder,
    "kg_engine.PCNNEncoder.v1": build_pcnn_encoder,
    "kg_engine.RNNEncoder.v1": build_rnn_encoder,
    "kg_engine.TransformerEncoder.v1": build_transformer_encoder,
    "kg_engine.PretrainedTransformerEncoder.v1": build_pretrained_encoder,
}

_SHORT = {
    "cnn": "kg_engine.CNNEncoder.v1",
    "pcnn": "kg_engine.PCNNEncoder.v1",
    "rnn": "kg_engine.RNNEncoder.v1",
    "transformer": "kg_engine.TransformerEncoder.v1",
    "pretrained": "kg_engine.PretrainedTransformerEncoder.v1",
    "minilm": "kg_engine.PretrainedTransformerEncoder.v1",
}


def check_encoder_name(name: str) -> str:
    """Return the registered name for ``name`` (full name or short alias).

    Raises:
        ConfigError: unknown name; the message lists the valid ones.

    Example:
        >>> check_encoder_name("cnn")
        'kg_engine.CNNEncoder.v1'
        >>> check_encoder_name("kg_engine.LSTM.v9")
        Traceback (most recent call last):
        ...
        kg_engine.errors.ConfigError: unknown relation encoder 'kg_engine.LSTM.v9'; valid: kg_engine.CNNEncoder.v1, kg_engine.PCNNEncoder.v1, kg_engine.RNNEncoder.v1, kg_engine.TransformerEncoder.v1, kg_engine.PretrainedTransformerEncoder.v1 (or cnn, pcnn, rnn, transformer, pretrained, minilm)
    """
    if name in ENCODERS:
        return name
    if name in _SHORT:
        return _SHORT[name]
    raise ConfigError(
        f"unknown relation encoder {name!r}; valid: {', '.join(ENCODERS)} "
        f"(or {', '.join(_SHORT)})"
    )


def make_encoder(name: str, **hparams: Any) -> RelationEncoder:
    """Build an encoder by registered name or short alias.

    Raises:
        ConfigError: unknown name or unknown hyper-parameter.

    Example:
        >>> make_encoder("cnn", filters=8).out_dim
        24
    """
    builder = ENCODERS[check_encoder_name(name)]
    try:
        return builder(**hparams)
    except TypeError as exc:
        raise ConfigError(f"{name}: {exc}") from exc
