"""A mention detector for document-level relations, trained on Re-DocRED's own mentions.

Re-DocRED marks every named entity, date and number of a document with one of six types (PER,
ORG, LOC, TIME, NUM, MISC) and its own span conventions (no leading "the", titles and works
whole). ``en_core_web_sm``'s OntoNotes NER misses or cuts about one gold entity in five, so the
document relation model meets entities it never saw in training. :func:`train_docred_ner`
fine-tunes ``en_core_web_sm``'s ``ner`` component (its own tok2vec included) on the mentions of
the training documents, with the six DocRED types as new labels, and saves a pipeline folder
(``senter`` + ``ner``, ``spacy.load``-able) that an extraction config names as its ``spacy``.

Command (the shipped ``data/models/docre_ner``; Re-DocRED dev minus the 50 documents held out
with split seed 13, as the relation models; one thread)::

    OMP_NUM_THREADS=1 python -m kg_engine.extraction.training.docred_ner \\
        --data ../shared/data/re/redocred --output data/models/docre_ner --seed 13 --epochs 12

Example:
    >>> from kg_engine.extraction.training.docred import DocREDDocument, Mention
    >>> d = DocREDDocument("t", [["Paris", "is", "in", "France", "."]],
    ...                    [[Mention(0, 0, 1, "Paris", "LOC")], [Mention(0, 3, 4, "France", "LOC")]])
    >>> sentence_examples([d])
    [(['Paris', 'is', 'in', 'France', '.'], [(0, 1, 'LOC'), (3, 4, 'LOC')])]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kg_engine.extraction.training.docred import (
    DOCRED_TYPES,
    DocREDDocument,
    read_docred,
    split_documents,
)
from kg_engine.extraction.training.ner import NERExample, score_spans

__all__ = ["mention_scores", "pipeline_meta", "sentence_examples", "train_docred_ner"]

#: The pipeline whose ``ner`` (and ``senter``) is fine-tuned.
BASE_PIPELINE = "en_core_web_sm"


def sentence_examples(docs: Sequence[DocREDDocument]) -> list[NERExample]:
    """One NER example per sentence: its words and the mentions in it (sentence offsets);
    of overlapping mentions the longest is kept (spaCy's ``filter_spans`` rule)."""
    out: list[NERExample] = []
    for d in docs:
        starts = d.sent_starts
        by_sent: dict[int, set[tuple[int, int, str]]] = {}
        for ms in d.entities:
            for m in ms:
                by_sent.setdefault(m.sent, set()).add(
                    (m.start - starts[m.sent], m.end - starts[m.sent], m.type))
        for i, words in enumerate(d.sents):
            spans = sorted(by_sent.get(i, ()), key=lambda s: (-(s[1] - s[0]), s[0]))
            kept: list[tuple[int, int, str]] = []
            taken: set[int] = set()
            for s, e, t in spans:
                if not taken & set(range(s, e)):
                    kept.append((s, e, t))
                    taken |= set(range(s, e))
            out.append((list(words), sorted(kept)))
    return out


def mention_scores(nlp: Any, docs: Sequence[DocREDDocument]) -> dict[str, Any]:
    """Strict mention scores of ``nlp``'s NER on whole documents (their own tokens and
    sentences): span and DocRED type must match a gold mention (labels outside the six types
    are mapped by the Wikidata schema, e.g. GPE → LOC), plus span-only precision/recall."""
    from kg_engine.extraction.pipeline import PIPELINES_DIR
    from kg_engine.extraction.schema import load_schema
    from kg_engine.extraction.training.entity_typer import spacy_doc

    schema = load_schema(PIPELINES_DIR / "schemas" / "wikidata_redocred.cfg")
    gold, pred = [], []
    for d in docs:
        sd = spacy_doc(nlp, d)
        gold.append({(m.start, m.end, m.type) for ms in d.entities for m in ms})
        pred.append({(e.start, e.end, t) for e in sd.ents
                     for t in [schema.docred_type(e.label_)] if t is not None})
    s = score_spans(gold, pred)
    g_spans = [{x[:2] for x in g} for g in gold]
    p_spans = [{x[:2] for x in p} for p in pred]
    tp = sum(len(g & p) for g, p in zip(g_spans, p_spans))
    n_g, n_p = sum(map(len, g_spans)), sum(map(len, p_spans))
    s["span_p"], s["span_r"] = tp / max(1, n_p), tp / max(1, n_g)
    return s


def pipeline_meta(base: dict[str, Any], train_docs: int, seed: int, split_seed: int
                  ) -> dict[str, Any]:
    """The saved pipeline's name, description and sources (the base pipeline's, and
    Re-DocRED's) from the base pipeline's ``meta``; the base's OntoNotes scores are dropped
    (``training.json`` has this model's)."""
    return {
        "performance": {},
        "name": "docre_ner", "version": "1.0.0",
        "description": f"{BASE_PIPELINE}'s NER fine-tuned on the mentions of Re-DocRED dev "
                       f"(DocRED types PER, ORG, LOC, TIME, NUM, MISC), {train_docs} documents; "
                       f"seed {seed}, split seed {split_seed}",
        "sources": [*[x for x in base.get("sources", []) if "Re-DocRED" not in x.get("name", "")],
                    {"name": "Re-DocRED (Tan et al. 2022), dev_revised.json",
                     "license": "MIT; text from Wikipedia, CC BY-SA"}],
    }


def train_docred_ner(data: str | Path, output: str | Path, *, seed: int = 13,
                     split_seed: int = 13, held_out: int = 50, epochs: int = 12,
                     max_cpu_seconds: float = 3000.0, dropout: float = 0.2,
                     batch_size: int = 16, log: Any = print) -> dict[str, Any]:
    """Fine-tune ``en_core_web_sm``'s NER on Re-DocRED dev's mentions; keep the best epoch.

    The documents of ``dev_revised.json`` in ``data`` are split as the relation models split
    them (``held_out`` documents drawn with ``split_seed``); the model is trained on the rest,
    one example per sentence, and the epoch with the best strict mention F1 on the held-out
    documents is saved to ``output`` (``senter`` + ``ner``; ``training.json`` has the log).

    Returns:
        Summary: best epoch, held-out scores, per-epoch history, CPU seconds.
    """
    import spacy
    from spacy.tokens import Doc
    from spacy.training import Example
    from spacy.util import minibatch

    from kg_engine.extraction.ner import load_pipeline
    from kg_engine.extraction.training.ner import examples_to_docs

    train_docs, held = split_documents(read_docred(Path(data) / "dev_revised.json"),
                                       held_out, split_seed)
    spacy.util.fix_random_seed(seed)
    rng = random.Random(seed)
    nlp = load_pipeline(BASE_PIPELINE, exclude=["tok2vec", "tagger", "parser",
                                                "attribute_ruler", "lemmatizer"])
    nlp.enable_pipe("senter")
    ner = nlp.get_pipe("ner")
    for label in DOCRED_TYPES:
        ner.add_label(label)
    sentences = sentence_examples(train_docs)
    examples = [Example(Doc(nlp.vocab, words=words), gold)
                for (words, _), gold in zip(sentences, examples_to_docs(nlp, sentences))]
    optimizer = nlp.resume_training()
    nlp.meta.update(pipeline_meta(nlp.meta, len(train_docs), seed, split_seed))
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    cpu0 = time.process_time()
    base = mention_scores(nlp, held)  # the OntoNotes NER before fine-tuning, labels mapped
    best: dict[str, Any] = {"epoch": 0, "held_out": {"micro_f1": -1.0}}
    history = [{"epoch": 0, "held_out_f1": round(100 * base["micro_f1"], 2),
                "held_out_p": round(100 * base["micro_p"], 2),
                "held_out_r": round(100 * base["micro_r"], 2)}]
    if log is not None:
        log(json.dumps(history[-1]))
    for epoch in range(1, epochs + 1):
        rng.shuffle(examples)
        losses: dict[str, float] = {}
        for batch in minibatch(examples, size=batch_size):
            nlp.update(batch, sgd=optimizer, drop=dropout, losses=losses, exclude=["senter"])
        with nlp.use_params(optimizer.averages):
            s = mention_scores(nlp, held)
            improved = s["micro_f1"] > best["held_out"]["micro_f1"]
            if improved:
                best = {"epoch": epoch, "held_out": s}
                nlp.to_disk(output)
        cpu = time.process_time() - cpu0
        history.append({"epoch": epoch, "loss": round(float(losses.get("ner", 0.0)), 1),
                        "held_out_f1": round(100 * s["micro_f1"], 2),
                        "held_out_p": round(100 * s["micro_p"], 2),
                        "held_out_r": round(100 * s["micro_r"], 2), "cpu_s": round(cpu, 1)})
        if log is not None:
            log(json.dumps(history[-1]) + (" *" if improved else ""))
        if cpu >= max_cpu_seconds:
            break
    summary = {"base": BASE_PIPELINE, "seed": seed, "split_seed": split_seed,
               "held_out_docs": held_out, "train_docs": len(train_docs),
               "train_sentences": len(examples), "best_epoch": best["epoch"],
               "held_out": best["held_out"], "history": history,
               "cpu_s": round(time.process_time() - cpu0, 1)}
    (output / "training.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="folder with Re-DocRED dev_revised.json")
    ap.add_argument("--output", required=True)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--split-seed", type=int, default=13)
    ap.add_argument("--held-out", type=int, default=50)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--max-cpu-seconds", type=float, default=3000.0)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--batch-size", type=int, default=16)
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    s = train_docred_ner(a.data, a.output, seed=a.seed, split_seed=a.split_seed,
                         held_out=a.held_out, epochs=a.epochs,
                         max_cpu_seconds=a.max_cpu_seconds, dropout=a.dropout,
                         batch_size=a.batch_size)
    print(json.dumps({k: v for k, v in s.items() if k != "history"}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
