"""Config-driven training of link-prediction models: checkpoints, exact resume, DDP.

What :func:`train` does, in order:

1. validates the config (:mod:`kg_engine.gnn.config`) and loads the data (a dataset from
   the shared folder / a directory, or a store URL);
2. seeds everything (``training.seed``), builds the model, the optimiser and scheduler;
3. if ``output_dir/checkpoint.pt`` exists (and ``resume``), restores model, optimiser,
   scheduler, every RNG state and the position (epoch, step within the epoch): the run
   continues exactly as if it had never stopped (same batches, same dropout masks);
4. trains on the train triples plus their inverses ``(t, r + R, h)``, batch order drawn
   from a generator seeded with ``(seed, epoch)``; bf16 autocast on CUDA when
   ``training.amp``; a checkpoint every ``checkpoint_every_minutes``; stops cleanly (with a
   checkpoint) after ``max_minutes``/``max_steps`` so that the same command resumes —
   made for GPU sessions that come in 10-minute commands;
5. validates every ``eval_every`` epochs with the filtered evaluator, keeps ``best.pt``
   (best valid MRR) and stops early after ``patience`` evaluations without improvement;
6. reloads the best weights, evaluates on test, writes ``metrics.json``.

Under ``torchrun --nproc_per_node K -m kg_engine.gnn.training CONFIG OUTPUT_DIR`` each
process takes every K-th query of each global batch; the model is wrapped in
``DistributedDataParallel`` (NCCL on CUDA, gloo on CPU) so gradients are all-reduced, and
evaluation is sharded with metrics summed over processes. Rank 0 writes the files.

Checkpoint folder: ``config.cfg`` (the validated config), ``vocab.json`` (id maps),
``train_triples.pt`` (the training graph), ``valid_triples.pt`` / ``test_triples.pt`` (the
held-out splits, so evaluation never re-splits data that changed since),
``inferred_triples.pt`` (rule-engine inferences the evaluation filters), ``checkpoint.pt``
(latest state), ``best.pt`` (best weights), ``metrics.json``, ``calibration.json`` (the
temperature fitted on validation, :mod:`kg_engine.gnn.calibration`). Files are read with
``torch.load(weights_only=True)``; unreadable ones raise :class:`~kg_engine.errors.ModelError`.

Weights are rows of entity/relation *indices*, which mean something only with the id maps
and splits they were trained with: ``checkpoint.pt`` and ``best.pt`` record a
:meth:`~kg_engine.gnn.data.KGData.fingerprint` of them. Resuming on data that changed since
(entities loaded or deleted, triples added) and loading weights beside the id maps of another
run are refused with :class:`~kg_engine.errors.ModelError`; a fresh run removes the weights,
metrics and calibration an earlier run left in its folder before it writes its own id maps.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from kg_engine.core.files import atomic_write
from kg_engine.errors import ConfigError, ModelError
from kg_engine.gnn.calibration import Calibration, fit_calibration, load_calibration
from kg_engine.gnn.config import GNNConfig, load_config
from kg_engine.gnn.data import KGData
from kg_engine.gnn.evaluation import KnownFilter, RankingEvaluator
from kg_engine.gnn.models import get_model_class
from kg_engine.gnn.models.base import KGCModel
from kg_engine.gnn.ranges import RangeFilter

__all__ = [
    "LoadedModel",
    "TrainResult",
    "build_model",
    "evaluate_model",
    "inverse_queries",
    "load_data",
    "load_model",
    "read_checkpoint",
    "resolve_device",
    "train",
]

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
BEST = "best.pt"
#: split -> file of its triples in a checkpoint folder.
SPLIT_FILES = {"train": "train_triples.pt", "valid": "valid_triples.pt", "test": "test_triples.pt",
               "inferred": "inferred_triples.pt"}
#: what an earlier run leaves in a folder that a fresh run must not be mixed with.
_RUN_FILES = (CHECKPOINT, BEST, "metrics.json", "calibration.json")


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        model: the trained model (best valid weights when training completed).
        metrics: ``{"valid": …, "test": …, "status": …, "epochs": …, …}``.
        output_dir: the checkpoint folder.
    """

    model: KGCModel
    metrics: dict[str, Any]
    output_dir: Path
    data: KGData | None = None

    @property
    def completed(self) -> bool:
        """False when the run stopped on ``max_minutes``/``max_steps`` (resume to continue)."""
        return self.metrics.get("status") in ("completed", "early_stopping")


@dataclass
class LoadedModel:
    """A trained model with its id maps, training graph and config; ``weights_digest`` is the
    SHA-256 of the weights file it was read from (predictions record it, so an explanation
    can tell when the folder was retrained since)."""

    model: KGCModel
    data: KGData
    config: GNNConfig
    graph: Any = None
    calibration: Calibration | None = None
    weights_digest: str = ""


@dataclass
class _State:
    epoch: int = 0
    step_in_epoch: int = 0
    global_step: int = 0
    best_mrr: float = -1.0
    best_epoch: int = 0
    bad_evals: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    train_seconds: float = 0.0
    cpu_seconds: float = 0.0


# ---------------------------------------------------------------- helpers
def resolve_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    """``"auto"`` -> ``cuda:<local_rank>`` when CUDA is available, else CPU.

    Raises:
        ConfigError: CUDA requested but not available.
    """
    name = (name or "auto").lower()
    if name == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {name!r} requested but CUDA is not available; use 'cpu' or 'auto'")
        if device.index is None:
            device = torch.device(f"cuda:{local_rank}")
    return device


def inverse_queries(triples: Tensor, num_relations: int) -> Tensor:
    """Train triples plus their inverses: ``[2n, 3]`` rows ``(h, r, t)`` then ``(t, r + R, h)``."""
    return torch.cat(
        [triples, torch.stack([triples[:, 2], triples[:, 1] + num_relations, triples[:, 0]], 1)]
    )


def load_data(cfg: GNNConfig) -> KGData:
    """Load the data named by ``[data]`` (dataset, or store URL + random split)."""
    if cfg.data.db:
        from kg_engine.store import open_store

        store = open_store(cfg.data.db, readonly=True)
        try:
            data = KGData.from_store(
                store, cfg.data.graph, include_literals=cfg.data.include_literals, name=cfg.data.db
            )
        finally:
            close = getattr(store, "close", None)
            if close:
                close()
        return data.split(cfg.data.valid_fraction, cfg.data.test_fraction, cfg.data.split_seed)
    if not cfg.data.dataset:
        raise ConfigError("section 'data' needs either dataset = NAME_OR_DIR or db = URL")
    from kg_engine.gnn.datasets import load_dataset

    return load_dataset(cfg.data.dataset)


def build_model(cfg: GNNConfig, num_entities: int, num_relations: int) -> KGCModel:
    """Instantiate ``[model]`` for a graph of that size."""
    cls = get_model_class(cfg.model.name)
    try:
        return cls(num_entities, num_relations, **cfg.model_kwargs())
    except TypeError as exc:
        raise ConfigError(f"model {cfg.model.name}: {exc}") from exc


def _make_optimizer(cfg: GNNConfig, params: Any) -> torch.optim.Optimizer:
    t = cfg.training
    if t.optimizer == "adam":
        return torch.optim.Adam(params, lr=t.lr, weight_decay=t.weight_decay)
    if t.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=t.lr, weight_decay=t.weight_decay)
    if t.optimizer == "adagrad":
        return torch.optim.Adagrad(params, lr=t.lr, weight_decay=t.weight_decay)
    return torch.optim.SGD(params, lr=t.lr, weight_decay=t.weight_decay)


def _make_scheduler(cfg: GNNConfig, opt: torch.optim.Optimizer) -> Any:
    t = cfg.training
    if t.scheduler == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=t.scheduler_step, gamma=t.scheduler_gamma)
    if t.scheduler == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode="max", factor=t.scheduler_gamma, patience=1
        )
    return None


def _seed_all(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % 2**32)
    except ImportError:  # pragma: no cover
        pass


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    try:
        import numpy as np

        kind, keys, pos, has_gauss, cached = np.random.get_state()
        state["numpy"] = [kind, torch.from_numpy(keys.astype("int64")), pos, has_gauss, cached]
    except ImportError:  # pragma: no cover
        pass
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if "numpy" in state:
        import numpy as np

        kind, keys, pos, has_gauss, cached = state["numpy"]
        np.random.set_state((kind, keys.numpy().astype("uint32"), pos, has_gauss, cached))


def read_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint file safely (``weights_only=True``).

    Raises:
        ModelError: missing, truncated or otherwise unreadable file.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"checkpoint {path} does not exist; train a model first (kg gnn train)")
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:
        raise ModelError(
            f"checkpoint {path} is corrupt or not a kg-engine checkpoint ({type(exc).__name__}: "
            f"{exc}); delete it and retrain, or resume from an intact copy"
        ) from exc


def _data_record(data: KGData) -> dict[str, Any]:
    """What checkpoints record of the data their rows index (see the module docstring)."""
    return {
        "fingerprint": data.fingerprint(),
        "entities": data.num_entities,
        "relations": data.num_relations,
        "triples": [len(data.train), len(data.valid), len(data.test)],
    }


def _check_same_data(saved: Any, data: KGData, path: Path, fix: str) -> None:
    """Refuse weights recorded for other data than ``data`` (``saved``: a :func:`_data_record`;
    ``None`` for checkpoints written before records existed)."""
    if not isinstance(saved, dict) or saved.get("fingerprint") == data.fingerprint():
        return
    now = _data_record(data)

    def counts(rec: dict[str, Any]) -> str:
        return (f"{rec.get('entities')} entities, {rec.get('relations')} relations, "
                f"{'/'.join(map(str, rec.get('triples', [])))} train/valid/test triples")

    same = counts(saved) == counts(now)
    raise ModelError(
        f"{path} was trained on other data than it is used with now (then {counts(saved)}; "
        f"now {'as many, but other entities or triples' if same else counts(now)}): its rows "
        f"would belong to other entities and relations; {fix}")


def _weights(state: dict[str, Any]) -> dict[str, Any]:
    """The model's state dict inside a ``checkpoint.pt`` / ``best.pt`` (or a bare one)."""
    return state["model"] if isinstance(state.get("model"), dict) else state


def _atomic_save(obj: Any, path: Path) -> None:
    """``torch.save`` that leaves ``path`` whole or as it was (never truncated), and no stray
    file beside it; a full disk raises :class:`~kg_engine.errors.OutputWriteError`."""
    buffer = io.BytesIO()  # torch turns a refused write into an opaque RuntimeError
    torch.save(obj, buffer)
    atomic_write(path, buffer.getbuffer())


class _LossModule(nn.Module):
    """Routes DDP's ``forward`` to ``model.loss`` (DDP only syncs through ``forward``)."""

    def __init__(self, model: KGCModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, graph: Any, batch: Tensor, filt: Any) -> Tensor:
        return self.model.loss(graph, batch, filt)


def _dist_info() -> tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    return world, rank, local


@torch.no_grad()
def evaluate_model(
    model: KGCModel,
    graph: Any,
    evaluator: RankingEvaluator,
    triples: Tensor,
    batch_size: int = 256,
    device: torch.device | str = "cpu",
    rank: int = 0,
    world: int = 1,
) -> dict[str, float]:
    """Filtered metrics of ``model`` on ``triples`` (sharded over ``world`` processes).

    Returns:
        See :meth:`RankingEvaluator.evaluate`; with ``world > 1`` every process gets the
        metrics of the full set (sums are all-reduced).
    """
    was_training = model.training
    model.eval()
    try:
        scorer = model.scorer(graph)
        if world == 1:
            return evaluator.evaluate(scorer, triples, batch_size=batch_size, device=device)
        import torch.distributed as dist

        n = len(triples)
        shard = triples[rank::world]
        ranks = evaluator.ranks(scorer, shard, batch_size=batch_size, device=device)
        half = len(shard)
        tail, head = ranks[:half], ranks[half:]
        sums = torch.tensor(
            [
                (1 / tail).sum() + (1 / head).sum(),
                tail.sum() + head.sum(),
                *[((tail <= k).sum() + (head <= k).sum()) for k in (1, 3, 10)],
                (1 / tail).sum(),
                (1 / head).sum(),
            ],
            dtype=torch.float64,
        )
        sync_device = device if torch.device(device).type == "cuda" else "cpu"
        sums = sums.to(sync_device)
        dist.all_reduce(sums)
        sums = sums.cpu()
        count = 2 * n
        return {
            "count": float(count),
            "mrr": float(sums[0] / count),
            "mr": float(sums[1] / count),
            "hits@1": float(sums[2] / count),
            "hits@3": float(sums[3] / count),
            "hits@10": float(sums[4] / count),
            "tail_mrr": float(sums[5] / n),
            "head_mrr": float(sums[6] / n),
        }
    finally:
        model.train(was_training)


# ---------------------------------------------------------------- main entry
def train(
    config: Any = None,
    *,
    output_dir: str | Path,
    data: KGData | None = None,
    overrides: dict[str, Any] | None = None,
    resume: bool = True,
    progress: bool | None = None,
    callback: Callable[[dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Train a link-prediction model as configured; resumable.

    Args:
        config: a config path/name/text/dict/:class:`GNNConfig` (see :func:`load_config`).
        output_dir: checkpoint folder (created).
        data: use this data instead of ``[data]`` (the config still records ``[data]``).
        overrides: dotted-key config overrides.
        resume: continue from ``output_dir/checkpoint.pt`` when present.
        progress: tqdm bar over epochs (``None``: only on a terminal).
        callback: called with ``{"event": "eval", "epoch", "valid", …}`` after each validation.

    Returns:
        :class:`TrainResult`.

    Raises:
        ConfigError: bad config, or a checkpoint in ``output_dir`` from a different config.
        ModelError: a corrupt checkpoint.
    """
    from tqdm.auto import tqdm

    cfg = load_config(config, overrides)
    t = cfg.training
    world, rank, local_rank = _dist_info()
    distributed = world > 1
    if t.num_threads > 0:
        torch.set_num_threads(t.num_threads)
    device = resolve_device(t.device, local_rank)
    if device.type == "cpu":
        from kg_engine.gnn.cpu import tune_cpu_allocator

        tune_cpu_allocator()  # big per-step message tensors: keep glibc from unmapping them
    if distributed:
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        if device.type == "cuda":
            torch.cuda.set_device(device)
    output_dir = Path(output_dir)
    is_main = rank == 0
    if data is None:
        data = load_data(cfg)
    if len(data.train) == 0:
        raise ConfigError("no training triples")
    if is_main:  # only once the data is there: a failed start leaves no folder behind
        output_dir.mkdir(parents=True, exist_ok=True)
    _seed_all(t.seed)
    model = build_model(cfg, data.num_entities, data.num_relations).to(device)
    optimizer = _make_optimizer(cfg, model.parameters())
    scheduler = _make_scheduler(cfg, optimizer)
    state = _State()
    _seed_all(t.seed + rank)  # per-process RNG for dropout etc.

    ckpt_path = output_dir / CHECKPOINT
    config_text = cfg.to_str()
    data_record = _data_record(data)
    if resume and ckpt_path.is_file():
        ckpt = read_checkpoint(ckpt_path, "cpu")  # RNG states must stay CPU tensors
        _check_compatible(ckpt.get("config", ""), cfg, ckpt_path)
        _check_same_data(ckpt.get("data"), data, ckpt_path,
                         "use another output directory, or resume=False (--no-resume) to "
                         "start over on the data as it is now")
        try:
            model.load_state_dict(ckpt["model"])
        except RuntimeError as exc:
            raise ModelError(
                f"{ckpt_path} does not fit this data (different entities/relations?): {exc}; "
                "use another output directory or resume=False"
            ) from exc
        optimizer.load_state_dict(ckpt["optimizer"])
        if scheduler is not None and ckpt.get("scheduler") is not None:
            scheduler.load_state_dict(ckpt["scheduler"])
        state = _State(**{k: v for k, v in ckpt["state"].items()})
        rngs = ckpt.get("rng", [])
        if len(rngs) == world:
            _set_rng_state(rngs[rank])
        log.info("resumed from %s at epoch %d step %d", ckpt_path, state.epoch, state.step_in_epoch)
    elif is_main:  # a fresh run: nothing of an earlier run may stay beside the new id maps
        for name in _RUN_FILES:
            (output_dir / name).unlink(missing_ok=True)
    if is_main:
        atomic_write(output_dir / "config.cfg", config_text.encode("utf-8"))
        data.save_vocab(output_dir / "vocab.json")
        for split, fname in SPLIT_FILES.items():
            _atomic_save(getattr(data, split).clone(), output_dir / fname)

    graph = data.graph("train").to(device)
    queries = inverse_queries(data.train, data.num_relations).to(device)
    train_filter = KnownFilter(data.train, data.num_entities, data.num_relations)
    ranges = RangeFilter.from_data(data) if cfg.evaluation.range_filter else None
    evaluator = RankingEvaluator(data, ranges=ranges)
    net: nn.Module = _LossModule(model)
    if distributed:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(
            net,
            device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=t.find_unused_parameters,
        )
    use_amp = t.amp and device.type == "cuda"
    steps_per_epoch = math.ceil(len(queries) / t.batch_size)
    wall0, cpu0 = time.monotonic(), time.process_time()
    base_wall, base_cpu = state.train_seconds, state.cpu_seconds
    last_ckpt = time.monotonic()
    status = "completed"

    def snapshot() -> None:
        state.train_seconds = base_wall + time.monotonic() - wall0
        state.cpu_seconds = base_cpu + time.process_time() - cpu0
        rngs = [_rng_state()]
        if distributed:
            import torch.distributed as dist

            gathered: list[Any] = [None] * world
            dist.all_gather_object(gathered, rngs[0])
            rngs = gathered
        if is_main:
            _atomic_save(
                {
                    "config": config_text,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict() if scheduler is not None else None,
                    "state": state.__dict__,
                    "rng": rngs,
                    "torch_version": str(torch.__version__),
                    "data": data_record,
                },
                ckpt_path,
            )

    sync_device = device if device.type == "cuda" else torch.device("cpu")

    def agree(flag: bool) -> bool:
        """Rank 0's wall-clock decisions, shared so every process acts at the same step."""
        if not distributed:
            return flag
        import torch.distributed as dist

        value = torch.tensor([1.0 if flag else 0.0], device=sync_device)
        dist.broadcast(value, src=0)
        return bool(value.item() > 0)

    def out_of_budget() -> str | None:
        if t.max_steps and state.global_step >= t.max_steps:
            return "max_steps"
        if t.max_minutes and agree((time.monotonic() - wall0) / 60.0 >= t.max_minutes):
            return "time_limit"
        return None

    def checkpoint_due() -> bool:
        if not t.checkpoint_every_minutes:
            return False
        return agree((time.monotonic() - last_ckpt) / 60 >= t.checkpoint_every_minutes)

    already_stopped = bool(t.patience and state.bad_evals >= t.patience)
    if already_stopped:
        status = "early_stopping"
    epochs = tqdm(
        range(t.epochs if already_stopped else state.epoch, t.epochs),
        initial=state.epoch,
        total=t.epochs,
        desc=f"train {cfg.model.name}",
        disable=(None if progress is None else not progress) if is_main else True,
    )
    model.train()
    stop: str | None = None
    for epoch in epochs:
        gen = torch.Generator().manual_seed(t.seed * 1_000_003 + epoch)
        perm = torch.randperm(len(queries), generator=gen)
        for step in range(state.step_in_epoch, steps_per_epoch):
            idx = perm[step * t.batch_size : (step + 1) * t.batch_size]
            if distributed:
                idx = idx[rank::world]
            batch = queries[idx.to(device)]
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=use_amp):
                loss = net(graph, batch, train_filter)
            if not torch.isfinite(loss):
                raise ModelError(
                    f"training diverged (loss {loss.item()}) at epoch {epoch} step {step}; "
                    "lower training.lr or add regularisation"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if t.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), t.grad_clip)
            optimizer.step()
            state.global_step += 1
            state.step_in_epoch = step + 1
            stop = out_of_budget()
            if stop:
                break
            if checkpoint_due():
                snapshot()
                last_ckpt = time.monotonic()
        if stop and state.step_in_epoch < steps_per_epoch:
            status = stop
            snapshot()
            break
        state.epoch = epoch + 1
        state.step_in_epoch = 0
        if scheduler is not None and t.scheduler == "step":
            scheduler.step()
        if state.epoch % t.eval_every == 0 or state.epoch == t.epochs:
            valid = evaluate_model(
                model, graph, evaluator, data.valid, cfg.evaluation.batch_size, device, rank, world
            ) if len(data.valid) else {"mrr": 0.0}
            # without a validation split every evaluation counts as an improvement (no early stop)
            improved = valid["mrr"] > state.best_mrr or len(data.valid) == 0
            if improved:
                state.best_mrr = valid["mrr"]
                state.best_epoch = state.epoch
                state.bad_evals = 0
                if is_main:
                    _atomic_save({"model": model.state_dict(), "data": data_record},
                                 output_dir / BEST)
            else:
                state.bad_evals += 1
            if scheduler is not None and t.scheduler == "plateau":
                scheduler.step(valid["mrr"])
            record = {"epoch": state.epoch, "step": state.global_step, "valid": valid}
            state.history.append(record)
            if is_main:
                log.info("epoch %d valid %s", state.epoch, valid)
                if callback:
                    callback({"event": "eval", **record})
                epochs.set_postfix(mrr=f"{valid['mrr']:.4f}", best=f"{state.best_mrr:.4f}")
            if t.patience and state.bad_evals >= t.patience:
                status = "early_stopping"
                snapshot()
                break
        if stop:
            status = stop
            snapshot()
            break
        if checkpoint_due():
            snapshot()
            last_ckpt = time.monotonic()
    else:
        snapshot()
    epochs.close()

    metrics: dict[str, Any] = {
        "status": status,
        "model": cfg.model.name,
        "dataset": data.name,
        "epochs": state.epoch,
        "steps": state.global_step,
        "best_epoch": state.best_epoch,
        "train_seconds": base_wall + time.monotonic() - wall0,
        "cpu_seconds": base_cpu + time.process_time() - cpu0,
        "device": str(device),
        "world_size": world,
        "history": state.history,
    }
    if status in ("completed", "early_stopping"):
        if (output_dir / BEST).is_file():
            model.load_state_dict(_weights(read_checkpoint(output_dir / BEST, device)))
        if state.history:
            metrics["valid"] = max(state.history, key=lambda r: r["valid"]["mrr"])["valid"]
        if cfg.evaluation.test and len(data.test):
            eval_wall, eval_cpu = time.monotonic(), time.process_time()
            metrics["test"] = evaluate_model(
                model, graph, evaluator, data.test, cfg.evaluation.batch_size, device, rank, world
            )
            metrics["test_eval_seconds"] = time.monotonic() - eval_wall
            metrics["test_eval_cpu_seconds"] = time.process_time() - eval_cpu
        if len(data.valid):
            kind = "sigmoid" if type(model).__name__ == "NBFNet" else "softmax"
            model.eval()
            calibration = fit_calibration(
                model.scorer(graph), evaluator, data.valid, kind, cfg.evaluation.batch_size, device
            )
            metrics["calibration"] = asdict(calibration)
            if is_main:
                calibration.save(output_dir)
        if device.type == "cuda":
            metrics["peak_gpu_memory_gb"] = torch.cuda.max_memory_allocated(device) / 2**30
    if is_main:
        atomic_write(output_dir / "metrics.json", json.dumps(metrics, indent=2).encode("utf-8"))
    model.eval()
    return TrainResult(model=model, metrics=metrics, output_dir=output_dir, data=data)


def _check_compatible(saved_text: str, cfg: GNNConfig, path: Path) -> None:
    """A checkpoint may only be resumed with the same data/model/optimiser settings."""
    if not saved_text:
        return
    saved = load_config(saved_text)
    same = (
        saved.data == cfg.data
        and saved.model == cfg.model
        and {k: v for k, v in saved.training.model_dump().items() if k not in _RESUMABLE_CHANGES}
        == {k: v for k, v in cfg.training.model_dump().items() if k not in _RESUMABLE_CHANGES}
    )
    if not same:
        raise ConfigError(
            f"{path} was written with a different config; use another output directory, or "
            "pass resume=False (--no-resume) to start over"
        )


#: training keys that may change between a run and its resumption.
_RESUMABLE_CHANGES = {
    "epochs",
    "max_minutes",
    "max_steps",
    "checkpoint_every_minutes",
    "device",
    "num_threads",
    "patience",
}


def load_model(checkpoint_dir: str | Path, device: str | torch.device = "cpu", best: bool = True) -> LoadedModel:
    """Load a trained model from a checkpoint folder written by :func:`train`.

    Args:
        checkpoint_dir: the folder (``config.cfg``, ``vocab.json``, ``best.pt`` …).
        device: where to put the model.
        best: load ``best.pt`` (else the latest ``checkpoint.pt``).

    Returns:
        :class:`LoadedModel` with the model in ``eval()`` mode, the id maps with the
        training triples in ``data.train`` (and ``data.valid`` / ``data.test`` /
        ``data.inferred`` where the folder has them), and the training graph on ``device``.

    Raises:
        ModelError: missing or corrupt files, or weights recorded for other id maps or
            splits than the folder's (files of two runs mixed).
    """
    folder = Path(checkpoint_dir)
    if not (folder / "config.cfg").is_file() or not (folder / "vocab.json").is_file():
        raise ModelError(f"{folder} is not a kg-engine GNN checkpoint folder (config.cfg/vocab.json missing)")
    cfg = load_config(folder / "config.cfg")
    try:
        data = KGData.load_vocab(folder / "vocab.json")
    except (ValueError, KeyError) as exc:
        raise ModelError(f"{folder / 'vocab.json'} is corrupt: {exc}") from exc
    splits = {split: read_checkpoint(folder / fname) for split, fname in SPLIT_FILES.items()
              if (folder / fname).is_file()}
    try:  # checked like any KGData: ids in range of the id maps
        data = replace(data, **splits)
    except (ValueError, TypeError, RuntimeError) as exc:
        raise ModelError(f"the split files in {folder} do not fit its vocab.json: {exc}") from exc
    device = torch.device(device) if not isinstance(device, torch.device) else device
    model = build_model(cfg, data.num_entities, data.num_relations)
    path = folder / BEST if best and (folder / BEST).is_file() else folder / CHECKPOINT
    state = read_checkpoint(path, "cpu")
    _check_same_data(state.get("data"), data, path,
                     f"the files in {folder} come from different runs: retrain into it "
                     "(kg gnn train --no-resume --output FOLDER)")
    try:
        model.load_state_dict(_weights(state))
    except RuntimeError as exc:
        raise ModelError(f"{path} does not match the model in {folder / 'config.cfg'}: {exc}") from exc
    model.to(device).eval()
    calibration = load_calibration(folder, "sigmoid" if type(model).__name__ == "NBFNet" else "softmax")
    return LoadedModel(model=model, data=data, config=cfg, graph=data.graph("train").to(device),
                       calibration=calibration,
                       weights_digest=hashlib.sha256(path.read_bytes()).hexdigest())


def main(argv: list[str] | None = None) -> int:
    """``python -m kg_engine.gnn.training CONFIG OUTPUT_DIR [section.key=value ...]``
    (the entry point for ``torchrun``)."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2:
        print("usage: python -m kg_engine.gnn.training CONFIG OUTPUT_DIR [section.key=value ...]")
        return 2
    overrides = {}
    for item in args[2:]:
        key, _, value = item.partition("=")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    result = train(args[0], output_dir=args[1], overrides=overrides, progress=False)
    world, rank, _ = _dist_info()
    if rank == 0:
        print("RESULT " + json.dumps({k: v for k, v in result.metrics.items() if k != "history"}))
    if world > 1:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
