"""Word CNN relation encoder with entity markers and relative-position features.

Zeng et al. (2014), "Relation Classification via Convolutional Deep Neural Network"
(https://aclanthology.org/C14-1220): convolution over word + position embeddings, max-pooled
over the sentence; here with several window sizes, typed entity markers inserted around the two
entities, and the convolution outputs at the two marker positions concatenated to the pooled
vector (the "lexical" entity features of the paper).

Formula: ``h_t = relu(W · [x_{t-k/2} … x_{t+k/2}] + b)``; ``r = [max_t h_t ; h_{e1} ; h_{e2}]``.
``h_{e1}`` is the state at the ``<e1>`` marker, or with ``entity_pooling = "span"`` the max over
the states of the whole marked mention (same for e2).

Shapes:
    input: :class:`~kg_engine.extraction.encoders.base.PairBatch` with ``P`` pairs →
    output ``[P, 3 · filters · len(windows)]``.
"""

from __future__ import annotations

from typing import Any

import torch
from spacy.util import registry
from torch import nn

from kg_engine.extraction.encoders.base import PairBatch, PairEncoder

__all__ = ["CNNEncoder", "build_cnn_encoder"]


class CNNEncoder(PairEncoder):
    """Multi-window CNN over an entity-marked pair sequence.

    Args:
        filters: convolution filters per window size.
        windows: window sizes (odd sizes keep positions aligned).
        **kwargs: the :class:`PairEncoder` hyper-parameters.
    """

    name = "kg_engine.CNNEncoder.v1"

    def __init__(self, filters: int = 230, windows: tuple[int, ...] = (3,), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hparams.update(filters=filters, windows=list(windows))
        self.filters = filters
        self.windows = [int(w) for w in windows]
        self.out_dim = 3 * filters * len(self.windows)

    def build_layers(self) -> None:
        self.convs = nn.ModuleList(
            nn.Conv1d(self.in_dim, self.filters, w, padding=w // 2) for w in self.windows
        )

    def forward(self, batch: PairBatch) -> torch.Tensor:
        f = self.featurize(batch)
        x = self.token_features(f).transpose(1, 2)  # [P, D, L]
        mask = f["mask"].unsqueeze(1)  # [P, 1, L]
        outs = []
        for conv in self.convs:
            h = torch.relu(conv(x)[:, :, : x.shape[2]])  # [P, F, L]
            pooled = h.masked_fill(~mask, -1e4).max(dim=2).values
            ht = h.transpose(1, 2)
            outs += [pooled, *self.entity_states(ht, f)]
        return self.drop(torch.cat(outs, dim=-1))


@registry.architectures("kg_engine.CNNEncoder.v1")
def build_cnn_encoder(
    width: int = 100,
    pos_width: int = 20,
    filters: int = 230,
    windows: list[int] = [3],  # noqa: B006 - confection passes lists
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
) -> CNNEncoder:
    """Registered architecture ``kg_engine.CNNEncoder.v1`` (see :class:`CNNEncoder`)."""
    return CNNEncoder(
        filters=filters, windows=tuple(windows), width=width, pos_width=pos_width,
        max_length=max_length, dropout=dropout, min_freq=min_freq,
        pretrained_vectors=pretrained_vectors, freeze_vectors=freeze_vectors,
        pretrained_width=pretrained_width, word_dropout=word_dropout, char_width=char_width,
        char_filters=char_filters, char_window=char_window, entity_pooling=entity_pooling,
        input_dropout=input_dropout,
    )
