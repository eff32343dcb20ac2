"""Entity linking and de-duplication: mentions → canonical IRIs.

Mentions of one entity come in many surface forms ("U.S.", "the United States"; "Thames",
"River Thames"; "WTO", "World Trade Organization"). This module

* normalises names (:func:`normalize_name`: Unicode NFKC, case-folding, accents, leading
  articles, possessives, punctuation, abbreviation dots),
* links a mention to an existing graph entity by its labels when a label table is given
  (label values → IRI — ``rdfs:label``, SKOS, ``schema:name``, ``foaf:name``, Dublin Core
  titles: :func:`~kg_engine.extraction.ingest.graph_labels` — passed as a plain mapping: this
  module never touches the store),
* resolves acronyms, generic type words ("river", "language") and short forms ("Rosberg" →
  "Nico Rosberg") against the other mentions of the same document (:meth:`EntityLinker.link_doc`)
  or of a whole corpus (:func:`cluster_mentions`), only between type-compatible mentions,
* splits a group of same-name mentions by their contexts when the name's type is declared
  context-dependent (military ranks, titles: "Major General" of the British vs. the US Army) or
  the name has no letters (years): :func:`cluster_mentions` with ``context_types``, see
  :mod:`kg_engine.extraction.context_split`,
* mints deterministic IRIs from the normalised key, so re-running gives the same IRIs
  (:func:`canonical_iris` for corpus-level clusters),
* gives each name ONE type per document (:meth:`EntityLinker.link_doc_typed`): the majority of
  its mentions' NER labels, ties to the type of the name's first mention, so a name labelled
  PERSON in one sentence and ORG in two becomes one Organization entity of that document (each
  mention's own label stays in its provenance).

The type is decided per document, from that document alone: documents stay independent, so a
resumed run, a parallel or Ray run and a single-process run give the same triples, and adding
documents later never re-types or re-mints an entity already written. Across documents the
same name with different majority types stays two entities (``Person/x`` and
``Organization/x``) sharing the label; with ``link_to_graph`` a later mention links to an
existing graph entity by its label when that label names exactly one IRI (whatever its type).

Example:
    >>> normalize_name("The U.S.'s"), normalize_name("Café  Müller")
    ('us', 'cafe muller')
    >>> acronym("World Trade Organization"), sorted(acronyms("Bank of England"))
    ('wto', ['be', 'boe'])
    >>> linker = EntityLinker(base="urn:e/")
    >>> [str(i) for i in linker.link_doc([("World Trade Organization", "Org"), ("WTO", "Org")])]
    ['urn:e/Org/world_trade_organization', 'urn:e/Org/world_trade_organization']
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from rdflib import URIRef

from kg_engine.core.iri import DEFAULT_BASE, mint_iri
from kg_engine.extraction.context_split import (
    average_linkage,
    context_terms,
    cosine,
    normalize_vector,
    tfidf_vectors,
)

__all__ = [
    "DEFAULT_CONTEXT_THRESHOLD",
    "ENTITY_BASE",
    "GENERIC_WORDS",
    "ORG_TYPES",
    "PERSON_TYPES",
    "STOPWORDS",
    "EntityLinker",
    "Mention",
    "acronym",
    "acronyms",
    "canonical_iris",
    "cluster_mentions",
    "majority_types",
    "normalize_name",
    "pairwise_scores",
]

#: Namespace of minted entity IRIs.
ENTITY_BASE = f"{DEFAULT_BASE}entity/"

#: Words that add nothing to a name's identity when they lead or end it ("River Thames",
#: "Kannada language", "Aegean Sea"). Stripped only when something remains.
GENERIC_WORDS: frozenset[str] = frozenset(
    {
        "river", "sea", "lake", "ocean", "bay", "language", "constellation", "island",
        "islands", "mount", "mountain", "county", "city", "state", "province", "district",
        "republic", "kingdom", "empire", "church", "company", "corporation", "corp", "inc",
        "ltd", "co", "plc", "llc", "group", "team", "club", "fc",
    }
)
#: Types of person names, whose last names alone may refer to the full name.
PERSON_TYPES: frozenset[str] = frozenset({"Person", "PERSON", "Peop", "PER"})
#: Types of organisation names, whose leading words alone may refer to the full name
#: ("Acme" → "Acme Robotics"; not trailing words: "Bank" is not "World Bank").
ORG_TYPES: frozenset[str] = frozenset({"Organization", "ORG", "Org"})
#: Function words ignored when forming acronyms and comparing short forms.
STOPWORDS: frozenset[str] = frozenset({"of", "the", "and", "for", "in", "on", "at", "de", "&", "a"})

_ARTICLE = re.compile(r"^(the|a|an)\s+")
_POSSESSIVE = re.compile(r"(?:'s|’s|'|’)$")
_ABBREV_DOTS = re.compile(r"\b((?:[a-z]\.){2,})")
_NON_WORD = re.compile(r"[^\w&]+")
_SPACE = re.compile(r"\s+")


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9,
          "x": 10}
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10}
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
             "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10}
_ROMAN_OF = {v: k for k, v in _ROMAN.items()}


def _numerals(words: list[str]) -> list[str]:
    """"world war ii" / "world war two" / "second world war" → "world war 2"."""
    if len(words) >= 3 and words[0] in _ORDINALS:
        return words[1:] + [str(_ORDINALS[words[0]])]
    if len(words) >= 2:
        last = words[-1]
        # a lone "i"/"v"/"x" ends a name too rarely to be a numeral unless it follows a name
        if last in _NUMBER_WORDS:
            return words[:-1] + [str(_NUMBER_WORDS[last])]
        if last in _ROMAN and (len(last) > 1 or len(words) >= 2):
            return words[:-1] + [str(_ROMAN[last])]
    return words


def normalize_name(text: str) -> str:
    """A comparison key for an entity name (lower-case ASCII-folded words, single spaces).

    Trailing Roman numerals and number words, and leading ordinals of names of three or more
    words, become digits ("World War II", "Second World War" → ``"world war 2"``); a
    lower-case plural word loses its "s" ("forwards" → ``"forward"``).

    Args:
        text: the surface form.

    Returns:
        The key ('' for names made of punctuation only).
    """
    raw = unicodedata.normalize("NFKC", text).strip()
    t = _strip_accents(raw.casefold())
    t = _POSSESSIVE.sub("", t)
    t = _ABBREV_DOTS.sub(lambda m: m.group(1).replace(".", "") + " ", t)
    t = _NON_WORD.sub(" ", t)
    t = _SPACE.sub(" ", t).strip()
    t = _ARTICLE.sub("", t)
    words = _numerals(t.split())
    if words and raw.islower() and len(words[-1]) > 3 and words[-1].endswith("s") \
            and not words[-1].endswith(("ss", "us", "is")):
        words[-1] = words[-1][:-1]
    return " ".join(words)


def acronyms(text: str) -> set[str]:
    """Lower-case acronyms a multi-word name may be written as (empty for one word).

    Initials of the content words, and of all words but articles ("Bank of England" →
    ``{"be", "boe"}``); only forms of two or more letters.
    """
    words = normalize_name(text).split()
    if len(words) < 2:
        return set()
    suffixes = [""]
    if words[-1].isdigit():  # "world war 2" → "ww2", "wwii"
        n = int(words[-1])
        words = words[:-1]
        suffixes = [str(n)] + ([_ROMAN_OF[n]] if n in _ROMAN_OF else [])
        if len(words) < 2:
            return set()
    forms = {
        "".join(w[0] for w in words if w not in STOPWORDS),
        "".join(w[0] for w in words if w not in {"the", "a", "&"}),
    }
    return {f + suf for f in forms for suf in suffixes if len(f) >= 2}


def acronym(text: str) -> str:
    """Lower-case initials of the content words of a multi-word name ('' for one word).

    ``"World Trade Organization"`` → ``"wto"``; ``"Bank of England"`` → ``"be"`` (see
    :func:`acronyms` for every form).
    """
    words = [w for w in normalize_name(text).split() if w not in STOPWORDS]
    return "".join(w[0] for w in words) if len(normalize_name(text).split()) >= 2 else ""


def _core(key: str, generic: frozenset[str]) -> str:
    """``key`` without leading/trailing generic words (if anything remains)."""
    words = key.split()
    while len(words) > 1 and words[0] in generic:
        words = words[1:]
    while len(words) > 1 and words[-1] in generic:
        words = words[:-1]
    return " ".join(words)


@dataclass(frozen=True)
class Mention:
    """One entity mention for corpus-level clustering.

    Attributes:
        text: the surface form.
        type: its class (``None``: compatible with every type).
        context: the text the mention occurs in (usually its sentence), or ``None``. Used only
            to split names of context-dependent types (see :func:`cluster_mentions`).
    """

    text: str
    type: str | None = None
    context: str | None = None


class EntityLinker:
    """Links mentions to canonical IRIs, deterministically.

    Args:
        base: namespace of minted IRIs (a type segment is added: ``base + Type/key``).
        known: an existing graph's labels: normalised or raw label → IRI, or
            ``(label, type)`` → IRI for type-specific labels. Mentions matching a known label
            (after normalisation) link to that IRI.
        type_aware: never merge mentions of different types.
        generic_words: words stripped from the ends of names before comparison.
        compatible: ``(type_a, type_b) -> bool``; default: equal types (or either ``None``).
        short_form_types: types whose mentions may be short forms of a longer name of the
            same document ("Rosberg" → "Nico Rosberg"); default :data:`PERSON_TYPES`.
        prefix_form_types: types whose mentions may be the leading words of one longer name
            of the same document ("Acme" → "Acme Robotics"); default :data:`ORG_TYPES`.

    Example:
        >>> kl = EntityLinker(base="urn:e/", known={"United States": "urn:wd:Q30"})
        >>> str(kl.link("the U.S.", "Location")), str(kl.link("United States", "Location"))
        ('urn:e/Location/us', 'urn:wd:Q30')
    """

    def __init__(
        self,
        base: str = ENTITY_BASE,
        known: Mapping[str | tuple[str, str], str] | None = None,
        *,
        type_aware: bool = True,
        generic_words: Iterable[str] = GENERIC_WORDS,
        compatible: Callable[[str | None, str | None], bool] | None = None,
        short_form_types: Iterable[str] = PERSON_TYPES,
        prefix_form_types: Iterable[str] = ORG_TYPES,
    ) -> None:
        self.base = base
        self.short_form_types = frozenset(short_form_types)
        self.prefix_form_types = frozenset(prefix_form_types)
        self.type_aware = type_aware
        self.generic = frozenset(generic_words)
        self._compatible = compatible
        self.known: dict[str, URIRef] = {}
        self.known_typed: dict[tuple[str, str], URIRef] = {}
        for label, iri in (known or {}).items():
            if isinstance(label, tuple):
                self.known_typed[(normalize_name(label[0]), label[1])] = URIRef(iri)
            else:
                self.known[normalize_name(label)] = URIRef(iri)

    def compatible(self, a: str | None, b: str | None) -> bool:
        """Whether mentions typed ``a`` and ``b`` may denote the same entity."""
        if self._compatible is not None:
            return self._compatible(a, b)
        return not self.type_aware or a is None or b is None or a == b

    def key(self, text: str) -> str:
        """The comparison key of a name: normalised, generic end words removed."""
        return _core(normalize_name(text), self.generic)

    def iri_for_key(self, key: str, type_: str | None, name: str | None = None) -> URIRef:
        """The IRI of a canonical key: a known entity's, else minted (typed when ``type_aware``).

        The IRI is minted from ``name`` (the normalised full name, :func:`normalize_name`)
        when given, else from ``key``: generic words only help to compare names, an IRI keeps
        them ("Black Sea" → ``…/black_sea``, not ``…/black``).
        """
        if type_ is not None and (key, type_) in self.known_typed:
            return self.known_typed[(key, type_)]
        if key in self.known:
            return self.known[key]
        return mint_iri(name or key or "_", base=self.base,
                        kind=type_ if self.type_aware and type_ else None)

    def lookup(self, text: str, type_: str | None = None) -> URIRef | None:
        """The IRI of a known graph entity with this label, if any."""
        norm = normalize_name(text)
        for k in (norm, _core(norm, self.generic)):
            if type_ is not None and (k, type_) in self.known_typed:
                return self.known_typed[(k, type_)]
            if k in self.known:
                return self.known[k]
        return None

    def link(self, text: str, type_: str | None = None) -> URIRef:
        """IRI for one mention on its own (known label, else minted from the key)."""
        found = self.lookup(text, type_)
        if found is not None:
            return found
        return self.iri_for_key(self.key(text), type_, normalize_name(text))

    def link_doc(self, mentions: Sequence[tuple[str, str | None]]) -> list[URIRef]:
        """IRIs for the mentions of one document, resolving acronyms and short forms.

        A mention whose key is the acronym of, or a word-suffix/prefix of, exactly one longer
        type-compatible mention in the same document gets that mention's IRI. Mentions of one
        name with different types first get the name's majority type (see
        :meth:`link_doc_typed`), so one name is one entity of one class per document.

        Args:
            mentions: ``(text, type)`` per mention, in document order.

        Returns:
            One IRI per mention.
        """
        return [iri for iri, _ in self.link_doc_typed(mentions)]

    def link_doc_typed(
        self, mentions: Sequence[tuple[str, str | None]]
    ) -> list[tuple[URIRef, str | None]]:
        """``(IRI, type)`` per mention of one document: one type per name (majority vote).

        The mentions of a document that share a name (:func:`normalize_name`; generic words
        count, so "Black" does not vote with "Black Sea") all get the type most of them were
        labelled with by the NER; a tie goes to the type of the name's first
        mention in document order (then acronyms and short forms are resolved as in
        :meth:`link_doc`). Untyped mentions (``None``) do not vote. Mentions that end up with
        one IRI although their names differ (two labels of one known graph entity, or
        ``type_aware=False``) then vote the same way per IRI, so an entity never gets two
        types from one document. The mention's own label is for the caller to keep (the
        extraction keeps it in each mention's provenance).

        Example:
            >>> kl = EntityLinker(base="urn:e/")
            >>> [(str(i), t) for i, t in kl.link_doc_typed(
            ...     [("Acme Robotics", "Org"), ("Acme Robotics", "Person"),
            ...      ("Acme Robotics", "Org")])][1]
            ('urn:e/Org/acme_robotics', 'Org')
        """
        return [(iri, ty) for iri, ty, _ in self.link_doc_named(mentions)]

    def link_doc_named(
        self, mentions: Sequence[tuple[str, str | None]]
    ) -> list[tuple[URIRef, str | None, str]]:
        """``(IRI, type, name)`` per mention of one document; ``name`` is the entity's label.

        As :meth:`link_doc_typed`; all mentions of one entity (same name, acronym, short form)
        also share one name: the longest surface form among them (most words, then most
        characters; ties: the first mention), which the IRI is minted from.

        Example:
            >>> kl = EntityLinker(base="urn:e/")
            >>> [(str(i), n) for i, _, n in kl.link_doc_named(
            ...     [("Marisol Ortega", "Person"), ("Ortega", "Person"), ("Black Sea", "Loc")])]
            ... # doctest: +NORMALIZE_WHITESPACE
            [('urn:e/Person/marisol_ortega', 'Marisol Ortega'),
             ('urn:e/Person/marisol_ortega', 'Marisol Ortega'), ('urn:e/Loc/black_sea', 'Black Sea')]
        """
        texts = [t for t, _ in mentions]
        keys = [self.key(t) for t in texts]
        names = [normalize_name(t) for t in texts]
        types = [ty for _, ty in mentions]
        if self.type_aware and self._compatible is None:
            # votes per full name: "Black" (a person) must not take the type of "Black Sea"
            types = majority_types(names, types)
        canon = _resolve(keys, types, texts, self.compatible, self.short_form_types,
                         self.prefix_form_types)
        longest: dict[int, int] = {}
        for i, c in enumerate(canon):
            best = longest.setdefault(c, i)
            if (len(names[i].split()), len(names[i])) > (len(names[best].split()),
                                                         len(names[best])):
                longest[c] = i
        # one IRI per cluster: the known entity named by its full name, else minted from the
        # longest name. An alias's known label is not used ("Ortega" may name another Ortega)
        out: list[URIRef] = []
        for i, j in enumerate(canon):
            ty = types[i]
            found = self.lookup(texts[j], ty) or self.lookup(texts[longest[j]], ty)
            out.append(found if found is not None
                       else self.iri_for_key(keys[j], ty, names[longest[j]]))
        # one type per IRI: different names may link to one known entity
        out_types = majority_types([str(i) for i in out], types)
        return [(iri, ty, texts[longest[canon[i]]])
                for i, (iri, ty) in enumerate(zip(out, out_types))]


def majority_types(keys: Sequence[str], types: Sequence[str | None]) -> list[str | None]:
    """Each mention's type replaced by the majority type of the mentions with its key.

    Ties go to the tied type whose first mention comes first; ``None`` types do not vote
    (a key with only ``None`` mentions keeps ``None``; empty keys keep their own type).

    Example:
        >>> majority_types(["a", "a", "b", "a"], ["Org", "Person", "Loc", "Person"])
        ['Person', 'Person', 'Loc', 'Person']
        >>> majority_types(["a", "a", "a"], ["Person", "Org", None])
        ['Person', 'Person', 'Person']
    """
    votes: dict[str, dict[str, int]] = defaultdict(dict)
    for k, ty in zip(keys, types):
        if ty is not None:
            count = votes[k]
            count[ty] = count.get(ty, 0) + 1  # dicts keep first-seen order: the tie rule
    winner = {k: max(count, key=count.__getitem__) for k, count in votes.items()}
    return [winner.get(k) if k else ty for k, ty in zip(keys, types)]


def _looks_like_acronym(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return 2 <= len(letters) <= 8 and all(c.isupper() for c in letters) and " " not in text.strip()


def _acronym_key(text: str) -> str:
    """Lower-case letters (and digits) of an acronym as written: "WWII" → "wwii"."""
    return "".join(c for c in text.casefold() if c.isalnum())


def _is_short_form(short: str, long: str, prefix: bool = False) -> bool:
    """``short`` is a leading or trailing run of ``long``'s words (e.g. "rosberg").

    With ``prefix``, any leading run counts ("acme" of "acme robotics"), trailing runs do not.
    """
    s, lw = short.split(), long.split()
    if len(s) >= len(lw) or not s:
        return False
    if prefix:
        return lw[: len(s)] == s
    if lw[-len(s):] == s:
        return True
    # "henry ii" ⊂ "henry ii of england"
    return lw[: len(s)] == s and len(lw) > len(s) and lw[len(s)] in STOPWORDS


def _resolve(
    keys: Sequence[str],
    types: Sequence[str | None],
    texts: Sequence[str],
    compatible: Callable[[str | None, str | None], bool],
    short_form_types: frozenset[str],
    prefix_form_types: frozenset[str] = ORG_TYPES,
) -> list[int]:
    """For each mention, the index of its canonical (longest unambiguous) mention.

    Acronyms (surface written in capitals: "WTO", "U.S.") merge into the one compatible
    longer name with those initials; short forms ("Rosberg" of "Nico Rosberg") only for
    mentions whose type is in ``short_form_types`` (person names: elsewhere a trailing
    word is usually a modifier's head — "soprano" is not "mezzo-soprano"); leading words
    ("Acme" of "Acme Robotics") also for ``prefix_form_types`` (organisations). A short form
    or acronym that fits two different longer names merges with neither.
    """
    n = len(keys)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            # the longer key becomes the representative
            if (len(keys[rb]), keys[rb]) > (len(keys[ra]), keys[ra]):
                ra, rb = rb, ra
            parent[rb] = ra

    by_key: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    for i, k in enumerate(keys):
        by_key[(k, types[i])].append(i)
    for idx in by_key.values():
        for j in idx[1:]:
            union(idx[0], j)
    types_of_key: dict[str, list[str | None]] = defaultdict(list)
    for k, ty in by_key:
        types_of_key[k].append(ty)
    for k, tys in types_of_key.items():  # same key, compatible types (e.g. one untyped)
        for a in range(len(tys)):
            for b in range(a + 1, len(tys)):
                if compatible(tys[a], tys[b]):
                    union(by_key[(k, tys[a])][0], by_key[(k, tys[b])][0])
    reps = {k: idx[0] for k, idx in by_key.items()}
    distinct = list(reps.items())
    acr: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for (k, ty), _ in distinct:
        for a in acronyms(k):
            acr[a].append((k, ty))
    by_word: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for (k, ty), _ in distinct:
        if len(k.split()) > 1:
            for w in set(k.split()):
                by_word[w].append((k, ty))
    for (k, ty), i in distinct:
        targets: set[tuple[str, str | None]] = set()
        compact = _acronym_key(texts[i])
        if _looks_like_acronym(texts[i]) and compact in acr:  # an acronym of a longer name
            targets = {t for t in acr[compact] if compatible(ty, t[1])}
        if not targets and ty is not None and ty in short_form_types:
            words = k.split()
            if words and words[-1] in by_word:
                targets = {t for t in by_word[words[-1]]
                           if t[0] != k and compatible(ty, t[1]) and _is_short_form(k, t[0])}
            if not targets and words and words[0] in by_word:
                targets = {t for t in by_word[words[0]]
                           if t[0] != k and compatible(ty, t[1]) and _is_short_form(k, t[0])}
        if not targets and ty is not None and ty in prefix_form_types:
            words = k.split()
            if words and words[0] in by_word:
                targets = {t for t in by_word[words[0]] if t[0] != k and compatible(ty, t[1])
                           and _is_short_form(k, t[0], prefix=True)}
        if len({t[0] for t in targets}) == 1:
            for t in targets:
                union(i, reps[t])
    return [find(i) for i in range(n)]


#: Mean context similarity (TF-IDF cosine, average linkage) above which two groups of
#: same-name mentions of a context-dependent type are kept together. Chosen on one half of the
#: FewRel val relations and checked on the other (docs/benchmarks.md, "Entity linking").
DEFAULT_CONTEXT_THRESHOLD = 0.05


def _as_mention(m: Mention | tuple[str, str | None] | tuple[str, str | None, str | None] | str,
                ) -> Mention:
    if isinstance(m, Mention):
        return m
    if isinstance(m, str):
        return Mention(m)
    return Mention(*m)


def _needs_context(text: str, type_: str | None, context_types: frozenset[str]) -> bool:
    """Whether a name only identifies something together with its context."""
    if not any(c.isalpha() for c in text):  # "2014", "1984": a season, an election, a novel…
        return True
    return "*" in context_types or (type_ is not None and type_ in context_types)


def cluster_mentions(
    mentions: Sequence[Mention | tuple[str, str | None] | tuple[str, str | None, str | None] | str],
    *,
    type_aware: bool = True,
    generic_words: Iterable[str] = GENERIC_WORDS,
    aliases: bool = True,
    compatible: Callable[[str | None, str | None], bool] | None = None,
    short_form_types: Iterable[str] = PERSON_TYPES,
    context_types: Iterable[str] = (),
    context_threshold: float = DEFAULT_CONTEXT_THRESHOLD,
    context_vectors: Sequence[Sequence[float] | None] | None = None,
) -> list[int]:
    """Group mentions of the same entity across a corpus (de-duplication).

    Mentions are first grouped by name (normalised key, acronyms, short forms). A group is then
    split by the mentions' contexts when one of its mentions has a type in ``context_types`` or
    a name without letters ("2014"): its mentions are clustered by average linkage of their
    context vectors (TF-IDF of the context words, or ``context_vectors``), two sub-groups staying
    together while their mean cosine similarity is above ``context_threshold``. Mentions without
    context stay in the sub-group of the group's first mention that has one. Context is never used for other
    types: a singer's nationality does not make "soprano" a different voice type, while a
    "Major General" of the British Army is not the United States rank, and only the type tells
    the two cases apart (on FewRel, splitting every name by context loses most of the recall).

    Args:
        mentions: :class:`Mention` objects, ``(text, type)`` / ``(text, type, context)``
            tuples or bare strings.
        type_aware: keep mentions of different types apart.
        generic_words: words stripped from the ends of names (see :data:`GENERIC_WORDS`).
        aliases: also merge acronyms and unambiguous short forms (else: equal keys only).
        compatible: custom type compatibility (overrides ``type_aware``).
        short_form_types: types whose short forms merge into longer names
            ("Rosberg" → "Nico Rosberg").
        context_types: types whose names depend on the organisation or event they belong to
            (ranks, titles, offices); ``"*"`` = every type.
        context_threshold: mean context similarity needed to keep same-name mentions together.
        context_vectors: optional dense vector per mention (e.g. a sentence embedding) used
            instead of TF-IDF context words; ``None`` entries = no context.

    Returns:
        A cluster id per mention (equal ids = same entity); an id is the index of one of the
        cluster's mentions, so ids are deterministic for a given input.

    Raises:
        ValueError: ``context_vectors`` does not have one entry per mention.

    Example:
        >>> cluster_mentions([("Thames", "Loc"), ("River Thames", "Loc"), ("Thames", "Org")])
        [0, 0, 2]
        >>> cluster_mentions([
        ...     ("Major General", "Rank", "He was a British Army officer."),
        ...     ("major general", "Rank", "A British Army major general."),
        ...     ("Major General", "Rank", "He commanded a United States Army division.")],
        ...     context_types={"Rank"})
        [0, 0, 2]
    """
    linker = EntityLinker(type_aware=type_aware, generic_words=generic_words,
                          compatible=compatible)
    ms = [_as_mention(m) for m in mentions]
    texts = [m.text for m in ms]
    types = [m.type for m in ms]
    keys = [linker.key(t) for t in texts]
    if aliases:
        clusters = _resolve(keys, types, texts, linker.compatible, frozenset(short_form_types),
                            frozenset())
    else:
        key_types = types if (type_aware or compatible) else [None] * len(types)
        first: dict[tuple[str, str | None], int] = {}
        clusters = [first.setdefault((k, ty), i) for i, (k, ty) in enumerate(zip(keys, key_types))]
    if context_vectors is not None and len(context_vectors) != len(ms):
        raise ValueError(f"{len(context_vectors)} context vectors for {len(ms)} mentions")
    ctx_types = frozenset([context_types] if isinstance(context_types, str) else context_types)
    groups: dict[int, list[int]] = defaultdict(list)
    for i, c in enumerate(clusters):
        groups[c].append(i)
    todo = [idx for idx in groups.values()
            if len(idx) > 1 and any(_needs_context(texts[i], types[i], ctx_types) for i in idx)]
    if not todo:
        return clusters
    if context_vectors is not None:
        vecs: list[object] = [normalize_vector(v) if v is not None else None
                              for v in context_vectors]
    else:
        with_ctx = [i for i, m in enumerate(ms) if m.context]
        weights = tfidf_vectors([context_terms(ms[i].context or "", ms[i].text) for i in with_ctx])
        vecs = [None] * len(ms)
        for i, w in zip(with_ctx, weights):
            vecs[i] = w
    for idx in todo:
        known = [i for i in idx if vecs[i] is not None]
        if len(known) < 2:
            continue
        parts = average_linkage(known, lambda a, b: cosine(vecs[a], vecs[b]),  # type: ignore[arg-type]
                                context_threshold)
        # the part holding the group's first mention with context also takes the mentions
        # without context; every part is named by its first mention (disjoint: ids stay unique)
        no_context = [i for i in idx if vecs[i] is None]
        for part in parts:
            members = part + no_context if known[0] in part else part
            first_mention = min(members)
            for i in members:
                clusters[i] = first_mention
    return clusters


def canonical_iris(
    mentions: Sequence[Mention | tuple[str, str | None] | tuple[str, str | None, str | None] | str],
    clusters: Sequence[int] | None = None,
    *,
    linker: EntityLinker | None = None,
    **cluster_options: object,
) -> list[URIRef]:
    """Deterministic canonical IRIs for corpus-level clusters of mentions.

    A cluster's IRI is minted from the longest key among its mentions (or a known label's IRI,
    see :class:`EntityLinker`); when several clusters share that key (a name split by context),
    the one holding the name's first mention keeps the plain IRI and the others get the key
    plus the context words most shared by their mentions ("major_general--united_states_army";
    a number is appended if that is still taken).

    Args:
        mentions: as for :func:`cluster_mentions`.
        clusters: cluster ids from :func:`cluster_mentions` (computed with
            ``cluster_options`` when ``None``).
        linker: mints the IRIs (default: ``EntityLinker()``).
        **cluster_options: keyword options of :func:`cluster_mentions`.

    Returns:
        One IRI per mention; equal clusters get equal IRIs, different clusters different ones.

    Example:
        >>> ms = [("Major General", "Rank", "a British Army officer"),
        ...       ("Major General", "Rank", "United States Army general"),
        ...       ("major general", "Rank", "in the United States Army")]
        >>> [str(i) for i in canonical_iris(ms, linker=EntityLinker(base="urn:e/"),
        ...                                 context_types={"Rank"})]  # doctest: +NORMALIZE_WHITESPACE
        ['urn:e/Rank/major_general', 'urn:e/Rank/major_general--united_states_army',
         'urn:e/Rank/major_general--united_states_army']
    """
    linker = linker or EntityLinker()
    ms = [_as_mention(m) for m in mentions]
    if clusters is None:
        clusters = cluster_mentions(ms, **cluster_options)  # type: ignore[arg-type]
    if len(clusters) != len(ms):
        raise ValueError(f"{len(clusters)} cluster ids for {len(ms)} mentions")
    members: dict[int, list[int]] = defaultdict(list)
    for i, c in enumerate(clusters):
        members[c].append(i)
    keys = [linker.key(m.text) for m in ms]
    chosen: dict[int, tuple[str, str | None, int, str]] = {}
    for c, idx in members.items():
        best = max(idx, key=lambda i: (len(keys[i]), keys[i], -i))
        chosen[c] = (keys[best], ms[best].type, idx[0], normalize_name(ms[best].text))
    by_key: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    for c, (k, ty, _, _) in chosen.items():
        by_key[(k, ty)].append(c)
    iri_of: dict[int, URIRef] = {}
    for (k, ty), cs in by_key.items():
        cs.sort(key=lambda c: chosen[c][2])
        iri_of[cs[0]] = _cluster_iri(linker, ms, members[cs[0]], k, ty, chosen[cs[0]][3])
        used = {str(iri_of[cs[0]])}
        for c in cs[1:]:
            terms = _distinctive_terms(ms, members[c])
            label = f"{k}--{' '.join(terms)}" if terms else k
            iri = linker.iri_for_key(label, ty)
            n = 2
            while str(iri) in used:
                iri = linker.iri_for_key(f"{label} {n}", ty)
                n += 1
            used.add(str(iri))
            iri_of[c] = iri
    return [iri_of[c] for c in clusters]


def _cluster_iri(linker: EntityLinker, ms: Sequence[Mention], idx: Sequence[int], key: str,
                 type_: str | None, name: str | None = None) -> URIRef:
    for i in idx:
        found = linker.lookup(ms[i].text, ms[i].type)
        if found is not None:
            return found
    return linker.iri_for_key(key, type_, name)


def _distinctive_terms(ms: Sequence[Mention], idx: Sequence[int], n: int = 3) -> list[str]:
    """The ``n`` context words most shared by a cluster's mentions, in their text order."""
    counts: dict[str, int] = defaultdict(int)
    order: dict[str, int] = {}
    for i in idx:
        for w in context_terms(ms[i].context or "", ms[i].text):
            order.setdefault(w, len(order))
        for w in set(context_terms(ms[i].context or "", ms[i].text)):
            counts[w] += 1
    top = sorted((w for w in counts if counts[w] > 1 or len(idx) == 1),
                 key=lambda w: (-counts[w], order[w]))[:n]
    return sorted(top, key=order.__getitem__)


def pairwise_scores(pred: Sequence[object], gold: Sequence[object]) -> dict[str, float]:
    """Pairwise precision/recall/F1 of a clustering against gold identities.

    A pair of mentions is positive when both share a cluster; it is correct when they share
    a gold id too.

    Example:
        >>> pairwise_scores([0, 0, 1], ["a", "a", "a"])["precision"]
        1.0
    """
    if len(pred) != len(gold):
        raise ValueError(f"{len(pred)} predictions for {len(gold)} gold ids")

    def pairs(counts: Iterable[int]) -> int:
        return sum(c * (c - 1) // 2 for c in counts)

    cells: dict[tuple[object, object], int] = defaultdict(int)
    pc: dict[object, int] = defaultdict(int)
    gc: dict[object, int] = defaultdict(int)
    for p, g in zip(pred, gold):
        cells[(p, g)] += 1
        pc[p] += 1
        gc[g] += 1
    tp, pp, gp = pairs(cells.values()), pairs(pc.values()), pairs(gc.values())
    prec = tp / pp if pp else 1.0
    rec = tp / gp if gp else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"precision": prec, "recall": rec, "f1": f1, "true_pairs": tp,
            "predicted_pairs": pp, "gold_pairs": gp}
