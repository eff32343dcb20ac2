"""Benchmarks of the dependency-pattern relation extractor (the default pipeline's relations).

    # Re-DocRED test (or dev): gold entities and end-to-end (entities from en_core_web_sm)
    python benchmarks/extraction_patterns.py redocred --split test
    # per-relation confidence = smoothed precision on Re-DocRED dev (gold entities) → schema config
    python benchmarks/extraction_patterns.py confidence --write pipelines/schemas/wikidata_patterns.cfg
    # relations the default pipeline extracts from WikiText-2 paragraphs, for judging by hand
    python benchmarks/extraction_patterns.py sample --offset 1200 --limit 1000 --n 50 \
        --out benchmarks/results/patterns/wikitext_1200_sample.jsonl
    # the hand-judged pattern relations (benchmarks/results/**/*judged.jsonl) re-run: kept / removed
    python benchmarks/extraction_patterns.py judged
    # words/s of the default pipeline vs plain en_core_web_sm, same run
    python benchmarks/extraction_patterns.py throughput --limit 300

Data come from ``$KG_SHARED_DATA`` (default ``<repo>/../shared/data``). CPU seconds and the load
average are printed beside wall time (shared machine).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("KG_SHARED_DATA", REPO.parent / "shared" / "data"))
SCHEMA = REPO / "pipelines" / "schemas" / "wikidata_patterns.cfg"
sys.path.insert(0, str(Path(__file__).resolve().parent))
# the Re-DocRED / WikiText-2 readers are the model benchmark's (a sibling script)
from extraction_docre import _load, _paragraphs

#: gold DocRED type → an NER label the schema maps back to it
_GOLD_LABEL = {"PER": "PER", "ORG": "ORG", "LOC": "LOC", "TIME": "DATE", "MISC": "MISC"}




def _nlp() -> Any:
    from kg_engine.extraction import components  # noqa: F401 - factories
    from kg_engine.extraction.ner import load_pipeline

    nlp = load_pipeline("en_core_web_sm")
    nlp.add_pipe("kg_pattern_relation_extractor", config={"schema": str(SCHEMA)})
    return nlp


def _doc(nlp: Any, d: Any, gold: bool) -> Any:
    """A spaCy doc of a Re-DocRED document: parsed; entities gold (mapped labels) or the NER's."""
    from spacy.tokens import Span
    from spacy.util import filter_spans

    sd = d.spacy_doc(nlp.vocab)
    for name, proc in nlp.pipeline:
        if name == "kg_pattern_relation_extractor":
            continue
        if name == "ner" and gold:
            spans = [Span(sd, m.start, m.end, label=_GOLD_LABEL[d.entity_type(e)])
                     for e, ms in enumerate(d.entities) for m in ms
                     if d.entity_type(e) in _GOLD_LABEL]
            sd.ents = filter_spans(spans)
            continue
        sd = proc(sd)
    return sd


def predictions(nlp: Any, docs: list[Any], gold: bool) -> tuple[list[Any], dict[str, Any]]:
    """(title, h, t, relation) with predicted spans mapped to gold entities by exact span."""
    comp = nlp.get_pipe("kg_pattern_relation_extractor")
    pred, outside = [], 0
    for d in docs:
        sd = _doc(nlp, d, gold)
        gold_span = {(m.start, m.end): e for e, ms in enumerate(d.entities) for m in ms}
        for h, rel, t, _rule, _s in comp.predict(sd):
            if rel not in _DOCRED_RELATIONS:
                outside += 1
                continue
            hid = gold_span.get((h.start, h.end), -1 - h.start)
            tid = gold_span.get((t.start, t.end), -100000 - t.start)
            pred.append((d.title, hid, tid, rel))
    return pred, {"not_in_redocred_schema": outside}


def _docred(split: str) -> list[Any]:
    from kg_engine.extraction.training.docred import read_docred

    return read_docred(SHARED / "re" / "redocred" / f"{split}_revised.json")


def _rel_names() -> set[str]:
    return set(json.loads((SHARED / "re" / "redocred" / "rel_info.json").read_text()))


_DOCRED_RELATIONS: set[str] = set()


def per_relation(pred: list[Any], docs: list[Any]) -> dict[str, dict[str, int]]:
    gold = {(d.title, h, t, r) for d in docs for h, t, r, _ in d.labels}
    per: dict[str, list[int]] = {}
    for x in set(pred):
        per.setdefault(x[3], [0, 0])[0] += 1
        per[x[3]][1] += x in gold
    return {r: {"pred": a, "correct": b} for r, (a, b) in sorted(per.items())}


def cmd_redocred(args: argparse.Namespace) -> dict[str, Any]:
    from kg_engine.extraction.training.docred import score_docred

    docs = _docred(args.split)
    if args.limit:
        docs = docs[: args.limit]
    nlp = _nlp()
    out: dict[str, Any] = {"split": args.split, "docs": len(docs), "load_before": _load()}
    for tag, gold in (("gold_entities", True), ("end_to_end", False)):
        t0, c0 = time.time(), time.process_time()
        pred, info = predictions(nlp, docs, gold)
        s = score_docred(pred, docs)
        out[tag] = {**{k: round(v * 100, 2) if isinstance(v, float) else v for k, v in s.items()},
                    **info, "wall_s": round(time.time() - t0, 1),
                    "cpu_s": round(time.process_time() - c0, 1),
                    "per_relation": per_relation(pred, docs)}
        print(tag, json.dumps({k: v for k, v in out[tag].items() if k != "per_relation"}),
              flush=True)
    out["load_after"] = _load()
    return out


def cmd_confidence(args: argparse.Namespace) -> dict[str, Any]:
    """Per-relation (correct + 1) / (predicted + 2) on Re-DocRED dev, gold entities."""
    docs = _docred("dev")
    pred, info = predictions(_nlp(), docs, True)
    per = per_relation(pred, docs)
    conf = {r: round((v["correct"] + 1) / (v["pred"] + 2), 3) for r, v in per.items()}
    if args.write:
        text = Path(args.write).read_text(encoding="utf-8")
        head, _sep, _old = text.partition("\n[patterns.confidence]\n")
        lines = [f"# {per[r]['correct']} of {per[r]['pred']} correct on Re-DocRED dev\n{r} = {c}"
                 for r, c in sorted(conf.items())]
        Path(args.write).write_text(head + "\n[patterns.confidence]\n" + "\n".join(lines) + "\n",
                                    encoding="utf-8")
    return {"split": "dev", "docs": len(docs), "per_relation": per, "confidence": conf, **info}




def cmd_sample(args: argparse.Namespace) -> dict[str, Any]:
    from kg_engine.extraction.pipeline import load_extraction_pipeline

    rows = _paragraphs(args.limit, args.offset)
    pipe = load_extraction_pipeline(args.pipeline)
    found = []
    for row, doc in zip(rows, pipe.nlp.pipe([r["text"] for r in rows], batch_size=32)):
        sents = list(doc.sents)
        for h, rel, t, conf, x in doc._.relations or []:
            if "rule" not in x:
                continue
            found.append({"id": row.get("id"), "head": h.text, "relation": rel,
                          "label": x["label"], "tail": str(x["object"] or t.text),
                          "confidence": conf, "rule": x["rule"],
                          "evidence": sents[x["sentence"]].text})
    rng = random.Random(args.seed)
    picked = rng.sample(found, min(args.n, len(found)))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in picked)
    words = sum(len(r["text"].split()) for r in rows)
    by_rel: dict[str, int] = {}
    for r in found:
        by_rel[r["relation"]] = by_rel.get(r["relation"], 0) + 1
    return {"paragraphs": len(rows), "offset": args.offset, "words": words,
            "relations": len(found), "per_1000_words": round(1000 * len(found) / max(1, words), 2),
            "by_relation": dict(sorted(by_rel.items(), key=lambda kv: -kv[1])),
            "sampled": len(picked), "seed": args.seed, "out": args.out}


def cmd_judged(args: argparse.Namespace) -> dict[str, Any]:
    """Re-run a pipeline's pattern relations on the paragraphs of the hand-judged samples.

    Every pattern relation judged in ``benchmarks/results/**/*judged.jsonl`` (agent
    ``kg_pattern_relation_extractor`` or a ``rule``) is looked up among the relations the pipeline
    now finds in the same paragraph (same head text, relation, tail): judged-right ones lost and
    judged-wrong ones removed are listed. A relation judged in several samples counts once (its
    first verdict).
    """
    from kg_engine.extraction.pipeline import load_extraction_pipeline

    judged: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for f in sorted((REPO / "benchmarks" / "results").glob("**/*judged.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            if r.get("agent") == "kg_pattern_relation_extractor" or "rule" in r:
                judged.setdefault((r["id"], r["head"], r["relation"], r["tail"]),
                                  {**r, "file": str(f.relative_to(REPO))})
    wanted = {k[0] for k in judged}
    rows = [r for r in _paragraphs(3000, 0) if r.get("id") in wanted]
    pipe = load_extraction_pipeline(args.pipeline)
    now = set()
    for row, doc in zip(rows, pipe.nlp.pipe([r["text"] for r in rows], batch_size=32)):
        for h, rel, t, _conf, x in doc._.relations or []:
            if "rule" in x:
                now.add((row["id"], h.text, rel, str(x["object"] or t.text)))
    out: dict[str, Any] = {"judged": len(judged), "paragraphs": len(rows)}
    for verdict, tag in ((True, "right"), (False, "wrong")):
        items = [k for k, r in judged.items() if bool(r["correct"]) is verdict]
        gone = [k for k in items if k not in now]
        out[f"judged_{tag}"] = len(items)
        out[f"{tag}_kept"] = len(items) - len(gone)
        out[f"{tag}_removed"] = [" | ".join(k) for k in gone]
    return out


def cmd_throughput(args: argparse.Namespace) -> dict[str, Any]:
    from kg_engine.extraction.ner import load_pipeline
    from kg_engine.extraction.pipeline import load_extraction_pipeline

    texts = [r["text"] for r in _paragraphs(args.limit)]
    words = sum(len(re.findall(r"\S+", t)) for t in texts)
    out: dict[str, Any] = {"paragraphs": len(texts), "words": words, "load_before": _load()}
    plain = load_pipeline("en_core_web_sm")
    pipe = load_extraction_pipeline(args.pipeline)
    runs: dict[str, list[tuple[float, float]]] = {"plain_en_core_web_sm": [], args.pipeline: []}

    def go() -> None:
        for i, doc in enumerate(pipe.nlp.pipe(texts, batch_size=pipe.batch_size)):
            pipe.converter.convert(doc, f"p{i}")

    for _ in range(args.repeat):  # interleaved, so both see the same machine load
        for name, fn in (("plain_en_core_web_sm",
                          lambda: list(plain.pipe(texts, batch_size=64))), (args.pipeline, go)):
            t0, c0 = time.time(), time.process_time()
            fn()
            runs[name].append((time.time() - t0, time.process_time() - c0))
    for name, rs in runs.items():
        wall = sorted(w for w, _ in rs)[len(rs) // 2]
        cpu = sorted(c for _, c in rs)[len(rs) // 2]
        out[name] = {"median_wall_s": round(wall, 2), "median_cpu_s": round(cpu, 2),
                     "words_per_wall_s": round(words / wall), "words_per_cpu_s": round(words / cpu)}
    out["ratio_cpu"] = round(out[args.pipeline]["words_per_cpu_s"]
                             / out["plain_en_core_web_sm"]["words_per_cpu_s"], 3)
    out["ratio_wall"] = round(out[args.pipeline]["words_per_wall_s"]
                              / out["plain_en_core_web_sm"]["words_per_wall_s"], 3)
    out["load_after"] = _load()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("redocred")
    r.add_argument("--split", default="test")
    r.add_argument("--limit", type=int, default=0)
    r.add_argument("--out", default="")
    c = sub.add_parser("confidence")
    c.add_argument("--write", default="")
    s = sub.add_parser("sample")
    s.add_argument("--pipeline", default="default")
    s.add_argument("--offset", type=int, default=1200)
    s.add_argument("--limit", type=int, default=1000)
    s.add_argument("--n", type=int, default=50)
    s.add_argument("--seed", type=int, default=13)
    s.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "patterns"
                                        / "wikitext_sample.jsonl"))
    j = sub.add_parser("judged", help="re-run the pattern relations of the hand-judged samples")
    j.add_argument("--pipeline", default="default")
    j.add_argument("--out", default="")
    t = sub.add_parser("throughput")
    t.add_argument("--pipeline", default="default")
    t.add_argument("--limit", type=int, default=300)
    t.add_argument("--repeat", type=int, default=3)
    t.add_argument("--out", default="")
    args = ap.parse_args()
    _DOCRED_RELATIONS.update(_rel_names() if args.cmd in {"redocred", "confidence"} else set())
    res = {"redocred": cmd_redocred, "confidence": cmd_confidence, "sample": cmd_sample,
           "throughput": cmd_throughput, "judged": cmd_judged}[args.cmd](args)
    text = json.dumps(res, indent=1)
    print(text)
    out = getattr(args, "out", "")
    if out and args.cmd in {"redocred", "confidence", "throughput", "judged"}:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
