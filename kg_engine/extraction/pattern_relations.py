"""The ``kg_pattern_relation_extractor`` spaCy component: Wikidata relations from dependency paths.

A precision-first extractor for open text. A relation is emitted only when the sentence's
dependency parse links the two entity mentions through a **trigger** of that relation (a verb
or noun listed for the Wikidata property: P19 "born", P112 "found"/"founder", P169 "chief
executive", P159 "headquarter"/"base", P69 "study"/"student", P26 "marry"/"wife" …), each
entity in the role the rule names, and both entity types allowed by the rule. Entities that
are only coordinated ("Apple and Microsoft released earnings") share no trigger and get no
relation; coordination only *distributes* a role ("Page and Brin founded Google": both are
founders of Google, and nothing relates Page to Brin).

Rules (``[patterns.rules]`` of a schema config, ``pipelines/schemas/wikidata_patterns.cfg``)
map a relation id to strings ``"HEAD_TYPES:ROLES TRIGGERS TAIL_TYPES:ROLES"``:

* types: DocRED types (PER, ORG, LOC, TIME, NUM, MISC) joined by ``/``;
* triggers: lemmas joined by ``/``; ``chief_executive`` needs the modifier "chief" on the
  trigger word "executive"; ``_appos`` is the apposition "Redmond, Washington" (no trigger word);
* roles, joined by ``/``: ``subj`` (the logical subject: active subject, passive "by" agent;
  for a noun trigger the entity it describes: "X is the N of Y", "X, the N of Y", "Y's N, X"),
  ``obj`` (active object, passive subject: "X was born"), ``poss`` ("Microsoft's"), ``date``
  (a bare date: "born 3 March 1975"), or a preposition attached to the trigger (``in``, ``of``,
  ``at``, ``for``, ``by`` …).

Roles are resolved through relative clauses ("Microsoft, which is headquartered in Redmond"),
participles ("Halvorsen (born 3 March 1975)"), coordinated verbs ("born in X and died in Y"),
copular and appositive nouns ("Bergen, a city in Norway"), and pronouns *he/she/they/it* whose
antecedent is the subject of the enclosing clause or of the previous sentence (he/she → a
person, it → an organisation).

Precision guards: entity spans are taken as the entity mapper will keep them ("Jeff Hardy's" →
"Jeff Hardy"; "Washington" "," "D.C." one name), and a span the NER cut or joined wrongly ("[Thursday]
Island", 'Dick" Rifenburg', "Norwood Oval, Adelaide", "NY [31]", "the Archbishop of York" as a
place, "the elder Kershaw") is no argument; negated triggers ("had not died in Berlin") and lines
that are bibliographic references ("Pelham, Henry (1911). … In Chisholm, Hugh. … pp. 393") give
nothing; a participle after "N of X" ("a unit of the Army established in 1991") is not read as
describing X.

Writes ``doc._.relations`` entries ``(head span, relation id, tail span, confidence, extra)`` in
the format of ``kg_doc_relation_extractor`` (``extra``: ``sentence``, ``evidence``, ``object``
(typed literal of a date tail), ``predicate``, ``label``, ``agent``, ``version`` = ``rule:<id>``,
``rule``), so provenance and RDF mapping are the same as the model's. The confidence of a rule is
its relation's ``[patterns.confidence]`` entry (precision measured on Re-DocRED documents,
``benchmarks/extraction_patterns.py``), else ``default_confidence``.

Needs a dependency parser and lemmas (en_core_web_sm's parser, tagger, attribute_ruler,
lemmatizer). Kept outside ``kg_engine.extraction.components`` (whose package imports torch) so that
Ray workers running the default pipeline start without torch (:mod:`kg_engine.extraction.distributed`).

Example:
    >>> rules = parse_rules({"P19": ["PER:obj bear LOC:in"]})
    >>> r = rules[0]
    >>> r.relation, sorted(r.head_roles), r.triggers, sorted(r.tail_types)
    ('P19', ['obj'], (('bear',),), ['LOC'])
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from kg_engine.errors import ConfigError, ModelError
from kg_engine.extraction.ner import ABBREVIATIONS, NAME_SUFFIXES, TITLES, clean_span, joins_name
from kg_engine.extraction.schema import RelationSchema, load_schema
from kg_engine.extraction.training.docred import DOCRED_TYPES

__all__ = ["PatternRelationExtractor", "Rule", "load_pattern_config", "parse_rules"]

if not Doc.has_extension("relations"):
    Doc.set_extension("relations", default=None)

APPOS = "_appos"
_SUBJ = {"nsubj", "csubj"}
_PASS_SUBJ = {"nsubjpass", "csubjpass"}
_OBJ = {"dobj", "obj"}
_RELATIVE = {"which", "who", "whom", "that", "whose"}
_PRONOUNS = {"he": "PER", "she": "PER", "him": "PER", "her": "PER", "they": "PER",
             "it": "ORG"}
_COPULA = {"be", "become", "remain"}
_LITERAL = {"TIME", "NUM"}
#: modifiers that make a trigger noun another role ("Lieutenant-Governor", "vice president")
_BLOCKING_MODIFIERS = {"vice", "deputy", "lieutenant", "assistant", "associate", "honorary",
                       "acting", "interim", "step", "half", "grand", "great", "god"}
#: words before a person's name that make it another person of that name ("the elder Kershaw")
_KIN_MODIFIERS = {"elder", "younger"}
#: head nouns of kin groups, which NER tags as organisations ("the Julio-Claudian family")
_KIN_GROUPS = {"family", "dynasty", "clan"}
_QUOTES = {'"', "“", "”", "''", "``"}


@dataclass(frozen=True)
class Rule:
    """One pattern: trigger, the roles and types of the relation's head and tail."""

    relation: str
    head_types: frozenset[str]
    head_roles: frozenset[str]
    triggers: tuple[tuple[str, ...], ...]
    tail_types: frozenset[str]
    tail_roles: frozenset[str]
    text: str

    @property
    def id(self) -> str:
        return f"{self.relation}:{self.text}"


def parse_rules(table: Mapping[str, Sequence[str]], source: str = "<rules>") -> list[Rule]:
    """Rules from ``{relation id: ["HEAD_TYPES:ROLES TRIGGERS TAIL_TYPES:ROLES", ...]}``.

    Raises:
        ConfigError: a malformed rule (names the relation and the rule).
    """
    out = []
    for rel, items in table.items():
        if isinstance(items, str):
            items = [items]
        for text in items:
            where = f"{source}: [patterns.rules] {rel}: rule {text!r}"
            parts = str(text).split()
            if len(parts) != 3 or ":" not in parts[0] or ":" not in parts[2]:
                raise ConfigError(f"{where}: expected 'HEAD_TYPES:ROLES TRIGGERS "
                                  "TAIL_TYPES:ROLES', e.g. 'PER:obj bear LOC:in'")
            (ht, hr), trig, (tt, tr) = parts[0].split(":", 1), parts[1], parts[2].split(":", 1)
            types = [set(ht.split("/")), set(tt.split("/"))]
            for ts in types:
                bad = sorted(ts - set(DOCRED_TYPES))
                if bad:
                    raise ConfigError(f"{where}: unknown type(s) {bad}; valid: "
                                      f"{list(DOCRED_TYPES)}")
            if types[0] & _LITERAL:
                raise ConfigError(f"{where}: a date/number cannot be a relation's head")
            triggers = tuple(tuple(t.lower().split("_")) if t != APPOS else (APPOS,)
                             for t in trig.split("/"))
            out.append(Rule(str(rel), frozenset(types[0]), frozenset(hr.split("/")), triggers,
                            frozenset(types[1]), frozenset(tr.split("/")), str(text)))
    return out


def load_pattern_config(path: str | Path) -> tuple[RelationSchema, list[Rule], dict[str, float]]:
    """(schema, rules, per-relation confidence) from a config with ``[schema]`` and ``[patterns]``.

    Raises:
        ConfigError: malformed config, or a rule for a relation not in ``[schema.relations]``.
    """
    from confection import Config

    schema = load_schema(path)
    cfg = Config().from_disk(Path(path), interpolate=False)
    pat = dict(cfg.get("patterns") or {})
    bad = sorted(set(pat) - {"rules", "confidence"})
    if bad:
        raise ConfigError(f"{path}: unknown [patterns] key(s) {bad}; valid: ['confidence', 'rules']")
    rules = parse_rules(dict(pat.get("rules") or {}), str(path))
    if not rules:
        raise ConfigError(f"{path}: [patterns.rules] lists no rule")
    unknown = sorted({r.relation for r in rules} - set(schema.relations))
    if unknown:
        raise ConfigError(f"{path}: [patterns.rules] has relation(s) {unknown} that are not in "
                          "[schema.relations]; add them there with their label")
    conf = {}
    for rel, v in dict(pat.get("confidence") or {}).items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
            raise ConfigError(f"{path}: [patterns.confidence] {rel} = {v!r}: a number in (0, 1]")
        conf[str(rel)] = float(v)
    return schema, rules, conf


# -- dependency helpers -------------------------------------------------------------------------
def _is_passive(v: Token) -> bool:
    return (any(c.dep_ in _PASS_SUBJ or c.dep_ == "auxpass" for c in v.children)
            or (v.tag_ == "VBN" and v.dep_ in {"acl", "amod"}))


def _negated(tok: Token) -> bool:
    """Whether the trigger is negated ("had not died in Berlin", "is not the capital of")."""
    hosts = [tok, tok.head] if tok.dep_ in {"attr", "acomp"} else [tok]
    return any(c.dep_ == "neg" for h in hosts for c in h.children)


def _copula_subject(tok: Token) -> list[Token]:
    """The subject of the copula ``tok`` hangs on ("X is located …", "X is the N")."""
    h = tok.head
    if h is not tok and h.lemma_ in _COPULA:
        return [c for c in h.children if c.dep_ in _SUBJ | _PASS_SUBJ]
    return []


class _Roles:
    """Arguments of a trigger token by role (see module docstring)."""

    def __init__(self, trigger: Token) -> None:
        self.t = trigger
        #: tokens reached through an apposition: their conjuncts are not arguments
        #: ("Yusuf and Zulaikha (Potiphar's wife)": only Zulaikha is a wife)
        self.no_conjuncts: set[int] = set()

    def get(self, role: str) -> list[Token]:
        t = self.t
        if role == "poss":
            return [c for c in t.children if c.dep_ == "poss"]
        if role == "date":
            return [c for c in t.children if c.dep_ in {"npadvmod", "appos", "nummod", "dobj"}]
        if role in {"subj", "obj"}:
            if t.pos_ == "ADJ":  # "X was married to Y": the adjective's subject, either role
                return ([c for c in t.children if c.dep_ in _SUBJ | _PASS_SUBJ]
                        or (_copula_subject(t) if t.dep_ == "acomp" else []))
            return (self._verb(role) if t.pos_ in {"VERB", "AUX"} or t.tag_ == "VBN"
                    else self._noun(role))
        # a preposition of the trigger, or of its common-noun object ("studied physics at X":
        # the parser often attaches the phrase to the object)
        hosts = [t, *(c for c in t.children if c.dep_ in _OBJ and c.pos_ == "NOUN"
                      and not c.ent_type_)]
        return [g for h in hosts for c in h.children if c.dep_ in {"prep", "agent", "dative"}
                and c.lower_ == role for g in c.children if g.dep_ in {"pobj", "pcomp"}]

    def _verb(self, role: str, depth: int = 0) -> list[Token]:
        v = self.t
        passive = _is_passive(v)
        own: list[Token] = []
        if role == "subj":
            if passive:
                own = [g for c in v.children if c.dep_ == "agent" for g in c.children
                       if g.dep_ == "pobj"]
            else:
                own = [c for c in v.children if c.dep_ in _SUBJ]
        else:
            own = [c for c in v.children if c.dep_ in (_PASS_SUBJ if passive else _OBJ)]
            if passive and not own:
                own = [c for c in v.children if c.dep_ in _SUBJ]  # "X is located in"
        if own:
            rel = [o for o in own if o.lower_ in _RELATIVE]
            if rel and v.dep_ == "relcl":
                return self._modified(v)
            return own
        # no argument of its own: inherited from the word the verb modifies
        if v.dep_ in {"acl", "relcl"} and v.head is not v:
            if (role == "obj") == passive:
                return self._modified(v)
            return []
        if v.dep_ in {"acomp", "attr"} and passive and role == "obj":
            return _copula_subject(v)
        if v.dep_ in {"conj", "xcomp"} and depth < 3 and v.head.pos_ in {"VERB", "AUX"}:
            if v.dep_ == "conj" and _is_passive(v.head) != passive:
                # "X was born in A and studied at B": the surface subject is shared, its role
                # follows each verb's voice
                if (role == "obj") != passive:
                    return []
                return [c for c in v.head.children if c.dep_ in _SUBJ | _PASS_SUBJ]
            return _Roles(v.head)._verb(role, depth + 1)
        return []

    def _modified(self, v: Token) -> list[Token]:
        """The word a participle or relative clause modifies, without its conjuncts ("Turk (born
        June 3, 2009) and Duke (born July 21, 2010)": each date is one son's). None for a
        participle after the object of "of": it may as well describe the noun the "of" phrase
        belongs to ("a unit of the Army established in 1991": the unit was; a relative clause
        "…of Microsoft, which is…" keeps its word)."""
        if v.dep_ == "acl" and v.head.dep_ == "pobj" and v.head.head.lower_ == "of":
            return []
        self.no_conjuncts.add(v.head.i)
        return [v.head]

    def _noun(self, role: str) -> list[Token]:
        n = self.t
        if role != "subj":
            return []
        if n.dep_ in {"attr", "acomp"}:  # "X is the N of Y"
            return _copula_subject(n)
        if n.dep_ in _SUBJ and n.head.lemma_ in _COPULA:  # "Y's N is X"
            return [c for c in n.head.children if c.dep_ == "attr"]
        if n.dep_ == "appos":  # "X, the N of Y": the word just before the comma, else the head
            k = n.left_edge.i - 1
            got = [n.doc[k - 1]] if k > 0 and n.doc[k].text in {",", "("} else [n.head]
        else:  # "the N, X" / "the N X"
            got = [c for c in n.children if c.dep_ == "appos"]
        self.no_conjuncts.update(t.i for t in got)
        return got


class PatternRelationExtractor:
    """spaCy component (see module docstring).

    Args:
        nlp: the pipeline (with a parser and lemmatizer).
        name: component name.
        schema: config with ``[schema]`` and ``[patterns]`` (default:
            ``pipelines/schemas/wikidata_patterns.cfg``).
        default_confidence: confidence of relations without a ``[patterns.confidence]`` entry.
        resolve_pronouns: resolve he/she/they/it to the subject of the enclosing clause or the
            previous sentence.

    Raises:
        ConfigError: a malformed schema or rule.
        ModelError: the pipeline has no dependency parser.
    """

    def __init__(self, nlp: Language, name: str, schema: str | None = None,
                 default_confidence: float = 0.8, resolve_pronouns: bool = True) -> None:
        if "parser" not in nlp.pipe_names:
            raise ModelError(f"{name}: needs a dependency parser in the pipeline (components: "
                             f"{nlp.pipe_names}); do not exclude 'parser'")
        from kg_engine.extraction.pipeline import PIPELINES_DIR

        path = Path(schema) if schema else PIPELINES_DIR / "schemas" / "wikidata_patterns.cfg"
        self.name = name
        self.schema, self.rules, self.confidence = load_pattern_config(path)
        self.default_confidence = float(default_confidence)
        self.resolve_pronouns = bool(resolve_pronouns)
        self.version = f"rule:{path.stem}"
        self._by_trigger: dict[str, list[tuple[Rule, tuple[str, ...]]]] = {}
        self._appos: list[Rule] = []
        for r in self.rules:
            for trig in r.triggers:
                if trig == (APPOS,):
                    self._appos.append(r)
                else:
                    self._by_trigger.setdefault(trig[-1], []).append((r, trig))

    # -- entities ---------------------------------------------------------------------------
    def _entity_index(self, doc: Doc) -> tuple[dict[int, Span], dict[int, str]]:
        """Token → the argument entity it is part of, entity start → its DocRED type.

        Spans as the entity mapper will keep them (trailing "'s" and punctuation off, "Washington"
        "," "D.C." one name); spans the NER cut or joined wrongly are no argument (:func:`_miscut`).
        """
        kept: list[tuple[Span, str]] = []
        for e in doc.ents:
            t = self.schema.docred_type(e.label_)
            span = clean_span(e, determiners=(), strip_titles=False) if t else None
            if span is None:
                continue
            if kept and joins_name(doc, kept[-1][0], span):
                span, t = Span(doc, kept[-1][0].start, span.end, label=kept[-1][0].label_), \
                    kept.pop()[1]
            kept.append((span, t))
        ent_of: dict[int, Span] = {}
        type_of: dict[int, str] = {}
        for e, t in kept:
            if _miscut(e, t):
                continue
            for i in range(e.start, e.end):
                ent_of[i] = e
            type_of[e.start] = t
        return ent_of, type_of

    def _resolve(self, tok: Token, ent_of: Mapping[int, Span], antecedent: Any,
                 depth: int = 0, conjuncts: bool = True) -> list[Span]:
        """Entities a role-filler token stands for (with its conjuncts)."""
        out: list[Span] = []
        for t in (tok, *(tok.conjuncts if conjuncts else ())):
            if t.i in ent_of:
                out.append(ent_of[t.i])
            elif t.pos_ == "PRON" and self.resolve_pronouns:
                out.extend(antecedent(t))
            elif t.pos_ == "NOUN" and depth < 2:
                # a common noun standing for an entity: "X is a city …", "X, a city …"
                if t.dep_ == "attr":
                    for s in _copula_subject(t):
                        out.extend(self._resolve(s, ent_of, antecedent, depth + 1))
                elif t.dep_ == "appos" and t.head.i in ent_of:
                    out.append(ent_of[t.head.i])
                else:  # "Their daughter Malia Obama attended …": the name in apposition
                    out.extend(ent_of[c.i] for c in t.children
                               if c.dep_ == "appos" and c.i in ent_of)
        return list({(e.start, e.end): e for e in out}.values())

    def _antecedent(self, doc: Doc, ent_of: Mapping[int, Span], type_of: Mapping[int, str],
                    sents: list[Span], s_idx: int) -> Any:
        def subject_entities(root: Token) -> list[Span]:
            subj = [c for c in root.children if c.dep_ in _SUBJ | _PASS_SUBJ]
            return [ent_of[t.i] for s in subj for t in (s, *s.conjuncts) if t.i in ent_of]

        def find(pron: Token) -> list[Span]:
            want = _PRONOUNS.get(pron.lower_)
            if want is None or pron.dep_ not in _SUBJ | _PASS_SUBJ:
                return []
            plural = pron.lower_ == "they"
            # the subject of an enclosing clause ("… founded Google while they were students")
            v = pron.head
            while v.head is not v and v.dep_ in {"advcl", "conj", "ccomp", "xcomp", "relcl"}:
                v = v.head
                got = [e for e in subject_entities(v) if type_of.get(e.start) == want]
                if got:
                    return got if plural == (len(got) > 1) else []
            if plural:
                return []
            # the subject of the previous sentence (he/she → a person, it → an organisation)
            for prev in range(s_idx - 1, max(-1, s_idx - 2), -1):
                got = [e for e in subject_entities(sents[prev].root)
                       if type_of.get(e.start) == want]
                if len(got) == 1:
                    return got
            return []
        return find

    # -- matching ---------------------------------------------------------------------------
    def predict(self, doc: Doc) -> list[tuple[Span, str, Span, Rule, int]]:
        """``(head, relation id, tail, rule, sentence index)`` found in ``doc``."""
        ent_of, type_of = self._entity_index(doc)
        if len({e.start for e in ent_of.values()}) < 2:
            return []
        sents = list(doc.sents)
        sent_of = {t.i: k for k, s in enumerate(sents) for t in s}
        found: dict[tuple[int, int, str], tuple[Span, str, Span, Rule, int]] = {}

        def emit(h: Span, rule: Rule, t: Span, s_idx: int) -> None:
            if h.start == t.start or type_of[h.start] not in rule.head_types \
                    or type_of[t.start] not in rule.tail_types:
                return
            if h.root.i in {c.i for c in t.root.conjuncts}:
                return  # two items of one list
            if _norm(h.text) == _norm(t.text):
                return  # two mentions of one name
            found.setdefault((h.start, t.start, rule.relation), (h, rule.relation, t, rule, s_idx))

        cited = _reference_sentences(doc, sents)
        for tok in doc:
            cands = self._by_trigger.get(tok.lemma_.lower()) or self._by_trigger.get(tok.lower_)
            if not cands or _negated(tok) or sent_of[tok.i] in cited:
                continue
            s_idx = sent_of[tok.i]
            ante = self._antecedent(doc, ent_of, type_of, sents, s_idx)
            roles = _Roles(tok)
            mods = {c.lemma_.lower() for c in tok.lefts} | {c.lower_ for c in tok.lefts}
            cache: dict[str, list[Span]] = {}

            def args(role_set: frozenset[str], roles: _Roles = roles, ante: Any = ante,
                     cache: dict[str, list[Span]] = cache) -> list[Span]:
                out: list[Span] = []
                for role in sorted(role_set):
                    if role not in cache:
                        cache[role] = [e for a in roles.get(role) for e in self._resolve(
                            a, ent_of, ante, conjuncts=a.i not in roles.no_conjuncts)]
                    out.extend(cache[role])
                return out

            if mods & _BLOCKING_MODIFIERS or any(
                    w.lower_ in _BLOCKING_MODIFIERS for w in doc[max(0, tok.i - 2):tok.i]):
                continue
            for rule, trig in cands:
                if not set(trig[:-1]) <= mods:
                    continue
                if tok.i in ent_of and ent_of[tok.i].root.i == tok.i:
                    continue  # the trigger word is itself a name ("Born" the film)
                for h in args(rule.head_roles):
                    for t in args(rule.tail_roles):
                        emit(h, rule, t, s_idx)
        if self._appos:
            for e in {(s.start, s.end): s for s in ent_of.values()}.values():
                r = e.root
                if r.dep_ not in {"appos", "npadvmod"} or r.head.i not in ent_of \
                        or sent_of[r.i] in cited:
                    continue
                head = ent_of[r.head.i]
                between = doc[head.end:e.start]
                if head.end > e.start or [w.text for w in between] != [","] or \
                        _in_list(doc, head, e, ent_of):
                    continue
                for rule in self._appos:
                    emit(head, rule, e, sent_of[r.i])
        return sorted(found.values(), key=lambda x: (x[0].start, x[2].start, x[1]))

    def __call__(self, doc: Doc) -> Doc:
        flat: list[tuple[Span, str, Span, float, dict[str, Any]]] = []
        for head, rel, tail, rule, s_idx in self.predict(doc):
            ttype = self.schema.docred_type(tail.label_)
            obj = None
            if self.schema.is_literal(ttype):
                obj = self.schema.literal(_date_text(tail), ttype)
                if obj.datatype is None:
                    continue  # "six years" is no date
            flat.append((head, rel, tail, self.confidence.get(rel, self.default_confidence),
                         {"sentence": s_idx, "evidence": [s_idx], "object": obj,
                          "predicate": str(self.schema.relation_iri(rel)),
                          "label": (self.schema.label(rel)
                                    if self.schema.relation_label_triples else None),
                          "agent": self.name, "version": self.version, "rule": rule.text}))
        doc._.relations = list(doc._.relations or []) + flat
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 64) -> Iterable[Doc]:
        for doc in docs:
            yield self(doc)


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("'s", " ").replace("’s", " ").split()).strip(" ,.")


_LIST_WORDS = {"and", "or", "nor", "&"}


def _in_list(doc: Doc, head: Span, tail: Span, ent_of: Mapping[int, Span]) -> bool:
    """Whether "HEAD, TAIL" is part of a list ("Nagoya, Shizuoka, and other cities"; "A, B, C
    and D"): a run of entities separated by commas that ends in a conjunction or has ≥ 3 items
    with a conjunction anywhere after a comma."""
    if any(w.dep_ == "conj" for w in (head.root, tail.root)):
        return True
    items, conj = 2, False
    i = tail.end
    while i < len(doc) and doc[i].text == ",":
        j = i + 1
        if j < len(doc) and doc[j].lower_ in _LIST_WORDS:
            return True
        if j < len(doc) and j in ent_of:
            items += 1
            i = ent_of[j].end
            continue
        break
    if i < len(doc) and doc[i].lower_ in _LIST_WORDS and i + 1 in ent_of:
        conj = True
    i = head.start - 1
    while i > 0 and doc[i].text == "," and i - 1 in ent_of:
        items += 1
        i = ent_of[i - 1].start - 1
    return conj or items >= 4


#: a line that is a bibliographic reference: "Surname, Given (1911).", page numbers, an ISBN,
#: an editor or retrieval note
_REFERENCE = re.compile(r"^\s*[A-Z][\w'’.-]*, [A-Z][\w.\- ]* \((?:\d{4}|n\.d\.)[a-z]?\)"
                        r"|\bpp?\. ?\d|\bISBN\b|\(eds?\.\)|\bRetrieved (?:on )?\d", re.MULTILINE)


def _reference_sentences(doc: Doc, sents: Sequence[Span]) -> set[int]:
    """Indices of the sentences on lines of ``doc`` that are references ("Pelham, Henry (1911).
    "Nerva". In Chisholm, Hugh. Encyclopædia Britannica 19. pp. 393 – 394."): their names are
    authors, editors and publishers, not statements.

    Example:
        >>> import spacy
        >>> nlp = spacy.blank("en")
        >>> _ = nlp.add_pipe("sentencizer")
        >>> doc = nlp("Oslo is big.\\nPelham, Henry (1911). In Chisholm, Hugh. pp. 3 – 4.")
        >>> refs = _reference_sentences(doc, list(doc.sents))
        >>> [s.text for k, s in enumerate(doc.sents) if k not in refs and s.text.strip()]
        ['Oslo is big.']
    """
    text = doc.text
    if not _REFERENCE.search(text):
        return set()
    lines = []  # (start, end) of reference lines
    pos = 0
    for line in text.split("\n"):
        if _REFERENCE.search(line):
            lines.append((pos, pos + len(line)))
        pos += len(line) + 1
    starts = [next((t.idx for t in s if not t.is_space), s.start_char) for s in sents]
    return {k for k, c in enumerate(starts) if any(a <= c < b for a, b in lines)}


def _miscut(e: Span, etype: str) -> bool:
    """Whether the NER's span ``e`` is not one whole name of the kind its type says.

    No relation may rest on such a span:

    * an unpaired quote inside ('Dick" Rifenburg': the NER cut a nickname's quotes; 'Edward
      "Ted" Kennedy' is whole);
    * a comma inside that does not precede an abbreviation ("Norwood Oval, Adelaide": two names;
      "Washington, D.C." and "Acme, Inc." are one);
    * a place, organisation or work cut from its name: a proper noun or number outside the span
      that is a compound of a word inside it ("[Thursday] Island", "[Metropolitan] Cammell
      Carriage"), a number after it ("NY [31]"), or the span a compound of a proper noun after it;
    * a person written "the elder X" / "the younger X" (another person of the same name);
    * a place or organisation that is an office ("the Archbishop of York": a title + "of") or a
      kin group ("the Julio-Claudian family").

    Example:
        >>> import spacy
        >>> from spacy.tokens import Span
        >>> doc = spacy.blank("en")('Dick " Rifenburg')
        >>> _miscut(Span(doc, 2, 3, "PERSON"), "PER"), _miscut(Span(doc, 0, 3, "PERSON"), "PER")
        (False, True)
    """
    doc = e.doc
    words = [t.lower_ for t in e]
    if etype in _LITERAL:  # dates keep their commas and numbers ("June 3, 2009")
        return False
    name = words[next((k for k, w in enumerate(words) if w not in _QUOTES | {"the", "a", "an"}),
                      0):]  # (the opening quote of a title is not inside it: 'the "Sack of Ilium')
    if sum(w in _QUOTES for w in name) % 2:
        return True
    if any(w == "," and 0 < k and words[k + 1].rstrip(".") not in ABBREVIATIONS
           and words[k + 1] not in NAME_SUFFIXES for k, w in enumerate(words[:-1])):
        return True
    if etype == "PER":
        return e.start > 0 and doc[e.start - 1].lower_ in _KIN_MODIFIERS
    inside = range(e.start, e.end)
    # (a year before a name is no part of it: "the 2010 World Cup")
    if any(c.i not in inside and ((c.dep_ == "compound" and c.pos_ == "PROPN"
                                   and c.text[:1].isupper())  # ("eastern Ontario" is whole)
                                  or (c.dep_ == "nummod" and c.pos_ == "NUM" and c.i >= e.end))
           for t in e for c in t.children):
        return True
    if e.root.dep_ == "compound" and e.root.head.i >= e.end and e.root.head.pos_ == "PROPN":
        return True
    names = [t for t in e if t.lower_ not in {"the", "a", "an"}]
    if len(names) > 2 and names[0].lower_.rstrip(".") in TITLES and names[1].lower_ == "of":
        return True
    return etype == "ORG" and e.root.lemma_.lower() in _KIN_GROUPS


def _date_text(span: Span) -> str:
    """A date's text, with a day number the NER left out ("3 [March 1975]")."""
    doc = span.doc
    if span.start > 0 and doc[span.start - 1].like_num and len(doc[span.start - 1]) <= 2:
        return doc[span.start - 1:span.end].text
    return span.text


@Language.factory(
    "kg_pattern_relation_extractor",
    default_config={"schema": None, "default_confidence": 0.8, "resolve_pronouns": True},
)
def make_pattern_relation_extractor(nlp: Language, name: str, schema: str | None,
                                    default_confidence: float,
                                    resolve_pronouns: bool) -> PatternRelationExtractor:
    """Factory of ``kg_pattern_relation_extractor`` (see :class:`PatternRelationExtractor`)."""
    return PatternRelationExtractor(nlp, name, schema, default_confidence, resolve_pronouns)
