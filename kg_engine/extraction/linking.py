"""Entity linking and de-duplication: mentions → canonical IRIs.

Mentions of one entity come in many surface forms ("U.S.", "the United States"; "Thames",
"River Thames"; "WTO", "World Trade Organization"). This module

* normalises names (:func:`normalize_name`: Unicode NFKC, case-folding, accents, leading
  articles, possessives, punctuation, abbreviation dots),
* links a mention to an existing graph entity by its labels when a label table is given
  (``rdfs:label``/``skos:altLabel`` values → IRI, passed as a plain mapping: this module never
  touches the store),
* resolves acronyms, generic type words ("river", "language") and short forms ("Rosberg" →
  "Nico Rosberg") against the other mentions of the same document (:meth:`EntityLinker.link_doc`)
  or of a whole corpus (:func:`cluster_mentions`), only between type-compatible mentions,
* mints deterministic IRIs from the normalised key, so re-running gives the same IRIs.

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

__all__ = [
    "ENTITY_BASE",
    "GENERIC_WORDS",
    "PERSON_TYPES",
    "STOPWORDS",
    "Mention",
    "normalize_name",
    "acronym",
    "acronyms",
    "EntityLinker",
    "cluster_mentions",
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
    """

    text: str
    type: str | None = None


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
    ) -> None:
        self.base = base
        self.short_form_types = frozenset(short_form_types)
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

    def iri_for_key(self, key: str, type_: str | None) -> URIRef:
        """The minted IRI of a canonical key (typed when ``type_aware``)."""
        if type_ is not None and (key, type_) in self.known_typed:
            return self.known_typed[(key, type_)]
        if key in self.known:
            return self.known[key]
        return mint_iri(key or "_", base=self.base,
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
        return self.iri_for_key(self.key(text), type_)

    def link_doc(self, mentions: Sequence[tuple[str, str | None]]) -> list[URIRef]:
        """IRIs for the mentions of one document, resolving acronyms and short forms.

        A mention whose key is the acronym of, or a word-suffix/prefix of, exactly one longer
        type-compatible mention in the same document gets that mention's IRI.

        Args:
            mentions: ``(text, type)`` per mention, in document order.

        Returns:
            One IRI per mention.
        """
        keys = [self.key(t) for t, _ in mentions]
        canon = _resolve(keys, [ty for _, ty in mentions], [t for t, _ in mentions],
                         self.compatible, self.short_form_types)
        out = []
        for i, (text, ty) in enumerate(mentions):
            j = canon[i]
            found = self.lookup(mentions[j][0], ty) or self.lookup(text, ty)
            out.append(found if found is not None else self.iri_for_key(keys[j], ty))
        return out


def _looks_like_acronym(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return 2 <= len(letters) <= 8 and all(c.isupper() for c in letters) and " " not in text.strip()


def _acronym_key(text: str) -> str:
    """Lower-case letters (and digits) of an acronym as written: "WWII" → "wwii"."""
    return "".join(c for c in text.casefold() if c.isalnum())


def _is_short_form(short: str, long: str) -> bool:
    """``short`` is a leading or trailing run of ``long``'s words (e.g. "rosberg")."""
    s, lw = short.split(), long.split()
    if len(s) >= len(lw) or not s:
        return False
    if lw[-len(s):] == s:
        return True
    if lw[: len(s)] == s and len(lw) > len(s) and lw[len(s)] in STOPWORDS:
        return True  # "henry ii" ⊂ "henry ii of england"
    return False


def _resolve(
    keys: Sequence[str],
    types: Sequence[str | None],
    texts: Sequence[str],
    compatible: Callable[[str | None, str | None], bool],
    short_form_types: frozenset[str],
) -> list[int]:
    """For each mention, the index of its canonical (longest unambiguous) mention.

    Acronyms (surface written in capitals: "WTO", "U.S.") merge into the one compatible
    longer name with those initials; short forms ("Rosberg" of "Nico Rosberg") only for
    mentions whose type is in ``short_form_types`` (person names: elsewhere a trailing
    word is usually a modifier's head — "soprano" is not "mezzo-soprano").
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
        if len({t[0] for t in targets}) == 1:
            for t in targets:
                union(i, reps[t])
    return [find(i) for i in range(n)]


def cluster_mentions(
    mentions: Sequence[Mention | tuple[str, str | None] | str],
    *,
    type_aware: bool = True,
    generic_words: Iterable[str] = GENERIC_WORDS,
    aliases: bool = True,
    compatible: Callable[[str | None, str | None], bool] | None = None,
    short_form_types: Iterable[str] = PERSON_TYPES,
) -> list[int]:
    """Group mentions of the same entity across a corpus (de-duplication).

    Args:
        mentions: :class:`Mention` objects, ``(text, type)`` pairs or bare strings.
        type_aware: keep mentions of different types apart.
        generic_words: words stripped from the ends of names (see :data:`GENERIC_WORDS`).
        aliases: also merge acronyms and unambiguous short forms (else: equal keys only).
        compatible: custom type compatibility (overrides ``type_aware``).
        short_form_types: types whose short forms merge into longer names
            ("Rosberg" → "Nico Rosberg").

    Returns:
        A cluster id per mention (equal ids = same entity).

    Example:
        >>> cluster_mentions([("Thames", "Loc"), ("River Thames", "Loc"), ("Thames", "Org")])
        [0, 0, 2]
    """
    linker = EntityLinker(type_aware=type_aware, generic_words=generic_words,
                          compatible=compatible)
    texts, types = [], []
    for m in mentions:
        if isinstance(m, Mention):
            texts.append(m.text)
            types.append(m.type)
        elif isinstance(m, str):
            texts.append(m)
            types.append(None)
        else:
            texts.append(m[0])
            types.append(m[1])
    keys = [linker.key(t) for t in texts]
    key_types = types if (type_aware or compatible) else [None] * len(types)
    if aliases:
        return _resolve(keys, types, texts, linker.compatible, frozenset(short_form_types))
    first: dict[tuple[str, str | None], int] = {}
    return [first.setdefault((k, ty), i) for i, (k, ty) in enumerate(zip(keys, key_types))]


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
