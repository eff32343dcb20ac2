"""Is the provenance of extracted statements true? Texts that break offsets, and a checker.

:data:`TEXTS` are hand-written documents with what makes character offsets go wrong:
astral characters (emoji, mathematical letters: two UTF-16 units, four UTF-8 bytes),
combining accents, CRLF and CR line ends, no-break spaces, tabs, right-to-left text, runs of
empty lines, a byte order mark, and a long document cut in parts (spaCy's ``max_length``).
:func:`write_corpus` writes them byte for byte (no newline translation); :func:`check_store`
reads every extracted statement's provenance back from the store and checks it against the
files' own text (decoded, nothing else done to it):

* the document id is the file the statement came from;
* ``text[start:end]`` is the mention (an entity statement: its ``skos:altLabel`` or a
  name the ``rdfs:label`` contains) or runs from the head mention to the tail mention (a
  relation), no surrounding white space;
* the recorded sentence (``detail`` offsets) slices the text to exactly the sentence
  recorded (``text``) and contains the mention; one sentence index per sentence span of a
  document, in text order, also across the parts of a long document;
* a relation's head and tail spans are mentions of its subject and object (their typing
  statements carry those spans);
* a statement supported by several evidence sentences has one record per sentence.

Example (needs the default pipeline's spaCy model)::

    problems, counts = run_default(tmp_dir)
    assert not problems
"""

from __future__ import annotations

import json
import os
import random
import unicodedata
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rdflib import RDF, RDFS, SKOS

__all__ = ["TEXTS", "check_store", "long_text", "run_default", "write_corpus"]

#: file name -> text; every hazard to offsets in one small corpus
TEXTS: dict[str, str] = {
    "crlf.txt": "Ada Lovelace was born in London.\r\nShe worked with Charles Babbage in Cambridge.\r\n"
                "\r\nMarie Curie moved to Paris in 1891.\r\n",
    "cr.txt": "Ada Lovelace was born in London.\rShe worked with Charles Babbage.\r\rMarie Curie lived in Paris.\r",
    "bom.txt": "\ufeffAda Lovelace was born in London. Albert Einstein worked in Berlin.\n",
    "emoji.txt": "\U0001f389\U0001f389 Ada Lovelace \U0001f600 was born in London. "
                 "\U0001d518\U0001d52b\U0001d526 Marie Curie was born in Warsaw \U0001f1f5\U0001f1f1.\n",
    "combining.txt": "Jose\u0301 Mari\u0301a Aznar met Franc\u0327ois Mitterrand in Paris. "
                     "Zoe\u0308 Baird lives in New York. Zoë Baird was born in Philadelphia.\n",
    "nbsp_tabs.txt": "Barack\u00a0Obama\twas born in\tHonolulu.\n\n\n\tAngela Merkel was born in Hamburg."
                     "\u00a0She studied in Leipzig.\n",
    "rtl.txt": "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd. Barack Obama visited Jerusalem with Benjamin "
               "Netanyahu. \u0645\u0631\u062d\u0628\u0627. Emmanuel Macron was born in Amiens.\n",
    "empty_lines.txt": "\n\n\n\nGeorge Washington was born in Virginia.\n\n\n\n\nAbraham Lincoln was born "
                       "in Kentucky.\n\n\n",
    "mixed.txt": "\ufeff\U0001f30d Angela Merkel\r\nwas born in Hamburg.\r\n\u200fIsaac Newton\u200e was born in "
                 "Woolsthorpe.\rNiels Bohr\u00a0worked in\u00a0Copenhagen. \U0001f600\n",
}

_PEOPLE = ["Ada Lovelace", "Marie Curie", "Albert Einstein", "Niels Bohr", "Isaac Newton", "Angela Merkel"]
_PLACES = ["London", "Paris", "Berlin", "Copenhagen", "Hamburg", "Warsaw"]


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def long_text(rng: random.Random, sentences: int = 120) -> str:
    """A long document: ``sentences`` sentences over varied line ends, emoji and accents."""
    out = []
    for i in range(sentences):
        who, where = rng.choice(_PEOPLE), rng.choice(_PLACES)
        deco = rng.choice(["", "\U0001f600 ", "Ame\u0301lie says: ", "\u00a0"])
        end = rng.choice([" ", "\r\n", "\n\n", "\r", "\t"])
        out.append(f"{deco}{who} was born in {where}.{end}")
        if i % 17 == 16:
            out.append("\r\n\r\n")
    return "".join(out)


def write_corpus(folder: str | Path, texts: dict[str, str] | None = None) -> dict[str, str]:
    """Write ``texts`` (default :data:`TEXTS`) byte for byte; path -> text."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, text in (texts or TEXTS).items():
        path = folder / name
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        out[str(path)] = text
    return out


def _quads_with_provenance(store: Any) -> Iterable[tuple[tuple, Any]]:
    for q in store.triples((None, None, None)):
        for p in store.provenance_of(q):
            if p.kind == "extracted":
                yield q, p


def check_store(store: Any, sources: dict[str, str]) -> tuple[list[str], Counter]:
    """Problems with the provenance of every extracted statement of ``store`` against the
    original texts ``sources`` (document id -> text); and counts of what was checked."""
    problems: list[str] = []
    counts: Counter = Counter()
    records = list(_quads_with_provenance(store))
    mentions: dict[Any, set] = {}  # entity -> (doc, start, end) of its mentions
    alt: set = set()
    for (s, p, o, _g), pv in records:
        if p == RDF.type:
            mentions.setdefault(s, set()).add((pv.source, pv.start, pv.end))
        if p == SKOS.altLabel:
            alt.add((s, str(o)))
    sentence_spans: dict[str, dict[int, set]] = {}
    support: dict[tuple, set] = {}
    for (s, p, o, _g), pv in records:
        counts["records"] += 1
        where = f"{os.path.basename(str(pv.source))} {s.n3()} {p.n3()} {o.n3()}"
        raw = sources.get(pv.source)
        if raw is None:
            problems.append(f"{where}: document id {pv.source!r} is no input file")
            continue
        if pv.start is None or pv.end is None or not 0 <= pv.start < pv.end <= len(raw):
            problems.append(f"{where}: span {pv.start}-{pv.end} outside the document ({len(raw)} chars)")
            continue
        span = raw[pv.start:pv.end]
        if span != span.strip():
            problems.append(f"{where}: span {span!r} begins or ends with white space")
        d = json.loads(pv.detail or "{}")
        s0, s1 = d.get("sentence_start"), d.get("sentence_end")
        if s0 is None or s1 is None or raw[s0:s1] != pv.text:
            problems.append(f"{where}: sentence {s0}-{s1} of the file is "
                            f"{raw[s0:s1]!r}, recorded {pv.text!r}")
        elif not s0 <= pv.start <= pv.end <= s1 and pv.sentence not in (d.get("evidence") or []):
            # a document-level relation may join mentions of two sentences: its records are
            # its evidence sentences (one each), its span runs from head to tail
            problems.append(f"{where}: span {pv.start}-{pv.end} outside its sentence {s0}-{s1}")
        if s0 is not None:
            sentence_spans.setdefault(pv.source, {}).setdefault(pv.sentence, set()).add((s0, s1))
        support.setdefault((s, p, o), set()).add(pv.sentence)
        if "relation" in d:
            counts["relation records"] += 1
            head, tail = tuple(d["head"]), tuple(d["tail"])
            if (pv.start, pv.end) != (min(head[0], tail[0]), max(head[1], tail[1])):
                problems.append(f"{where}: span {pv.start}-{pv.end} is not head {head} to tail {tail}")
            if p == RDFS.label:  # the predicate's own label
                continue
            for ent, sp, role in ((s, head, "head"), (o, tail, "tail")):
                if (pv.source, *sp) not in mentions.get(ent, set()) and \
                        (pv.source, *reversed_roles(sp, head, tail)) not in mentions.get(ent, set()):
                    problems.append(f"{where}: {role} span {raw[sp[0]:sp[1]]!r} is no mention of {ent.n3()}")
        else:
            counts["entity records"] += 1
            if p == SKOS.altLabel and str(o) != span:
                problems.append(f"{where}: alias {str(o)!r}, the span is {span!r}")
            # canonically equivalent text is the same text ("Zoe\u0308" is "Zoë"): compared in NFC
            if p == RDFS.label and _nfc(span) not in _nfc(str(o)) and (s, span) not in alt:
                problems.append(f"{where}: label {str(o)!r}, the span {span!r} is neither in it nor an alias")
    for (s, p, o, _g), pv in records:  # each evidence sentence of a relation has its record
        d = json.loads(pv.detail or "{}")
        if p == RDFS.label and "relation" in d:
            continue  # the predicate's label, recorded once with the first relation's record
        ev = set(d.get("evidence") or [])
        counts["evidence sentences"] += len(ev)
        missing = sorted(ev - support[(s, p, o)])
        if missing:
            problems.append(f"{s.n3()} {p.n3()} {o.n3()}: evidence sentences {missing} have no record")
    for doc, by_index in sentence_spans.items():
        for i, spans in by_index.items():
            if len(spans) > 1:
                problems.append(f"{os.path.basename(doc)}: sentence index {i} names {len(spans)} "
                                f"sentences {sorted(spans)}")
        order = sorted((min(sp), i) for i, sp in by_index.items())
        if [i for _, i in order] != sorted(i for _, i in order):
            problems.append(f"{os.path.basename(doc)}: sentence indices out of text order {order[:6]}")
    counts["documents"] = len(sentence_spans)
    return problems, counts


def reversed_roles(sp: tuple, head: tuple, tail: tuple) -> tuple:
    """The other end's span (a directed label turned round swaps head and tail)."""
    return tail if sp == head else head


def run_default(folder: str | Path, url: str = "sqlite://", *, seed: int = 0,
                long_limit: int = 400, pipeline: str = "default") -> tuple[list[str], Counter]:
    """``pipeline`` (the default one unless named) over :data:`TEXTS` and a long document
    (processed in parts of at most ``long_limit`` characters, and whole: longer than a
    document-level encoder's window), once per file and once split into paragraphs, into a
    store at ``url``; :func:`check_store`'s answer."""
    from kg_engine.extraction.ingest import as_documents, extract_into
    from kg_engine.extraction.pipeline import load_extraction_pipeline
    from kg_engine.store import open_store

    texts = dict(TEXTS)
    texts["long.txt"] = long_text(random.Random(seed))
    sources = write_corpus(Path(folder) / "corpus", texts)
    pipe = load_extraction_pipeline(pipeline)
    problems: list[str] = []
    counts: Counter = Counter()
    for split in ("none", "paragraphs"):
        store = open_store(url)
        try:
            files = sorted(sources)
            long_file = [f for f in files if f.endswith("long.txt")]
            extract_into(store, as_documents([f for f in files if f not in long_file], split=split), pipe,
                         progress=False)
            saved = pipe.nlp.max_length
            pipe.nlp.max_length = long_limit
            try:
                extract_into(store, as_documents(long_file, split=split), pipe, progress=False)
            finally:
                pipe.nlp.max_length = saved
            whole = Path(folder) / "whole" / "long.txt"  # the same text in one part
            sources.update(write_corpus(whole.parent, {"long.txt": texts["long.txt"]}))
            extract_into(store, as_documents([str(whole)], split=split), pipe, progress=False)
            found, c = check_store(store, sources if split == "none" else _paragraph_sources(store, sources))
            problems += [f"[split={split}] {x}" for x in found]
            counts.update(c)
        finally:
            store.close()
    return problems, counts


def _paragraph_sources(store: Any, sources: dict[str, str]) -> dict[str, str]:
    """Document ids ``<file>#p<n>`` -> the whole file's text (offsets index the file)."""
    out = {}
    for _q, pv in _quads_with_provenance(store):
        base, _, n = str(pv.source).rpartition("#p")
        if base in sources and n.isdigit():
            out[pv.source] = sources[base]
    return out
