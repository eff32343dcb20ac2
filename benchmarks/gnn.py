"""CPU benchmarks of the GNN link predictors (1 thread, fixed seed, filtered test metrics).

Each run is a fresh subprocess (so peak RSS is per run) that trains one shipped pipeline
config (``pipelines/gnn_<model>.cfg``, overridable) on one small dataset from the shared
data folder and prints one ``RESULT {json}`` line: filtered MRR / Hits@1/3/10 on the test
split (both directions, realistic ties), CPU seconds (``time.process_time``: user + sys of
the process), wall seconds, load average, epochs, peak RSS.

Usage (from the repository root)::

    python benchmarks/gnn.py                                   # default matrix, markdown table
    python benchmarks/gnn.py --models complex --datasets umls  # a subset
    python benchmarks/gnn.py --run complex umls                # one run, RESULT line only
    python benchmarks/gnn.py --run rgcn kinship --set training.epochs=60
    python benchmarks/gnn.py --probe rgcn fb15k-237 --set model.dim=200 --set model.num_bases=10
    python benchmarks/gnn.py --probe compgcn fb15k-237 --set training.device=cuda   # GPU, bf16

Speed is measured here, never asserted in tests. The machine is shared: CPU seconds are
the number to compare, wall time is inflated by the load average printed beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODELS = ("complex", "rgcn", "compgcn")
DATASETS = ("umls", "kinship", "nations")

#: per-(model, dataset) overrides of the shipped configs (documented in docs/benchmarks.md).
RECIPES: dict[tuple[str, str], dict[str, object]] = {}


def run_one(model: str, dataset: str, overrides: dict[str, object], out: Path) -> dict[str, object]:
    import torch

    from kg_engine.gnn.training import train

    torch.set_num_threads(1)
    settings = {
        "data.dataset": dataset,
        "training.device": "cpu",
        "training.num_threads": 1,
        "training.seed": 0,
        "training.checkpoint_every_minutes": 0,
        **RECIPES.get((model, dataset), {}),
        **overrides,
    }
    wall0, cpu0 = time.monotonic(), time.process_time()
    result = train(model, output_dir=out, overrides=settings, resume=False, progress=False)
    wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
    m = result.metrics
    test = m.get("test", {})
    return {
        "model": model,
        "dataset": dataset,
        "mrr": round(test.get("mrr", float("nan")), 4),
        "hits@1": round(test.get("hits@1", float("nan")), 4),
        "hits@3": round(test.get("hits@3", float("nan")), 4),
        "hits@10": round(test.get("hits@10", float("nan")), 4),
        "valid_mrr": round(m.get("valid", {}).get("mrr", float("nan")), 4),
        "epochs": m["epochs"],
        "best_epoch": m["best_epoch"],
        "status": m["status"],
        "cpu_s": round(cpu, 1),
        "wall_s": round(wall, 1),
        "loadavg": round(os.getloadavg()[0], 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "overrides": {k: v for k, v in settings.items() if k not in ("data.dataset",)},
    }


def probe_steps(model: str, dataset: str, steps: int, overrides: dict[str, object]) -> dict[str, object]:
    """Cost of a few full training steps (and one full-graph encoding) on a big graph."""
    import torch

    from kg_engine.gnn.config import load_config
    from kg_engine.gnn.datasets import load_dataset
    from kg_engine.gnn.evaluation import KnownFilter
    from kg_engine.gnn.training import build_model, inverse_queries, resolve_device

    torch.set_num_threads(1)
    torch.manual_seed(0)
    cfg = load_config(model, {"data.dataset": dataset, "training.device": "cpu", **overrides})
    device = resolve_device(cfg.training.device)
    cuda = device.type == "cuda"
    data = load_dataset(dataset)
    net = build_model(cfg, data.num_entities, data.num_relations).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.training.lr)
    graph = data.graph("train").to(device)
    queries = inverse_queries(data.train, data.num_relations).to(device)
    filt = KnownFilter(data.train, data.num_entities, data.num_relations)
    times, walls = [], []
    for _ in range(steps):
        batch = queries[torch.randint(0, len(queries), (cfg.training.batch_size,), device=device)]
        cpu0, wall0 = time.process_time(), time.perf_counter()
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=cuda and cfg.training.amp):
            loss = net.loss(graph, batch, filt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if cuda:
            torch.cuda.synchronize()
        times.append(time.process_time() - cpu0)
        walls.append(time.perf_counter() - wall0)
    steps_per_epoch = -(-len(queries) // cfg.training.batch_size)
    # on CUDA the wall time per step is the figure; on CPU the CPU time
    per_step = (sum((walls if cuda else times)[1:]) / max(len(times) - 1, 1))
    return {
        "device": str(device) + (f" ({torch.cuda.get_device_name(device)})" if cuda else ""),
        "peak_gpu_gb": round(torch.cuda.max_memory_allocated(device) / 2**30, 2) if cuda else None,
        "training_triples_per_s": round(cfg.training.batch_size / per_step, 1),
        "probe": model,
        "dataset": dataset,
        "edges_with_inverses": int(graph.edge_index.shape[1]),
        "batch_size": cfg.training.batch_size,
        "model": {k: v for k, v in cfg.model_kwargs().items()},
        "s_per_step": round(per_step, 2),
        "s_per_epoch_est": round(per_step * steps_per_epoch),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "loadavg": round(os.getloadavg()[0], 2),
    }


def _parse_sets(items: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", nargs=2, metavar=("MODEL", "DATASET"))
    parser.add_argument("--probe", nargs=2, metavar=("MODEL", "DATASET"),
                        help="CPU cost and peak RSS of a few training steps (e.g. rgcn fb15k-237)")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--set", action="append", default=[], help="section.key=value override")
    parser.add_argument("--out", default="/tmp/kg_gnn_bench", help="checkpoint folder root")
    parser.add_argument("--json", default=None, help="append RESULT rows to this JSON-lines file")
    args = parser.parse_args()
    if args.probe:
        row = probe_steps(args.probe[0], args.probe[1], args.steps, _parse_sets(args.set))
        print("RESULT " + json.dumps(row), flush=True)
        return 0
    if args.run:
        model, dataset = args.run
        row = run_one(model, dataset, _parse_sets(args.set), Path(args.out) / f"{model}-{dataset}")
        print("RESULT " + json.dumps(row), flush=True)
        return 0
    rows = []
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_NUM_THREADS": "1"}
    for model in args.models.split(","):
        for dataset in args.datasets.split(","):
            cmd = [sys.executable, __file__, "--run", model, dataset, "--out", args.out]
            for s in args.set:
                cmd += ["--set", s]
            proc = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env, cwd=REPO)
            line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
            if line is None:
                print(f"{model} {dataset} FAILED:\n{proc.stderr[-2000:]}", file=sys.stderr)
                continue
            row = json.loads(line[7:])
            rows.append(row)
            print(line, flush=True)
            if args.json:
                with open(args.json, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(row) + "\n")
    print("\n| dataset | model | MRR | H@1 | H@3 | H@10 | epochs (best) | CPU s | wall s | load | peak RSS MB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['dataset']} | {r['model']} | {r['mrr']:.3f} | {r['hits@1']:.3f} | {r['hits@3']:.3f} | "
              f"{r['hits@10']:.3f} | {r['epochs']} ({r['best_epoch']}) | {r['cpu_s']} | {r['wall_s']} | "
              f"{r['loadavg']} | {r['peak_rss_mb']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
