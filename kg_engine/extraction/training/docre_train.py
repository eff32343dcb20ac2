"""Train the document-level relation model (:class:`DocREModel`) on DocRED-format data.

The frozen bottom of the encoder is run once per document and cached (fp16); each epoch only
runs the trained top layer(s) and the head. The best model on the held-out documents (F1) is
saved after every improving epoch, so a run cut by its time budget still leaves a model.

Reproduce the shipped model (Re-DocRED dev: 450 train / 50 held-out documents, seed 13)::

    HF_HUB_OFFLINE=1 python -m kg_engine.extraction.training.docre_train \\
        --data ../shared/data/re/redocred --output data/models/docre_minilm \\
        --epochs 15 --max-seconds 2400 --seed 13 --lr-head 1.5e-3 --lr-encoder 1e-4

``--encoder scratch`` trains the from-scratch encoder instead (BiLSTM + attention, word
embeddings learnt from the training documents; :mod:`~kg_engine.extraction.encoders.doc_scratch`);
the exact command of the shipped one is in ``data/models/docre_scratch/README.md``.
``--static minilm`` adds frozen static word vectors to it (MiniLM's word-piece input embeddings,
:mod:`~kg_engine.extraction.encoders.static_vectors`), ``--dist-width 16`` head-tail distance
buckets to the head, ``--fit-shift`` fits the decision shift of the threshold class on the
held-out documents after training.

Example (the pure functions):
    >>> from kg_engine.extraction.training.docred import DocREDDocument
    >>> d = DocREDDocument("t", [["A", "B"]], [[], []], [(0, 1, "P1", ())])
    >>> d.labels
    [(0, 1, 'P1', ())]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from kg_engine.extraction.components.docre_model import (
    DocREModel,
    adaptive_threshold_loss,
    load_docre,
    pair_distance_buckets,
    save_docre,
)
from kg_engine.extraction.encoders.doc_scratch import SCRATCH_DEFAULTS, ScratchDocEncoder
from kg_engine.extraction.training.docred import (
    DOCRED_TYPES,
    DocREDDocument,
    facts_in,
    read_docred,
    score_docred,
    split_documents,
)

__all__ = ["DocFeatures", "featurize", "fit_threshold_shift", "predict_documents", "train_docre",
           "type_signatures"]


class DocFeatures:
    """A document ready for the model: cached bottom windows, entity marker positions, types."""

    def __init__(self, model: DocREModel, doc: DocREDDocument, cache: bool = True) -> None:
        spans = doc.mention_spans()
        types = [doc.entity_type(e) for e, ms in enumerate(doc.entities) for _m in ms]
        enc = model.encoder.prepare(doc.words, spans, types)
        self.n = len(enc.ids)
        self.ids = enc.ids
        self.windows = ([w.half() if w.is_floating_point() else w
                         for w in model.encoder.bottom(enc.ids)] if cache else None)
        self.entities: list[list[int]] = []
        k = 0
        for ms in doc.entities:
            self.entities.append(enc.mention_pos[k:k + len(ms)])
            k += len(ms)
        self.types = torch.tensor([model.type_id(doc.entity_type(e))
                                   for e in range(len(doc.entities))], dtype=torch.long)
        ne = len(doc.entities)
        self.pairs = torch.tensor([(h, t) for h in range(ne) for t in range(ne) if h != t],
                                  dtype=torch.long).reshape(-1, 2)
        index = {r: i + 1 for i, r in enumerate(model.relations)}
        row = {(h, t): i for i, (h, t) in enumerate(self.pairs.tolist())}
        self.labels = torch.zeros(len(self.pairs), 1 + len(model.relations))
        for h, t, r, _ev in doc.labels:
            if (h, t) in row and r in index:
                self.labels[row[(h, t)], index[r]] = 1.0
        self.labels[self.labels[:, 1:].sum(1) == 0, 0] = 1.0

    def freeze(self, model: DocREModel) -> None:
        """Cache the encoder's entity features (for training the head alone)."""
        with torch.no_grad():
            H, A = model.encoder.top(self.windows, self.n)
            E, EA = model.entity_features(H, A, self.entities)
        self.frozen = (H.half(), E.half(), EA.half())
        self.windows = None

    def logits(self, model: DocREModel) -> torch.Tensor:
        if getattr(self, "frozen", None) is not None:
            H, E, EA = (x.float() for x in self.frozen)
            dist = (pair_distance_buckets(self.entities, self.pairs)
                    if model.dist_embed is not None else None)
            return model.pair_scores(H, E, EA, self.types, self.pairs, dist)
        windows = self.windows if self.windows is not None else model.encoder.bottom(self.ids)
        H, A = model.encoder.top(windows, self.n)
        return model.pair_logits(H, A, self.entities, self.types, self.pairs)


def featurize(model: DocREModel, docs: Sequence[DocREDDocument], cache: bool = True
              ) -> list[DocFeatures]:
    return [DocFeatures(model, d, cache) for d in docs if len(d.entities) > 1]


def type_signatures(docs: Sequence[DocREDDocument]) -> dict[str, set[tuple[str, str]]]:
    """relation → the (head type, tail type) pairs it has in ``docs``."""
    out: dict[str, set[tuple[str, str]]] = {}
    for d in docs:
        for h, t, r, _ in d.labels:
            out.setdefault(r, set()).add((d.entity_type(h), d.entity_type(t)))
    return out


@torch.no_grad()
def predict_documents(model: DocREModel, docs: Sequence[DocREDDocument],
                      feats: Sequence[DocFeatures] | None = None, margin: float = 0.0
                      ) -> list[tuple[str, int, int, str]]:
    """``(title, h, t, relation)`` predictions for ``docs`` (features computed when not given)."""
    model.eval()
    docs = [d for d in docs if len(d.entities) > 1]
    feats = feats if feats is not None else featurize(model, docs, cache=False)
    out = []
    for d, f in zip(docs, feats):
        decided = model.decide(f.logits(model), margin)
        for (h, t), rels in zip(f.pairs.tolist(), decided):
            out.extend((d.title, h, t, model.relations[i]) for i, _s in rels)
    return out


#: threshold shifts tried by :func:`fit_threshold_shift`
SHIFTS = tuple(x / 4 for x in range(-8, 5))


@torch.no_grad()
def fit_threshold_shift(model: DocREModel, docs: Sequence[DocREDDocument],
                        facts: set[tuple[str, str, str]] | None = None,
                        shifts: Sequence[float] = SHIFTS) -> tuple[float, dict[str, Any]]:
    """The ``th_shift`` (from ``shifts``) with the best F1 on ``docs``, and its scores.

    Ties go to the shift nearest 0. The model's own ``th_shift`` is left unchanged.
    """
    docs = [d for d in docs if len(d.entities) > 1]
    model.eval()
    feats = featurize(model, docs, cache=False)
    logits = [f.logits(model) for f in feats]
    saved = model.th_shift
    best: tuple[float, float, dict[str, Any]] = (-1.0, 0.0, {})
    try:
        for shift in sorted(shifts, key=abs):
            model.th_shift = shift
            pred = [(d.title, h, t, model.relations[i])
                    for d, f, lg in zip(docs, feats, logits)
                    for (h, t), rels in zip(f.pairs.tolist(), model.decide(lg))
                    for i, _s in rels]
            scores = score_docred(pred, docs, facts)
            if scores["f1"] > best[0]:
                best = (scores["f1"], shift, scores)
    finally:
        model.th_shift = saved
    return best[1], best[2]


def train_docre(
    train: Sequence[DocREDDocument],
    held_out: Sequence[DocREDDocument],
    relations: Sequence[str],
    output: str | Path,
    *,
    epochs: int = 12,
    batch_size: int = 4,
    lr_head: float = 5e-4,
    lr_encoder: float = 5e-5,
    warmup: float = 0.06,
    max_seconds: float = 3000.0,
    seed: int = 13,
    model_kwargs: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
    freeze_encoder: bool = False,
    init: str | Path | None = None,
    max_cpu_seconds: float | None = None,
    min_freq: int = 2,
    fit_shift: bool = False,
    log: Any = print,
) -> dict[str, Any]:
    """Train, keep the best held-out F1 model in ``output``; return the training log.

    ``freeze_encoder``: the top layer(s) keep their pretrained weights and the entity features
    are cached once, so an epoch only runs the head (several times more updates per CPU-second).
    ``init``: a model folder saved by :func:`save_docre` to continue from (its relations, types and
    hyper-parameters are used; ``relations`` and ``model_kwargs`` must then agree with it).
    ``model_kwargs={"encoder": "scratch", "scratch": {...}}``: a from-scratch encoder whose
    vocabulary is the training words seen at least ``min_freq`` times.
    ``max_cpu_seconds``: also stop when this process has used that much CPU time.
    ``fit_shift``: afterwards, fit the saved model's ``th_shift`` on ``held_out``
    (:func:`fit_threshold_shift`) and save it again.
    """
    torch.manual_seed(seed)
    rng = random.Random(seed)
    t0, c0 = time.time(), time.process_time()
    if init is not None:
        model, _ = load_docre(init)
        if model.relations != list(relations):
            raise ValueError(f"{init}: its relations differ from the training data's")
    else:
        kwargs = dict(model_kwargs or {})
        if kwargs.get("encoder") == "scratch" and kwargs.get("vocab") is None:
            kwargs["vocab"] = ScratchDocEncoder.build_vocab((d.words for d in train), min_freq)
        model = DocREModel(relations, DOCRED_TYPES, **kwargs)
    model.set_type_constraints(type_signatures(train))
    tr = featurize(model, train)
    ho_docs = [d for d in held_out if len(d.entities) > 1]
    ho = featurize(model, ho_docs)
    facts = facts_in(train)
    if freeze_encoder:
        for p in model.encoder.parameters():
            p.requires_grad_(False)
        model.encoder.eval()
        for f in (*tr, *ho):
            f.freeze(model)
    log(f"cached {len(tr)} train / {len(ho)} held-out documents in {time.time() - t0:.0f}s")
    enc_params = [p for p in model.encoder.parameters() if p.requires_grad]
    enc_ids = {id(p) for p in enc_params}
    head_params = [p for p in model.parameters() if p.requires_grad and id(p) not in enc_ids]
    groups = [{"params": head_params, "lr": lr_head}]
    if enc_params:
        groups.append({"params": enc_params, "lr": lr_encoder})
    opt = torch.optim.AdamW(groups, weight_decay=0.01)
    steps = epochs * math.ceil(len(tr) / batch_size)
    warm = max(1, int(warmup * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm))))
    history: list[dict[str, Any]] = []
    best = -1.0
    stop = False
    for epoch in range(epochs):
        model.train()
        if freeze_encoder:
            model.encoder.eval()
        order = list(range(len(tr)))
        rng.shuffle(order)
        total = 0.0
        for b in range(0, len(order), batch_size):
            opt.zero_grad()
            loss = sum(adaptive_threshold_loss(tr[i].logits(model), tr[i].labels)
                       for i in order[b:b + batch_size]) / len(order[b:b + batch_size])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            total += float(loss.detach())
            if time.time() - t0 > max_seconds or (
                    max_cpu_seconds is not None and time.process_time() - c0 > max_cpu_seconds):
                stop = True
                break
        scores = score_docred(predict_documents(model, ho_docs, ho), ho_docs, facts)
        rec = {"epoch": epoch + 1, "loss": total, "seconds": round(time.time() - t0, 1),
               "cpu_seconds": round(time.process_time() - c0, 1),
               **{k: round(v, 4) if isinstance(v, float) else v for k, v in scores.items()}}
        history.append(rec)
        log(json.dumps(rec))
        if scores["f1"] > best:
            best = scores["f1"]
            save_docre(model, output, {"trained_on": meta or {}, "best_epoch": epoch + 1,
                                       "held_out": scores, "seed": seed})
        if stop:
            log(f"time budget reached in epoch {epoch + 1}")
            break
    out: dict[str, Any] = {"history": history, "best_f1": best}
    if fit_shift and best >= 0:
        model, saved_meta = load_docre(output)
        shift, scores = fit_threshold_shift(model, ho_docs, facts)
        model.th_shift = shift
        model.hparams["th_shift"] = shift
        save_docre(model, output, {k: v for k, v in saved_meta.items()
                                   if k in ("trained_on", "best_epoch", "seed")}
                   | {"held_out": scores, "held_out_before_shift": saved_meta["held_out"]})
        out["th_shift"] = {"shift": shift, "f1": scores["f1"]}
        log(json.dumps(out["th_shift"]))
    out["seconds"] = time.time() - t0
    out["cpu_seconds"] = time.process_time() - c0
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="folder with dev_revised.json and rel_info.json")
    ap.add_argument("--output", required=True)
    ap.add_argument("--held-out", type=int, default=50)
    ap.add_argument("--seed", type=int, default=13, help="training seed")
    ap.add_argument("--split-seed", type=int, default=None,
                    help="seed of the held-out draw (default: --seed)")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--max-seconds", type=float, default=3000)
    ap.add_argument("--n-top", type=int, default=1)
    ap.add_argument("--lr-head", type=float, default=5e-4)
    ap.add_argument("--lr-encoder", type=float, default=5e-5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--freeze-encoder", action="store_true",
                    help="train the head only over cached encoder features")
    ap.add_argument("--limit", type=int, default=0, help="use only N documents (smoke runs)")
    ap.add_argument("--init", default=None,
                    help="continue training a saved model folder (warm start)")
    ap.add_argument("--warmup", type=float, default=0.06, help="fraction of steps warming up")
    ap.add_argument("--max-cpu-seconds", type=float, default=None,
                    help="also stop when the run has used this much CPU time")
    ap.add_argument("--batch-size", type=int, default=4, help="documents per update")
    ap.add_argument("--encoder", choices=("transformer", "scratch"), default="transformer",
                    help="MiniLM (default) or the from-scratch BiLSTM + attention encoder")
    ap.add_argument("--emb", type=int, default=256, help="head: width of the pair projections")
    ap.add_argument("--block", type=int, default=32, help="head: bilinear group size")
    ap.add_argument("--min-freq", type=int, default=2,
                    help="scratch: vocabulary = training words seen at least this often")
    ap.add_argument("--dist-width", type=int, default=0,
                    help="head: width of the head-tail distance-bucket embedding (0: none)")
    ap.add_argument("--fit-shift", action="store_true",
                    help="fit the threshold shift on the held-out documents after training")
    for key, val in SCRATCH_DEFAULTS.items():
        ap.add_argument("--" + key.replace("_", "-"), type=type(val), default=val,
                        help=f"scratch encoder: {key} (default {val})")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = Path(args.data)
    docs = read_docred(data / "dev_revised.json")
    if args.limit:
        docs = docs[: args.limit]
    relations = sorted(json.loads((data / "rel_info.json").read_text(encoding="utf-8")),
                       key=lambda p: int(p[1:]))
    split_seed = args.seed if args.split_seed is None else args.split_seed
    train, held = split_documents(docs, args.held_out, split_seed)
    meta = {"data": "Re-DocRED dev_revised.json (Tan et al. 2022, MIT)", "train_docs": len(train),
            "held_out_docs": len(held), "split_seed": split_seed,
            "command": "python -m kg_engine.extraction.training.docre_train " + " ".join(
                argv if argv is not None else __import__("sys").argv[1:])}
    model_kwargs: dict[str, Any] = {"n_top": args.n_top, "emb": args.emb, "block": args.block,
                                    "dist_width": args.dist_width}
    if args.encoder == "scratch":
        model_kwargs = {"encoder": "scratch", "emb": args.emb, "block": args.block,
                        "dist_width": args.dist_width,
                        "scratch": {k: getattr(args, k) for k in SCRATCH_DEFAULTS}}
    out = train_docre(train, held, relations, args.output, epochs=args.epochs,
                      max_seconds=args.max_seconds, seed=args.seed, lr_head=args.lr_head,
                      lr_encoder=args.lr_encoder, model_kwargs=model_kwargs, meta=meta,
                      freeze_encoder=args.freeze_encoder, init=args.init, warmup=args.warmup,
                      max_cpu_seconds=args.max_cpu_seconds, min_freq=args.min_freq,
                      batch_size=args.batch_size, fit_shift=args.fit_shift)
    Path(args.output, "train_log.json").write_text(json.dumps(out, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
