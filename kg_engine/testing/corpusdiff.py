"""Extraction over a user's real folder: a seeded generator of messy corpora and its checks.

:func:`make_corpus` writes what folders really hold: nested subfolders (one with a space in
its name), text in UTF-8, UTF-8 with a byte order mark, UTF-16 LE/BE and UTF-32 LE with one,
cp1252 text with accented letters, UTF-16 without one (binary), mixed line ends (LF, CRLF, CR in one file), a NUL byte,
PNG/ZIP/PDF bytes named ``.txt``, empty and white-space-only files, one very long line (over
the pipeline's ``max_length``: processed in parts), two files with the same content, an
upper-case suffix, a name that is not UTF-8, hidden files and folders, unsupported suffixes,
a FIFO named ``.txt`` (a file that cannot be read as one: the checks run as root, where
``chmod 000`` reads anyway), links to a file inside and outside the folder, a link looping
to the folder's top, a dangling link and a link to itself, and JSON Lines / CSV files with
a byte order mark, blank lines and records without ids. Each file's expected fate follows
the documented rules (:mod:`kg_engine.extraction.corpus`): the text it decodes to, or the
kind of skip. :func:`mutate` then changes, re-encodes, empties, deletes and adds files.

:func:`run` checks, over the folder (whole files, or ``split="paragraphs"``: one document per
paragraph, its expected paragraphs written from the documented rule by
:func:`expected_documents`) and against those expectations:

* every readable document is extracted exactly once (the store's document table holds its
  id and the hash of its correctly decoded text), nothing else; every other file is
  reported with its kind of skip;
* provenance offsets and quoted sentences slice the ORIGINAL file decoded correctly
  (:func:`kg_engine.testing.provenancediff.check_store`);
* the same files named in another order give the same store (``fingerprint``);
* a run interrupted halfway and finished after :func:`mutate` (with ``prune``) gives the
  store one clean run over the final folder gives;
* a re-run after :func:`mutate` extracts exactly the changed and added documents, counts the
  unchanged ones as skipped, removes the documents of emptied files and vanished records,
  keeps (and counts) those of deleted files, and ``prune=True`` removes them; the store then
  equals a clean single run over the final folder (:func:`kg_engine.testing.crashes.
  fingerprint`, the term dictionary aside: removed statements' terms stay until ``kg vacuum``);
* ``kg extract`` over the same folder lists every skipped file with its reason on stderr,
  exits 0 and prints the counts of the API's result.

Example (needs the default pipeline's spaCy model)::

    problems, counts = run(tmp_dir, seed=1)
    assert not problems
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg_engine.extraction.corpus import CorpusReport, Document, path_id

__all__ = ["Corpus", "expected_documents", "make_corpus", "mutate", "run", "run_cli"]

SENTENCES = [
    "Ada Lovelace was born in London.", "Marie Curie moved to Paris in 1891.",
    "José Martí was born in Havana.", "Zoë Baird lives in Zürich.",
    "Albert Einstein worked in Berlin.", "Niels Bohr was born in Copenhagen.",
    "Angela Merkel was born in Hamburg.", "François Mitterrand met Helmut Kohl in Verdun.",
    "Gabriel García Márquez lived in Bogotá.", "Charles Babbage worked with Ada Lovelace.",
]
_EOLS = ["\n", "\r\n", "\r", " ", "\n\n"]
_ENCODINGS = {"utf-8-sig": "utf-8-sig", "utf-16-le": "utf-16-le", "utf-16-be": "utf-16-be",
              "utf-32-le": "utf-32-le"}
_BOM = {"utf-8-sig": b"", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff",
        "utf-32-le": b"\xff\xfe\x00\x00"}
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"notes.txt" + b"\x00" * 8
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@dataclass
class Corpus:
    """A written folder and what extraction must make of it.

    Attributes:
        root: the folder (as given to the extractor).
        texts: document id -> its file's text decoded correctly (a byte order mark kept as
            the first character: offsets count it), or a record's text.
        skipped: path (as reported) -> kind of skip.
        paths: file id -> the path on disk (differs for a name that is not UTF-8).
        plain: ids of the UTF-8 text files :func:`mutate` may change.
    """

    root: Path
    texts: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)
    plain: list[str] = field(default_factory=list)


def _sentences(rng: random.Random, n: int) -> str:
    out = []
    for _ in range(n):
        out.append(rng.choice(SENTENCES) + rng.choice(_EOLS))
    return "".join(out)


def _write(corpus: Corpus, rel: str | bytes, data: bytes, text: str | None) -> Path:
    """Write ``data`` at ``rel``; ``text``: the document expected (None: a skip, set apart)."""
    path = corpus.root / (os.fsdecode(rel) if isinstance(rel, bytes) else rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    fid = path_id(path)
    corpus.paths[fid] = path
    if text is not None:
        corpus.texts[fid] = text
    return path


def _plain(corpus: Corpus, rel: str, text: str) -> None:
    _write(corpus, rel, text.encode("utf-8"), text)
    corpus.plain.append(path_id(corpus.root / rel))


def make_corpus(base: str | Path, seed: int, *, long_chars: int = 3000) -> Corpus:
    """Write a messy folder ``base/corpus`` (and link targets in ``base/outside``).

    Args:
        base: a folder to write in (emptied first).
        seed: the random seed (which folders, texts, line ends, names).
        long_chars: length of the one-line file (make it exceed the pipeline's max_length).
    """
    rng = random.Random(seed)
    base = Path(base)
    shutil.rmtree(base, ignore_errors=True)
    corpus = Corpus(root=base / "corpus")
    corpus.root.mkdir(parents=True)
    dirs = ["", "a", "a/b", "a/b/c", "x y", "deep/er/still"]
    suffixes = [".txt", ".md", ".text", ".TXT", ".Md"]
    for i in range(rng.randint(4, 7)):
        rel = f"{rng.choice(dirs)}/note{i}{rng.choice(suffixes)}".lstrip("/")
        _plain(corpus, rel, _sentences(rng, rng.randint(1, 4)))
    for name, enc in _ENCODINGS.items():  # a byte order mark names the encoding
        text = _sentences(rng, 2)
        rel = f"{rng.choice(dirs)}/enc-{name}.txt".lstrip("/")
        data = text.encode(enc)
        _write(corpus, rel, data if enc == "utf-8-sig" else _BOM[name] + data, "\ufeff" + text)
    # cp1252 with accented letters: not UTF-8, reported with the byte offset of the first é
    latin = "Zoë Baird lives in Zürich. José Martí was born in Havana.\r\n"
    _write(corpus, "a/latin.txt", latin.encode("cp1252"), None)
    corpus.skipped[path_id(corpus.root / "a/latin.txt")] = "encoding"
    nul = "Ada Lovelace was born in London.\0 Marie Curie moved to Paris."
    for rel, data in (("a/nul.txt", nul.encode()), ("image.txt", PNG), ("x y/archive.txt", ZIP),
                      ("paper.txt", PDF), ("a/b/utf16-no-bom.txt", nul.encode("utf-16-le"))):
        _write(corpus, rel, data, None)
        corpus.skipped[path_id(corpus.root / rel)] = "binary"
    for rel, data in (("empty.txt", b""), ("a/blank.md", b" \r\n\t\n  ")):
        _write(corpus, rel, data, None)
        corpus.skipped[path_id(corpus.root / rel)] = "empty"
    long = ""
    while len(long) < long_chars:  # one line, no line end at all
        long += rng.choice(SENTENCES) + " "
    _write(corpus, "long-line.txt", long.encode(), long)
    twin = corpus.plain[0]  # the same content under another name: two documents
    _write(corpus, "a/b/twin.txt", corpus.paths[twin].read_bytes(), corpus.texts[twin])
    # a name in latin-1 bytes (not UTF-8): its id shows the byte as \xe9
    _write(corpus, b"caf\xe9 " + rng.choice([b"notes", "été".encode()]) + b".txt",
           b"Niels Bohr was born in Copenhagen.\n", "Niels Bohr was born in Copenhagen.\n")
    for rel in (".hidden.txt", ".cache/cached.txt"):
        _write(corpus, rel, b"Ada Lovelace was born in London.", None)
    corpus.skipped[path_id(corpus.root / ".hidden.txt")] = "hidden"
    corpus.skipped[path_id(corpus.root / ".cache")] = "hidden"
    for rel, data in (("notes.rst", b"Marie Curie moved to Paris."), ("photo.png", PNG),
                      ("README", b"Albert Einstein worked in Berlin.")):
        _write(corpus, rel, data, None)
        corpus.skipped[path_id(corpus.root / rel)] = "unsupported"
    fifo = corpus.root / "a/pipe.txt"
    os.mkfifo(fifo)
    corpus.skipped[path_id(fifo)] = "special"
    # links: to a file inside (read once, under the file's own name), outside (read), to the
    # folder's top (a loop: not followed), to nothing, to itself
    outside = base / "outside" / "elsewhere.txt"
    outside.parent.mkdir()
    outside.write_bytes(b"Angela Merkel was born in Hamburg.\r\n")
    (corpus.root / "linked-in.txt").symlink_to(corpus.paths[twin])
    corpus.skipped[path_id(corpus.root / "linked-in.txt")] = "duplicate"
    (corpus.root / "x y" / "linked-out.txt").symlink_to(outside)
    corpus.texts[path_id(corpus.root / "x y" / "linked-out.txt")] = outside.read_bytes().decode()
    corpus.paths[path_id(corpus.root / "x y" / "linked-out.txt")] = corpus.root / "x y/linked-out.txt"
    (corpus.root / "a" / "loop").symlink_to(corpus.root, target_is_directory=True)
    corpus.skipped[path_id(corpus.root / "a/loop")] = "link"
    (corpus.root / "gone.txt").symlink_to(base / "outside" / "deleted.txt")
    corpus.skipped[path_id(corpus.root / "gone.txt")] = "broken"
    (corpus.root / "self.txt").symlink_to("self.txt")
    corpus.skipped[path_id(corpus.root / "self.txt")] = "broken"
    # records: a byte order mark, blank lines, one record without an id (id path:line)
    rows = [{"id": f"rec-{seed}-1", "text": rng.choice(SENTENCES)}, {},
            {"text": rng.choice(SENTENCES), "lang": "en"}]
    lines = [json.dumps(r, ensure_ascii=rng.random() < 0.5) if r else "  " for r in rows]
    jsonl = _write(corpus, "data/records.jsonl", ("\ufeff" + "\r\n".join(lines) + "\n").encode(),
                   None)
    corpus.texts[f"rec-{seed}-1"] = rows[0]["text"]
    corpus.texts[f"{path_id(jsonl)}:3"] = rows[2]["text"]
    table = _write(corpus, "data/table.CSV", ("id,text\r\nrow-a,\"" + SENTENCES[2] +
                                              "\"\r\n,\"" + SENTENCES[4] + "\"\r\n").encode(), None)
    corpus.texts["row-a"] = SENTENCES[2]
    corpus.texts[f"{path_id(table)}:3"] = SENTENCES[4]
    return corpus


@dataclass
class Changes:
    """What :func:`mutate` did: document ids changed, added, emptied away, deleted."""

    changed: set[str] = field(default_factory=set)
    added: set[str] = field(default_factory=set)
    gone: set[str] = field(default_factory=set)  # no longer in a file still there
    deleted: dict[str, str] = field(default_factory=dict)  # their file deleted: id -> text


def mutate(corpus: Corpus, seed: int) -> Changes:
    """Change the folder as a user does between two runs; ``corpus`` is updated to match."""
    rng = random.Random(seed * 7919 + 1)
    ch = Changes()
    plain = sorted(corpus.plain)
    rng.shuffle(plain)
    edit, bom, empty, delete = plain[0], plain[1], plain[2], plain[-1] if len(plain) > 3 else None
    if rng.random() < 0.5:  # sentences added at the end, or a paragraph at the top
        text = corpus.texts[edit] + _sentences(rng, 2)
    else:  # (with split="paragraphs" the file's paragraphs all move down)
        text = rng.choice(SENTENCES) + rng.choice(["\n\n", "\r\n\r\n", "\r\r", "\n \t\n"]) + \
            corpus.texts[edit]
    corpus.paths[edit].write_bytes(text.encode())
    corpus.texts[edit] = text
    ch.changed.add(edit)
    # the same text with a byte order mark: its offsets move by one, so it is extracted again
    corpus.paths[bom].write_bytes(b"\xef\xbb\xbf" + corpus.texts[bom].encode())
    corpus.texts[bom] = "\ufeff" + corpus.texts[bom]
    ch.changed.add(bom)
    corpus.paths[empty].write_bytes(b"\n\n")
    del corpus.texts[empty]
    corpus.skipped[empty] = "empty"
    ch.gone.add(empty)
    if delete:
        corpus.paths[delete].unlink()
        ch.deleted[delete] = corpus.texts.pop(delete)
        for link, kind in list(corpus.skipped.items()):  # a link to it points to nothing now
            if kind == "duplicate" and not os.path.exists(link):
                corpus.skipped[link] = "broken"
    # the cp1252 file converted to UTF-8: read now
    latin = path_id(corpus.root / "a/latin.txt")
    text = corpus.paths[latin].read_bytes().decode("cp1252")
    corpus.paths[latin].write_bytes(text.encode())
    corpus.texts[latin] = text
    del corpus.skipped[latin]
    ch.added.add(latin)
    new = corpus.root / "new folder" / f"added-{seed}.txt"
    new.parent.mkdir()
    text = _sentences(rng, 3)
    new.write_bytes(text.encode())
    corpus.texts[path_id(new)] = text
    corpus.paths[path_id(new)] = new
    ch.added.add(path_id(new))
    # the record without an id dropped (its path:line document is gone), the other edited
    jsonl = corpus.root / "data/records.jsonl"
    rec = f"rec-{seed}-1"
    corpus.texts[rec] = rng.choice([s for s in SENTENCES if s != corpus.texts[rec]])
    jsonl.write_text(json.dumps({"id": rec, "text": corpus.texts[rec]}) + "\n")
    del corpus.texts[f"{path_id(jsonl)}:3"]
    ch.changed.add(rec)
    ch.gone.add(f"{path_id(jsonl)}:3")
    return ch


def _documents(store: Any) -> dict[str, str]:
    from kg_engine.extraction.ingest import known_hashes

    return known_hashes(store)


_EOL = r"(?:\r\n|\r(?!\n)|\n)"  # CRLF is one line end, not a CR and an LF
_BLANK_LINE = re.compile(_EOL + r"[ \t]*" + _EOL)


def expected_documents(corpus: Corpus, split: str = "none") -> dict[str, tuple[str, str]]:
    """Document id -> (its file's id, the hash it must be recorded with), written from the
    documented rules: a whole file (its byte order mark not part of the text, counted in
    the offset), or one document per blank-line-separated paragraph (stripped, ids
    ``FILE#p<N>``); a record as it is."""
    out: dict[str, tuple[str, str]] = {}
    for fid, text in corpus.texts.items():
        if fid not in corpus.paths:  # a record: no offsets into a file
            out[fid] = (fid, Document(fid, text).hash)
            continue
        start = 1 if text.startswith("\ufeff") else 0
        if split == "none":
            out[fid] = (fid, Document(fid, text[start:], offset=start).hash)
            continue
        ends = [(m.start(), m.end()) for m in _BLANK_LINE.finditer(text, start)]
        bounds = zip([start] + [e for _, e in ends], [b for b, _ in ends] + [len(text)])
        paragraphs = [(a + len(text[a:b]) - len(text[a:b].lstrip()), text[a:b].strip())
                      for a, b in bounds if text[a:b].strip()]
        for n, (offset, para) in enumerate(paragraphs):
            out[f"{fid}#p{n}"] = (fid, Document(f"{fid}#p{n}", para, offset=offset).hash)
    return out


def _store_problems(store: Any, corpus: Corpus, report_skipped: list, label: str,
                    split: str = "none", kept: dict[str, str] | None = None,
                    ) -> tuple[list[str], Counter]:
    """Problems of the store against ``corpus`` (and ``kept``: files deleted whose documents
    are still in the store, file id -> text)."""
    from kg_engine.testing.provenancediff import check_store

    problems: list[str] = []
    docs = _documents(store)
    texts = {**corpus.texts, **(kept or {})}
    want = expected_documents(Corpus(corpus.root, texts, paths=corpus.paths), split)
    for doc_id in sorted(set(want) - set(docs)):
        problems.append(f"{label}: {doc_id!r} was not extracted")
    for doc_id in sorted(set(docs) - set(want)):
        problems.append(f"{label}: {doc_id!r} is in the store but is no readable document")
    for doc_id in sorted(set(docs) & set(want)):
        if docs[doc_id] != want[doc_id][1]:
            problems.append(f"{label}: {doc_id!r} recorded with the hash of another text")
    got = Counter((s.path, s.kind) for s in report_skipped)
    want_skips = Counter(corpus.skipped.items())
    for item in sorted((got - want_skips).elements()):
        problems.append(f"{label}: reported skipped {item}, expected not")
    for item in sorted((want_skips - got).elements()):
        problems.append(f"{label}: expected skipped {item}, not reported")
    # offsets index the whole file: a paragraph is checked against its file's text
    found, counts = check_store(store, {d: texts[f] for d, (f, _) in want.items()})
    problems += [f"{label}: {p}" for p in found]
    return problems, counts


def _fingerprint(store: Any) -> dict:
    from kg_engine.testing.crashes import fingerprint

    fp = fingerprint(store.db)
    fp.pop("kg_terms", None)  # removed statements' terms stay until `kg vacuum`
    return fp


def _diff(a: dict, b: dict) -> str:
    out = []
    for table in sorted(set(a) | set(b)):
        x, y = a.get(table, Counter()), b.get(table, Counter())
        if x != y:
            extra, missing = list((x - y).elements()), list((y - x).elements())
            out.append(f"{table}: {len(extra)} rows more {extra[:2]}, {len(missing)} fewer "
                       f"{missing[:2]}")
    return "; ".join(out)


def _extract(store: Any, items: Any, pipe: Any, *, split: str = "none",
             prune: bool = False) -> Any:
    """What ``KnowledgeGraph.extract`` does, with a loaded pipeline (its max_length set)."""
    from kg_engine.extraction.ingest import as_documents, extract_into

    report = CorpusReport()
    return extract_into(store, as_documents(items, split=split, report=report), pipe,
                        progress=False, report=report, prune=prune)


def run(base: str | Path, seed: int = 0, *, pipeline: str = "default",
        url: str | Callable[[], str] = "sqlite://", long_limit: int = 1000,
        pipe: Any = None, split: str = "none") -> tuple[list[str], Counter]:
    """Every check of the module docstring over one seed's corpus; (problems, counts).

    Args:
        base: a folder to write the corpus in.
        seed: the corpus's seed.
        pipeline: the pipeline to load (unless ``pipe`` is given, loaded already).
        url: the store URL, or a function giving a new empty store's URL each call (five
            stores are made: PostgreSQL needs a database for each).
        long_limit: the pipeline's ``max_length`` for the run (the one-line file is longer).
        split: ``"paragraphs"``: one document per paragraph of each text file.
    """
    from kg_engine.extraction.ingest import as_documents, extract_into
    from kg_engine.extraction.pipeline import load_extraction_pipeline
    from kg_engine.store import open_store

    base = Path(base)
    corpus = make_corpus(base / "w", seed, long_chars=int(long_limit * 2.5))
    pipe = pipe or load_extraction_pipeline(pipeline)
    saved, pipe.nlp.max_length = pipe.nlp.max_length, long_limit
    problems: list[str] = []
    counts: Counter = Counter()
    stores = []

    def fresh() -> Any:
        stores.append(open_store(url() if callable(url) else url))
        return stores[-1]

    try:
        # 1. the folder, once
        store = fresh()
        res = _extract(store, str(corpus.root), pipe, split=split)
        found, c = _store_problems(store, corpus, res.skipped_files, "run 1", split)
        problems += found
        counts.update(c)
        first = expected_documents(corpus, split)
        counts["documents"] += len(first)
        counts["skipped files"] += len(corpus.skipped)
        if (res.documents, res.skipped, res.replaced, res.deleted) != (len(first), 0, 0, 0):
            problems.append(f"run 1: counts {res.documents} processed, {res.skipped} unchanged, "
                            f"{res.replaced} replaced, {res.deleted} deleted; expected "
                            f"{len(first)}, 0, 0, 0")
        # 2. the same files named one by one, in a random order: the same store
        files = sorted({corpus.paths[f] for f, _ in first.values() if f in corpus.paths} |
                       {corpus.root / "data/records.jsonl", corpus.root / "data/table.CSV"},
                       key=str)
        random.Random(seed).shuffle(files)
        other = fresh()
        _extract(other, [str(p) for p in files], pipe, split=split)
        if _fingerprint(other) != _fingerprint(store):
            problems.append("files in another order: another store: "
                            + _diff(_fingerprint(other), _fingerprint(store)))
        # 3. the same folder again: nothing to do
        res = _extract(store, str(corpus.root), pipe, split=split)
        if res.documents or res.skipped != len(first) or res.added:
            problems.append(f"unchanged re-run: {res.documents} processed, {res.skipped} "
                            f"unchanged, {res.added} statements added")
        # 3b. a run interrupted halfway (Ctrl-C after half the documents): finished after
        # the changes below, with prune, it must equal the clean run too
        halted = fresh()

        def halfway(docs: Any) -> Any:
            for n, doc in enumerate(docs):
                if n == len(first) // 2:
                    raise KeyboardInterrupt
                yield doc

        report = CorpusReport()
        try:
            extract_into(halted, halfway(as_documents(str(corpus.root), split=split,
                                                      report=report)),
                         pipe, progress=False, report=report)
            problems.append("the interrupted run was not interrupted")
        except KeyboardInterrupt:
            pass
        # 4. after changes, without and with prune
        before = _documents(store)
        ch = mutate(corpus, seed)
        after = expected_documents(corpus, split)
        processed = {i for i, (_, h) in after.items() if first.get(i, ("", ""))[1] != h}
        replaced = processed & set(first)
        deleted = {i for i, (f, _) in first.items() if f in ch.deleted}
        gone = set(first) - set(after) - deleted
        want = (len(processed), len(replaced), len(after) - len(processed), len(gone),
                len(deleted))
        got = (res := _extract(store, str(corpus.root), pipe, split=split)).documents, \
            res.replaced, res.skipped, res.deleted, res.missing
        if got != want:
            problems.append(f"re-run after changes: (processed, replaced, unchanged, removed, "
                            f"kept of deleted files) = {got}, expected {want}")
        found, _ = _store_problems(store, corpus, res.skipped_files, "re-run", split, ch.deleted)
        problems += found
        now = _documents(store)
        if any(before.get(i) != now.get(i) for i in set(after) - processed):
            problems.append("re-run after changes: an unchanged document's record changed")
        res = _extract(store, str(corpus.root), pipe, split=split, prune=True)
        if (res.documents, res.deleted, res.missing) != (0, len(deleted), 0):
            problems.append(f"--prune: {res.documents} processed, {res.deleted} removed, "
                            f"{res.missing} kept; expected 0, {len(deleted)}, 0")
        found, _ = _store_problems(store, corpus, res.skipped_files, "pruned", split)
        problems += found
        clean = fresh()
        _extract(clean, str(corpus.root), pipe, split=split)
        if _fingerprint(clean) != _fingerprint(store):
            problems.append("re-runs vs one clean run over the final folder: "
                            + _diff(_fingerprint(store), _fingerprint(clean)))
        _extract(halted, str(corpus.root), pipe, split=split, prune=True)
        if _fingerprint(clean) != _fingerprint(halted):
            problems.append("an interrupted run finished after the changes vs one clean run: "
                            + _diff(_fingerprint(halted), _fingerprint(clean)))
        counts["changes"] += len(processed) + len(gone) + len(deleted)
    finally:
        pipe.nlp.max_length = saved
        for s in stores:
            s.close()
    return problems, counts


def run_cli(base: str | Path, seed: int = 0, *, pipeline: str = "default") -> list[str]:
    """``kg extract FOLDER`` twice (the second run after :func:`mutate`, then ``--prune``):
    exit codes, every skipped file on stderr with its reason, the summary's counts, and the
    store's documents against the expectations."""
    from typer.testing import CliRunner

    from kg_engine.cli.app import app
    from kg_engine.store import open_store

    base = Path(base)
    corpus = make_corpus(base / "w", seed, long_chars=600)
    db = f"sqlite:///{base / 'kg.sqlite'}"
    cli = CliRunner()
    problems: list[str] = []

    def invoke(label: str, *extra: str) -> str:
        res = cli.invoke(app, ["extract", str(corpus.root), "--pipeline", pipeline, "--db", db,
                               *extra])
        out = res.output
        if res.exit_code != 0:
            problems.append(f"{label}: exit code {res.exit_code}: {out[-500:]}")
        for path, kind in corpus.skipped.items():
            if f"skipped {path}: " not in out:
                problems.append(f"{label}: {path} ({kind}) not listed as skipped")
        return " ".join(out.split())

    out = invoke("kg extract")
    if f"from {len(corpus.texts)} document(s)" not in out or \
            f"{len(corpus.skipped)} file(s) not read" not in out:
        problems.append(f"kg extract: summary {out[-300:]!r}; expected {len(corpus.texts)} "
                        f"documents, {len(corpus.skipped)} files not read")
    ch = mutate(corpus, seed)
    out = invoke("kg extract after changes")
    processed = len(ch.changed | ch.added)
    wants = [f"from {processed} document(s)", f"replaced {len(ch.changed)} changed",
             f"skipped {len(corpus.texts) - processed} unchanged"]
    if ch.gone:  # the summary names only what happened
        wants.append(f"removed {len(ch.gone)} gone from their files or folders")
    if ch.deleted:
        wants.append(f"kept {len(ch.deleted)} of files deleted since (--prune removes them)")
    for want in wants:
        if want not in out:
            problems.append(f"kg extract after changes: {want!r} not in {out[-400:]!r}")
    out = invoke("kg extract --prune", "--prune")
    if ch.deleted and f"removed {len(ch.deleted)} gone from their files or folders" not in out:
        problems.append(f"kg extract --prune: {out[-300:]!r}")
    store = open_store(db)
    try:
        found, _ = _store_problems(store, corpus, [], "kg extract")
        problems += [p for p in found if "expected skipped" not in p]
    finally:
        store.close()
    return problems
