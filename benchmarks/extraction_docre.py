"""Document-level relation extraction benchmarks (issue 10): Re-DocRED, throughput, open-text sample.

    # Re-DocRED test, gold entities: F1 / Ign F1 (train facts = the 450 training documents of
    # dev_revised.json, split seed 13), fp32 and int8; and end-to-end (entities from en_core_web_sm)
    python benchmarks/extraction_docre.py redocred --model data/models/docre_minilm [--int8] [--e2e]
    # … the from-scratch model (BiLSTM + attention; any folder saved by docre_train)
    python benchmarks/extraction_docre.py redocred --model data/models/docre_scratch --int8
    # … an ensemble of such models (mean logits; gold entities only)
    python benchmarks/extraction_docre.py redocred --model M13 --ensemble M14 M15
    # … end to end with another NER (the Re-DocRED-trained one), or with the gold mentions
    python benchmarks/extraction_docre.py redocred --model data/models/docre_scratch --e2e \
        --trim-mentions --ner data/models/docre_ner [--split held_out] [--gold-mentions]
    # mention P/R and entity-cluster match of a NER on the 50 held-out documents
    python benchmarks/extraction_docre.py mentions --ner data/models/docre_ner --trim-mentions
    # the first 30 names a NER types as persons / places in WikiText-2, for judging by hand
    python benchmarks/extraction_docre.py open-types --ner data/models/docre_ner --out OUT.jsonl
    # end-to-end Re-DocRED F1 of whole extraction pipelines (patterns + model relations, typer)
    python benchmarks/extraction_docre.py pipelines wikidata_patterns wikidata_hybrid
    # … on the 50 held-out documents, NER spans typed by the gold mention types (cost of NER typing)
    python benchmarks/extraction_docre.py pipelines --split held_out --gold-types wikidata_hybrid_scratch
    # type accuracy of the NER and of the entity typer on the Re-DocRED test mentions
    python benchmarks/extraction_docre.py types --pipeline 'wikidata_hybrid:doc_relations.quantize=true'
    # words/s of the docre_open and docre pipelines (NER + doc relations + RDF) vs plain en_core_web_sm
    python benchmarks/extraction_docre.py throughput --limit 300 [--int8] [--pipeline NAME ...]
    # relations the docre pipeline extracts from WikiText-2 paragraphs, for judging by hand
    python benchmarks/extraction_docre.py sample --limit 400 --n 50 --out benchmarks/results/docre_wikitext_sample.jsonl
    # … all extractors' relations of a pipeline (e.g. --pipeline wikidata_hybrid --all-relations)
    # per-relation thresholds for a target precision on the 50 held-out documents → schema config
    python benchmarks/extraction_docre.py thresholds --relations P17,P131,... --target 0.8 \
        --write pipelines/schemas/wikidata_open_text.cfg
    # … Re-DocRED test F1 (gold entities) of a fitted schema's relations at its thresholds
    python benchmarks/extraction_docre.py thresholds --split test --model data/models/docre_scratch \
        --relations P17,P131,P569,P710,P1344 --same-sentence \
        --apply pipelines/schemas/wikidata_hybrid_scratch.cfg
    # … fitted on the relations the pipeline decides with its own NER entities (not gold ones)
    python benchmarks/extraction_docre.py thresholds --e2e --model data/models/docre_scratch \
        --relations P17,P131,... --target 0.9 --min-correct 8 --same-sentence --drop-ner NORP

Data come from ``$KG_SHARED_DATA`` (default ``<repo>/../shared/data``). CPU seconds and the load
average are printed beside wall time (shared machine); torch uses one thread.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("KG_SHARED_DATA", REPO.parent / "shared" / "data"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
DEFAULT_MODEL = REPO / "data" / "models" / "docre_minilm"


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _docred(split: str) -> tuple[list[Any], list[Any], set[Any]]:
    """(documents of ``split``, training documents, training facts); split test/dev/held_out."""
    from kg_engine.extraction.training.docred import facts_in, read_docred, split_documents

    base = SHARED / "re" / "redocred"
    train, held = split_documents(read_docred(base / "dev_revised.json"), 50, 13)
    docs = held if split == "held_out" else read_docred(base / f"{split}_revised.json")
    return docs, train, facts_in(train)


def _spacy_doc(nlp: Any, doc: Any) -> Any:
    from kg_engine.extraction.training.entity_typer import spacy_doc

    return spacy_doc(nlp, doc)


def _gold_mention_doc(nlp: Any, d: Any) -> Any:
    """The document with its gold mentions (gold types) as entities, the longest of
    overlapping ones kept: what the clustering alone costs end to end."""
    from spacy.tokens import Span
    from spacy.util import filter_spans

    sd = d.spacy_doc(nlp.vocab)
    sd.ents = filter_spans([Span(sd, m.start, m.end, label=m.type)
                            for ms in d.entities for m in ms])
    return sd


def e2e_predictions(comp: Any, nlp: Any, docs: list[Any], gold_mentions: bool = False
                    ) -> tuple[list[Any], dict[str, float]]:
    """End-to-end (title, h, t, r) with predicted clusters mapped to gold entities.

    A predicted cluster maps to the gold entity sharing the most exact mention spans ("soft");
    "strict" additionally requires the two mention sets to be equal. Unmatched clusters get
    fresh negative ids (their triples are false positives). ``gold_mentions``: the gold
    mentions and types instead of the NER's, clustered as in use.
    """
    soft, strict = [], []
    n_pred_ents = n_matched = n_strict = 0
    for d in docs:
        sd = _gold_mention_doc(nlp, d) if gold_mentions else _spacy_doc(nlp, d)
        gold_span = {}
        for e, ms in enumerate(d.entities):
            for m in ms:
                gold_span.setdefault((m.start, m.end), e)
        rels = comp.predict(sd)
        clusters, _types = comp.clusters(sd)
        soft_id, strict_id = {}, {}
        for k, c in enumerate(clusters):
            spans = {(s.start, s.end) for s in c}
            votes: dict[int, int] = {}
            for sp in spans:
                if sp in gold_span:
                    votes[gold_span[sp]] = votes.get(gold_span[sp], 0) + 1
            n_pred_ents += 1
            key = tuple(sorted(spans))
            if votes:
                g = max(votes, key=lambda x: (votes[x], -x))
                soft_id[key] = g
                n_matched += 1
                if spans == {(m.start, m.end) for m in d.entities[g]}:
                    strict_id[key] = g
                    n_strict += 1
        for rel in rels:
            hk = tuple(sorted((s.start, s.end) for s in rel.head))
            tk = tuple(sorted((s.start, s.end) for s in rel.tail))
            soft.append((d.title, soft_id.get(hk, -1 - hash(hk) % 10**9),
                         soft_id.get(tk, -1 - hash(tk) % 10**9), rel.relation))
            strict.append((d.title, strict_id.get(hk, -1 - hash(hk) % 10**9),
                           strict_id.get(tk, -1 - hash(tk) % 10**9), rel.relation))
    info = {"pred_clusters": n_pred_ents, "matched_soft": n_matched, "matched_strict": n_strict,
            "gold_entities": sum(len(d.entities) for d in docs)}
    return [soft, strict], info


def cmd_redocred(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from kg_engine.extraction.components.doc_relation_extractor import (
        DocRelationExtractor,
        quantize_docre,
    )
    from kg_engine.extraction.components.docre_model import load_docre
    from kg_engine.extraction.ner import load_pipeline
    from kg_engine.extraction.training.docre_train import featurize
    from kg_engine.extraction.training.docred import score_docred

    torch.set_num_threads(1)
    test, _train, facts = _docred(args.split)
    if args.limit:
        test = test[: args.limit]
    test = [d for d in test if len(d.entities) > 1]
    thresholds = [float(x) for x in args.thresholds.split(",")]
    out: dict[str, Any] = {"split": args.split, "docs": len(test), "model": str(args.model),
                           "load_before": _load()}
    variants = [("fp32", False)] + ([("int8", True)] if args.int8 else [])
    for name, q in variants:
        members = [load_docre(m)[0] for m in [args.model, *args.ensemble]]
        if q:
            members = [quantize_docre(m) for m in members]
        model = members[0]
        t0, c0 = time.time(), time.process_time()
        with torch.no_grad():
            feats = featurize(model, test, cache=False)
            logits = [f.logits(model) for f in feats]
            for other in members[1:]:   # an ensemble: mean logits, mean threshold shift
                logits = [lg + f.logits(other)
                          for lg, f in zip(logits, featurize(other, test, cache=False))]
            logits = [lg / len(members) for lg in logits]
        model.th_shift = sum(m.th_shift for m in members) / len(members)
        wall, cpu = time.time() - t0, time.process_time() - c0
        for th in thresholds:
            margin = float(torch.logit(torch.tensor(th)))
            pred = []
            for d, f, lg in zip(test, feats, logits):
                for (h, t), rels in zip(f.pairs.tolist(), model.decide(lg, margin)):
                    pred.extend((d.title, h, t, model.relations[i]) for i, _s in rels)
            s = score_docred(pred, test, facts)
            key = f"gold_{name}" + ("" if th == 0.5 else f"_t{th}")
            out[key] = {**{k: round(v * 100, 2) if isinstance(v, float) else v
                           for k, v in s.items()},
                        "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
                        "docs_per_cpu_s": round(len(test) / cpu, 2),
                        "words_per_cpu_s": round(sum(len(d.words) for d in test) / cpu, 1)}
            print(key, json.dumps(out[key]), flush=True)
            if args.per_relation and th == 0.5:
                gold = {(d.title, h, t, r) for d in test for h, t, r, _ in d.labels}
                per: dict[str, list[int]] = {}
                for x in set(pred):
                    per.setdefault(x[3], [0, 0, 0])[0] += 1
                    per[x[3]][1] += x in gold
                for x in gold:
                    per.setdefault(x[3], [0, 0, 0])[2] += 1
                out[f"per_relation_{name}"] = {r: {"pred": a, "correct": b, "gold": c}
                                               for r, (a, b, c) in sorted(per.items())}
    if args.e2e:
        nlp = load_pipeline(args.ner, exclude=["parser", "tagger", "attribute_ruler",
                                               "lemmatizer", "senter"])
        comp = DocRelationExtractor(nlp, "kg_doc_relation_extractor", str(args.model),
                                    threshold=0.5, quantize=False,
                                    trim_mentions=args.trim_mentions)
        (soft, strict), info = e2e_predictions(comp, nlp, test, args.gold_mentions)
        for tag, pred in (("e2e_soft", soft), ("e2e_strict", strict)):
            s = score_docred(pred, test, facts)
            out[tag] = {k: round(v * 100, 2) if isinstance(v, float) else v for k, v in s.items()}
            print(tag, json.dumps(out[tag]), flush=True)
        out["e2e_entities"] = {**info, "trim_mentions": args.trim_mentions, "ner": args.ner,
                               "gold_mentions": args.gold_mentions}
        print(json.dumps(info))
    out["load_after"] = _load()
    return out


def cmd_mentions(args: argparse.Namespace) -> dict[str, Any]:
    """Mention and entity-cluster quality of a NER on Re-DocRED documents, as the document
    relation component sees them (trimmed mentions when asked, clusters of
    ``DocRelationExtractor.clusters``): typed/untyped exact-span precision and recall of the
    mentions, and the share of gold entities that some predicted cluster matches softly (shares
    a mention span, as ``redocred --e2e`` maps) or strictly (the same mention set).
    ``--gold-mentions``: the gold mentions with their gold types (what clustering alone costs)."""
    from kg_engine.extraction.components.doc_relation_extractor import DocRelationExtractor
    from kg_engine.extraction.ner import load_pipeline

    docs, _train, _facts = _docred(args.split)
    if args.limit:
        docs = docs[: args.limit]
    nlp = load_pipeline(args.ner, exclude=["parser", "tagger", "attribute_ruler", "lemmatizer",
                                           "senter"])
    comp = DocRelationExtractor(nlp, "kg_doc_relation_extractor",
                                str(REPO / "data" / "models" / "docre_scratch"),
                                trim_mentions=args.trim_mentions, max_entities=10**6)
    c0 = time.process_time()
    n = {"gold_m": 0, "pred_m": 0, "span_tp": 0, "typed_tp": 0, "gold_e": 0, "pred_e": 0,
         "soft": 0, "strict": 0, "pure": 0}
    for d in docs:
        sd = _gold_mention_doc(nlp, d) if args.gold_mentions else _spacy_doc(nlp, d)
        clusters, types = comp.clusters(sd)
        gold_typed = {(m.start, m.end, m.type) for ms in d.entities for m in ms}
        gold_sets = [{(m.start, m.end) for m in ms} for ms in d.entities]
        pred_typed = {(s.start, s.end, t) for c, t in zip(clusters, types) for s in c}
        n["gold_m"] += len(gold_typed)
        n["pred_m"] += len(pred_typed)
        n["typed_tp"] += len(gold_typed & pred_typed)
        n["span_tp"] += len({x[:2] for x in gold_typed} & {x[:2] for x in pred_typed})
        pred_sets = [{(s.start, s.end) for s in c} for c in clusters]
        n["gold_e"] += len(gold_sets)
        n["pred_e"] += len(pred_sets)
        n["soft"] += sum(any(g & p for p in pred_sets) for g in gold_sets)
        n["strict"] += sum(g in pred_sets for g in gold_sets)
        gold_of = {sp: e for e, g in enumerate(gold_sets) for sp in g}
        n["pure"] += sum(len({gold_of.get(sp, -1 - i) for i, sp in enumerate(p)}) == 1
                         for p in pred_sets)

    def pct(a: int, b: int) -> float:
        return round(100 * a / max(1, b), 2)

    return {"split": args.split, "docs": len(docs), "ner": args.ner,
            "gold_mentions": args.gold_mentions, "trim_mentions": args.trim_mentions,
            "mention_typed_p": pct(n["typed_tp"], n["pred_m"]),
            "mention_typed_r": pct(n["typed_tp"], n["gold_m"]),
            "mention_span_p": pct(n["span_tp"], n["pred_m"]),
            "mention_span_r": pct(n["span_tp"], n["gold_m"]),
            "gold_entities": n["gold_e"], "pred_clusters": n["pred_e"],
            "entities_matched_soft": pct(n["soft"], n["gold_e"]),
            "entities_matched_strict": pct(n["strict"], n["gold_e"]),
            "clusters_pure": pct(n["pure"], n["pred_e"]),
            "cpu_s": round(time.process_time() - c0, 1), "load": _load(), **n}


def cmd_open_types(args: argparse.Namespace) -> dict[str, Any]:
    """The first ``--n`` distinct entity names a NER types as persons (PER) and as places (LOC),
    DocRED types through the Wikidata schema (GPE/FAC → LOC), in WikiText-2 test paragraph order
    from the first; written with their sentence for judging by hand."""
    from kg_engine.extraction.ner import load_pipeline
    from kg_engine.extraction.pipeline import PIPELINES_DIR, _ensure_sentences
    from kg_engine.extraction.schema import load_schema

    schema = load_schema(PIPELINES_DIR / "schemas" / "wikidata_redocred.cfg")
    nlp = load_pipeline(args.ner, exclude=["tagger", "parser", "attribute_ruler", "lemmatizer"])
    if "senter" in nlp.disabled:
        nlp.enable_pipe("senter")
    _ensure_sentences(nlp)
    found: dict[str, list[dict[str, Any]]] = {"PER": [], "LOC": []}
    seen: set[tuple[str, str]] = set()
    for row in _paragraphs(10**6):
        for e in nlp(row["text"]).ents:
            ty = schema.docred_type(e.label_)
            if ty not in found or len(found[ty]) >= args.n or (ty, e.text) in seen:
                continue
            seen.add((ty, e.text))
            found[ty].append({"id": row["id"], "type": ty, "label": e.label_, "text": e.text,
                              "sentence": e.sent.text})
        if all(len(v) >= args.n for v in found.values()):
            break
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for v in found.values() for r in v)
    return {"ner": args.ner, "n": args.n, "out": args.out,
            "last_paragraph": {k: v[-1]["id"] if v else None for k, v in found.items()}}


_RELATION_COMPONENTS = {"kg_entity_typer", "kg_doc_relation_extractor",
                        "kg_pattern_relation_extractor"}


def _run_on_tokens(nlp: Any, d: Any, gold_types: bool = False) -> Any:
    """Every component of an extraction pipeline on a Re-DocRED document's own tokens.

    ``gold_types``: before the first relation component, each NER entity whose span equals a gold
    mention takes that mention's DocRED type as its label (the schemas map PER/ORG/LOC/TIME/NUM/
    MISC to themselves): how much the NER's types cost, spans unchanged.
    """
    from spacy.tokens import Span

    sd = d.spacy_doc(nlp.vocab)
    typed = not gold_types
    for name, proc in nlp.pipeline:
        if not typed and name in _RELATION_COMPONENTS:
            gold = {(m.start, m.end): m.type for ms in d.entities for m in ms}
            sd.ents = [Span(sd, e.start, e.end, label=gold.get((e.start, e.end), e.label_))
                       for e in sd.ents]
            typed = True
        sd = proc(sd)
    return sd


def _gold_spans(d: Any) -> dict[tuple[int, int], int]:
    """Gold mention span → its entity index."""
    return {(m.start, m.end): e for e, ms in enumerate(d.entities) for m in ms}


def _gold_entity(spans: Any, gold_span: dict[tuple[int, int], int], miss: int) -> int:
    """The gold entity sharing most exact mention spans with ``spans`` (``miss``: none)."""
    votes: dict[int, int] = {}
    for sp in spans:
        g = gold_span.get((sp.start, sp.end))
        if g is not None:
            votes[g] = votes.get(g, 0) + 1
    return max(votes, key=lambda e: (votes[e], -e)) if votes else miss


def cmd_pipelines(args: argparse.Namespace) -> dict[str, Any]:
    """End-to-end Re-DocRED F1 of whole extraction pipelines (all their relation extractors).

    Pattern relations map to gold entities by exact span (as extraction_patterns.py); the
    document model's clusters by the most shared exact mention spans (as ``redocred --e2e``).
    """
    import torch

    from kg_engine.extraction.pipeline import load_extraction_pipeline
    from kg_engine.extraction.training.docred import score_docred

    torch.set_num_threads(1)
    docs, _train, facts = _docred(args.split)
    if args.limit:
        docs = docs[: args.limit]
    out: dict[str, Any] = {"split": args.split, "docs": len(docs), "gold_types": args.gold_types,
                           "load_before": _load()}
    for spec in args.pipelines:
        name, _, sets = spec.partition(":")
        overrides = {k: json.loads(v) for k, v in (kv.split("=", 1) for kv in sets.split(";") if kv)}
        pipe = load_extraction_pipeline(name, overrides)
        t0, c0 = time.time(), time.process_time()
        pred: dict[str, set[Any]] = {"patterns": set(), "model": set()}
        retyped = 0
        dumped: dict[Any, dict[str, Any]] = {}
        for d in docs:
            sd = _run_on_tokens(pipe.nlp, d, args.gold_types)
            retyped += len(sd.user_data.get("kg_entity_typer", {}))
            gold_span = _gold_spans(d)
            for h, rel, t, _score, extra in sd._.relations or []:
                if (extra or {}).get("agent") != "kg_doc_relation_extractor":
                    key = (d.title, _gold_entity([h], gold_span, -1 - h.start),
                           _gold_entity([t], gold_span, -100000 - t.start), rel)
                    pred["patterns"].add(key)
                    dumped.setdefault(key, {"title": d.title, "head": h.text, "relation": rel,
                                            "tail": t.text, "rule": (extra or {}).get("rule"),
                                            "sentence": list(sd.sents)[extra["sentence"]].text
                                            if "sentence" in (extra or {}) else h.sent.text})
            for r in sd._.doc_relations or []:
                pred["model"].add((d.title, _gold_entity(r.head, gold_span, -1 - r.head[0].start),
                                   _gold_entity(r.tail, gold_span, -100000 - r.tail[0].start),
                                   r.relation))
        row: dict[str, Any] = {"wall_s": round(time.time() - t0, 1),
                               "cpu_s": round(time.process_time() - c0, 1),
                               "retyped_entities": retyped}
        for tag, p in (("patterns", pred["patterns"]), ("model", pred["model"]),
                       ("all", pred["patterns"] | pred["model"])):
            sc = score_docred(sorted(p), docs, facts)
            row[tag] = {k: round(v * 100, 2) if isinstance(v, float) else v for k, v in sc.items()}
        gold = {(d.title, h, t, r) for d in docs for h, t, r, _ in d.labels}
        per: dict[str, list[int]] = {}
        for x in pred["patterns"] | pred["model"]:
            per.setdefault(x[3], [0, 0])[0] += 1
            per[x[3]][1] += x in gold
        row["per_relation"] = {r: {"pred": a, "correct": b} for r, (a, b) in sorted(per.items())}
        if args.dump:  # every pattern relation with its verdict against the labels, to read
            with open(f"{args.dump}.{name}.jsonl", "w", encoding="utf-8") as fh:
                fh.writelines(json.dumps({**v, "in_labels": k in gold}, ensure_ascii=False) + "\n"
                              for k, v in sorted(dumped.items(), key=lambda kv: str(kv[0])))
        out[spec] = row
        print(spec, json.dumps({k: v for k, v in row.items() if k != "per_relation"}), flush=True)
    out["load_after"] = _load()
    return out


def cmd_types(args: argparse.Namespace) -> dict[str, Any]:
    """Type accuracy of a pipeline's NER and entity typer on Re-DocRED mentions.

    The pipeline's components up to ``kg_entity_typer`` (parser included, so the typer sees the
    parse as in use) run on each document's own tokens; counted are the NER's entities whose span
    equals a gold mention and whose NER label maps to a DocRED type (``wikidata_redocred.cfg``),
    before (the NER's label) and after the typer.
    """
    from collections import Counter

    import torch

    from kg_engine.extraction.pipeline import PIPELINES_DIR, load_extraction_pipeline
    from kg_engine.extraction.schema import load_schema

    torch.set_num_threads(1)
    docs, _train, _facts = _docred(args.split)
    if args.limit:
        docs = docs[: args.limit]
    schema = load_schema(PIPELINES_DIR / "schemas" / "wikidata_redocred.cfg")
    out: dict[str, Any] = {"split": args.split, "docs": len(docs), "load_before": _load()}
    name, _, sets = args.pipeline.partition(":")
    overrides = {k: json.loads(v) for k, v in (kv.split("=", 1) for kv in sets.split(";") if kv)}
    pipe = load_extraction_pipeline(name, overrides)
    names = pipe.nlp.pipe_names
    upto = names.index("kg_entity_typer") + 1 if "kg_entity_typer" in names else len(names)
    steps = [proc for n, proc in pipe.nlp.pipeline[:upto]
             if n not in {"kg_doc_relation_extractor", "kg_pattern_relation_extractor"}]
    c0 = time.process_time()
    rows: list[tuple[str, str, str]] = []  # (gold, ner, after)
    for d in docs:
        sd = d.spacy_doc(pipe.nlp.vocab)
        for proc in steps:
            sd = proc(sd)
        changed = sd.user_data.get("kg_entity_typer", {})
        gold = {(m.start, m.end): m.type for ms in d.entities for m in ms}
        for e in sd.ents:
            g = gold.get((e.start, e.end))
            old = schema.docred_type(changed.get((e.start, e.end), (e.label_,))[0])
            if g is None or old is None:
                continue
            rows.append((g, old, schema.docred_type(e.label_) or old))
    n = len(rows)
    fixed = Counter(f"{o}->{a}" for g, o, a in rows if a != o and a == g)
    broken = Counter(f"{o}->{a}" for g, o, a in rows if a != o and o == g)
    out.update({
        "pipeline": args.pipeline, "mentions": n, "cpu_s": round(time.process_time() - c0, 1),
        "accuracy_ner": round(100 * sum(g == o for g, o, _ in rows) / max(1, n), 2),
        "accuracy_typer": round(100 * sum(g == a for g, _, a in rows) / max(1, n), 2),
        "retyped": sum(a != o for _, o, a in rows), "fixed": dict(fixed.most_common()),
        "broken": dict(broken.most_common()),
        "by_gold_type": {t: {"n": len(r), "ner": round(100 * sum(o == t for _, o, _ in r) / len(r), 2),
                             "typer": round(100 * sum(a == t for _, _, a in r) / len(r), 2)}
                         for t in sorted({g for g, _, _ in rows})
                         for r in [[x for x in rows if x[0] == t]]},
        "load_after": _load()})
    return out


def _paragraphs(limit: int, offset: int = 0) -> list[dict[str, Any]]:
    path = SHARED / "corpus" / "wikitext2_test" / "paragraphs.jsonl"
    rows = []
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i < offset:
                continue
            rows.append(json.loads(line))
            if len(rows) >= limit:
                break
    return rows


def _seen_paragraphs() -> set[str]:
    """Ids of the WikiText-2 paragraphs that any earlier sample or judgement wrote down (every
    file under benchmarks/results, and docs/benchmarks.md): paragraphs someone has read."""
    import re

    pat = re.compile(r"wt2test-\d{3}-\d{3}")
    files = [p for p in (REPO / "benchmarks" / "results").rglob("*") if p.is_file()]
    return {m for f in [*files, REPO / "docs" / "benchmarks.md"]
            for m in pat.findall(f.read_text(encoding="utf-8", errors="replace"))}


def cmd_throughput(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from kg_engine.extraction.ner import load_pipeline
    from kg_engine.extraction.pipeline import load_extraction_pipeline

    torch.set_num_threads(1)
    texts = [r["text"] for r in _paragraphs(args.limit)]
    words = sum(len(t.split()) for t in texts)
    out: dict[str, Any] = {"paragraphs": len(texts), "words": words, "load_before": _load()}

    def run(name: str, fn: Any) -> None:
        t0, c0 = time.time(), time.process_time()
        fn()
        wall, cpu = time.time() - t0, time.process_time() - c0
        out[name] = {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
                     "words_per_wall_s": round(words / wall), "words_per_cpu_s": round(words / cpu)}
        print(name, json.dumps(out[name]), flush=True)

    plain = load_pipeline("en_core_web_sm")
    run("plain_en_core_web_sm", lambda: list(plain.pipe(texts, batch_size=64)))
    runs = [(name, name, {}) for name in args.pipeline]
    if args.int8:  # the int8 dynamic quantisation of the last pipeline named
        runs.append((f"{args.pipeline[-1]}_int8", args.pipeline[-1],
                     {"doc_relations.quantize": True}))
    for tag, name, ov in runs:
        pipe = load_extraction_pipeline(name, ov)

        def go(pipe: Any = pipe) -> None:
            for i, doc in enumerate(pipe.nlp.pipe(texts, batch_size=pipe.batch_size)):
                pipe.converter.convert(doc, f"p{i}")

        run(tag, go)
        out[tag]["ratio_vs_plain_cpu"] = round(
            out[tag]["words_per_cpu_s"] / out["plain_en_core_web_sm"]["words_per_cpu_s"], 3)
    out["load_after"] = _load()
    return out


def cmd_sample(args: argparse.Namespace) -> dict[str, Any]:
    from kg_engine.extraction.pipeline import load_extraction_pipeline

    rows = _paragraphs(args.limit, args.offset)
    if args.skip_seen:
        seen = _seen_paragraphs()
        rows = [r for r in rows if r["id"] not in seen]
    overrides = {k: json.loads(v) for k, v in (kv.split("=", 1) for kv in args.set)}
    pipe = load_extraction_pipeline(args.pipeline, overrides)
    found = []
    for row, doc in zip(rows, pipe.nlp.pipe([r["text"] for r in rows], batch_size=16)):
        sents = list(doc.sents)
        if args.all_relations:  # every extractor's relations, one per (head, relation, tail)
            rels = [(h.text, r, str(x.get("object") or t.text), score, x)
                    for h, r, t, score, x in doc._.relations or []]
            # a relation the document model shares with another extractor is not "added" by it
            others = {k[:3] for k in rels if k[4].get("agent") != "kg_doc_relation_extractor"}
            seen = set()
            for head, r, tail, score, x in rels:
                if (head, r, tail) in seen:
                    continue
                seen.add((head, r, tail))
                agent = x.get("agent")
                found.append({"id": row.get("id"), "head": head, "relation": r,
                              "label": x.get("label"), "tail": tail, "score": round(score, 3),
                              "agent": agent if (head, r, tail) not in others
                              else "kg_pattern_relation_extractor",
                              "evidence": sents[x["sentence"]].text})
            continue
        for rel in doc._.doc_relations or []:
            ev = " ".join(sents[i].text for i in rel.evidence)
            found.append({"id": row.get("id"), "head": rel.head[0].text, "relation": rel.relation,
                          "label": pipe.nlp.get_pipe("kg_doc_relation_extractor").schema.label(
                              rel.relation),
                          "tail": rel.tail[0].text, "score": round(rel.score, 3), "evidence": ev})
    rng = random.Random(args.seed)
    picked = rng.sample(found, min(args.n, len(found)))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in picked)
    words = sum(len(r["text"].split()) for r in rows)
    by_agent: dict[str, int] = {}
    for r in found:
        by_agent[str(r.get("agent"))] = by_agent.get(str(r.get("agent")), 0) + 1
    return {"paragraphs": len(rows), "offset": args.offset, "skip_seen": args.skip_seen,
            "first_id": rows[0]["id"] if rows else None, "words": words,
            "relations": len(found), "by_agent": by_agent,
            "per_1000_words": round(1000 * len(found) / max(1, words), 2), "sampled": len(picked),
            "out": args.out}


def cmd_thresholds(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from kg_engine.extraction.components.doc_relation_extractor import quantize_docre
    from kg_engine.extraction.components.docre_model import load_docre
    from kg_engine.extraction.cooccurrence import LISTED, pair_contexts
    from kg_engine.extraction.training.docre_train import featurize

    torch.set_num_threads(1)
    docs, _train, facts = _docred(args.split)
    docs = [d for d in docs if len(d.entities) > 1]
    if args.e2e:
        return _write_fit(args, *_e2e_scored(args, docs), docs)
    model, _meta = load_docre(args.model)
    if args.int8:  # scores of the int8 model, for a pipeline with doc_relations.quantize = true
        model = quantize_docre(model)
    wanted = [r.strip() for r in args.relations.split(",") if r.strip()] or model.relations
    scored = []
    pairs: list[tuple[str, int, int]] = []  # (title, head, tail) of each scored prediction
    n_gold = {r: 0 for r in wanted}
    with torch.no_grad():
        feats = featurize(model, docs, cache=False)
        for d, f in zip(docs, feats):
            gold = {(h, t, r) for h, t, r, _ in d.labels}
            for _h, _t, r in gold:
                if r in n_gold:
                    n_gold[r] += 1
            sent_of = [i for i, s in enumerate(d.sents) for _ in s]
            ctx = pair_contexts(d.words, sent_of, [[(m.start, m.end) for m in ms]
                                                   for ms in d.entities])
            diff = f.logits(model)
            diff = torch.sigmoid(diff[:, 1:] - diff[:, :1])
            for (h, t), row in zip(f.pairs.tolist(), diff):
                c = ctx.get((min(h, t), max(h, t)))
                if c == LISTED or (args.same_sentence and c is None):
                    continue
                for k in (row >= args.floor).nonzero().flatten().tolist():
                    r = model.relations[k]
                    if r in n_gold:
                        scored.append((r, float(row[k]), (h, t, r) in gold))
                        pairs.append((d.title, h, t))
    if args.apply:
        return _apply_schema(args, scored, pairs, docs, facts)
    return _write_fit(args, scored, n_gold, docs)


def _apply_schema(args: argparse.Namespace, scored: list[tuple[str, float, bool]],
                  pairs: list[tuple[str, int, int]], docs: list[Any], facts: set[Any]
                  ) -> dict[str, Any]:
    """Re-DocRED P/R/F1 (gold entities) of a schema's relations at its per-relation thresholds."""
    from kg_engine.extraction.schema import load_schema
    from kg_engine.extraction.training.docred import score_docred

    schema = load_schema(Path(args.apply))
    pred = [(title, h, t, r) for (r, score, _ok), (title, h, t) in zip(scored, pairs)
            if r in schema.relations and score >= schema.threshold(r, 0.5)]
    res = score_docred(pred, docs, facts)
    per: dict[str, list[int]] = {}
    for (r, score, ok) in scored:
        if r in schema.relations and score >= schema.threshold(r, 0.5):
            per.setdefault(r, [0, 0])[0] += 1
            per[r][1] += ok
    return {"split": args.split, "docs": len(docs), "schema": args.apply,
            "same_sentence": args.same_sentence, "int8": args.int8,
            **{k: round(v * 100, 2) if isinstance(v, float) else v for k, v in res.items()},
            "per_relation": {r: {"pred": a, "correct": b} for r, (a, b) in sorted(per.items())}}


def _e2e_scored(args: argparse.Namespace, docs: list[Any]
                ) -> tuple[list[tuple[str, float, bool]], dict[str, int]]:
    """Scored model relations of the hybrid pipeline as used: the NER's entities (and types) on
    each document's own tokens, its sentences, its same-sentence and list filters. A predicted
    cluster is the gold entity sharing most exact mention spans (as ``pipelines``); a relation is
    correct when that gold pair has it."""
    from kg_engine.extraction.pipeline import load_extraction_pipeline

    wanted = {r.strip() for r in args.relations.split(",") if r.strip()}
    pipe = load_extraction_pipeline("wikidata_hybrid_scratch", {
        "pipeline.doc_relation_model": str(Path(args.model).resolve()),
        "pipeline.pattern_relations": None, "doc_relations.schema": "schemas/wikidata_redocred.cfg",
        "doc_relations.same_sentence": args.same_sentence,
        "doc_relations.quantize": bool(args.int8)})
    scored: list[tuple[str, float, bool]] = []
    n_gold: dict[str, int] = {}
    for d in docs:
        gold = {(h, t, r) for h, t, r, _ in d.labels}
        for _h, _t, r in gold:
            n_gold[r] = n_gold.get(r, 0) + 1
        gold_span = _gold_spans(d)
        for rel in _run_on_tokens(pipe.nlp, d)._.doc_relations or []:
            if wanted and rel.relation not in wanted:
                continue
            if {rel.head[0].label_, rel.tail[0].label_} & set(args.drop_ner):
                continue
            pair = (_gold_entity(rel.head, gold_span, -1), _gold_entity(rel.tail, gold_span, -1),
                    rel.relation)
            scored.append((rel.relation, rel.score, pair in gold))
    return scored, n_gold


def _write_fit(args: argparse.Namespace, scored: list[tuple[str, float, bool]],
               n_gold: dict[str, int], docs: list[Any]) -> dict[str, Any]:
    from kg_engine.extraction.training.docre_thresholds import fit_thresholds

    fit = fit_thresholds(scored, target=args.target, min_correct=args.min_correct,
                         floor=args.floor)
    kept = {r: x for r, x in fit.items() if x.threshold is not None}
    table = {r: {"threshold": x.threshold, "predicted": x.predicted, "correct": x.correct,
                 "candidates": x.candidates, "gold": n_gold.get(r, 0)} for r, x in fit.items()}
    for r, row in sorted(table.items(), key=lambda kv: -kv[1]["gold"]):
        print(f"{r:6} {row}")
    tot_p = sum(x.predicted for x in kept.values())
    tot_c = sum(x.correct for x in kept.values())
    out = {"split": args.split, "docs": len(docs), "target": args.target, "int8": args.int8,
           "e2e": args.e2e,
           "same_sentence": args.same_sentence, "kept": sorted(kept, key=lambda r: int(r[1:])),
           "in_sample_precision": round(tot_c / max(1, tot_p), 3), "in_sample_correct": tot_c,
           "gold_of_kept": sum(n_gold[r] for r in kept), "per_relation": table}
    if args.write:
        _write_schema(Path(args.write), kept, args)
    return out


def _write_schema(path: Path, kept: dict[str, Any], args: argparse.Namespace) -> None:
    from kg_engine.extraction.pipeline import PIPELINES_DIR
    from kg_engine.extraction.schema import load_schema

    base = load_schema(PIPELINES_DIR / "schemas" / "wikidata_redocred.cfg")
    ner = {k: v for k, v in base.ner_types.items() if k not in set(args.drop_ner)}
    order = sorted(kept, key=lambda r: int(r[1:]))
    lines = [
        "# Wikidata schema of a pipeline's model relations: the relations of Re-DocRED that the shipped",
        "# model" + (" (int8)" if args.int8 else "")
        + " extracts precisely enough for open text, each with its own minimum score. Written by",
        f"#   python benchmarks/extraction_docre.py thresholds --relations {args.relations} \\",
        f"#     --target {args.target} --min-correct {args.min_correct} --floor {args.floor}"
        + (" --same-sentence" if args.same_sentence else "") + (" --int8" if args.int8 else "")
        + (" --e2e" if args.e2e else "")
        + "".join(f" --drop-ner {x}" for x in args.drop_ner) + f" --write {args.write}",
        "# (thresholds: lowest score with smoothed precision (correct+1)/(predicted+2) >= target on the",
        "# 50 held-out Re-DocRED documents, split seed 13, at least --min-correct correct"
        + ("; entities from the NER, as in use" if args.e2e else "") + "). Edit freely:",
        "# remove a relation to stop emitting it, raise a threshold for precision, change an IRI to",
        "# use your own predicates. The full 96-relation schema: wikidata_redocred.cfg.",
        "",
        "[schema]",
        f'relation_base = "{base.relation_base}"',
        "relation_label_triples = true",
        "literal_types = " + json.dumps(list(base.literal_types)),
        "",
        "# spaCy (OntoNotes) NER label -> DocRED type; labels not listed are not relation arguments",
        "# (NORP, e.g. \"North Korean\", is left out: Wikidata wants an item such as a country)",
        "[schema.ner_types]",
        *(f"{k} = \"{v}\"" for k, v in ner.items()),
        "",
        "[schema.relations]",
        *(f"{r} = {json.dumps(base.label(r))}" for r in order),
        "",
        "# relation id -> minimum score sigmoid(logit_r - logit_threshold_class), in [0.5, 1]",
        "[schema.thresholds]",
        *(f"{r} = {kept[r].threshold}" for r in order),
        "",
        "[schema.relation_iris]",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("redocred")
    r.add_argument("--model", default=str(DEFAULT_MODEL))
    r.add_argument("--ensemble", nargs="*", default=[],
                   help="more models whose logits are averaged with --model's (gold entities)")
    r.add_argument("--split", default="test", help="test, or held_out (the 50 model-selection documents)")
    r.add_argument("--thresholds", default="0.5", help="comma-separated decision thresholds")
    r.add_argument("--limit", type=int, default=0)
    r.add_argument("--int8", action="store_true")
    r.add_argument("--per-relation", action="store_true",
                   help="predicted/correct/gold counts per relation (threshold 0.5)")
    r.add_argument("--e2e", action="store_true")
    r.add_argument("--trim-mentions", action="store_true",
                   help="--e2e: mentions without a leading article / trailing punctuation")
    r.add_argument("--ner", default="en_core_web_sm",
                   help="--e2e: spaCy pipeline (name or folder) whose NER finds the entities")
    r.add_argument("--gold-mentions", action="store_true",
                   help="--e2e: the gold mentions and types, clustered as in use (no NER)")
    ot = sub.add_parser("open-types", help="first N persons and places a NER finds in WikiText-2")
    ot.add_argument("--ner", default="en_core_web_sm", help="spaCy pipeline name or folder")
    ot.add_argument("--n", type=int, default=30)
    ot.add_argument("--out", required=True)
    mn = sub.add_parser("mentions", help="mention P/R and entity-cluster match of a NER")
    mn.add_argument("--ner", default="en_core_web_sm", help="spaCy pipeline name or folder")
    mn.add_argument("--split", default="held_out", help="held_out, or test")
    mn.add_argument("--limit", type=int, default=0)
    mn.add_argument("--trim-mentions", action="store_true")
    mn.add_argument("--gold-mentions", action="store_true",
                    help="cluster the gold mentions (gold types) instead of the NER's")
    pl = sub.add_parser("pipelines", help="end-to-end Re-DocRED F1 of extraction pipelines")
    pl.add_argument("pipelines", nargs="+",
                    help="NAME or NAME:KEY=JSON;KEY=JSON (overrides), e.g. "
                         "'default:pipeline.entity_typer=null'")
    pl.add_argument("--split", default="test", help="test, or held_out")
    pl.add_argument("--limit", type=int, default=0)
    pl.add_argument("--gold-types", action="store_true",
                    help="NER entities whose span equals a gold mention take its gold type")
    pl.add_argument("--dump", default="",
                    help="write each pattern relation (spans, sentence, in the labels or not) to "
                         "DUMP.PIPELINE.jsonl")
    ty = sub.add_parser("types", help="type accuracy of a pipeline's NER + entity typer")
    ty.add_argument("--pipeline", default="wikidata_hybrid",
                    help="NAME or NAME:KEY=JSON;KEY=JSON (overrides)")
    ty.add_argument("--split", default="test")
    ty.add_argument("--limit", type=int, default=0)
    t = sub.add_parser("throughput")
    t.add_argument("--limit", type=int, default=300)
    t.add_argument("--int8", action="store_true", help="also the last pipeline in int8")
    t.add_argument("--pipeline", action="append", default=None,
                   help="named pipeline to time beside plain en_core_web_sm (repeatable; "
                        "default: docre_open, docre)")
    s = sub.add_parser("sample")
    s.add_argument("--limit", type=int, default=400)
    s.add_argument("--pipeline", default="docre")
    s.add_argument("--offset", type=int, default=0, help="skip the first N paragraphs")
    s.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                   help="pipeline override, e.g. doc_relations.threshold=0.7")
    s.add_argument("--all-relations", action="store_true",
                   help="sample all extractors' relations (doc._.relations), not only the model's")
    s.add_argument("--n", type=int, default=50)
    s.add_argument("--skip-seen", action="store_true",
                   help="leave out paragraphs named in any file under benchmarks/results or in "
                        "docs/benchmarks.md (earlier samples and judgements)")
    s.add_argument("--seed", type=int, default=13)
    s.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "docre_wikitext_sample.jsonl"))
    th = sub.add_parser("thresholds")
    th.add_argument("--model", default=str(DEFAULT_MODEL))
    th.add_argument("--split", default="held_out")
    th.add_argument("--relations", default="", help="comma-separated candidate relation ids")
    th.add_argument("--target", type=float, default=0.8)
    th.add_argument("--min-correct", type=int, default=5)
    th.add_argument("--floor", type=float, default=0.5,
                    help="lowest threshold considered (below 0.5: under the learned threshold)")
    th.add_argument("--same-sentence", action="store_true",
                    help="only pairs sharing a sentence (as the component's same_sentence)")
    th.add_argument("--drop-ner", action="append", default=[],
                    help="NER label left out of the written schema's ner_types (e.g. NORP)")
    th.add_argument("--int8", action="store_true",
                    help="fit on the int8 model's scores (doc_relations.quantize = true)")
    th.add_argument("--e2e", action="store_true",
                    help="fit on the pipeline's own entities (en_core_web_sm NER, its types and "
                         "sentences), clusters mapped to gold entities, not on gold entities")
    th.add_argument("--write", default="", help="write a schema config with the kept relations")
    th.add_argument("--apply", default="", metavar="SCHEMA",
                    help="no fitting: Re-DocRED P/R/F1 (gold entities) of this schema config's "
                         "relations at its thresholds on --split (e.g. test)")
    args = ap.parse_args()
    if args.cmd == "throughput" and not args.pipeline:
        args.pipeline = ["docre_open", "docre"]
    fn = {"redocred": cmd_redocred, "pipelines": cmd_pipelines, "throughput": cmd_throughput, "sample": cmd_sample,
          "types": cmd_types, "mentions": cmd_mentions,
          "open-types": cmd_open_types,
          "thresholds": cmd_thresholds}[args.cmd]
    print(json.dumps(fn(args), indent=1))


if __name__ == "__main__":
    main()
