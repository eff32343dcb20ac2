"""Reading corpora: text files, JSON Lines and CSV → :class:`Document` objects with stable ids.

Every document gets an id (from the file or record; used as provenance ``source``) and a
content hash (SHA-256 of its text), so re-runs can skip documents that did not change.

Formats, chosen by file suffix (or ``format=``):

* ``.txt``/``.md``/anything else — one document per file (``split="paragraphs"``: one per
  blank-line-separated paragraph, ids ``path#p<N>``, character offsets kept);
* ``.jsonl``/``.ndjson`` — one JSON object per line; ``text_field`` and ``id_field`` name the
  fields (dotted paths allowed: ``"meta.id"``); missing ids become ``path:<line>``;
* ``.csv``/``.tsv`` — a header row; ``text_field``/``id_field`` name the columns;
* a directory — every file inside with one of those suffixes, sorted, recursively.

Example:
    >>> doc = Document.from_text("Ada Lovelace was born in London.")
    >>> doc.id, len(doc.hash)
    ('text:87bf57bd0700', 64)
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from kg_engine.core.inputs import check_file
from kg_engine.errors import ConfigError, InputNotFoundError, InputSyntaxError

__all__ = [
    "CorpusFormat",
    "Document",
    "content_hash",
    "iter_documents",
    "read_csv",
    "read_jsonl",
    "read_text_file",
    "split_long",
]

CorpusFormat = Literal["text", "jsonl", "csv"]
_SUFFIX_FORMAT: dict[str, CorpusFormat] = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "csv",
    ".txt": "text", ".md": "text", ".text": "text",
}
#: a blank line, with any line ends (LF, CRLF, CR)
_EOL = r"(?:\r\n|\r(?!\n)|\n)"
_PARAGRAPH = re.compile(_EOL + r"[ \t]*" + _EOL)


def content_hash(text: str) -> str:
    """SHA-256 hex digest of ``text`` (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Document:
    """One unit of text to extract from.

    Attributes:
        id: stable identifier, recorded as provenance ``source``.
        text: the text.
        offset: character offset of ``text`` inside its source (when split from a file).
        meta: other fields of the record (JSONL/CSV), kept for callers.
    """

    id: str
    text: str
    offset: int = 0
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def hash(self) -> str:
        """Content hash of the text."""
        return content_hash(self.text)

    @classmethod
    def from_text(cls, text: str, id: str | None = None) -> Document:
        """A document from a string; the default id is ``text:`` + 12 hex digits of its hash."""
        return cls(id=id or f"text:{content_hash(text)[:12]}", text=text)


def read_text_file(
    path: str | Path, *, split: Literal["none", "paragraphs"] = "none",
    encoding: str = "utf-8", id_prefix: str | None = None,
) -> Iterator[Document]:
    """Documents from one text file (the whole file, or one per paragraph).

    Offsets (:attr:`Document.offset`, and so the provenance of what is extracted) count the
    characters of the file as decoded: line ends are not translated (``"\\r\\n"`` is two
    characters) and a leading byte order mark, not part of the first document's text, counts.

    Args:
        path: the file.
        split: ``"none"`` or ``"paragraphs"`` (blank-line separated).
        encoding: file encoding.
        id_prefix: id of the file (default: the path as given).

    Raises:
        InputSyntaxError: the file is not valid text in ``encoding``.
    """
    path = Path(path)
    try:
        # newline="": no newline translation, so that provenance offsets index the file's
        # own text ("\r\n" is two characters there; Path.read_text made it one)
        with path.open(encoding=encoding, newline="") as fh:
            text = fh.read()
    except UnicodeDecodeError as exc:
        raise InputSyntaxError(
            f"not valid {encoding} text at byte {exc.start}; convert the file to {encoding} "
            f"(e.g. iconv -f latin1 -t {encoding})", source=str(path),
        ) from exc
    base = id_prefix or str(path)
    # a byte order mark is no text: the document starts after it (its offset counts it)
    bom = 1 if text.startswith("\ufeff") else 0
    if split == "none":
        if text.strip():
            yield Document(id=base, text=text[bom:], offset=bom)
        return
    if split != "paragraphs":
        raise ConfigError(f"split must be 'none' or 'paragraphs', got {split!r}")
    pos = bom
    n = 0
    for m in [*_PARAGRAPH.finditer(text, bom), None]:
        end = m.start() if m else len(text)
        chunk = text[pos:end]
        stripped = chunk.strip()
        if stripped:
            lead = len(chunk) - len(chunk.lstrip())
            yield Document(id=f"{base}#p{n}", text=stripped, offset=pos + lead)
            n += 1
        if m:
            pos = m.end()


_BREAKS = (_PARAGRAPH, re.compile(r"[.!?][\"')\]]?\s"), re.compile(r"\s"))


def split_long(text: str, limit: int) -> list[tuple[int, int]]:
    """``(start, end)`` spans of ``text``, each at most ``limit`` characters, cut at a
    paragraph break, else a sentence end, else whitespace (else hard) in each span's last
    half — so texts over spaCy's ``nlp.max_length`` are processed in parts, not refused.

    Example:
        >>> split_long("One. Two. Three.", 10)
        [(0, 10), (10, 16)]
        >>> split_long("short", 100)
        [(0, 5)]
    """
    if limit < 2:
        raise ConfigError(f"the text limit must be at least 2 characters, got {limit}")
    spans: list[tuple[int, int]] = []
    start = 0
    while len(text) - start > limit:
        end = start + limit
        cut = None
        for pattern in _BREAKS:
            found = [m.end() for m in pattern.finditer(text, start + limit // 2, end)]
            if found:
                cut = found[-1]
                break
        spans.append((start, cut or end))
        start = cut or end
    spans.append((start, len(text)))
    return spans


def _get_field(record: dict[str, Any], dotted: str) -> Any:
    cur: Any = record
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def read_jsonl(
    path: str | Path, *, text_field: str = "text", id_field: str = "id",
    encoding: str = "utf-8",
) -> Iterator[Document]:
    """Documents from a JSON Lines file.

    Args:
        path: the file.
        text_field: field holding the text (dotted path for nested objects).
        id_field: field holding the id (missing: ``path:<line>``).
        encoding: file encoding.

    Raises:
        InputSyntaxError: a line is not a JSON object or lacks a string ``text_field``.
    """
    path = Path(path)
    with path.open(encoding=encoding) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputSyntaxError(f"not valid JSON: {exc.msg}", source=str(path),
                                       line=lineno, column=exc.colno) from exc
            if not isinstance(record, dict):
                raise InputSyntaxError("expected a JSON object per line", source=str(path),
                                       line=lineno)
            text = _get_field(record, text_field)
            if not isinstance(text, str):
                raise InputSyntaxError(
                    f"no string field {text_field!r} (fields: {sorted(record)}); pass "
                    "text_field= (CLI: --text-field)", source=str(path), line=lineno,
                )
            rid = _get_field(record, id_field)
            yield Document(id=str(rid) if rid is not None else f"{path}:{lineno}", text=text,
                           meta={k: v for k, v in record.items() if k != text_field})


def read_csv(
    path: str | Path, *, text_field: str = "text", id_field: str = "id",
    encoding: str = "utf-8", delimiter: str | None = None,
) -> Iterator[Document]:
    """Documents from a CSV/TSV file with a header row.

    Args:
        path: the file.
        text_field: column holding the text.
        id_field: column holding the id (missing column: ``path:<line>``).
        encoding: file encoding.
        delimiter: field separator (default: tab for ``.tsv``, else comma).

    Raises:
        InputSyntaxError: the header lacks ``text_field``.
    """
    path = Path(path)
    delim = delimiter or ("\t" if path.suffix == ".tsv" else ",")
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with path.open(encoding=encoding, newline="") as fh:
        reader = csv.DictReader(fh, delimiter=delim)
        if reader.fieldnames is None or text_field not in reader.fieldnames:
            raise InputSyntaxError(
                f"no column {text_field!r} in the header {reader.fieldnames}; pass "
                "text_field= (CLI: --text-field)", source=str(path), line=1,
            )
        for row in reader:
            lineno = reader.line_num
            text = row.get(text_field) or ""
            if not text.strip():
                continue
            rid = row.get(id_field) if id_field in (reader.fieldnames or []) else None
            yield Document(id=rid if rid else f"{path}:{lineno}", text=text,
                           meta={k: v for k, v in row.items() if k != text_field})


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in _SUFFIX_FORMAT)
    return [path]


def iter_documents(
    paths: Iterable[str | Path] | str | Path,
    *,
    format: CorpusFormat | None = None,
    text_field: str = "text",
    id_field: str = "id",
    split: Literal["none", "paragraphs"] = "none",
    encoding: str = "utf-8",
) -> Iterator[Document]:
    """Documents from files and folders, in order.

    Args:
        paths: files or folders.
        format: force a format instead of guessing from the suffix.
        text_field: JSONL field / CSV column with the text.
        id_field: JSONL field / CSV column with the id.
        split: for text files, ``"paragraphs"`` makes one document per paragraph.
        encoding: file encoding.

    Raises:
        InputNotFoundError: a path does not exist (a FileNotFoundError).
        ConfigError: an unknown ``format``.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if format is not None and format not in ("text", "jsonl", "csv"):
        raise ConfigError(f"unknown corpus format {format!r}; valid: text, jsonl, csv")
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise InputNotFoundError(f"{path}: no such file or folder")
        for f in _files(path):
            fmt = format or _SUFFIX_FORMAT.get(f.suffix, "text")
            if f is path:  # a named file, not one found in a folder
                check_file(f, "text")
            try:
                if fmt == "jsonl":
                    yield from read_jsonl(f, text_field=text_field, id_field=id_field,
                                          encoding=encoding)
                elif fmt == "csv":
                    yield from read_csv(f, text_field=text_field, id_field=id_field,
                                        encoding=encoding)
                else:
                    yield from read_text_file(f, split=split, encoding=encoding)
            except UnicodeDecodeError as exc:
                raise InputSyntaxError(
                    f"not valid {encoding} text ({exc.reason} at byte {exc.start}); convert "
                    f"the file to {encoding} (e.g. iconv -f latin1 -t {encoding})",
                    source=str(f)) from None
