"""Extraction benchmarks (issue 5).

Relation extraction (owner E1): F1 per encoder on SemEval-2010 T8 and CoNLL04 test.

    # train every encoder config on a dataset, then score its best model on the test split
    python benchmarks/extraction.py --task re-train --dataset semeval --encoders cnn,rnn,transformer
    # score already-trained models (OUTPUT folders of `kg train-re`)
    python benchmarks/extraction.py --task re-eval --dataset conll04 --models runs/re_cnn_conll04 \
        [--ner NER_DIR]

Each run prints one JSON line per model and a Markdown table row (F1 in %), with training
wall/CPU seconds and the load average (the machine is shared). torch uses 1 thread.

NER, linking and pipeline-throughput benchmarks (owner E2) add ``--task ner|linking|throughput``;
``--task false-positives [--model DIR] [--thresholds 0.5,0.7,…]`` counts relations reported on
relation-free text (benchmarks/extraction_false_positives.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CONFIGS = {
    "cnn": "re_cnn.cfg",
    "pcnn": "re_pcnn.cfg",
    "rnn": "re_rnn.cfg",
    "transformer": "re_transformer.cfg",
    "minilm": "re_minilm.cfg",
}


def _row(name: str, dataset: str, res: dict[str, Any], metrics: dict[str, Any] | None) -> str:
    train = ""
    if metrics:
        train = (f"{metrics.get('train_seconds', '?')} s wall / {metrics.get('train_cpu_seconds', '?')} "
                 f"CPU-s, best epoch {metrics.get('best_epoch')}")
    if dataset == "semeval":
        return f"| {name} | SemEval T8 test | macro-F1 **{100 * res['macro_f1']:.2f}** (acc. {100 * res['accuracy']:.1f}) | {train} |"
    ents = "gold entities" if res["entities"] == "gold" else f"predicted entities (NER F1 {100 * res.get('ner_micro_f1', 0):.1f})"
    return (f"| {name} | CoNLL04 test, {ents} | strict micro/macro F1 **{100 * res['micro_f1']:.2f} / "
            f"{100 * res['macro_f1']:.2f}** | {train} |")


def re_eval(model_dirs: list[Path], dataset: str, ner: str | None) -> list[dict[str, Any]]:
    """Score trained models (``OUTPUT`` folders or ``OUTPUT/model-best``)."""
    from kg_engine.extraction.training.re import evaluate_re

    rows = []
    for d in model_dirs:
        best = d / "model-best" if (d / "model-best").is_dir() else d
        mfile = best.parent / "metrics.json"
        metrics = json.loads(mfile.read_text()) if mfile.is_file() else None
        t0, c0 = time.perf_counter(), time.process_time()
        res = evaluate_re(best, dataset, ner=ner)
        res["eval_seconds"], res["eval_cpu_seconds"] = time.perf_counter() - t0, time.process_time() - c0
        res["load_average"] = os.getloadavg()
        res["model"] = str(d)
        print(json.dumps({k: v for k, v in res.items() if not isinstance(v, dict)}, default=str))
        print(_row(d.name, dataset, res, metrics))
        rows.append(res)
    return rows


def re_train(encoders: list[str], dataset: str, out_root: Path, overrides: dict[str, Any]) -> None:
    """Train each encoder's shipped config on ``dataset`` and score the test split."""
    from kg_engine.extraction.training.re import load_re_config, train_re

    for enc in encoders:
        cfg = load_re_config(REPO / "pipelines" / CONFIGS[enc],
                             overrides={"corpora.dataset": dataset, **overrides})
        out = out_root / f"re_{enc}_{dataset}"
        train_re(cfg, output=out, log=lambda m: print(m, file=sys.stderr, flush=True))
        re_eval([out], dataset, None)


def main(argv: list[str] | None = None) -> None:
    import torch

    torch.set_num_threads(1)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", required=True,
                    choices=["re-train", "re-eval", "ner", "ner-demo", "linking", "throughput", "rerun",
                             "false-positives"])
    ap.add_argument("--dataset", default="semeval", choices=["semeval", "conll04"])
    ap.add_argument("--encoders", default="cnn,rnn,transformer,minilm")
    ap.add_argument("--models", nargs="*", default=[])
    ap.add_argument("--ner", default=None, help="conll04: NER pipeline for end-to-end scoring")
    ap.add_argument("--out", default="runs", help="re-train: output root")
    ap.add_argument("--set", nargs="*", default=[], help="config overrides section.key=JSON")
    if "--task" in (argv if argv is not None else sys.argv[1:]):
        raw = list(argv if argv is not None else sys.argv[1:])
        task = raw[raw.index("--task") + 1] if raw.index("--task") + 1 < len(raw) else ""
        if task == "false-positives":  # L1: relations reported on relation-free text
            from benchmarks.extraction_false_positives import main as fp_main

            fp_main(raw[:raw.index("--task")] + raw[raw.index("--task") + 2:])
            return
        if task in {"ner", "ner-demo", "linking", "throughput", "rerun"}:  # E2's part: own options
            from benchmarks.extraction_pipeline import main as pipeline_main

            rest = raw[:raw.index("--task")] + raw[raw.index("--task") + 2:]
            pipeline_main([task, *rest])
            return
    args = ap.parse_args(argv)
    overrides = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}
    if args.task == "re-eval":
        re_eval([Path(m) for m in args.models], args.dataset, args.ner)
    else:
        re_train(args.encoders.split(","), args.dataset, Path(args.out), overrides)


if __name__ == "__main__":
    main()
