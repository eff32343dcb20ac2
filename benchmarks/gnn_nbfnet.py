"""NBFNet benchmarks (CPU, 1 thread, fixed seed): accuracy, inductive ratio, serving latency.

Run from the repository root; each sub-command prints one ``RESULT {json}`` line (CPU seconds
from ``time.process_time``, wall seconds, load average, peak RSS)::

    python benchmarks/gnn_nbfnet.py train --dataset umls --max-steps 600 --output runs/nbfnet-umls
    python benchmarks/gnn_nbfnet.py train --dataset kinship --max-steps 300
    python benchmarks/gnn_nbfnet.py inductive --dataset umls --max-steps 400
    python benchmarks/gnn_nbfnet.py query --dataset fb15k-237 --queries 5
    python benchmarks/gnn_nbfnet.py explain --dataset umls --checkpoint runs/nbfnet-umls --latest

``train`` uses the project trainer (``pipelines/gnn_nbfnet.cfg``) with a step budget (one
process, 1 thread) and evaluates the final weights on the test split with the one filtered
evaluator (both directions, realistic ties, all test triples). ``inductive`` holds out 20 % of
the entities (:mod:`kg_engine.gnn.inductive`). ``query`` times one ``(h, r, ?)`` query with
top-10 answers and 3 explanation paths on the full graph (an *untrained* model unless
``--checkpoint`` is given: latency does not depend on the weights). Data come from
``$KG_SHARED_DATA/kgc`` (default ``../shared/data/kgc``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _env() -> dict:
    return {
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _setup(threads: int = 1) -> None:
    import torch

    from kg_engine.gnn.cpu import tune_cpu_allocator

    torch.set_num_threads(threads)
    tune_cpu_allocator()


def _train(data, max_steps: int, out: Path, seed: int, overrides: dict | None = None):
    from kg_engine.gnn.training import train

    cfg = ROOT / "pipelines" / "gnn_nbfnet.cfg"
    over = {
        "training.max_steps": max_steps,
        "training.seed": seed,
        "training.device": "cpu",
        "training.checkpoint_every_minutes": 0,
        "evaluation.test": False,
        **(overrides or {}),
    }
    return train(str(cfg), data=data, output_dir=out, overrides=over, resume=False, progress=False)


def cmd_train(args: argparse.Namespace) -> dict:
    """Transductive accuracy within a CPU budget."""
    import torch

    from kg_engine.gnn.datasets import load_dataset
    from kg_engine.gnn.evaluation import RankingEvaluator
    from kg_engine.gnn.training import evaluate_model

    _setup()
    data = load_dataset(args.dataset)
    wall0, cpu0 = time.time(), time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        res = _train(data, args.max_steps, Path(args.output or tmp), args.seed, _overrides(args))
    train_cpu = time.process_time() - cpu0
    graph = data.graph("train")
    eval_cpu0 = time.process_time()
    with torch.no_grad():
        test = evaluate_model(res.model, graph, RankingEvaluator(data), data.test, 64, "cpu")
    return {
        "bench": "nbfnet_train",
        "dataset": args.dataset,
        "seed": args.seed,
        "steps": res.metrics["steps"],
        "status": res.metrics["status"],
        "queries_seen": res.metrics["steps"] * 32,
        "train_cpu_s": round(train_cpu, 1),
        "eval_cpu_s": round(time.process_time() - eval_cpu0, 1),
        "total_cpu_s": round(time.process_time() - cpu0, 1),
        "wall_s": round(time.time() - wall0, 1),
        "test": test,
        **_env(),
    }


def cmd_inductive(args: argparse.Namespace) -> dict:
    """Held-out-entity MRR vs seen-entity MRR of the same model."""
    from kg_engine.gnn.datasets import load_dataset
    from kg_engine.gnn.inductive import evaluate_inductive, inductive_split

    _setup()
    data = load_dataset(args.dataset)
    split = inductive_split(data, args.fraction, args.seed)
    wall0, cpu0 = time.time(), time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        res = _train(split.train_data, args.max_steps, Path(tmp), args.seed, _overrides(args))
    train_cpu = time.process_time() - cpu0
    out = evaluate_inductive(res.model, split, batch_size=64)
    unseen, seen = out["unseen"]["mrr"], out.get("seen", {}).get("mrr")
    result = {
        "bench": "nbfnet_inductive",
        "dataset": args.dataset,
        "fraction": args.fraction,
        "seed": args.seed,
        "steps": res.metrics["steps"],
        "train_cpu_s": round(train_cpu, 1),
        "total_cpu_s": round(time.process_time() - cpu0, 1),
        "wall_s": round(time.time() - wall0, 1),
        **out,
        "ratio_unseen_vs_seen": unseen / seen if seen else None,
        **_env(),
    }
    if args.transductive_mrr:
        result["transductive_mrr"] = args.transductive_mrr
        result["ratio_vs_transductive"] = unseen / args.transductive_mrr
    return result


def cmd_query(args: argparse.Namespace) -> dict:
    """Latency of one (h, r, ?) query: top-10 answers + 3 explanation paths of the best one."""
    import torch

    from kg_engine.gnn.datasets import load_dataset
    from kg_engine.gnn.evaluation import KnownFilter
    from kg_engine.gnn.explain import answer_query
    from kg_engine.gnn.models.nbfnet import NBFNet

    _setup()
    data = load_dataset(args.dataset)
    graph = data.graph("train")
    if args.checkpoint:
        from kg_engine.gnn.training import load_model

        model = load_model(args.checkpoint).model
        trained = True
    else:
        torch.manual_seed(args.seed)
        model = NBFNet(
            data.num_entities,
            data.num_relations,
            hidden_dim=32,
            num_layers=6,
            aggregate_func=args.aggregate,
        ).eval()
        trained = False
    known = KnownFilter(data.train, data.num_entities, data.num_relations)
    gen = torch.Generator().manual_seed(args.seed)
    rows = data.test[torch.randperm(len(data.test), generator=gen)[: args.queries + 1]]
    timings, cpu_timings, paths_found = [], [], []
    for i, (h, r, _t) in enumerate(rows.tolist()):
        mask = known.mask(torch.tensor([h]), torch.tensor([r]))[0]
        w0, c0 = time.perf_counter(), time.process_time()
        answers, ex = answer_query(model, graph, h, r, top_k=10, num_paths=3, filter_mask=mask)
        w, c = time.perf_counter() - w0, time.process_time() - c0
        if i == 0:
            continue  # warm-up (allocator, lazy init)
        timings.append(w)
        cpu_timings.append(c)
        paths_found.append(len(ex.paths))
    example = [line for line in ex.render(data.entity_label, data.relation_label)]
    return {
        "bench": "nbfnet_query",
        "dataset": args.dataset,
        "trained": trained,
        "aggregate": args.aggregate if not trained else None,
        "edges": int(graph.edge_index.shape[1]),
        "entities": data.num_entities,
        "queries": len(timings),
        "answers": len(answers),
        "wall_s_mean": sum(timings) / len(timings),
        "wall_s_max": max(timings),
        "cpu_s_mean": sum(cpu_timings) / len(cpu_timings),
        "paths_per_query": paths_found,
        "example_paths": example,
        **_env(),
    }


def cmd_explain(args: argparse.Namespace) -> dict:
    """Explanation gate: top-1 test predictions explained (paths, CPU time, fidelity)."""
    import torch

    from kg_engine.gnn.datasets import load_dataset
    from kg_engine.gnn.evaluation import KnownFilter
    from kg_engine.gnn.explain import explain_triple
    from kg_engine.gnn.training import inverse_queries, load_model

    _setup()
    data = load_dataset(args.dataset)
    model = load_model(args.checkpoint, best=not args.latest).model
    graph = data.graph("train")
    known = KnownFilter(data.known_triples(), data.num_entities, data.num_relations)
    gen = torch.Generator().manual_seed(args.seed)
    queries = inverse_queries(data.test, data.num_relations)
    queries = queries[torch.randperm(len(queries), generator=gen)[: args.queries]]
    with_path, left_top1, drops, cpu, lengths = 0, 0, [], [], []
    example = None
    for h, r, t in queries.tolist():
        mask = known.mask(torch.tensor([h]), torch.tensor([r]))[0]
        with torch.no_grad():
            logits = model(graph, torch.tensor([h]), torch.tensor([r]))[0]
        masked = logits.clone()
        masked[mask] = float("-inf")
        masked[t] = logits[t]
        top1 = int(masked.argmax())  # the model's top-1 answer (other known answers filtered)
        filt = mask.clone()
        filt[top1] = False
        c0 = time.process_time()
        ex = explain_triple(
            model, graph, h, r, top1, k=3, max_length=3, check_fidelity=True, filter_mask=filt
        )
        cpu.append(time.process_time() - c0)
        with_path += bool(ex.paths)
        lengths += [len(p.steps) for p in ex.paths]
        if ex.fidelity is not None and ex.paths:
            left_top1 += ex.fidelity.rank_after > 1
            drops.append(ex.fidelity.score_drop)
        if example is None and ex.paths:
            example = ex.render(data.entity_label, data.relation_label)
    n = len(queries)
    return {
        "bench": "nbfnet_explain",
        "dataset": args.dataset,
        "queries": n,
        "share_with_path": with_path / n,
        "share_leaving_top1": left_top1 / max(len(drops), 1),
        "mean_score_drop": sum(drops) / max(len(drops), 1),
        "cpu_s_per_explanation_mean": sum(cpu) / n,
        "cpu_s_per_explanation_max": max(cpu),
        "mean_path_length": sum(lengths) / max(len(lengths), 1),
        "example": example,
        **_env(),
    }


def _overrides(args: argparse.Namespace) -> dict:
    out = {}
    for item in args.set or []:
        key, _, value = item.partition("=")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("train", "inductive"):
        s = sub.add_parser(name)
        s.add_argument("--dataset", default="umls")
        s.add_argument("--max-steps", type=int, default=600)
        s.add_argument("--seed", type=int, default=0)
        s.add_argument("--set", action="append", help="config override section.key=value")
        s.add_argument("--output", default=None, help="keep the checkpoint folder here")
        if name == "inductive":
            s.add_argument("--fraction", type=float, default=0.2)
            s.add_argument("--transductive-mrr", type=float, default=None)
    q = sub.add_parser("query")
    q.add_argument("--dataset", default="fb15k-237")
    q.add_argument("--queries", type=int, default=5)
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--aggregate", default="sum")
    q.add_argument("--checkpoint", default=None)
    e = sub.add_parser("explain")
    e.add_argument("--dataset", default="umls")
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--queries", type=int, default=200)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--latest", action="store_true", help="latest weights instead of best.pt")
    args = p.parse_args(argv)
    commands = {
        "train": cmd_train,
        "inductive": cmd_inductive,
        "query": cmd_query,
        "explain": cmd_explain,
    }
    result = commands[args.cmd](args)
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
