"""``kg gnn train|eval|predict``: train, evaluate and apply GNN link predictors.

Examples::

    kg gnn train --model complex --dataset umls --output runs/complex-umls
    kg gnn train --config pipelines/gnn_rgcn.cfg --dataset kinship --set training.epochs=50
    kg gnn train --model rgcn --db sqlite:///kg.sqlite --output runs/rgcn-kg     # the store's triples
    kg gnn eval runs/complex-umls --split test
    kg gnn predict runs/rgcn-kg --db sqlite:///kg.sqlite --top-k 10

A training run that stops on ``--max-minutes`` leaves a checkpoint; running the same command
again resumes exactly where it stopped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from kg_engine.cli.common import console, user_errors
from kg_engine.errors import ConfigError, MissingDependencyError, ModelError

gnn_app = typer.Typer(
    name="gnn",
    help="GNN link prediction: train, evaluate, predict into the graph.",
    no_args_is_help=True,
)

DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="Database URL of a kg-engine store (its triples are the data)"),
]
DatasetOpt = Annotated[
    str | None,
    typer.Option(
        "--dataset",
        help="Dataset name (umls, kinship, nations, fb15k-237, wn18rr) or a folder with "
        "train/valid/test.txt",
    ),
]
DeviceOpt = Annotated[str | None, typer.Option("--device", help="auto | cpu | cuda | cuda:N")]


def _require_torch() -> None:
    try:
        import torch  # noqa: F401
        import torch_geometric  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(exc.name or "torch", "gnn") from None


def _parse_sets(items: list[str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or "." not in key:
            raise ConfigError(f"--set {item!r}: expected section.key=value, e.g. training.lr=0.01")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return overrides


def _print_metrics(title: str, metrics: dict[str, Any]) -> None:
    keys = ("mrr", "hits@1", "hits@3", "hits@10", "mr")
    parts = [f"{k}={metrics[k]:.4f}" for k in keys if k in metrics]
    if "count" in metrics:
        parts.append(f"queries={int(metrics['count'])}")
    console.print(title + "  " + "  ".join(parts))


def train(
    model: Annotated[str | None, typer.Option("--model", help="complex | distmult | rgcn | compgcn | nbfnet")] = None,
    config: Annotated[str | None, typer.Option("--config", help=".cfg file (default pipelines/gnn_MODEL.cfg)")] = None,
    dataset: DatasetOpt = None,
    db: Annotated[str | None, typer.Option(
        "--db", help="Database URL of a kg-engine store (its triples are the data); default "
        "$KG_DB unless --dataset or --config names the data, else the config's dataset")] = None,
    graph: Annotated[str | None, typer.Option("--graph", help="Train on this named graph of --db only")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Checkpoint folder")] = None,
    device: DeviceOpt = None,
    epochs: Annotated[int | None, typer.Option("--epochs")] = None,
    max_minutes: Annotated[float | None, typer.Option("--max-minutes", help="Stop (resumably) after this long")] = None,
    threads: Annotated[int | None, typer.Option("--threads", help="torch.set_num_threads (0: torch default)")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume/--no-resume", help="Continue from a checkpoint in --output (refused when the "
        "data changed since: --no-resume starts over)")] = True,
    set_: Annotated[list[str], typer.Option("--set", help="Config override section.key=value (repeatable)")] = [],  # noqa: B006
) -> None:
    """Train a link predictor; writes config, vocab, checkpoints and metrics.json to --output."""
    with user_errors():
        _require_torch()
        from kg_engine.gnn.config import load_config, pipelines_dir
        from kg_engine.gnn.training import train as run_train

        overrides = _parse_sets(set_)
        name = model or "complex"
        cfg_source: Any = config or name
        if model and (config or not (pipelines_dir() / f"gnn_{name.lower()}.cfg").is_file()):
            overrides["model.name"] = model
            cfg_source = config  # None: defaults + the model's own defaults
        if dataset:
            overrides.update({"data.dataset": dataset, "data.db": None})
        elif db or (config is None and os.environ.get("KG_DB")):
            # like every other command, --db defaults to $KG_DB (an explicit --config keeps
            # its own data)
            overrides.update({"data.db": db or os.environ["KG_DB"], "data.dataset": None})
        if graph:
            overrides["data.graph"] = graph
        for key, value in (("training.device", device), ("training.epochs", epochs),
                           ("training.max_minutes", max_minutes), ("training.num_threads", threads)):
            if value is not None:
                overrides[key] = value
        cfg = load_config(cfg_source, overrides)
        source = cfg.data.dataset or Path(str(cfg.data.db)).stem or "store"
        out = output or Path("runs") / f"gnn-{cfg.model.name}-{Path(str(source)).name}"
        result = run_train(cfg, output_dir=out, resume=resume, progress=None)
    m = result.metrics
    console.print(
        f"{m['status']}: {m['model']} on {m['dataset']} — {m['epochs']} epochs, {m['steps']} steps, "
        f"{m['train_seconds']:.1f} s wall, {m['cpu_seconds']:.1f} CPU-s on {m['device']}; checkpoint in {out}"
    )
    if "valid" in m:
        _print_metrics("valid", m["valid"])
    if "test" in m:
        _print_metrics("test ", m["test"])
    if not result.completed:
        console.print("stopped early by the time/step budget: run the same command again to resume")


def evaluate(
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint folder written by kg gnn train")],
    split: Annotated[str, typer.Option("--split", help="test | valid")] = "test",
    dataset: DatasetOpt = None,
    db: DbOpt = None,
    device: DeviceOpt = None,
    batch_size: Annotated[int, typer.Option("--batch-size")] = 256,
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON")] = False,
) -> None:
    """Filtered ranking evaluation (both directions, realistic ties) of a trained model."""
    with user_errors():
        _require_torch()
        metrics = evaluate_checkpoint(checkpoint, split=split, dataset=dataset, db=db,
                                      device=device or "auto", batch_size=batch_size)
    if as_json:
        console.print_json(json.dumps(metrics))
    else:
        _print_metrics(split, metrics)


def evaluate_checkpoint(
    checkpoint: Path,
    *,
    split: str = "test",
    dataset: str | None = None,
    db: str | None = None,
    device: str = "auto",
    batch_size: int = 256,
) -> dict[str, float]:
    """Evaluate a checkpoint folder on a split of its data (or of ``dataset``/``db``).

    Without ``dataset``/``db`` the splits saved with the checkpoint are used, so data that
    changed since training (a store with triples added or removed) is never split anew:
    a new random split would put triples the model trained on into the test split.

    Raises:
        ConfigError: unknown split or data.
        ModelError: bad checkpoint, or data whose entities or training split differ from the
            model's.
    """
    import torch

    from kg_engine.gnn.evaluation import RankingEvaluator
    from kg_engine.gnn.training import SPLIT_FILES, load_data, load_model, resolve_device

    if split not in ("test", "valid"):
        raise ConfigError(f"--split {split!r}: expected 'test' or 'valid'")
    dev = resolve_device(device)
    loaded = load_model(checkpoint, dev)
    cfg = loaded.config
    if dataset:
        cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update={"dataset": dataset, "db": None})})
    elif db:
        cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update={"db": db, "dataset": None})})
    saved = all((Path(checkpoint) / SPLIT_FILES[split]).is_file() for split in ("valid", "test"))
    if saved and not (dataset or db):
        data = loaded.data
    else:
        data = load_data(cfg)
        if data.entities != loaded.data.entities or data.relations != loaded.data.relations:
            raise ModelError(
                f"the data's entities/relations differ from the model's vocabulary in {checkpoint}; "
                "evaluate on the data the model was trained on"
            )
        if not torch.equal(data.train, loaded.data.train):
            raise ModelError(
                f"the data's training split ({len(data.train)} triples) is not the one the model "
                f"in {checkpoint} was trained on ({len(loaded.data.train)}): the data changed "
                "since training, so its test split would hold triples the model trained on; "
                + ("evaluate without --db/--dataset (the splits saved with the model)" if saved
                   else "retrain on the data as it is now (kg gnn train --no-resume)"))
    from kg_engine.gnn.ranges import RangeFilter

    ranges = RangeFilter.from_data(data) if cfg.evaluation.range_filter else None
    evaluator = RankingEvaluator(data, ranges=ranges)
    with torch.no_grad():
        scorer = loaded.model.scorer(data.graph("train").to(dev))
        return evaluator.evaluate(scorer, getattr(data, split), batch_size=batch_size, device=dev)


def predict(
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint folder written by kg gnn train")],
    db: Annotated[str | None, typer.Option("--db", envvar="KG_DB", help="Store to write predictions into")] = None,
    top_k: Annotated[int, typer.Option("--top-k", help="Predicted tails per (head, relation)")] = 10,
    graph: Annotated[
        str | None,
        typer.Option("--graph", help="Graph whose triples are the evidence (default: every graph "
                     "except earlier predictions)"),
    ] = None,
    into: Annotated[
        str | None,
        typer.Option("--into", help="Graph to write the predictions to, replaced on rerun "
                     "(default urn:kg-engine:predicted:<model>; must start with "
                     "urn:kg-engine:predicted:)"),
    ] = None,
    direction: Annotated[str, typer.Option("--direction", help="tail | both (also predict heads)")] = "tail",
    device: DeviceOpt = None,
    batch_size: Annotated[int, typer.Option("--batch-size")] = 256,
    range_filter: Annotated[bool, typer.Option(
        "--range-filter/--no-range-filter",
        help="Only predict answers whose rdf:type was seen for the relation (on by default)")] = True,
) -> None:
    """Write the model's top-k predicted triples into the store, scored, with provenance."""
    with user_errors():
        _require_torch()

        from kg_engine.cli.common import DEFAULT_DB
        from kg_engine.store import open_store

        try:
            from kg_engine.gnn.predict import predict_to_store
        except ImportError as exc:
            raise ModelError(f"prediction is not available in this installation: {exc}") from exc
        if not Path(checkpoint).is_dir():
            raise ModelError(f"{checkpoint} is not a checkpoint folder (kg gnn train --output …)")
        store = open_store(db or os.environ.get("KG_DB") or DEFAULT_DB, create=False)
        try:
            if direction not in ("tail", "both"):
                raise ConfigError(f"--direction {direction!r}: expected 'tail' or 'both'")
            written = predict_to_store(Path(checkpoint), store, top_k=top_k, graph=graph,
                                       device=device or "auto", batch_size=batch_size,
                                       directions=direction, output_graph=into,
                                       range_filter=range_filter)
        finally:
            store.close()
    console.print(f"wrote {written:,} predicted triples" + (f" into graph <{into}>" if into else ""))


def register(app: typer.Typer) -> None:
    gnn_app.command("train")(train)
    gnn_app.command("eval")(evaluate)
    gnn_app.command("predict")(predict)
    app.add_typer(gnn_app, name="gnn")
