"""Extraction pipelines from configs: ``pipelines/<name>.cfg`` → spaCy pipeline + RDF mapping.

A pipeline config (confection format, see ``pipelines/default.cfg``) has the sections
``[pipeline]`` (the spaCy pipeline, components to exclude/enable, an optional relation model,
batch size), ``[entity_mapper]`` (label map and span clean-up, see
:mod:`kg_engine.extraction.ner`), ``[linking]`` and ``[rdf]`` (see
:class:`~kg_engine.extraction.to_rdf.RDFMapping`).

:func:`load_extraction_pipeline` accepts a config name (``"default"`` →
``pipelines/default.cfg``),
a ``.cfg`` path, or the name/folder of a spaCy pipeline (used with the default settings).

Example:
    >>> cfg = read_pipeline_config("default")
    >>> cfg["pipeline"]["spacy"], cfg["entity_mapper"]["label_map"]["CARDINAL"] is None
    ('en_core_web_sm', True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg_engine.errors import ConfigError, InputNotFoundError, ModelError
from kg_engine.extraction.linking import EntityLinker
from kg_engine.extraction.to_rdf import DocConverter, RDFMapping

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language

__all__ = [
    "PIPELINES_DIR",
    "ExtractionPipeline",
    "available_pipelines",
    "load_extraction_pipeline",
    "read_pipeline_config",
]

#: Folder of the shipped pipeline configs (``<repo>/pipelines``).
PIPELINES_DIR = Path(__file__).resolve().parents[2] / "pipelines"

_SECTIONS = {"pipeline", "entity_mapper", "linking", "rdf", "doc_relations"}
_PIPELINE_KEYS = {"spacy", "exclude", "enable", "relation_model", "batch_size",
                  "doc_relation_model", "pattern_relations", "entity_typer"}
_DOC_RELATION_KEYS = {"schema", "threshold", "max_evidence", "max_entities", "quantize",
                      "skip_listed", "same_sentence", "typed_literals", "trim_mentions"}


@dataclass
class ExtractionPipeline:
    """A loaded extraction pipeline.

    Attributes:
        name: the config name or path it came from.
        nlp: the spaCy pipeline (NER → optional relation extractor → ``kg_entity_mapper``).
        converter: doc → triples with provenance.
        batch_size: ``nlp.pipe`` batch size.
        config: the resolved config.
    """

    name: str
    nlp: Language
    converter: DocConverter
    batch_size: int
    config: dict[str, Any]


def available_pipelines() -> list[str]:
    """Names of the extraction configs in :data:`PIPELINES_DIR` (those with a ``[pipeline]``)."""
    if not PIPELINES_DIR.is_dir():
        return []
    out = []
    for p in sorted(PIPELINES_DIR.glob("*.cfg")):
        try:
            head = p.read_text(encoding="utf-8")
        except OSError:
            continue
        if "\n[pipeline]" in "\n" + head:
            out.append(p.stem)
    return out


def _resolve_spec(spec: str | Path) -> tuple[Path | None, str | None]:
    """(config file, spaCy pipeline name/path) for a spec."""
    path = Path(spec)
    if path.suffix == ".cfg":
        if not path.exists():
            raise InputNotFoundError(f"{path}: no such pipeline config")
        return path, None
    named = PIPELINES_DIR / f"{spec}.cfg"
    if named.exists() and "/" not in str(spec):
        return named, None
    if spec == "default":
        raise InputNotFoundError(f"{named}: the default pipeline config is missing")
    return None, str(spec)


def read_pipeline_config(
    spec: str | Path = "default", overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The resolved config of a pipeline spec (see module docstring).

    Args:
        spec: config name, ``.cfg`` path, or spaCy pipeline name/folder.
        overrides: dotted keys → values (``{"rdf.threshold": 0.7}``).

    Raises:
        ConfigError: unknown sections or keys, or a malformed config.
        InputNotFoundError: a named config file does not exist.
    """
    from confection import Config

    cfg_path, spacy_name = _resolve_spec(spec)
    base_path = PIPELINES_DIR / "default.cfg"
    try:
        if cfg_path is not None:
            cfg = Config().from_disk(cfg_path, interpolate=True)
        else:
            cfg = Config().from_disk(base_path, interpolate=True)
            cfg["pipeline"]["spacy"] = spacy_name
    except InputNotFoundError:
        raise
    except Exception as exc:
        raise ConfigError(f"{cfg_path or base_path}: invalid pipeline config: {exc}") from exc
    cfg = _to_dict(cfg)
    unknown = sorted(set(cfg) - _SECTIONS)
    if unknown:
        raise ConfigError(f"{cfg_path}: unknown section(s) {unknown}; valid: {sorted(_SECTIONS)}")
    for sec in _SECTIONS:
        cfg.setdefault(sec, {})
    bad = sorted(set(cfg["pipeline"]) - _PIPELINE_KEYS)
    if bad:
        raise ConfigError(f"{cfg_path}: unknown [pipeline] key(s) {bad}; valid: "
                          f"{sorted(_PIPELINE_KEYS)}")
    for key, value in (overrides or {}).items():
        parts = key.split(".")
        if len(parts) < 2 or parts[0] not in _SECTIONS:
            raise ConfigError(f"override {key!r}: expected SECTION.KEY with SECTION one of "
                              f"{sorted(_SECTIONS)}")
        cur = cfg
        for part in parts[:-1]:
            cur = cur.setdefault(part, {})
        cur[parts[-1]] = value
    base_dir = (cfg_path or base_path).parent
    spacy_path = cfg["pipeline"].get("spacy")
    if cfg_path is not None and isinstance(spacy_path, str) and _is_path(spacy_path):
        # a pipeline folder named by a config: relative to the config (else to the working
        # folder); when in neither, the error names the one beside the config
        cand = (base_dir / spacy_path).resolve()
        if cand.exists() or not Path(spacy_path).exists():
            cfg["pipeline"]["spacy"] = str(cand)
    for sec, key in (("pipeline", "relation_model"), ("pipeline", "doc_relation_model"),
                     ("pipeline", "pattern_relations"), ("pipeline", "entity_typer"),
                     ("doc_relations", "schema")):
        rel = cfg[sec].get(key)
        if rel and not Path(rel).is_absolute():
            cand = (base_dir / rel).resolve()
            cfg[sec][key] = str(cand if cand.exists() else Path(rel))
    cfg["_source"] = str(cfg_path or spacy_name)
    cfg["_bare_spacy"] = cfg_path is None  # a spaCy pipeline with the default settings
    return cfg


def _is_path(name: str) -> bool:
    """``name`` is a relative folder path ("../data/models/x", "./x"), not a package name."""
    return not Path(name).is_absolute() and ("/" in name or "\\" in name or name.startswith("."))


def _to_dict(cfg: Any) -> dict[str, Any]:
    if isinstance(cfg, Mapping):
        return {k: _to_dict(v) for k, v in cfg.items()}
    return cfg


def _ensure_sentences(nlp: Language) -> None:
    names = set(nlp.pipe_names)
    if "senter" in nlp.disabled and "parser" not in names:  # the parser sets sentences
        nlp.enable_pipe("senter")
        names.add("senter")
    if not names & {"parser", "senter", "sentencizer"}:
        first = "ner" if "ner" in names else None
        nlp.add_pipe("sentencizer", before=first) if first else nlp.add_pipe("sentencizer")


def load_extraction_pipeline(
    spec: str | Path = "default",
    overrides: Mapping[str, Any] | None = None,
    *,
    known_labels: Mapping[str | tuple[str, str], str] | None = None,
) -> ExtractionPipeline:
    """Build the spaCy pipeline and RDF converter a config describes.

    Args:
        spec: config name (``"default"``), ``.cfg`` path, or spaCy pipeline name/folder.
        overrides: dotted config overrides (``{"rdf.threshold": 0.7}``).
        known_labels: an existing graph's labels → IRIs for linking (see
            :class:`~kg_engine.extraction.linking.EntityLinker`).

    Returns:
        The :class:`ExtractionPipeline`.

    Raises:
        ModelError: the spaCy pipeline or relation model cannot be loaded.
        ConfigError: invalid config values.
    """
    from kg_engine.extraction.ner import add_entity_mapper, load_pipeline

    cfg = read_pipeline_config(spec, overrides)
    pcfg = cfg["pipeline"]
    exclude = list(pcfg.get("exclude") or [])
    nlp = load_pipeline(pcfg.get("spacy"), exclude=exclude)
    for name in pcfg.get("enable") or []:
        if name in nlp.disabled:
            nlp.enable_pipe(name)
    _ensure_sentences(nlp)
    if "ner" not in nlp.pipe_names and not any(
        n.endswith("ner") or n == "entity_ruler" for n in nlp.pipe_names
    ):
        raise ModelError(f"spaCy pipeline {pcfg.get('spacy')!r} has no entity recogniser "
                         f"(components: {nlp.pipe_names}); choose one with 'ner'")
    rel = pcfg.get("relation_model")
    if rel:
        rel_path = Path(rel)
        if not rel_path.exists():
            raise ModelError(
                f"relation model {rel_path} does not exist; train one with `kg train-re "
                "pipelines/re_cnn.cfg` or set [pipeline] relation_model = null"
            )
        from kg_engine.extraction.components import add_relation_extractor

        add_relation_extractor(nlp, rel_path)
    doc_rel = pcfg.get("doc_relation_model")
    dcfg = dict(cfg.get("doc_relations") or {})
    bad = sorted(set(dcfg) - _DOC_RELATION_KEYS)
    if doc_rel and bad:
        raise ConfigError(f"{cfg['_source']}: unknown [doc_relations] key(s) {bad}; valid: "
                          f"{sorted(_DOC_RELATION_KEYS)}")
    typer = pcfg.get("entity_typer")
    if typer or doc_rel:
        from kg_engine.extraction import components as _components  # noqa: F401 - factories
    if typer:
        # NER types re-scored in context (before any relation extractor reads them); with the
        # relation model's folder, schema and quantisation the document is encoded once
        share = bool(doc_rel) and Path(str(doc_rel)).resolve() == Path(str(typer)).resolve()
        nlp.add_pipe("kg_entity_typer", config={
            "model": str(typer), "schema": dcfg.get("schema") if share else None,
            "quantize": bool(dcfg.get("quantize", False)) if share else False,
            "keep_encoding": share})
    if doc_rel:
        nlp.add_pipe("kg_doc_relation_extractor", config={"model": str(doc_rel), **dcfg})
    patterns = pcfg.get("pattern_relations")
    if patterns and cfg["_bare_spacy"] and "parser" not in nlp.pipe_names:
        # the default's relation patterns need a parser, which e.g. a NER trained with
        # `kg train-ner` lacks: with a bare spaCy pipeline they run only if it has one
        patterns = None
    if patterns:
        from kg_engine.extraction import pattern_relations  # noqa: F401 - its factory

        nlp.add_pipe("kg_pattern_relation_extractor", config={"schema": str(patterns)})
    # the mapper runs last: the relation model sees the entity labels it was trained with
    # (the NER's own), and the triples get the graph's classes and cleaned spans
    try:
        add_entity_mapper(nlp, cfg.get("entity_mapper") or {}, after=nlp.pipe_names[-1])
    except Exception as exc:
        raise ConfigError(f"{cfg['_source']}: invalid [entity_mapper] settings: {exc}") from exc
    mapping = RDFMapping.from_config(cfg.get("rdf"))
    lcfg = dict(cfg.get("linking") or {})
    unknown = sorted(set(lcfg) - {"type_aware"})
    if unknown:
        raise ConfigError(f"{cfg['_source']}: unknown [linking] key(s) {unknown}; valid: "
                          "['type_aware']")
    linker = EntityLinker(base=mapping.entity_base, known=known_labels,
                          type_aware=bool(lcfg.get("type_aware", True)))
    converter = DocConverter.for_pipeline(nlp, mapping, linker)
    batch_size = int(pcfg.get("batch_size") or 64)
    return ExtractionPipeline(str(spec), nlp, converter, batch_size, cfg)
