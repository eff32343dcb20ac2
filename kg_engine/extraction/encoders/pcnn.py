"""Piecewise CNN relation encoder.

Zeng et al. (2015), "Distant Supervision for Relation Extraction via Piecewise Convolutional
Neural Networks" (https://aclanthology.org/D15-1203): the convolution output is max-pooled
separately over the three segments cut by the two entities (before/at e1, between, from e2 on),
which keeps the structure a single max-pool loses.

Formula: ``h = relu(conv([w; p1; p2]))``; ``r = [max_{t≤e1} h_t ; max_{e1<t≤e2} h_t ; max_{t>e2} h_t]``.

Shapes:
    input: ``PairBatch`` with ``P`` pairs → output ``[P, 3 · filters]``.
"""

from __future__ import annotations

from typing import Any

import torch
from spacy.util import registry
from torch import nn

from kg_engine.extraction.encoders.base import PairBatch, PairEncoder

__all__ = ["PCNNEncoder", "build_pcnn_encoder"]


class PCNNEncoder(PairEncoder):
    """CNN with piecewise max-pooling over the three entity-delimited segments.

    Args:
        filters: convolution filters.
        window: convolution window size (odd).
        **kwargs: the :class:`PairEncoder` hyper-parameters.
    """

    name = "kg_engine.PCNNEncoder.v1"

    def __init__(self, filters: int = 230, window: int = 3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hparams.update(filters=filters, window=window)
        self.filters = filters
        self.window = int(window)
        self.out_dim = 3 * filters

    def build_layers(self) -> None:
        self.conv = nn.Conv1d(self.in_dim, self.filters, self.window, padding=self.window // 2)

    def forward(self, batch: PairBatch) -> torch.Tensor:
        f = self.featurize(batch)
        x = self.token_features(f).transpose(1, 2)
        h = torch.relu(self.conv(x)[:, :, : x.shape[2]])  # [P, F, L]
        pos = torch.arange(h.shape[2]).unsqueeze(0)
        e1, e2 = f["e1"].unsqueeze(1), f["e2"].unsqueeze(1)
        valid = f["mask"]
        segments = (pos <= e1, (pos > e1) & (pos <= e2), pos > e2)
        outs = []
        for seg in segments:
            m = (seg & valid).unsqueeze(1)
            pooled = h.masked_fill(~m, -1e4).max(dim=2).values
            outs.append(torch.where(m.any(dim=2), pooled, torch.zeros_like(pooled)))
        return self.drop(torch.cat(outs, dim=-1))


@registry.architectures("kg_engine.PCNNEncoder.v1")
def build_pcnn_encoder(
    width: int = 100,
    pos_width: int = 20,
    filters: int = 230,
    window: int = 3,
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
) -> PCNNEncoder:
    """Registered architecture ``kg_engine.PCNNEncoder.v1`` (see :class:`PCNNEncoder`)."""
    return PCNNEncoder(
        filters=filters, window=window, width=width, pos_width=pos_width, max_length=max_length,
        dropout=dropout, min_freq=min_freq, pretrained_vectors=pretrained_vectors, freeze_vectors=freeze_vectors,
        pretrained_width=pretrained_width, word_dropout=word_dropout, char_width=char_width,
        char_filters=char_filters, char_window=char_window, entity_pooling=entity_pooling,
        input_dropout=input_dropout,
    )
