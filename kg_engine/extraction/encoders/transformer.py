"""Transformer relation encoder trained from scratch.

Vaswani et al. (2017), "Attention Is All You Need" (https://arxiv.org/abs/1706.03762): a small
pre-norm Transformer encoder over word + learned absolute position embeddings, with the two
relative-position features of the CNN encoders and typed entity markers; the pair vector is the
states at the two markers plus a masked max-pool over the sequence.

Formula: ``H = TransformerEncoder(W_in [w; p1; p2] + pos)``; ``r = [H_{e1} ; H_{e2} ; max_t H_t]``.
``H_{e1}`` is the state at the ``<e1>`` marker, or with ``entity_pooling = "span"`` the max over
the states of the whole marked mention (same for e2).

Shapes:
    input: ``PairBatch`` with ``P`` pairs → output ``[P, 3 · d_model]``.
"""

from __future__ import annotations

from typing import Any

import torch
from spacy.util import registry
from torch import nn

from kg_engine.errors import ConfigError
from kg_engine.extraction.encoders.base import PairBatch, PairEncoder

__all__ = ["TransformerEncoder", "build_transformer_encoder"]


class TransformerEncoder(PairEncoder):
    """Small Transformer encoder from random initialisation.

    Args:
        d_model: model width.
        heads: attention heads (must divide ``d_model``).
        layers: encoder layers.
        ff: feed-forward width.
        absolute_positions: add learned absolute position embeddings (default, as in the
            first version). ``False`` drops them: the two relative-position features already
            fix every token's place relative to the entities, and the N(0, 1)-initialised
            absolute table otherwise starts out louder than the word features.
        **kwargs: the :class:`PairEncoder` hyper-parameters.

    Raises:
        ConfigError: ``heads`` does not divide ``d_model``.
    """

    name = "kg_engine.TransformerEncoder.v1"

    def __init__(self, d_model: int = 128, heads: int = 4, layers: int = 2, ff: int = 256,
                 absolute_positions: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if d_model % heads:
            raise ConfigError(f"TransformerEncoder: heads={heads} must divide d_model={d_model}")
        self.hparams.update(d_model=d_model, heads=heads, layers=layers, ff=ff)
        self.d_model, self.heads, self.n_layers, self.ff = d_model, heads, layers, ff
        self.absolute_positions = bool(absolute_positions)
        self.out_dim = 3 * d_model

    def build_layers(self) -> None:
        self.proj = nn.Linear(self.in_dim, self.d_model)
        if self.absolute_positions:
            self.abs_pos = nn.Embedding(self.max_length + 8, self.d_model)
        layer = nn.TransformerEncoderLayer(
            self.d_model, self.heads, self.ff, dropout=self.dropout_p, batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, self.n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(self.d_model)

    def forward(self, batch: PairBatch) -> torch.Tensor:
        f = self.featurize(batch)
        x = self.proj(self.token_features(f))
        if self.absolute_positions:
            positions = torch.arange(x.shape[1]).clamp(max=self.abs_pos.num_embeddings - 1)
            x = x + self.abs_pos(positions).unsqueeze(0)
        h = self.norm(self.encoder(x, src_key_padding_mask=~f["mask"]))
        pooled = h.masked_fill(~f["mask"].unsqueeze(-1), -1e4).max(dim=1).values
        out = torch.cat([*self.entity_states(h, f), pooled], dim=-1)
        return self.drop(out)


@registry.architectures("kg_engine.TransformerEncoder.v1")
def build_transformer_encoder(
    width: int = 128,
    pos_width: int = 16,
    d_model: int = 128,
    heads: int = 4,
    layers: int = 2,
    ff: int = 256,
    max_length: int = 100,
    dropout: float = 0.2,
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
    absolute_positions: bool = True,
) -> TransformerEncoder:
    """Registered architecture ``kg_engine.TransformerEncoder.v1`` (see :class:`TransformerEncoder`)."""
    return TransformerEncoder(
        d_model=d_model, heads=heads, layers=layers, ff=ff, absolute_positions=absolute_positions,
        width=width, pos_width=pos_width,
        max_length=max_length, dropout=dropout, min_freq=min_freq,
        pretrained_vectors=pretrained_vectors, freeze_vectors=freeze_vectors,
        pretrained_width=pretrained_width, word_dropout=word_dropout, char_width=char_width,
        char_filters=char_filters, char_window=char_window, entity_pooling=entity_pooling,
        input_dropout=input_dropout,
    )
