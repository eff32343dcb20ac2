"""Train and score NER models from a confection config (``pipelines/ner_*.cfg``).

One entry point, two kinds of model, chosen by the component section present in the config:

``[components.kg_ner_tagger]``
    the PyTorch BiLSTM-CRF component (:mod:`kg_engine.extraction.components.ner_tagger`) with its
    ``.model`` block (``@architectures = "kg_engine.BiLSTMCRFTagger.v1"`` + hyper-parameters),
    plus ``labels`` and ``batch_size``.
``[components.ner]``
    spaCy's own ``tok2vec`` + transition-based ``ner`` (:func:`~kg_engine.extraction.training.ner.ner_config`
    keywords: ``width``, ``depth``, ``window``, ``hidden``, ``attrs``, ``rows``, ``dropout``,
    ``learn_rate``, ``beam_width``, ``source_tok2vec``).

Other sections (every key overridable as ``--section.key value``):

``[paths]`` ``output``. ``[corpora]`` ``train``, ``dev``, ``test`` — SpERT/CoNLL04 JSON or
DocBin files; ``null`` = the CoNLL04 split under ``$KG_SHARED_DATA/re/conll04`` (default
``<repo>/../shared/data``); ``test = ""`` skips the test evaluation. ``[nlp]`` ``lang``.
``[training]`` ``seed``, ``max_epochs``, ``patience`` (epochs without dev gain),
``batch_size`` (sentences; spaCy: words per batch ÷ 25), ``learn_rate``,
``learn_rate_pretrained`` (fine-tuned Transformer weights), ``warmup_fraction`` (> 0 ⇒ linear
warm-up then linear decay over ``max_epochs``; with a fine-tuned Transformer only its weights
follow it, the layers trained from scratch keep ``learn_rate``), ``weight_decay``, ``max_seconds`` (CPU-seconds of this process),
``threads`` (torch threads).

The epoch with the best dev strict micro-F1 is kept: ``OUTPUT/model-best/`` (``spacy.load``-able),
``OUTPUT/config.cfg`` and ``OUTPUT/metrics.json`` (history with CPU-seconds, best dev, test
scores, load average).

Example:
    >>> cfg = load_ner_config(None, text=EXAMPLE_CONFIG, overrides={"training.max_epochs": 2})
    >>> ner_component(cfg), cfg["training"]["max_epochs"]
    ('kg_ner_tagger', 2)
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from confection import Config

from kg_engine.errors import ConfigError, InputNotFoundError
from kg_engine.extraction.training.config import fill_training, read_config

__all__ = [
    "COMPONENTS",
    "EXAMPLE_CONFIG",
    "default_conll04_path",
    "evaluate_ner_model",
    "load_ner_config",
    "ner_component",
    "train_ner_from_config",
]

#: component sections a config may hold (exactly one)
COMPONENTS = ("kg_ner_tagger", "ner")

EXAMPLE_CONFIG = """
[paths]
output = "training/ner_bilstm_crf"

[corpora]
train = null
dev = null
test = null

[nlp]
lang = "en"

[components]

[components.kg_ner_tagger]
batch_size = 32

[components.kg_ner_tagger.model]
@architectures = "kg_engine.BiLSTMCRFTagger.v1"
word_width = 100
char_filters = 50

[training]
max_epochs = 30
"""

_TRAINING_DEFAULTS: dict[str, Any] = {
    "seed": 13,
    "max_epochs": 40,
    "patience": 8,
    "batch_size": 10,
    "learn_rate": 0.002,
    "learn_rate_pretrained": 0.00005,
    "warmup_fraction": 0.0,
    "weight_decay": 0.0,
    "max_seconds": 840.0,
    "threads": 1,
}
_TAGGER_KEYS = {"model", "labels", "learn_rate", "batch_size", "factory"}
_SPACY_KEYS = {"width", "depth", "window", "hidden", "attrs", "rows", "dropout", "learn_rate",
               "beam_width", "source_tok2vec", "factory"}


def default_conll04_path(split: str) -> Path:
    """``$KG_SHARED_DATA/re/conll04/conll04_<split>.spert.json``."""
    from kg_engine.extraction.training.re_data import shared_data_dir

    return shared_data_dir() / "re" / "conll04" / f"conll04_{split}.spert.json"


def ner_component(cfg: Config) -> str:
    """``"kg_ner_tagger"`` or ``"ner"``: which NER the config trains."""
    found = [c for c in COMPONENTS if c in cfg.get("components", {})]
    if len(found) != 1:
        raise ConfigError(
            f"the config needs exactly one of [components.kg_ner_tagger] or [components.ner]; "
            f"found {found or 'none'}"
        )
    return found[0]


def load_ner_config(path: str | Path | None, *, overrides: dict[str, Any] | None = None,
                    text: str | None = None) -> Config:
    """Read, override and validate a NER training config.

    Args:
        path: the ``.cfg`` file (or ``None`` with ``text``).
        overrides: ``{"section.key": value}``.
        text: config text instead of a file.

    Returns:
        The validated :class:`confection.Config` with defaults filled in.

    Raises:
        ConfigError: unreadable file, unknown section/key, wrong value type, unknown architecture.
    """
    from kg_engine.extraction.taggers import TAGGERS

    cfg, src = read_config(path, overrides=overrides, text=text)
    cfg["paths"].setdefault("output", "training/ner")
    for split in ("train", "dev", "test"):
        cfg["corpora"].setdefault(split, None)
    bad = set(cfg["corpora"]) - {"train", "dev", "test"}
    if bad:
        raise ConfigError(f"{src}: unknown key(s) {sorted(bad)} in [corpora]; valid: train, dev, test")
    try:
        name = ner_component(cfg)
    except ConfigError as exc:
        raise ConfigError(f"{src}: {exc}") from exc
    comp = cfg["components"][name]
    valid = _TAGGER_KEYS if name == "kg_ner_tagger" else _SPACY_KEYS
    bad = set(comp) - valid
    if bad:
        raise ConfigError(f"{src}: unknown key(s) {sorted(bad)} in [components.{name}]; "
                          f"valid: {sorted(valid - {'factory'})}")
    comp.pop("factory", None)
    if name == "kg_ner_tagger":
        model = comp.get("model")
        if not isinstance(model, dict) or "@architectures" not in model:
            raise ConfigError(f"{src}: [components.kg_ner_tagger.model] needs '@architectures'")
        if model["@architectures"] not in TAGGERS:
            raise ConfigError(f"{src}: unknown tagger architecture {model['@architectures']!r}; "
                              f"valid: {', '.join(TAGGERS)}")
    fill_training(cfg, _TRAINING_DEFAULTS, src)
    return cfg


def _split_path(cfg: Config, split: str) -> Path | None:
    value = cfg["corpora"][split]
    if value == "" and split == "test":
        return None
    path = Path(value) if value else default_conll04_path(split)
    if not path.exists():
        raise InputNotFoundError(
            f"{path}: [corpora] {split} data file not found; set [corpora] {split} (or "
            "KG_SHARED_DATA for the default CoNLL04 split)"
        )
    return path


def build_tagger_pipeline(cfg: Config) -> Any:
    """A blank spaCy pipeline with the configured ``kg_ner_tagger`` (not initialised)."""
    import spacy

    import kg_engine.extraction.components  # noqa: F401 - registers factory + architectures

    nlp = spacy.blank(cfg["nlp"]["lang"])
    try:
        nlp.add_pipe("kg_ner_tagger", config=copy.deepcopy(dict(cfg["components"]["kg_ner_tagger"])))
    except ConfigError:
        raise
    except Exception as exc:  # spaCy/confection validation errors
        raise ConfigError(f"[components.kg_ner_tagger]: {exc}") from exc
    return nlp


def _length_batches(items: list[Any], size: int, rng: random.Random, pool: int = 20) -> list[list[Any]]:
    order = list(items)
    rng.shuffle(order)
    batches = []
    for k in range(0, len(order), size * pool):
        chunk = sorted(order[k:k + size * pool], key=lambda eg: len(eg.reference))
        batches += [chunk[i:i + size] for i in range(0, len(chunk), size)]
    rng.shuffle(batches)
    return batches


def _train_tagger(cfg: Config, train_ex: Sequence[Any], dev_ex: Sequence[Any], best_dir: Path,
                  log: Callable[[str], None] | None) -> dict[str, Any]:
    import torch
    from spacy.training import Example

    from kg_engine.extraction.training.ner import evaluate_ner, examples_to_docs

    tr = cfg["training"]
    nlp = build_tagger_pipeline(cfg)
    comp = nlp.get_pipe("kg_ner_tagger")
    gold = examples_to_docs(nlp, train_ex)
    examples = [Example(_blank_like(nlp, d), d) for d in gold]
    try:
        comp.initialize(lambda: examples, nlp=nlp)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[components.kg_ner_tagger.model]: {exc}") from exc
    model = comp.model
    pre = {id(p) for p in model.pretrained_parameters()}
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in pre]
    groups = [{"params": rest, "lr": tr["learn_rate"]}]
    if pre:
        groups.append({"params": model.pretrained_parameters(), "lr": tr["learn_rate_pretrained"]})
    opt = (torch.optim.AdamW(groups, weight_decay=tr["weight_decay"]) if tr["weight_decay"]
           else torch.optim.Adam(groups))
    steps = math.ceil(len(examples) / tr["batch_size"]) * tr["max_epochs"]
    warm = int(steps * tr["warmup_fraction"])
    sched = None
    if tr["warmup_fraction"] > 0:
        def ramp(s: int) -> float:
            return (s + 1) / max(1, warm) if s < warm else max(0.0, (steps - s) / max(1, steps - warm))

        # with a fine-tuned Transformer only its weights follow the schedule; the layers
        # trained from scratch keep `learn_rate` (they need many more steps to converge)
        lambdas = [(lambda s: 1.0), ramp] if pre else [ramp]
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambdas)
    n_params = sum(p.numel() for p in model.parameters())
    n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if log:
        log(f"kg_ner_tagger: {n_params:,} parameters ({n_train:,} trained), labels {list(comp.labels)}, "
            f"{len(examples)} train / {len(dev_ex)} dev sentences")
    rng = random.Random(tr["seed"])
    cpu0, wall0 = time.process_time(), time.perf_counter()
    best: dict[str, Any] = {"epoch": 0, "dev": {"micro_f1": -1.0}}
    best_state = None
    history = []
    out_of_time = False
    for epoch in range(1, tr["max_epochs"] + 1):
        losses: dict[str, float] = {}
        for batch in _length_batches(examples, tr["batch_size"], rng):
            comp.update(batch, sgd=opt, losses=losses)
            if sched is not None:
                sched.step()
            if time.process_time() - cpu0 > tr["max_seconds"]:
                out_of_time = True
                break
        scores = evaluate_ner(nlp, dev_ex)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        improved = scores["micro_f1"] > best["dev"]["micro_f1"]
        if improved:
            best = {"epoch": epoch, "dev": scores}
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        history.append({"epoch": epoch, "loss": round(losses.get("kg_ner_tagger", 0.0), 2),
                        "dev_micro_f1": scores["micro_f1"], "dev_macro_f1": scores["macro_f1"],
                        "cpu_s": round(cpu, 1), "wall_s": round(wall, 1)})
        if log:
            log(f"epoch {epoch:3d}  loss {losses.get('kg_ner_tagger', 0.0):9.1f}  dev micro "
                f"{100 * scores['micro_f1']:6.2f} macro {100 * scores['macro_f1']:6.2f}"
                f"{' *' if improved else '  '}  {cpu:7.1f} CPU-s {wall:7.1f}s wall"
                + ("  (time budget reached)" if out_of_time else ""))
        if out_of_time or epoch - best["epoch"] >= tr["patience"]:
            break
    assert best_state is not None
    model.load_state_dict(best_state)
    nlp.to_disk(best_dir)
    return {"best_epoch": best["epoch"], "dev": best["dev"], "epochs_run": len(history),
            "history": history, "parameters": n_params, "trained_parameters": n_train,
            "stopped_by_time_budget": out_of_time, "nlp": nlp}


def _blank_like(nlp: Any, doc: Any) -> Any:
    from spacy.tokens import Doc

    return Doc(nlp.vocab, words=[t.text for t in doc])


def _train_spacy(cfg: Config, train_ex: Sequence[Any], dev_ex: Sequence[Any], best_dir: Path,
                 log: Callable[[str], None] | None) -> dict[str, Any]:
    import spacy

    from kg_engine.extraction.training.ner import ner_config, train_ner

    tr = cfg["training"]
    kwargs = dict(cfg["components"]["ner"])
    kwargs.setdefault("learn_rate", tr["learn_rate"])
    try:
        text = ner_config(seed=tr["seed"], **kwargs)
    except TypeError as exc:
        raise ConfigError(f"[components.ner]: {exc}") from exc
    res = train_ner(train_ex, dev_ex, best_dir, config=text, max_epochs=tr["max_epochs"],
                    patience=tr["patience"], time_budget=tr["max_seconds"],
                    batch_words=25 * tr["batch_size"], log=log)
    res.pop("config", None)
    res["nlp"] = spacy.load(best_dir)
    return res


def train_ner_from_config(config: Config, *, output: str | Path | None = None,
                          log: Callable[[str], None] | None = print) -> dict[str, Any]:
    """Train the NER described by ``config`` (see :func:`load_ner_config`).

    Args:
        config: a validated config.
        output: overrides ``[paths] output``.
        log: progress sink, one line per epoch (``None`` = silent).

    Returns:
        The metrics dict (also written to ``OUTPUT/metrics.json``): ``component``, ``best_epoch``,
        ``dev`` and ``test`` strict scores (fractions), ``history``, ``train_cpu_seconds``,
        ``train_wall_seconds``, ``load_average``.

    Raises:
        ConfigError: invalid component settings.
        InputNotFoundError: a data file is missing.
        InputSyntaxError: a data file is not SpERT/CoNLL04 JSON or DocBin.
    """
    import torch

    from kg_engine.extraction.training.ner import evaluate_ner, read_ner_examples

    tr = config["training"]
    torch.set_num_threads(int(tr["threads"]))
    random.seed(tr["seed"])
    torch.manual_seed(tr["seed"])
    paths = {s: _split_path(config, s) for s in ("train", "dev", "test")}
    train_ex = read_ner_examples(paths["train"])
    dev_ex = read_ner_examples(paths["dev"])
    out = Path(output or config["paths"]["output"])
    best_dir = out / "model-best"
    out.mkdir(parents=True, exist_ok=True)
    name = ner_component(config)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if name == "kg_ner_tagger":
        res = _train_tagger(config, train_ex, dev_ex, best_dir, log)
    else:
        res = _train_spacy(config, train_ex, dev_ex, best_dir, log)
    nlp = res.pop("nlp")
    metrics: dict[str, Any] = {
        "component": name, **res,
        "train_cpu_seconds": round(time.process_time() - cpu0, 1),
        "train_wall_seconds": round(time.perf_counter() - wall0, 1),
        "torch_threads": int(tr["threads"]),
    }
    try:
        metrics["load_average"] = list(os.getloadavg())
    except OSError:  # pragma: no cover
        pass
    if paths["test"] is not None:
        test = evaluate_ner(nlp, read_ner_examples(paths["test"]))
        metrics["test"] = test
        if log:
            log(f"test strict micro {100 * test['micro_f1']:.2f} macro {100 * test['macro_f1']:.2f}  "
                + " ".join(f"{t} {100 * v['f1']:.1f}" for t, v in sorted(test["per_type"].items())))
    config.to_disk(out / "config.cfg")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1, default=str), encoding="utf-8")
    return metrics


def evaluate_ner_model(model: str | Path, data: str | Path, *, batch_size: int = 64) -> dict[str, Any]:
    """Strict micro/macro scores of a saved NER pipeline on a gold file (gold tokens).

    Args:
        model: a ``spacy.load``-able folder (``OUTPUT/model-best``) or an installed pipeline name.
        data: SpERT/CoNLL04 JSON or DocBin file.
        batch_size: ``nlp.pipe`` batch size.

    Returns:
        The :func:`~kg_engine.extraction.training.ner.score_spans` dict plus ``sentences``,
        ``words_per_second`` (wall) and ``words_per_cpu_second``.

    Raises:
        ModelError: the model cannot be loaded (missing/corrupt files).
        InputNotFoundError / InputSyntaxError: bad data file.
    """
    import spacy

    import kg_engine.extraction.components  # noqa: F401 - registers factory + architectures
    from kg_engine.errors import KgEngineError, ModelError
    from kg_engine.extraction.training.ner import evaluate_ner, read_ner_examples

    examples = read_ner_examples(data)
    is_path = isinstance(model, Path) or (isinstance(model, str) and os.sep in model)
    if is_path and not (Path(model) / "config.cfg").is_file():
        raise ModelError(f"{model}: not a saved spaCy pipeline (no config.cfg)")
    try:
        nlp = spacy.load(model)
    except KgEngineError:
        raise
    except Exception as exc:  # spaCy raises OSError/ValueError/… on bad folders
        raise ModelError(f"{model}: cannot load the NER pipeline ({exc})") from exc
    t0, c0 = time.perf_counter(), time.process_time()
    res = evaluate_ner(nlp, examples, batch_size=batch_size)
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    words = sum(len(t) for t, _ in examples)
    res["sentences"] = len(examples)
    res["words_per_second"] = words / dt if dt > 0 else None
    res["words_per_cpu_second"] = words / dc if dc > 0 else None
    return res
