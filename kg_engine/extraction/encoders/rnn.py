"""Bidirectional LSTM/GRU relation encoder with attention pooling.

Zhou et al. (2016), "Attention-Based Bidirectional Long Short-Term Memory Networks for Relation
Classification" (https://aclanthology.org/P16-2034): a BiLSTM over the words, attention-weighted
sum of its states; here over an entity-marked sequence with position features, and the states at
the two entity markers concatenated to the attention summary.

Formula: ``H = BiRNN(x)``; ``α = softmax(wᵀ tanh(H))``; ``r = [tanh(Hᵀα) ; H_{e1} ; H_{e2}]``.
``H_{e1}`` is the state at the ``<e1>`` marker, or with ``entity_pooling = "span"`` the max over
the states of the whole marked mention (same for e2).

Shapes:
    input: ``PairBatch`` with ``P`` pairs → output ``[P, 3 · 2 · hidden]``.
"""

from __future__ import annotations

from typing import Any

import torch
from spacy.util import registry
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from kg_engine.errors import ConfigError
from kg_engine.extraction.encoders.base import PairBatch, PairEncoder

__all__ = ["RNNEncoder", "build_rnn_encoder"]


class RNNEncoder(PairEncoder):
    """BiLSTM or BiGRU with additive attention.

    Args:
        hidden: hidden size per direction.
        layers: stacked RNN layers.
        cell: ``"lstm"`` or ``"gru"``.
        **kwargs: the :class:`PairEncoder` hyper-parameters.

    Raises:
        ConfigError: ``cell`` is neither ``lstm`` nor ``gru``.
    """

    name = "kg_engine.RNNEncoder.v1"

    def __init__(self, hidden: int = 150, layers: int = 1, cell: str = "lstm", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if cell not in ("lstm", "gru"):
            raise ConfigError(f"RNNEncoder cell must be 'lstm' or 'gru', got {cell!r}")
        self.hparams.update(hidden=hidden, layers=layers, cell=cell)
        self.hidden, self.layers, self.cell = hidden, layers, cell
        self.out_dim = 3 * 2 * hidden

    def build_layers(self) -> None:
        rnn = nn.LSTM if self.cell == "lstm" else nn.GRU
        self.rnn = rnn(
            self.in_dim, self.hidden, num_layers=self.layers, batch_first=True,
            bidirectional=True, dropout=self.dropout_p if self.layers > 1 else 0.0,
        )
        self.att = nn.Linear(2 * self.hidden, 1, bias=False)

    def forward(self, batch: PairBatch) -> torch.Tensor:
        f = self.featurize(batch)
        x = self.token_features(f)
        lengths = f["mask"].sum(1).clamp(min=1)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        h, _ = self.rnn(packed)
        h, _ = pad_packed_sequence(h, batch_first=True, total_length=x.shape[1])
        scores = self.att(torch.tanh(h)).squeeze(-1).masked_fill(~f["mask"], -1e4)
        alpha = torch.softmax(scores, dim=1).unsqueeze(-1)
        summary = torch.tanh((alpha * h).sum(1))
        out = torch.cat([summary, *self.entity_states(h, f)], dim=-1)
        return self.drop(out)


@registry.architectures("kg_engine.RNNEncoder.v1")
def build_rnn_encoder(
    width: int = 100,
    pos_width: int = 20,
    hidden: int = 150,
    layers: int = 1,
    cell: str = "lstm",
    max_length: int = 100,
    dropout: float = 0.3,
    min_freq: int = 1,
    pretrained_vectors: str = "",
    freeze_vectors: bool = False,
    pretrained_width: int = 0,
    word_dropout: float = 0.0,
    char_width: int = 0,
    char_filters: int = 0,
    char_window: int = 3,
    entity_pooling: str = "marker",
    input_dropout: float | None = None,
) -> RNNEncoder:
    """Registered architecture ``kg_engine.RNNEncoder.v1`` (see :class:`RNNEncoder`)."""
    return RNNEncoder(
        hidden=hidden, layers=layers, cell=cell, width=width, pos_width=pos_width,
        max_length=max_length, dropout=dropout, min_freq=min_freq,
        pretrained_vectors=pretrained_vectors, freeze_vectors=freeze_vectors,
        pretrained_width=pretrained_width, word_dropout=word_dropout, char_width=char_width,
        char_filters=char_filters, char_window=char_window, entity_pooling=entity_pooling,
        input_dropout=input_dropout,
    )
