#!/usr/bin/env python3
"""One-command GPU check of the GNN reasoners: correctness, speed, profile, quality.

On the device machine (python3 3.12 + torch + torch-geometric; the rest comes from the carry
folder built here by ``benchmarks/gpu/prepare.sh``)::

    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site \
        benchmarks/gpu/carry/wheels/*.whl && PYTHONPATH=/tmp/site:. python3 benchmarks/gpu/run.py

Here, as a plain CPU run on UMLS (what CI and the tests do; a couple of minutes)::

    python benchmarks/gpu/run.py --cpu-smoke --dataset umls --out /tmp/x

Phases, each writing ``report.json`` again when it ends (a killed run still leaves what it
measured), each skipped with a reason once the ``--budget-minutes`` would be overrun:

1. ``imports``: versions and files of torch / torch-geometric / pydantic / rdflib / kg_engine;
2. ``correctness``: the same model, seed and batch give the same loss and gradients on CPU
   float32 and on CUDA (float32, TF32 off: 1e-3 relative; bf16 autocast: 5e-2) for NBFNet,
   R-GCN, CompGCN and ComplEx-N3; then a briefly trained checkpoint's filtered test MRR (first
   ``--ckpt-eval-limit`` test triples)
   evaluated on CPU and on CUDA (equal within 1e-4). Without CUDA the comparisons are skipped
   with the reason and the CPU side is still computed;
3. ``speed``: training queries/s (a query is one triple in one direction; an epoch is
   2 x |train| queries) of each model through :func:`kg_engine.gnn.training.train`, timed over
   ``--speed-steps`` steps after ``--speed-warmup`` steps (the second call resumes the first);
   ``profile``: the PyTorch profiler's top ops of a few training steps (``profile.txt``);
4. ``evaluation``: full filtered test evaluation time of the path GNN (both directions),
   projected from a first slice and skipped when it would not fit the budget;
5. ``quality``: time-boxed runs (``model:dataset:minutes``) in ``--state-dir`` (git-ignored,
   kept between commands on a warm device machine): the same command resumes them; reports
   filtered test MRR / Hits@k of the weights reached; a run is shortened to what the budget
   leaves (a minute kept for its evaluation).
"""

from __future__ import annotations

import argparse
import builtins
import copy
import gzip
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "benchmarks" / "gpu"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: third-party modules the device image already has (KINDS.md package list).
DEVICE_PREINSTALLED = {
    "torch",
    "torch_geometric",
    "numpy",
    "tqdm",
    "typing_extensions",
    "pyparsing",
}
#: the modules that make up the GNN train/eval path.
GNN_MODULES = (
    "kg_engine.gnn.training",
    "kg_engine.gnn.datasets",
    "kg_engine.gnn.evaluation",
    "kg_engine.gnn.models.nbfnet",
    "kg_engine.gnn.models.rgcn",
    "kg_engine.gnn.models.compgcn",
    "kg_engine.gnn.models.complex",
)
#: model -> (pipeline config, overrides that make the CPU/CUDA comparison deterministic).
MODELS = {
    "nbfnet": ("nbfnet_fb15k237", {"model.num_negative": 0}),
    "rgcn": ("rgcn", {}),
    "compgcn": ("compgcn", {}),
    "complex": ("complex_fb15k237", {}),
}
DATASETS = ("fb15k-237", "wn18rr", "umls")
log = logging.getLogger("gpu-run")


# ------------------------------------------------------------------ bundle
def import_closure() -> set[str]:
    """Third-party top-level modules the GNN path needs, beyond the device image's.

    Follows imports made by ``kg_engine`` and, transitively, by every module it pulls in that
    the device image lacks (so rdflib's and pydantic's own needs count too).
    """
    needed: set[str] = set()
    std = set(sys.stdlib_module_names)
    orig = builtins.__import__

    def hook(name, globals=None, locals=None, fromlist=(), level=0):
        top = name.split(".")[0]
        importer = (globals or {}).get("__name__", "") or ""
        new = (
            level == 0
            and (importer.split(".")[0] == "kg_engine" or importer.split(".")[0] in needed)
            and top
            and not top.startswith("_")
            and top not in std
            and top != "kg_engine"
            and top not in DEVICE_PREINSTALLED
            and top not in needed
        )
        if new:
            needed.add(top)  # before importing it, so that its own imports are followed too
        try:
            return orig(name, globals, locals, fromlist, level)
        except ImportError:
            if new:  # a failed (guarded, optional) import is no requirement
                needed.discard(top)
            raise

    if any(m == "kg_engine" or m.startswith("kg_engine.") for m in sys.modules):
        raise RuntimeError("import_closure() needs a fresh interpreter (see check_bundle)")
    builtins.__import__ = hook
    try:
        import importlib

        for mod in GNN_MODULES:
            importlib.import_module(mod)
    finally:
        builtins.__import__ = orig
    return needed


def wheel_modules(wheel_dir: Path) -> dict[str, str]:
    """Top-level importable names each wheel in ``wheel_dir`` provides -> wheel file."""
    out: dict[str, str] = {}
    for whl in sorted(wheel_dir.glob("*.whl")):
        with zipfile.ZipFile(whl) as z:
            for name in z.namelist():
                first = name.split("/")[0]
                if first.endswith((".dist-info", ".data")):
                    continue
                out[first.split(".")[0]] = whl.name
    return out


def check_bundle(carry: Path) -> dict[str, Any]:
    """Compare the import closure with the carried wheels and data; ``ok`` False names gaps."""
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--import-closure"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    needed = set(json.loads(proc.stdout.strip().splitlines()[-1]))
    provided = wheel_modules(carry / "wheels")
    missing_modules = sorted(needed - set(provided))
    missing_data = [
        f"{ds}/{split}.txt.gz"
        for ds in DATASETS
        for split in ("train", "valid", "test")
        if not (carry / "data" / ds / f"{split}.txt.gz").is_file()
    ]
    cp312 = [w for w in set(provided.values()) if "-cp" in w and "-cp312-" not in w]
    return {
        "needed": sorted(needed),
        "provided": {m: provided[m] for m in sorted(needed) if m in provided},
        "missing_modules": missing_modules,
        "missing_data": missing_data,
        "wrong_python_wheels": sorted(cp312),
        "ok": not missing_modules and not missing_data and not cp312,
    }


# ------------------------------------------------------------------ helpers
def dataset_dir(name: str, carry: Path) -> str:
    """The carried (gzipped) split files unpacked to a temp folder, else the dataset name."""
    src = carry / "data" / name
    if (src / "train.txt.gz").is_file():
        dst = Path(tempfile.gettempdir()) / "kg-gpu-data" / name
        dst.mkdir(parents=True, exist_ok=True)
        for split in ("train", "valid", "test"):
            if (src / f"{split}.txt.gz").is_file() and not (dst / f"{split}.txt").is_file():
                with gzip.open(src / f"{split}.txt.gz", "rb") as f:
                    (dst / f"{split}.txt").write_bytes(f.read())
        return str(dst)
    return name


class Report:
    """The JSON report, rewritten after every phase."""

    def __init__(self, out: Path, budget_s: float) -> None:
        self.out, self.t0, self.budget_s = out, time.monotonic(), budget_s
        self.data: dict[str, Any] = {"errors": []}

    def left(self) -> float:
        return self.budget_s - (time.monotonic() - self.t0)

    def save(self) -> None:
        self.data["elapsed_s"] = round(time.monotonic() - self.t0, 2)
        (self.out / "report.json").write_text(
            json.dumps(self.data, indent=2, default=str), encoding="utf-8"
        )

    def phase(self, name: str, fn, *args, need_s: float = 0.0) -> None:
        if self.left() < need_s:
            self.data[name] = {
                "skipped": f"budget: {self.left():.0f} s left, phase needs ~{need_s:.0f} s"
            }
        else:
            t = time.monotonic()
            try:
                self.data[name] = fn(*args)
            except Exception as exc:  # a failed phase must not cost the others
                log.exception("phase %s failed", name)
                self.data[name] = {"error": f"{type(exc).__name__}: {exc}"}
                self.data["errors"].append({"phase": name, "traceback": traceback.format_exc()})
            if isinstance(self.data[name], dict):
                self.data[name]["phase_seconds"] = round(time.monotonic() - t, 2)
        log.info("phase %s: %s", name, json.dumps(self.data[name], default=str)[:2000])
        self.save()


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ------------------------------------------------------------------ phases
def phase_imports() -> dict[str, Any]:
    import pydantic
    import rdflib
    import torch
    import torch_geometric

    import kg_engine

    for mod in GNN_MODULES:
        __import__(mod)
    info = {
        m.__name__: {"version": getattr(m, "__version__", "?"), "file": m.__file__}
        for m in (torch, torch_geometric, pydantic, rdflib, kg_engine)
    }
    info["cuda"] = torch.cuda.is_available()
    if info["cuda"]:
        info["gpu"] = torch.cuda.get_device_name(0)
        info["cuda_version"] = torch.version.cuda
    return info


def _rel_err(a, b) -> float:

    a, b = a.detach().float().cpu(), b.detach().float().cpu()
    return float((a - b).norm() / a.norm().clamp(min=1e-12))


def phase_correctness(args, data, device) -> dict[str, Any]:
    import torch

    from kg_engine.gnn.config import load_config
    from kg_engine.gnn.evaluation import KnownFilter, RankingEvaluator
    from kg_engine.gnn.training import (
        build_model,
        evaluate_model,
        inverse_queries,
        read_checkpoint,
        train,
    )

    out: dict[str, Any] = {}
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    queries = inverse_queries(data.train, data.num_relations)
    batch = queries[
        torch.randperm(len(queries), generator=torch.Generator().manual_seed(0))[: args.check_batch]
    ]
    filt = KnownFilter(data.train, data.num_entities, data.num_relations)
    graph = data.graph("train")

    def loss_and_grads(model, dev, bf16: bool):
        model.eval()  # no dropout: the same function on both devices
        if hasattr(model, "bf16"):  # NBFNet's own bf16 node states/messages (CUDA only)
            model.bf16 = bf16
        model.zero_grad(set_to_none=True)
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=bf16):
            loss = model.loss(graph.to(dev), batch.to(dev), filt)
        loss.backward()
        return loss.detach().float().cpu(), {
            n: p.grad.detach().float().cpu()
            for n, p in model.named_parameters()
            if p.grad is not None
        }

    checks: dict[str, Any] = {}
    for name in args.models:
        cfg_name, overrides = MODELS[name]
        cfg = load_config(cfg_name, overrides)
        torch.manual_seed(0)
        model = build_model(cfg, data.num_entities, data.num_relations)
        ref_loss, ref_grads = loss_and_grads(model, torch.device("cpu"), False)
        row: dict[str, Any] = {"cpu_loss": float(ref_loss), "params_with_grad": len(ref_grads)}
        if not cuda:
            row["skipped"] = "no CUDA device: CPU float32 side only"
        else:
            gpu_model = copy.deepcopy(model).to(device)
            for label, bf16, tol in (("cuda_fp32", False, 1e-3), ("cuda_bf16", True, 5e-2)):
                loss, grads = loss_and_grads(gpu_model, device, bf16)
                loss_err = abs(float(loss) - float(ref_loss)) / max(abs(float(ref_loss)), 1e-12)
                grad_err = max((_rel_err(ref_grads[n], grads[n]) for n in ref_grads), default=0.0)
                row[label] = {
                    "loss": float(loss),
                    "loss_rel_err": loss_err,
                    "max_grad_rel_err": grad_err,
                    "tolerance": tol,
                    "ok": loss_err <= tol and grad_err <= tol * 10 and set(grads) == set(ref_grads),
                }
            row["ok"] = row["cuda_fp32"]["ok"] and row["cuda_bf16"]["ok"]
        checks[name] = row
    out["loss_and_gradients"] = checks

    # a checkpoint's filtered MRR, evaluated on CPU and on the device
    ckpt_dir = Path(args.state_dir) / "correctness-ckpt"
    cfg_name, _ = MODELS[args.ckpt_model]
    result = train(
        cfg_name,
        output_dir=ckpt_dir,
        data=data,
        resume=False,
        progress=False,
        overrides={
            "training.max_steps": args.ckpt_steps,
            "training.max_minutes": 0,
            "training.device": str(device),
            "data.dataset": data.name,
        },
    )
    state = read_checkpoint(ckpt_dir / "checkpoint.pt", "cpu")["model"]
    cfg = load_config(ckpt_dir / "config.cfg")
    evaluator = RankingEvaluator(data)
    limit = args.ckpt_eval_limit
    test = data.test[:limit] if limit else data.test
    mrr: dict[str, Any] = {
        "model": args.ckpt_model,
        "steps": result.metrics["steps"],
        "queries": 2 * len(test),
    }
    for dev in ["cpu"] + (["cuda"] if cuda else []):
        model = build_model(cfg, data.num_entities, data.num_relations)
        model.load_state_dict(state)
        model.to(dev)
        t = time.monotonic()
        metrics = evaluate_model(
            model, data.graph("train").to(dev), evaluator, test, cfg.evaluation.batch_size, dev
        )
        mrr[dev] = {
            "mrr": metrics["mrr"],
            "hits@10": metrics["hits@10"],
            "seconds": time.monotonic() - t,
        }
    if cuda:
        mrr["abs_diff"] = abs(mrr["cpu"]["mrr"] - mrr["cuda"]["mrr"])
        mrr["ok"] = mrr["abs_diff"] <= 1e-4
    else:
        mrr["skipped"] = "no CUDA device: CPU evaluation only"
    out["checkpoint_mrr"] = mrr
    out["ok"] = all(r.get("ok", True) for r in checks.values()) and mrr.get("ok", True)
    return out


def phase_speed(args, data, device) -> dict[str, Any]:
    from kg_engine.gnn.config import load_config
    from kg_engine.gnn.training import train

    out: dict[str, Any] = {}
    for name in args.models:
        cfg_name, _ = MODELS[name]
        run_dir = Path(args.state_dir) / f"speed-{name}-{data.name}"
        common = {
            "training.max_minutes": 0,
            "training.device": str(device),
            "data.dataset": data.name,
            "training.checkpoint_every_minutes": 0,
            "training.num_threads": args.threads,
        }
        first = train(
            cfg_name,
            output_dir=run_dir,
            data=data,
            resume=False,
            progress=False,
            overrides={**common, "training.max_steps": args.speed_warmup},
        )
        second = train(
            cfg_name,
            output_dir=run_dir,
            data=data,
            resume=True,
            progress=False,
            overrides={**common, "training.max_steps": args.speed_warmup + args.speed_steps},
        )
        steps = second.metrics["steps"] - first.metrics["steps"]
        seconds = second.metrics["train_seconds"] - first.metrics["train_seconds"]
        cpu_seconds = second.metrics["cpu_seconds"] - first.metrics["cpu_seconds"]
        batch = load_config(cfg_name).training.batch_size
        out[name] = {
            "steps": steps,
            "batch_size": batch,
            "seconds": seconds,
            "cpu_seconds": cpu_seconds,
            "queries_per_s": steps * batch / seconds if seconds > 0 else None,
            "status": second.metrics["status"],
            "device": second.metrics["device"],
        }
        if device.type == "cuda":
            import torch

            out[name]["peak_gpu_memory_gb"] = torch.cuda.max_memory_allocated(device) / 2**30
    return out


def phase_profile(args, data, device, out_dir: Path) -> dict[str, Any]:
    import torch
    from torch.profiler import ProfilerActivity, profile

    from kg_engine.gnn.config import load_config
    from kg_engine.gnn.evaluation import KnownFilter
    from kg_engine.gnn.training import build_model, inverse_queries

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    key = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    queries = inverse_queries(data.train, data.num_relations)
    filt = KnownFilter(data.train, data.num_entities, data.num_relations)
    graph = data.graph("train").to(device)
    out: dict[str, Any] = {"sort_key": key}
    tables = []
    for name in args.models:
        cfg = load_config(MODELS[name][0])
        torch.manual_seed(0)
        model = build_model(cfg, data.num_entities, data.num_relations).to(device).train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        batches = [
            queries[torch.randint(len(queries), (cfg.training.batch_size,))].to(device)
            for _ in range(args.profile_steps + 1)
        ]

        def step(b, model=model, opt=opt):
            with torch.autocast(
                device_type="cuda", dtype=torch.bfloat16, enabled=device.type == "cuda"
            ):
                loss = model.loss(graph, b, filt)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        step(batches[0])  # warm-up outside the trace
        _sync(device)
        with profile(activities=activities) as prof:
            for b in batches[1:]:
                step(b)
            _sync(device)
        avg = prof.key_averages()
        tables.append(
            f"=== {name} on {data.name} ({device}) ===\n" + avg.table(sort_by=key, row_limit=15)
        )
        rows = sorted(avg, key=lambda e: getattr(e, key) or 0, reverse=True)[:10]
        total = sum(getattr(e, key) or 0 for e in avg if "ProfilerStep" not in e.key) or 1.0
        out[name] = [
            {
                "op": e.key,
                "self_ms": round(getattr(e, key) / 1000 / args.profile_steps, 3),
                "share": round(getattr(e, key) / total, 4),
                "calls": e.count,
            }
            for e in rows
        ]
    (out_dir / "profile.txt").write_text("\n\n".join(tables), encoding="utf-8")
    return out


def _test_eval(model, cfg, data, device, limit: int, left_s: float) -> dict[str, Any]:
    """Filtered test metrics; a first slice projects the full time, skipped if it won't fit."""
    from kg_engine.gnn.evaluation import RankingEvaluator
    from kg_engine.gnn.training import evaluate_model

    evaluator = RankingEvaluator(data)
    graph = data.graph("train").to(device)
    test = data.test[:limit] if limit else data.test
    probe = test[: max(1, min(len(test), 4 * cfg.evaluation.batch_size))]
    t = time.monotonic()
    evaluate_model(model, graph, evaluator, probe, cfg.evaluation.batch_size, device)
    _sync(device)
    projected = (time.monotonic() - t) * len(test) / len(probe)
    if projected > left_s:
        return {
            "skipped": f"projected {projected:.0f} s for {2 * len(test)} queries, {left_s:.0f} s left",
            "projected_seconds": projected,
        }
    t = time.monotonic()
    metrics = evaluate_model(model, graph, evaluator, test, cfg.evaluation.batch_size, device)
    _sync(device)
    return {**metrics, "seconds": time.monotonic() - t, "projected_seconds": projected}


def phase_evaluation(args, data, device, report: Report) -> dict[str, Any]:
    from kg_engine.gnn.training import load_model

    name = "nbfnet" if "nbfnet" in args.models else args.models[0]
    loaded = load_model(
        Path(args.state_dir) / f"speed-{name}-{data.name}", device=device, best=False
    )
    out = _test_eval(loaded.model, loaded.config, data, device, args.eval_limit, report.left() - 30)
    out["model"] = f"{name} (weights after the speed phase)"
    return out


def phase_quality(args, device, carry: Path, report: Report) -> dict[str, Any]:
    from kg_engine.gnn.datasets import load_dataset
    from kg_engine.gnn.training import train

    out: dict[str, Any] = {}
    for spec in args.quality:
        name, ds, minutes = spec.split(":")
        key = f"{name}:{ds}"
        # shortened to what the budget leaves (1 min kept for its test evaluation)
        minutes = min(float(minutes), (report.left() - 60) / 60)
        if minutes < 0.25:
            out[key] = {"skipped": f"budget: {report.left():.0f} s left"}
            continue
        data = load_dataset(dataset_dir(ds, carry))
        run_dir = Path(args.state_dir) / f"quality-{name}-{ds}"
        overrides = {
            "training.max_minutes": minutes,
            "training.device": str(device),
            "data.dataset": ds,
            "training.checkpoint_every_minutes": 2.0,
        }
        if args.quality_max_steps:
            overrides["training.max_steps"] = args.quality_max_steps
        result = train(
            MODELS[name][0],
            output_dir=run_dir,
            data=data,
            resume=True,
            progress=False,
            overrides=overrides,
        )
        m = result.metrics
        row = {
            "minutes": round(minutes, 2),
            **{
                k: m.get(k)
                for k in ("status", "epochs", "steps", "train_seconds", "cpu_seconds", "device")
            },
        }
        row["valid_history"] = [
            {"epoch": h["epoch"], "mrr": h["valid"]["mrr"]} for h in m.get("history", [])
        ]
        if "test" in m:
            row["test"] = m["test"]
        else:  # stopped on the time box: evaluate the weights reached (resumable later)
            from kg_engine.gnn.config import load_config

            cfg = load_config(run_dir / "config.cfg")
            row["test"] = _test_eval(
                result.model, cfg, data, device, args.eval_limit, report.left() - 15
            )
            row["test_of"] = "latest weights (time-boxed run; the same command resumes it)"
        out[key] = row
        report.data["quality"] = out
        report.save()
    return out


# ------------------------------------------------------------------ main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.environ.get("OUT") or "gpu-out", help="report folder ($OUT)")
    p.add_argument("--carry", default=str(HERE / "carry"), help="folder built by prepare.sh")
    p.add_argument("--state-dir", default=str(HERE / "state"), help="checkpoints of resumable runs")
    p.add_argument("--dataset", default="fb15k-237", help="dataset of the correctness/speed phases")
    p.add_argument("--cpu-smoke", action="store_true", help="force CPU, small step counts (CI)")
    p.add_argument(
        "--check-bundle", action="store_true", help="only check carry/ against the imports"
    )
    p.add_argument("--import-closure", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--budget-minutes", type=float, default=9.0)
    p.add_argument(
        "--phases",
        nargs="+",
        default=["correctness", "speed", "profile", "evaluation", "quality"],
        choices=["correctness", "speed", "profile", "evaluation", "quality"],
        help="phases to run (evaluation needs speed's checkpoint)",
    )
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--check-batch", type=int, default=4, help="queries in the CPU/CUDA comparison")
    p.add_argument("--ckpt-model", default="complex", choices=list(MODELS))
    p.add_argument("--ckpt-steps", type=int, default=50)
    p.add_argument("--ckpt-eval-limit", type=int, default=2000, help="test triples (0: all)")
    p.add_argument("--speed-warmup", type=int, default=5)
    p.add_argument("--speed-steps", type=int, default=30)
    p.add_argument("--profile-steps", type=int, default=3)
    p.add_argument("--eval-limit", type=int, default=0, help="test triples evaluated (0: all)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch default)")
    p.add_argument(
        "--quality",
        nargs="*",
        default=["complex:fb15k-237:2.5", "nbfnet:fb15k-237:1.5", "nbfnet:wn18rr:1.0"],
        help="time-boxed runs model:dataset:minutes (resumed from --state-dir)",
    )
    p.add_argument("--quality-max-steps", type=int, default=0, help="cap per quality run (tests)")
    args = p.parse_args(argv)
    if args.cpu_smoke:
        defaults = {
            "speed_warmup": 1,
            "speed_steps": 3,
            "ckpt_steps": 20,
            "profile_steps": 2,
            "eval_limit": 300,
        }
        for k, v in defaults.items():
            if getattr(args, k) == p.get_default(k):
                setattr(args, k, v)
        if args.quality == p.get_default("quality"):
            args.quality = [f"complex:{args.dataset}:0.3", f"nbfnet:{args.dataset}:0.3"]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    carry = Path(args.carry)
    if args.import_closure:
        print(json.dumps(sorted(import_closure())))
        return 0
    if args.check_bundle:
        result = check_bundle(carry)
        print(json.dumps(result, indent=2))
        if not result["ok"]:
            print(
                f"bundle incomplete: modules {result['missing_modules']}, data {result['missing_data']}, "
                f"wrong wheels {result['wrong_python_wheels']}; rerun benchmarks/gpu/prepare.sh",
                file=sys.stderr,
            )
        return 0 if result["ok"] else 1

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    Path(args.state_dir).mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        handlers=[logging.FileHandler(out_dir / "run.log"), logging.StreamHandler()],
    )
    report = Report(out_dir, args.budget_minutes * 60)
    import torch

    cuda = torch.cuda.is_available() and not args.cpu_smoke
    device = torch.device("cuda:0" if cuda else "cpu")
    report.data["meta"] = {
        "argv": sys.argv[1:] if argv is None else argv,
        "device": str(device),
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "host_cpus": os.cpu_count(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "loadavg": os.getloadavg(),
        "dataset": args.dataset,
        "cpu_smoke": args.cpu_smoke,
    }
    if cuda:
        try:
            report.data["meta"]["nvidia_smi"] = subprocess.run(
                [
                    "nvidia-smi",
                    "--query-gpu=name,memory.total,driver_version",
                    "--format=csv,noheader",
                ],
                capture_output=True,
                text=True,
                timeout=20,
                check=False,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError) as exc:
            report.data["meta"]["nvidia_smi"] = str(exc)
    report.save()
    report.phase("imports", phase_imports)
    from kg_engine.gnn.datasets import load_dataset

    data = load_dataset(dataset_dir(args.dataset, carry))
    report.data["meta"]["data"] = {
        "name": data.name,
        "entities": data.num_entities,
        "relations": data.num_relations,
        "train": len(data.train),
        "valid": len(data.valid),
        "test": len(data.test),
    }
    phases = {
        "correctness": (phase_correctness, (args, data, device), 20),
        "speed": (phase_speed, (args, data, device), 30),
        "profile": (phase_profile, (args, data, device, out_dir), 20),
        "evaluation": (phase_evaluation, (args, data, device, report), 20),
        "quality": (phase_quality, (args, device, carry, report), 20),
    }
    for name, (fn, fn_args, need_s) in phases.items():
        if name in args.phases:
            report.phase(name, fn, *fn_args, need_s=need_s)
    report.data["meta"]["loadavg_end"] = os.getloadavg()
    report.save()
    log.info("report: %s", out_dir / "report.json")
    return 1 if report.data["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
