"""Relation schema of the document-level extractor: relation ids → predicate IRIs and labels.

One config file (``pipelines/schemas/wikidata_redocred.cfg``) says

* ``[schema.relations]``: the relation ids to emit and their English labels (Wikidata PIDs);
  a predicate is ``relation_base + PID`` unless ``[schema.relation_iris]`` gives its own IRI;
* ``[schema.ner_types]``: NER label → DocRED entity type (PER, ORG, LOC, TIME, NUM, MISC);
* ``literal_types``: the DocRED types whose values become typed literals as relation objects
  (dates → ``xsd:date``/``xsd:gYearMonth``/``xsd:gYear``, numbers → ``xsd:decimal``, else a
  plain string) instead of entity nodes;
* ``[schema.thresholds]`` (optional): relation id → the minimum score (``sigmoid(logit_r −
  logit_TH)``, in [0.5, 1]) at which that relation is emitted, e.g. fitted on held-out documents
  for a target precision (``benchmarks/extraction_docre.py thresholds``).

Entity classes (``rdf:type``) come from the pipeline's ``[entity_mapper.label_map]`` and
``[rdf.class_iris]``.

Example:
    >>> s = RelationSchema.from_dict({"relations": {"P19": "place of birth"}})
    >>> str(s.relation_iri("P19")), s.label("P19")
    ('http://www.wikidata.org/prop/direct/P19', 'place of birth')
    >>> s.literal("12 May 1820", "TIME")
    rdflib.term.Literal('1820-05-12', datatype=rdflib.term.URIRef('http://www.w3.org/2001/XMLSchema#date'))
    >>> s.check_relations(["P19"]) is None
    True
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdflib import XSD, Literal, URIRef

from kg_engine.errors import ConfigError, InputNotFoundError
from kg_engine.extraction.training.docred import DOCRED_TYPES

__all__ = ["DEFAULT_LITERAL_TYPES", "DEFAULT_NER_TYPES", "RelationSchema", "load_schema"]

WIKIDATA_PROP = "http://www.wikidata.org/prop/direct/"

DEFAULT_NER_TYPES: dict[str, str] = {
    "PERSON": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC", "NORP": "MISC",
    "EVENT": "MISC", "WORK_OF_ART": "MISC", "LAW": "MISC", "PRODUCT": "MISC",
    "LANGUAGE": "MISC", "DATE": "TIME", "TIME": "TIME", "CARDINAL": "NUM", "QUANTITY": "NUM",
    "MONEY": "NUM", "PERCENT": "NUM", "PER": "PER", "MISC": "MISC", "NUM": "NUM",
}
DEFAULT_LITERAL_TYPES = ("TIME", "NUM")

_MONTHS = {m: i + 1 for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"])}
_MONTHS.update({k[:3]: v for k, v in list(_MONTHS.items())})
_DMY = re.compile(r"^(\d{1,2})\s+([A-Za-z]+)\.?,?\s+(\d{3,4})$")
_MDY = re.compile(r"^([A-Za-z]+)\.?\s+(\d{1,2}),?\s+(\d{3,4})$")
_MY = re.compile(r"^([A-Za-z]+)\.?,?\s+(\d{3,4})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_YEAR = re.compile(r"^(?:in\s+)?(\d{3,4})$")
_NUM = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$|^[-+]?\d+(?:\.\d+)?$")


def _date_literal(text: str) -> Literal | None:
    t = text.strip().removeprefix("the ").strip()
    if m := _ISO.match(t):
        return Literal(t, datatype=XSD.date)
    if m := _DMY.match(t):
        d, mon, y = m.groups()
    elif m := _MDY.match(t):
        mon, d, y = m.groups()
    elif m := _MY.match(t):
        mon, y = m.groups()
        k = _MONTHS.get(mon.lower())
        return Literal(f"{int(y):04d}-{k:02d}", datatype=XSD.gYearMonth) if k else None
    elif m := _YEAR.match(t):
        return Literal(f"{int(m.group(1)):04d}", datatype=XSD.gYear)
    else:
        return None
    k = _MONTHS.get(mon.lower())
    if not k or not 1 <= int(d) <= 31:
        return None
    return Literal(f"{int(y):04d}-{k:02d}-{int(d):02d}", datatype=XSD.date)


@dataclass
class RelationSchema:
    """The relation/type schema (see module docstring)."""

    relations: dict[str, str]
    relation_base: str = WIKIDATA_PROP
    relation_iris: dict[str, str] = field(default_factory=dict)
    relation_label_triples: bool = True
    ner_types: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_NER_TYPES))
    literal_types: tuple[str, ...] = DEFAULT_LITERAL_TYPES
    thresholds: dict[str, float] = field(default_factory=dict)
    source: str = "<schema>"

    @classmethod
    def from_dict(cls, cfg: Mapping[str, Any], source: str = "<schema>") -> RelationSchema:
        """Build from a ``[schema]`` section.

        Raises:
            ConfigError: unknown keys, a DocRED type outside the six, a malformed table.
        """
        known = {"relations", "relation_base", "relation_iris", "relation_label_triples",
                 "ner_types", "literal_types", "thresholds"}
        bad = sorted(set(cfg) - known)
        if bad:
            raise ConfigError(f"{source}: unknown [schema] key(s) {bad}; valid: {sorted(known)}")
        rels = cfg.get("relations") or {}
        if not isinstance(rels, Mapping) or not rels:
            raise ConfigError(f"{source}: [schema.relations] must list relation id = \"label\"")
        out = cls(
            relations={str(k): str(v) for k, v in rels.items()},
            relation_base=str(cfg.get("relation_base", WIKIDATA_PROP)),
            relation_iris={str(k): str(v) for k, v in (cfg.get("relation_iris") or {}).items()},
            relation_label_triples=bool(cfg.get("relation_label_triples", True)),
            ner_types={str(k): str(v) for k, v in (cfg.get("ner_types") or DEFAULT_NER_TYPES).items()},
            literal_types=tuple(str(t) for t in cfg.get("literal_types", DEFAULT_LITERAL_TYPES)),
            source=source,
        )
        ths = cfg.get("thresholds") or {}
        if not isinstance(ths, Mapping):
            raise ConfigError(f"{source}: [schema.thresholds] must map relation id = number")
        for rel, v in ths.items():
            if str(rel) not in out.relations:
                raise ConfigError(f"{source}: [schema.thresholds] {rel}: not in [schema.relations]")
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.5 <= v <= 1.0:
                raise ConfigError(f"{source}: [schema.thresholds] {rel} = {v!r}: must be a number "
                                  "in [0.5, 1] (0.5 = the model's learned threshold)")
            out.thresholds[str(rel)] = float(v)
        for lab, t in out.ner_types.items():
            if t not in DOCRED_TYPES:
                raise ConfigError(f"{source}: [schema.ner_types] {lab} = {t!r}: not one of "
                                  f"{list(DOCRED_TYPES)}")
        for t in out.literal_types:
            if t not in DOCRED_TYPES:
                raise ConfigError(f"{source}: [schema] literal_types {t!r}: not one of "
                                  f"{list(DOCRED_TYPES)}")
        extra = sorted(set(out.relation_iris) - set(out.relations))
        if extra:
            raise ConfigError(f"{source}: [schema.relation_iris] lists {extra}, which are not in "
                              "[schema.relations]")
        return out

    def check_relations(self, known: Iterable[str]) -> None:
        """Raise :class:`ConfigError` if the schema names a relation the model does not know."""
        known = set(known)
        unknown = [r for r in self.relations if r not in known]
        if unknown:
            raise ConfigError(
                f"{self.source}: unknown relation id(s) {unknown[:10]} in [schema.relations]: "
                f"the relation model knows {len(known)} ids ({', '.join(sorted(known)[:8])}, …); "
                "remove them or train a model with these relations")

    def relation_iri(self, rel: str) -> URIRef:
        return URIRef(self.relation_iris.get(rel) or self.relation_base + rel)

    def threshold(self, rel: str, default: float = 0.5) -> float:
        """The minimum score of ``rel``: its ``[schema.thresholds]`` entry, at least ``default``."""
        return max(default, self.thresholds.get(rel, default))

    def label(self, rel: str) -> str:
        return self.relations.get(rel, rel)

    def docred_type(self, ner_label: str) -> str | None:
        return self.ner_types.get(ner_label)

    def is_literal(self, docred_type: str | None) -> bool:
        return docred_type in self.literal_types

    def literal(self, text: str, docred_type: str | None) -> Literal:
        """The typed literal for a TIME/NUM value (plain string when it does not parse)."""
        t = " ".join(text.split())
        if docred_type == "TIME":
            got = _date_literal(t)
            if got is not None:
                return got
        elif docred_type == "NUM" and _NUM.match(t):
            return Literal(t.replace(",", ""), datatype=XSD.decimal)
        return Literal(t)


def load_schema(path: str | Path) -> RelationSchema:
    """Read a schema config file (``[schema]`` section, see module docstring).

    Raises:
        InputNotFoundError: no such file.
        ConfigError: malformed config.
    """
    from confection import Config

    p = Path(path)
    if not p.is_file():
        raise InputNotFoundError(f"{p}: no such schema config")
    try:
        cfg = Config().from_disk(p, interpolate=False)
    except Exception as exc:
        raise ConfigError(f"{p}: invalid schema config: {exc}") from exc
    if "schema" not in cfg:
        raise ConfigError(f"{p}: no [schema] section")
    return RelationSchema.from_dict(dict(cfg["schema"]), str(p))
