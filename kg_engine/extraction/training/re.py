"""Train and evaluate the ``kg_relation_extractor`` from a confection config (``pipelines/re_*.cfg``).

Config sections (validated on load, every key overridable as ``--section.key value``):

``[paths]``
    ``output`` — output folder (``model-best/`` + ``config.cfg`` + ``metrics.json`` go there).
``[corpora]``
    ``dataset`` (``semeval`` | ``conll04``), ``data_dir`` (``null`` = ``$KG_SHARED_DATA/re``),
    ``dev_size`` (SemEval sentences held out of the training file as dev).
``[nlp]``
    ``lang``.
``[components.kg_relation_extractor]``
    the factory settings and the ``.model`` encoder block (``@architectures = "kg_engine.…"``).
``[training]``
    ``seed``, ``max_epochs``, ``patience`` (epochs without dev gain), ``batch_size`` (docs),
    ``learn_rate``, ``learn_rate_pretrained`` (pretrained encoder weights), ``weight_decay``,
    ``warmup_fraction`` (> 0 ⇒ linear warm-up then linear decay), ``max_seconds`` (training
    budget in CPU-seconds of this process, checked after every batch: with ``threads = 1`` this
    is the wall time on an idle core, and stays meaningful on a shared machine), ``threads`` (torch threads), ``calibrate`` (fit the
    temperature on dev), ``tune_threshold`` (``global`` | ``per_label`` | ``none``: choose the
    decision threshold(s) on dev, with gold entities, after calibration; saved with the model),
    ``eval_test`` (score the test split at the end).

Dev selection: the model is scored on dev after every epoch with the dataset's metric (SemEval
official macro-F1; CoNLL04 strict micro-F1 with gold entities); the best epoch's weights are kept.

Example:
    >>> cfg = load_re_config(None, text=EXAMPLE_CONFIG, overrides={"training.max_epochs": 2})
    >>> cfg["training"]["max_epochs"], cfg["components"]["kg_relation_extractor"]["model"]["@architectures"]
    (2, 'kg_engine.CNNEncoder.v1')
"""

from __future__ import annotations

import copy
import json
import math
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from confection import Config

from kg_engine.errors import ConfigError
from kg_engine.extraction.training.config import fill_training, read_config

__all__ = [
    "COMPONENT",
    "EXAMPLE_CONFIG",
    "evaluate_re",
    "load_re_config",
    "semeval_labels",
    "train_re",
]

COMPONENT = "kg_relation_extractor"

EXAMPLE_CONFIG = """
[paths]
output = "training/re_cnn"

[corpora]
dataset = "semeval"
data_dir = null
dev_size = 800

[nlp]
lang = "en"

[components]

[components.kg_relation_extractor]
max_distance = 60
threshold = 0.5

[components.kg_relation_extractor.model]
@architectures = "kg_engine.CNNEncoder.v1"
filters = 230

[training]
max_epochs = 20
"""

_TRAINING_DEFAULTS: dict[str, Any] = {
    "seed": 13,
    "max_epochs": 20,
    "patience": 5,
    "batch_size": 50,
    "learn_rate": 0.001,
    "learn_rate_pretrained": 0.0001,
    "weight_decay": 0.0,
    "warmup_fraction": 0.0,
    "max_seconds": 840.0,
    "threads": 1,
    "calibrate": True,
    "tune_threshold": "global",
    "eval_test": True,
}
TUNE_MODES = ("global", "per_label", "none")
_COMPONENT_KEYS = {"model", "labels", "type_constraints", "infer_type_constraints", "use_entity_types",
                   "max_distance", "threshold", "learn_rate", "batch_size", "factory"}


def load_re_config(
    path: str | Path | None,
    *,
    overrides: dict[str, Any] | None = None,
    text: str | None = None,
) -> Config:
    """Read, override and validate a relation-extraction training config.

    Args:
        path: the ``.cfg`` file (or ``None`` with ``text``).
        overrides: ``{"section.key": value}``.
        text: config text instead of a file.

    Returns:
        The interpolated, validated :class:`confection.Config` (defaults filled in).

    Raises:
        ConfigError: unreadable file, unknown section/key, wrong value type, unknown dataset or
            encoder (the message lists the valid names).
    """
    from kg_engine.extraction.encoders import check_encoder_name
    from kg_engine.extraction.training.re_data import DATASETS

    cfg, src = read_config(path, overrides=overrides, text=text)
    cfg["paths"].setdefault("output", "training/re")
    corp = cfg["corpora"]
    corp.setdefault("dataset", "semeval")
    corp.setdefault("data_dir", None)
    corp.setdefault("dev_size", 800)
    if corp["dataset"] not in DATASETS:
        raise ConfigError(f"{src}: [corpora] dataset {corp['dataset']!r} unknown; valid: {', '.join(DATASETS)}")
    comp = cfg.get("components", {}).get(COMPONENT)
    if comp is None:
        raise ConfigError(f"{src}: missing section [components.{COMPONENT}]")
    bad = set(comp) - _COMPONENT_KEYS
    if bad:
        raise ConfigError(
            f"{src}: unknown key(s) {sorted(bad)} in [components.{COMPONENT}]; valid: {sorted(_COMPONENT_KEYS)}"
        )
    comp.pop("factory", None)
    model = comp.get("model")
    if not isinstance(model, dict) or "@architectures" not in model:
        raise ConfigError(f"{src}: [components.{COMPONENT}.model] needs '@architectures'")
    model["@architectures"] = check_encoder_name(str(model["@architectures"]))
    tr = fill_training(cfg, _TRAINING_DEFAULTS, src)
    if tr["tune_threshold"] not in TUNE_MODES:
        raise ConfigError(
            f"{src}: [training] tune_threshold {tr['tune_threshold']!r} unknown; valid: {', '.join(TUNE_MODES)}"
        )
    return cfg


def build_pipeline(cfg: Config) -> Any:
    """A blank spaCy pipeline with the configured relation extractor (not initialised)."""
    import spacy

    import kg_engine.extraction.components  # noqa: F401

    nlp = spacy.blank(cfg["nlp"]["lang"])
    comp_cfg = copy.deepcopy(dict(cfg["components"][COMPONENT]))
    try:
        nlp.add_pipe(COMPONENT, config=comp_cfg)
    except ConfigError:
        raise
    except Exception as exc:  # spaCy/confection validation errors
        raise ConfigError(f"[components.{COMPONENT}]: {exc}") from exc
    return nlp


# -- prediction helpers ------------------------------------------------------------------------
def semeval_labels(component: Any, examples: Sequence[Any]) -> tuple[list[str], list[str]]:
    """Gold and predicted official 19-way SemEval labels (gold nominals, argmax decision)."""
    refs = [eg.reference for eg in examples]
    logits, _gold, cands = component.collect_logits(refs)
    labels = component.labels
    n = len(labels)
    pred = ["Other"] * len(refs)
    for (di, _a, _b), row in zip(cands.spans, logits.argmax(-1).tolist()):
        if row == 0:
            continue
        pred[di] = f"{labels[row - 1]}(e1,e2)" if row <= n else f"{labels[row - 1 - n]}(e2,e1)"
    gold = [d.user_data.get("semeval_label", "Other") for d in refs]
    return gold, pred


def _strict_gold_entities(component: Any, examples: Sequence[Any]) -> dict[str, Any]:
    from kg_engine.extraction.training.scorers import doc_relation_tuples, strict_prf

    refs = [eg.reference for eg in examples]
    docs = [eg.predicted for eg in examples]
    component.set_annotations(docs, component.predict(docs))
    return strict_prf(
        [doc_relation_tuples(r, gold=True) for r in refs],
        [doc_relation_tuples(d, gold=False) for d in docs],
        labels=list(component.labels),
    )


def dev_score(component: Any, dataset: str, examples: Sequence[Any]) -> float:
    """The model-selection metric (SemEval macro-F1 / CoNLL04 strict micro-F1, gold entities)."""
    from kg_engine.extraction.training.scorers import semeval_official

    if dataset == "semeval":
        return float(semeval_official(*semeval_labels(component, examples))["macro_f1"])
    return float(_strict_gold_entities(component, examples)["micro_f1"])


def evaluate_re(
    model: str | Path | Any,
    dataset: str,
    *,
    split: str = "test",
    ner: str | Path | None = None,
    data_dir: str | Path | None = None,
    tune_threshold: str | None = None,
    save: str | Path | None = None,
) -> dict[str, Any]:
    """Score a trained relation extractor on a dataset split.

    Args:
        model: a saved pipeline folder (``OUTPUT/model-best``) or a loaded ``Language``.
        dataset: ``semeval`` or ``conll04``.
        split: ``test`` (default) or ``dev``.
        ner: CoNLL04 only: a spaCy pipeline with ``ner`` whose entities replace the gold ones
            (end-to-end strict RE); without it the gold entities are used.
        data_dir: dataset root (default ``$KG_SHARED_DATA/re``).
        tune_threshold: CoNLL04 only: ``global`` | ``per_label`` — first choose the decision
            threshold(s) on the *dev* split with the same entity source (gold, or ``ner``'s
            predictions: end-to-end tuning), then score ``split`` with them. The result gets
            ``"threshold_tuning"`` (chosen values, dev F1 before/after).
        save: write the (re-tuned) relation pipeline to this folder.

    Returns:
        SemEval: ``{"macro_f1", "accuracy", …}``; CoNLL04: ``{"micro_f1", "macro_f1", …,
        "entities": "gold"|"predicted", "threshold", "thresholds"}`` (fractions); with ``ner``
        also ``ner_micro_f1`` and ``gold_relations_with_both_entities_predicted`` (the recall
        ceiling the NER leaves to the relation stage). ``pairs_per_second`` is included.

    Raises:
        ConfigError: ``--ner`` or threshold tuning with SemEval, or an unknown tuning mode.
    """
    import spacy
    from spacy.tokens import Doc

    from kg_engine.extraction.components import load_relation_pipeline
    from kg_engine.extraction.training.re_data import load_dataset
    from kg_engine.extraction.training.scorers import (
        doc_relation_tuples,
        semeval_official,
        strict_prf,
    )

    if tune_threshold is not None:
        if dataset == "semeval":
            raise ConfigError("threshold tuning applies to conll04 only (SemEval is scored by argmax)")
        if tune_threshold not in TUNE_MODES:
            raise ConfigError(f"threshold tuning mode {tune_threshold!r} unknown; valid: {', '.join(TUNE_MODES)}")
    nlp = load_relation_pipeline(model) if isinstance(model, (str, Path)) else model
    comp = nlp.get_pipe(COMPONENT)
    examples = load_dataset(dataset, split, data_dir=data_dir)
    t0 = time.perf_counter()
    if dataset == "semeval":
        if ner is not None:
            raise ConfigError("--ner applies to conll04 only (SemEval marks its two nominals)")
        res = semeval_official(*semeval_labels(comp, examples))
        res["entities"] = "gold"
        n_pairs = len(examples)
    else:
        ner_nlp = spacy.load(ner) if ner is not None else None

        def entity_docs(exs: Sequence[Any]) -> list[Any]:
            if ner_nlp is None:
                return [eg.predicted for eg in exs]
            out = [Doc(ner_nlp.vocab, words=[t.text for t in eg.reference]) for eg in exs]
            for _name, proc in ner_nlp.pipeline:
                out = list(proc.pipe(out))
            return out

        tuning = None
        if tune_threshold is not None:
            dev = load_dataset(dataset, "dev", data_dir=data_dir)
            tuning = comp.tune_thresholds(entity_docs(dev), [eg.reference for eg in dev], mode=tune_threshold)
            tuning["entities"] = "predicted" if ner is not None else "gold"
            t0 = time.perf_counter()
        refs = [eg.reference for eg in examples]
        docs = entity_docs(examples)
        scores = comp.predict(docs)
        n_pairs = len(scores[0])
        comp.set_annotations(docs, scores)
        gold_t = [doc_relation_tuples(r, gold=True) for r in refs]
        res = strict_prf(gold_t, [doc_relation_tuples(d, gold=False) for d in docs], labels=list(comp.labels))
        res["entities"] = "predicted" if ner is not None else "gold"
        res["threshold"], res["thresholds"] = comp.cfg["threshold"], dict(comp.cfg.get("thresholds") or {})
        if tuning is not None:
            res["threshold_tuning"] = tuning
        if ner is not None:
            gold_e = [{(e.start, e.end, e.label_) for e in r.ents} for r in refs]
            pred_e = [{(e.start, e.end, e.label_) for e in d.ents} for d in docs]
            tp = sum(len(g & p) for g, p in zip(gold_e, pred_e))
            npred, ngold = sum(map(len, pred_e)), sum(map(len, gold_e))
            p = tp / npred if npred else 0.0
            r = tp / ngold if ngold else 0.0
            res["ner_micro_f1"] = 2 * p * r / (p + r) if p + r else 0.0
            # recall ceiling of the relation stage: gold relations whose two entities the NER got exactly
            n_gold = sum(map(len, gold_t))
            reach = sum(1 for g, pe in zip(gold_t, pred_e) for h, _lab, t in g if h in pe and t in pe)
            res["gold_relations_with_both_entities_predicted"] = reach / n_gold if n_gold else 0.0
    dt = time.perf_counter() - t0
    if save is not None:
        nlp.to_disk(save)
    res["dataset"], res["split"] = dataset, split
    res["pairs"] = n_pairs
    res["pairs_per_second"] = n_pairs / dt if dt > 0 else None
    return res


# -- training ------------------------------------------------------------------------------------
def _bucketed_batches(examples: Sequence[Any], size: int, pool: int = 20) -> list[list[Any]]:
    """Shuffled batches of similar-length documents (less padding, same randomness per epoch)."""
    order = list(examples)
    random.shuffle(order)
    batches = []
    for k in range(0, len(order), size * pool):
        chunk = sorted(order[k:k + size * pool], key=lambda eg: len(eg.reference))
        batches += [chunk[i:i + size] for i in range(0, len(chunk), size)]
    random.shuffle(batches)
    return batches


def train_re(
    config: Config,
    *,
    output: str | Path | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train the relation extractor described by ``config`` (see :func:`load_re_config`).

    Writes ``OUTPUT/model-best/`` (a spaCy pipeline: ``spacy.load`` it after importing
    ``kg_engine.extraction.components``), ``OUTPUT/config.cfg`` (the resolved config) and
    ``OUTPUT/metrics.json``.

    Args:
        config: a validated config.
        output: overrides ``[paths] output``.
        log: progress sink (one line per epoch).

    Returns:
        The metrics dict (dev history, best dev score, test scores if ``eval_test``).
    """
    import torch

    from kg_engine.extraction.training.re_data import examples_summary, load_dataset
    from kg_engine.extraction.training.scorers import semeval_official

    tr = config["training"]
    out = Path(output or config["paths"]["output"])
    torch.set_num_threads(int(tr["threads"]))
    random.seed(tr["seed"])
    torch.manual_seed(tr["seed"])
    dataset = config["corpora"]["dataset"]
    data_dir = config["corpora"]["data_dir"]
    dev_size = int(config["corpora"]["dev_size"])
    train = load_dataset(dataset, "train", data_dir=data_dir, dev_size=dev_size, seed=13)
    dev = load_dataset(dataset, "dev", data_dir=data_dir, dev_size=dev_size, seed=13)
    log(f"train {examples_summary(train)}  dev {examples_summary(dev)}")

    nlp = build_pipeline(config)
    comp = nlp.get_pipe(COMPONENT)
    comp.initialize(lambda: train, nlp=nlp)
    net = comp.net
    enc_groups = comp.model.parameter_groups(tr["learn_rate"], tr["learn_rate_pretrained"])
    enc_ids = {id(p) for g in enc_groups for p in g["params"]}
    rest = [p for p in net.parameters() if id(p) not in enc_ids and p.requires_grad]
    groups = enc_groups + [{"params": rest, "lr": tr["learn_rate"]}]
    opt = torch.optim.AdamW(groups, weight_decay=tr["weight_decay"]) if tr["weight_decay"] else torch.optim.Adam(groups)
    steps_per_epoch = math.ceil(len(train) / tr["batch_size"])
    total = steps_per_epoch * tr["max_epochs"]
    warm = int(total * tr["warmup_fraction"])
    sched = None
    if tr["warmup_fraction"] > 0:
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: (s + 1) / max(1, warm) if s < warm else max(0.0, (total - s) / max(1, total - warm))
        )
    n_params = sum(p.numel() for p in net.parameters())
    log(f"encoder {comp.model.name}: {n_params:,} parameters, {steps_per_epoch} steps/epoch")

    t0, cpu0 = time.perf_counter(), time.process_time()
    best, best_state, best_epoch, bad = -1.0, None, 0, 0
    history = []
    out_of_time = False
    for epoch in range(1, tr["max_epochs"] + 1):
        losses: dict[str, float] = {}
        for batch in _bucketed_batches(train, tr["batch_size"]):
            comp.update(batch, sgd=opt, losses=losses)
            if sched is not None:
                sched.step()
            if time.process_time() - cpu0 > tr["max_seconds"]:
                out_of_time = True
                break
        score = dev_score(comp, dataset, dev)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        history.append({"epoch": epoch, "loss": losses.get(COMPONENT, 0.0), "dev": score,
                        "seconds": round(elapsed, 1), "cpu_seconds": round(cpu, 1)})
        log(f"epoch {epoch:3d}  loss {losses.get(COMPONENT, 0.0):10.2f}  dev {100 * score:6.2f}  "
            f"{elapsed:7.1f}s wall {cpu:7.1f} CPU-s"
            + ("  (time budget reached)" if out_of_time else ""))
        if score > best:
            best, best_epoch, bad = score, epoch, 0
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        else:
            bad += 1
        if out_of_time or bad >= tr["patience"]:
            break
    train_seconds = time.perf_counter() - t0
    train_cpu = time.process_time() - cpu0
    assert best_state is not None
    net.load_state_dict(best_state)
    temperature = comp.calibrate(dev) if tr["calibrate"] else 1.0
    tuning = None
    if tr["tune_threshold"] != "none" and dataset != "semeval":
        # SemEval is scored by argmax (official scorer); CoNLL04-style data by thresholded triples
        tuning = comp.tune_thresholds([eg.predicted for eg in dev], [eg.reference for eg in dev],
                                      mode=tr["tune_threshold"])
        log(f"threshold tuned on dev ({tr['tune_threshold']}): {tuning['threshold']} {tuning['thresholds']}  "
            f"dev micro-F1 {100 * tuning['dev_before']['micro_f1']:.2f} -> {100 * tuning['dev_after']['micro_f1']:.2f}")
    metrics: dict[str, Any] = {
        "dataset": dataset, "encoder": comp.model.name, "parameters": n_params,
        "best_epoch": best_epoch, "dev_best": best, "history": history,
        "train_seconds": round(train_seconds, 1), "train_cpu_seconds": round(train_cpu, 1),
        "temperature": temperature, "threshold_tuning": tuning,
        "stopped_by_time_budget": out_of_time,
    }
    try:
        import os

        metrics["load_average"] = os.getloadavg()
    except OSError:  # pragma: no cover
        pass
    best_dir = out / "model-best"
    out.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(best_dir)
    config.to_disk(out / "config.cfg")
    config.to_disk(best_dir / "kg_train.cfg")
    if tr["eval_test"]:
        test = load_dataset(dataset, "test", data_dir=data_dir)
        if dataset == "semeval":
            metrics["test"] = semeval_official(*semeval_labels(comp, test))
        else:
            metrics["test_gold_entities"] = _strict_gold_entities(comp, test)
        log(f"test: {json.dumps({k: v for k, v in (metrics.get('test') or metrics.get('test_gold_entities')).items() if not isinstance(v, dict)})}")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    return metrics
