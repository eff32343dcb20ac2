"""Train and measure the entity typer (``kg_entity_typer``) on Re-DocRED.

Examples are the NER's entities (``en_core_web_sm`` on the documents' own tokens) whose span
equals a gold mention, labelled with the gold mention's DocRED type; features come from the
document relation model's encoder with markers around the NER's spans, exactly as at run time
(:func:`~kg_engine.extraction.components.entity_typer.mention_features`). Training uses the 450
training documents of ``dev_revised.json`` (the relation model's), model selection the 50 held out
(split seed 13); the test split is only measured.

    HF_HUB_OFFLINE=1 python -m kg_engine.extraction.training.entity_typer \\
        --data ../shared/data/re/redocred --model data/models/docre_minilm [--write]

prints type accuracy of the NER's label (mapped to DocRED types) and of the typer on the matched
test mentions, by gold type, and the most frequent corrections; ``--write`` saves ``typer.pt`` and
``typer.json`` into the model folder (with ``--quantize``: features of the int8 encoder, saved as
``typer_int8.pt`` / ``typer_int8.json``, the classifier a quantised pipeline uses).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from kg_engine.extraction.components.entity_typer import (
    TYPER_FILES,
    TYPER_FILES_INT8,
    TypeHead,
    encode_mentions,
    mention_features,
    shared_docre,
)
from kg_engine.extraction.training.docred import (
    DOCRED_TYPES,
    DocREDDocument,
    read_docred,
    split_documents,
)

__all__ = ["collect", "evaluate", "train_type_head"]

def spacy_doc(nlp: Any, doc: DocREDDocument) -> Any:
    """The NER (tok2vec + ner) run on a Re-DocRED document's own tokens and sentences."""
    sd = doc.spacy_doc(nlp.vocab)
    for name, proc in nlp.pipeline:
        if name in {"tok2vec", "ner"}:
            sd = proc(sd)
    return sd


@torch.no_grad()
def collect(model: Any, nlp: Any, schema: Any, docs: Sequence[DocREDDocument]
            ) -> dict[str, Any]:
    """Features, gold type ids, NER-mapped types and texts of the matched NER mentions."""
    feats, gold, ner, texts, docids = [], [], [], [], []
    for k, d in enumerate(docs):
        sd = spacy_doc(nlp, d)
        ents = [e for e in sd.ents if schema.docred_type(e.label_) is not None]
        if not ents:
            continue
        gold_type = {(m.start, m.end): m.type for ms in d.entities for m in ms}
        spans = [(e.start, e.end) for e in ents]
        encoded = encode_mentions(model, d.words, spans)
        x = mention_features(model, encoded, spans, [e.label_ for e in ents])
        for i, e in enumerate(ents):
            g = gold_type.get((e.start, e.end))
            if g is None:
                continue
            feats.append(x[i])
            gold.append(DOCRED_TYPES.index(g))
            ner.append(schema.docred_type(e.label_))
            texts.append(" ".join(e.text.lower().split()))
            docids.append(k)
    return {"x": torch.stack(feats) if feats else torch.zeros(0), "y": torch.tensor(gold),
            "ner": ner, "text": texts, "doc": docids}


def train_type_head(train: dict[str, Any], held: dict[str, Any], hidden: int, *,
                    epochs: int = 300, lr: float = 1e-2, weight_decay: float = 1e-4,
                    seed: int = 13, mlp: int = 0) -> tuple[TypeHead, dict[str, Any]]:
    """Full-batch AdamW on the training mentions; the epoch with the best held-out accuracy."""
    torch.manual_seed(seed)
    head = TypeHead(hidden, DOCRED_TYPES, mlp)
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
    best, best_state, log = -1.0, None, []
    for ep in range(epochs):
        head.train()
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(head(train["x"]), train["y"])
        loss.backward()
        opt.step()
        if ep % 10 == 9 or ep == epochs - 1:
            head.eval()
            with torch.no_grad():
                acc = float((head(held["x"]).argmax(-1) == held["y"]).float().mean())
            log.append((ep + 1, round(float(loss.detach()), 4), round(acc, 4)))
            if acc > best:
                best, best_state = acc, {k: v.clone() for k, v in head.state_dict().items()}
    assert best_state is not None
    head.load_state_dict(best_state)
    head.eval()
    return head, {"held_out_accuracy": round(best, 4), "log": log}


@torch.no_grad()
def evaluate(head: TypeHead, data: dict[str, Any], min_prob: float = 0.5,
             retype: Sequence[str] = ("PER", "ORG", "LOC")) -> dict[str, Any]:
    """Type accuracy of the NER mapping and of the component's decision rule on ``data``."""
    logp = torch.log_softmax(head(data["x"]), -1)
    probs = torch.empty_like(logp)
    groups: dict[tuple[int, str], list[int]] = {}
    for i, (d, t) in enumerate(zip(data["doc"], data["text"])):
        groups.setdefault((d, t), []).append(i)
    for idx in groups.values():
        probs[idx] = torch.softmax(logp[idx].mean(0), -1)
    gold = [DOCRED_TYPES[i] for i in data["y"].tolist()]
    after, fixes, breaks = [], Counter(), Counter()
    for g, old, row in zip(gold, data["ner"], probs.tolist()):
        k = max(range(len(row)), key=row.__getitem__)
        new = DOCRED_TYPES[k]
        take = new != old and old in retype and new in retype and row[k] >= min_prob
        got = new if take else old
        after.append(got)
        if take and got == g:
            fixes[f"{old}->{new}"] += 1
        elif take and old == g:
            breaks[f"{old}->{new}"] += 1
    n = len(gold)
    by_type = {}
    for t in DOCRED_TYPES:
        idx = [i for i, g in enumerate(gold) if g == t]
        if idx:
            by_type[t] = {"n": len(idx),
                          "ner": round(100 * sum(data["ner"][i] == t for i in idx) / len(idx), 2),
                          "typer": round(100 * sum(after[i] == t for i in idx) / len(idx), 2)}
    confusion = Counter(f"{g}<-{o}" for g, o in zip(gold, data["ner"]) if g != o)
    return {"mentions": n,
            "accuracy_ner": round(100 * sum(a == b for a, b in zip(gold, data["ner"])) / n, 2),
            "accuracy_typer": round(100 * sum(a == b for a, b in zip(gold, after)) / n, 2),
            "retyped": sum(fixes.values()) + sum(breaks.values()) + sum(
                1 for g, o, a in zip(gold, data["ner"], after) if a != o and g not in (o, a)),
            "fixed": dict(fixes.most_common()), "broken": dict(breaks.most_common()),
            "by_gold_type": by_type, "ner_errors_gold<-ner": dict(confusion.most_common(12))}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    from kg_engine.extraction.ner import load_pipeline
    from kg_engine.extraction.pipeline import PIPELINES_DIR
    from kg_engine.extraction.schema import load_schema

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="folder with dev_revised.json, test_revised.json")
    ap.add_argument("--model", required=True, help="document relation model folder")
    ap.add_argument("--schema", default=str(PIPELINES_DIR / "schemas" / "wikidata_redocred.cfg"))
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--mlp", default="0,256",
                    help="hidden widths compared on the held-out documents (0: linear)")
    ap.add_argument("--min-probs", default="0.5,0.6,0.7,0.8,0.9",
                    help="decision thresholds compared on the held-out documents")
    ap.add_argument("--features", default="", help="cache file of the features (reused if present)")
    ap.add_argument("--quantize", action="store_true",
                    help="features from the int8 encoder (--write: typer_int8.pt/typer_int8.json)")
    ap.add_argument("--write", action="store_true", help="save typer.pt/typer.json into --model")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    base = Path(args.data)
    train_docs, held_docs = split_documents(read_docred(base / "dev_revised.json"), 50, 13)
    test_docs = read_docred(base / "test_revised.json")
    model, _ = shared_docre(str(Path(args.model).resolve()), args.quantize)
    nlp = load_pipeline("en_core_web_sm", exclude=["parser", "tagger", "attribute_ruler",
                                                   "lemmatizer", "senter"])
    schema = load_schema(args.schema)
    t0, c0 = time.time(), time.process_time()
    if args.features and Path(args.features).is_file():
        sets = torch.load(args.features, weights_only=True)
    else:
        sets = {name: collect(model, nlp, schema, docs) for name, docs in
                (("train", train_docs), ("held_out", held_docs), ("test", test_docs))}
        if args.features:
            torch.save(sets, args.features)
    feat_s = (round(time.time() - t0, 1), round(time.process_time() - c0, 1))
    fits = {m: train_type_head(sets["train"], sets["held_out"], model.encoder.hidden,
                               epochs=args.epochs, seed=args.seed, mlp=m)
            for m in (int(x) for x in args.mlp.split(","))}
    mlp = max(fits, key=lambda m: (fits[m][1]["held_out_accuracy"], -m))
    head, info = fits[mlp]
    info = {**info, "mlp": mlp,
            "held_out_accuracy_by_mlp": {m: f[1]["held_out_accuracy"] for m, f in fits.items()}}
    probs = [float(x) for x in args.min_probs.split(",")]
    held = {p: evaluate(head, sets["held_out"], p) for p in probs}
    best = max(probs, key=lambda p: (held[p]["accuracy_typer"], p))
    out: dict[str, Any] = {"features_wall_cpu_s": feat_s, "train_mentions": len(sets["train"]["y"]),
                           **info, "min_prob": best,
                           "held_out_by_min_prob": {p: held[p]["accuracy_typer"] for p in probs},
                           "held_out": held[best], "test": evaluate(head, sets["test"], best),
                           "test_by_min_prob": {p: evaluate(head, sets["test"], p)["accuracy_typer"]
                                                for p in probs},
                           "test_with_misc": evaluate(head, sets["test"], best,
                                                      ("PER", "ORG", "LOC", "MISC"))}
    if args.write:
        path = Path(args.model)
        files = TYPER_FILES_INT8 if args.quantize else TYPER_FILES
        torch.save({k: v.half() for k, v in head.state_dict().items()}, path / files["weights"])
        (path / files["meta"]).write_text(json.dumps(
            {"format": "kg_engine.entity_typer.v1", "hidden": model.encoder.hidden,
             "types": list(DOCRED_TYPES), "ner_labels_from": "en_core_web_sm",
             "trained_on": "Re-DocRED dev_revised.json, 450 documents (split seed 13)",
             "held_out_accuracy": info["held_out_accuracy"], "seed": args.seed,
             "min_prob": best, "mlp": mlp,
             "encoder": "int8" if args.quantize else "fp32",
             "command": "python -m kg_engine.extraction.training.entity_typer --data "
                        "../shared/data/re/redocred --model data/models/docre_minilm --write"
                        + (" --quantize" if args.quantize else "")},
            indent=1), encoding="utf-8")
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
