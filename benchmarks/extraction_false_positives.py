"""False-positive relations on relation-free text (issue 5; notes §3/§5: ≤ 5 per 1,000 sentences).

Runs a trained ``kg_relation_extractor`` (default: the shipped SemEval CNN demo model,
``data/models/re_semeval_cnn``) on entity pairs that hold **no** relation and counts the pairs it
still reports (``doc._.relations``, i.e. best relation probability ≥ the decision threshold):

* **SemEval-2010 T8 test, gold label ``Other``** (gold nominals): in-domain sentences whose two
  marked nominals hold none of the 9 relations; the same run gives, for contrast, the share of
  the relation-bearing test sentences still found with the right label and direction.
* **WebNLG test texts, wrong entity pairs**: the subjects/objects of a text's gold triples,
  paired where no gold triple links them (either direction); "right" pairs (a gold triple
  exists) are reported alongside. WebNLG's DBpedia relations are not SemEval's, so a right pair
  may or may not hold a SemEval relation; a wrong pair should hold none, so its rate is an upper
  bound of the false-positive rate on out-of-domain text.

* **WikiText-2 test paragraphs through the default pipeline** (spaCy NER → the relation model,
  every same-sentence entity pair within ``max_distance``): relations reported per 1,000
  sentences. No gold exists; SemEval's nominal relations rarely hold between named entities,
  so this is an upper bound of the false-positive rate on ordinary prose.

In the first two sets every sentence/pair has exactly one candidate pair, so "per 1,000 pairs" = per 1,000 sentences
(SemEval) or per 1,000 wrong pairs (WebNLG; also given per 1,000 texts). The decision threshold
is swept (the model's own default is marked); nothing is written to the model directory.

    python benchmarks/extraction_false_positives.py [--model data/models/re_semeval_cnn] \
        [--thresholds 0.5,0.7,0.8,0.9] [--paragraphs 300]
    # same through the umbrella script
    python benchmarks/extraction.py --task false-positives

Data come from ``$KG_SHARED_DATA`` (default ``<repo>/../shared/data``). torch uses one thread.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("KG_SHARED_DATA", REPO.parent / "shared" / "data"))


def _need(path: Path) -> Path:
    if not path.exists():
        sys.exit(f"{path} is missing: set KG_SHARED_DATA to the shared data folder")
    return path


def _load_component(model: Path) -> tuple[Any, Any]:
    import spacy

    import kg_engine.extraction.components  # noqa: F401  (registers the factory)

    nlp = spacy.load(model)
    return nlp, nlp.get_pipe("kg_relation_extractor")


def _predictions(rel: Any, docs: list[Any]) -> list[tuple[str, float, bool]]:
    """Per doc (one candidate pair each): (best relation label, its probability, forward?)."""
    cands, probs = rel.predict(docs)
    labels = list(rel.cfg["labels"])
    n = len(labels)
    out: list[tuple[str, float, bool] | None] = [None] * len(docs)
    for (di, _a, _b), p in zip(cands.spans, probs.tolist()):
        best = max(range(1, len(p)), key=p.__getitem__)
        out[di] = (labels[(best - 1) % n], p[best], best <= n)
    missing = [i for i, o in enumerate(out) if o is None]
    if missing:  # too far apart (max_distance) or pruned: never a relation
        for i in missing:
            out[i] = ("", 0.0, True)
    return out  # type: ignore[return-value]


def _fires(pred: tuple[str, float, bool], thr: dict[str, float], t: float | None) -> bool:
    lab, p, _ = pred
    return bool(lab) and p > 0.0 and p >= (t if t is not None else thr[lab])


def semeval_rates(rel: Any, thresholds: list[float | None]) -> list[dict[str, Any]]:
    """False positives on SemEval test ``Other`` sentences and recall on the others."""
    import spacy

    from kg_engine.extraction.training.re_data import read_semeval

    examples = read_semeval(_need(SHARED / "re" / "semeval2010_task8" / "TEST_FILE_FULL.TXT"),
                            spacy.blank("en"))
    docs = [eg.reference for eg in examples]
    gold = [d.user_data.get("semeval_label", "Other") for d in docs]
    preds = _predictions(rel, docs)
    thr = rel.decision_thresholds()
    rows = []
    for t in thresholds:
        fp = sum(_fires(p, thr, t) for p, g in zip(preds, gold) if g == "Other")
        n_other = sum(g == "Other" for g in gold)
        hit = 0
        for p, g in zip(preds, gold):
            if g == "Other" or not _fires(p, thr, t):
                continue
            m = re.fullmatch(r"([A-Za-z-]+)\((e[12]),(e[12])\)", g)
            if m and m.group(1) == p[0] and (m.group(2) == "e1") == p[2]:
                hit += 1
        rows.append({"set": "SemEval test, gold Other", "threshold": t,
                     "pairs": n_other, "false_positives": fp,
                     "per_1000": 1000 * fp / n_other,
                     "relation_recall": hit / (len(gold) - n_other)})
    return rows


def _find(text: str, entity: str, taken: list[tuple[int, int]]) -> tuple[int, int] | None:
    for m in re.finditer(re.escape(entity), text):
        a, b = m.span()
        if (a == 0 or not text[a - 1].isalnum()) and (b == len(text) or not text[b].isalnum()) \
                and all(b <= x or a >= y for x, y in taken):
            return a, b
    return None


def webnlg_rates(nlp: Any, rel: Any, thresholds: list[float | None]) -> list[dict[str, Any]]:
    """Reported relations on WebNLG test entity pairs without (and with) a gold triple."""
    from spacy.tokens import Span

    data = json.loads(_need(SHARED / "re" / "webnlg" / "exact" / "test_triples.json").read_text())
    docs, kinds, texts_with_pairs = [], [], set()
    for ti, item in enumerate(data):
        text = item["text"]
        linked = {frozenset((s, o)) for s, _, o in item["triple_list"]}
        ents = sorted({e for s, _, o in item["triple_list"] for e in (s, o)})
        for i in range(len(ents)):
            for j in range(i + 1, len(ents)):
                a, b = ents[i], ents[j]
                sa = _find(text, a, [])
                sb = _find(text, b, [sa] if sa else [])
                if sa is None or sb is None:
                    continue
                doc = nlp.make_doc(text)
                spans = [doc.char_span(*sa, label="ENTITY", alignment_mode="expand"),
                         doc.char_span(*sb, label="ENTITY", alignment_mode="expand")]
                if any(s is None for s in spans):
                    continue
                spans.sort(key=lambda s: s.start)
                if spans[0].end > spans[1].start:
                    continue
                doc.ents = [Span(doc, s.start, s.end, label="ENTITY") for s in spans]
                docs.append(doc)
                kinds.append("right" if frozenset((a, b)) in linked else "wrong")
                texts_with_pairs.add(ti)
    preds = _predictions(rel, docs)
    thr = rel.decision_thresholds()
    rows = []
    n_texts = len(data)
    for t in thresholds:
        for kind in ("wrong", "right"):
            sel = [p for p, k in zip(preds, kinds) if k == kind]
            fired = sum(_fires(p, thr, t) for p in sel)
            rows.append({"set": f"WebNLG test, {kind} pairs", "threshold": t, "pairs": len(sel),
                         "false_positives" if kind == "wrong" else "reported": fired,
                         "per_1000": 1000 * fired / max(1, len(sel)),
                         "per_1000_texts": 1000 * fired / n_texts})
    return rows


def pipeline_rates(model: Path, paragraphs: int, thresholds: list[float | None],
                   default: float) -> list[dict[str, Any]]:
    """Relations reported per 1,000 sentences of WikiText-2 by the default pipeline + ``model``."""
    from kg_engine.extraction.corpus import read_jsonl
    from kg_engine.extraction.pipeline import load_extraction_pipeline

    docs = list(read_jsonl(_need(SHARED / "corpus" / "wikitext2_test" / "paragraphs.jsonl")))
    docs = docs[:paragraphs]
    pipe = load_extraction_pipeline("default", {"pipeline.relation_model": str(model)})
    sentences, pairs, best = 0, 0, []
    for doc in pipe.nlp.pipe((d.text for d in docs), batch_size=64):
        sentences += sum(1 for _ in doc.sents)
        per_pair: dict[frozenset[int], float] = {}
        for (a, b), probs in doc._.rel.items():
            key = frozenset((a, b))
            per_pair[key] = max(per_pair.get(key, 0.0), max(probs.values(), default=0.0))
        pairs += len(per_pair)
        best.extend(per_pair.values())
    rows = []
    for t in thresholds:
        cut = default if t is None else t
        # thresholds >= 0.5: a relation whose probability reaches them is the argmax class
        fired = sum(p >= cut and p > 0.0 for p in best)
        rows.append({"set": f"WikiText-2 test, {len(docs)} paragraphs, default pipeline (no gold)",
                     "threshold": t, "pairs": pairs, "sentences": sentences,
                     "reported": fired, "per_1000": 1000 * fired / max(1, sentences),
                     "unit": "sentences"})
    return rows


def main(argv: list[str] | None = None) -> None:
    import torch

    torch.set_num_threads(1)
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(REPO / "data" / "models" / "re_semeval_cnn"))
    ap.add_argument("--thresholds", default="0.5,0.7,0.8,0.9,0.95",
                    help="decision thresholds to sweep, all >= 0.5 (the model's own is included)")
    ap.add_argument("--paragraphs", type=int, default=300,
                    help="WikiText-2 paragraphs for the pipeline row (0: skip)")
    args = ap.parse_args(argv)
    c0, t0 = time.process_time(), time.time()
    nlp, rel = _load_component(Path(args.model))
    default = float(rel.cfg["threshold"])
    grid: list[float | None] = [None] + [float(x) for x in args.thresholds.split(",")
                                         if float(x) != default]
    if min(g for g in grid if g is not None) < 0.5:
        sys.exit("--thresholds: values below 0.5 would let a relation beat 'no relation'")
    rows = semeval_rates(rel, grid) + webnlg_rates(nlp, rel, grid)
    if args.paragraphs:
        rows += pipeline_rates(Path(args.model), args.paragraphs, grid, default)
    print("| set | threshold | pairs | reported (false positives on Other / wrong pairs) | "
          "per 1,000 | SemEval relation recall |\n|---|---|---|---|---|---|")
    for r in rows:
        t = f"{default} (model default)" if r["threshold"] is None else r["threshold"]
        n = r.get("false_positives", r.get("reported"))
        rec = f"{100 * r['relation_recall']:.1f} %" if "relation_recall" in r else ""
        unit = f" {r['unit']}" if "unit" in r else " pairs"
        print(f"| {r['set']} | {t} | {r['pairs']} | {n} | **{r['per_1000']:.1f}**{unit} | {rec} |")
        print(json.dumps(r), file=sys.stderr)
    print(f"model {args.model}; {time.process_time() - c0:.1f} CPU s, {time.time() - t0:.1f} s wall, "
          f"load {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
