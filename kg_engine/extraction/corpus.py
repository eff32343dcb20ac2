"""Reading corpora: text files, JSON Lines and CSV → :class:`Document` objects with stable ids.

Every document gets an id (from the file or record; used as provenance ``source``) and a
content hash (SHA-256 of its text), so re-runs can skip documents that did not change.

Formats, chosen by file suffix (or ``format=``):

* ``.txt``/``.md``/anything else — one document per file (``split="paragraphs"``: one per
  blank-line-separated paragraph, ids ``path#p<N>``, character offsets kept);
* ``.jsonl``/``.ndjson`` — one JSON object per line; ``text_field`` and ``id_field`` name the
  fields (dotted paths allowed: ``"meta.id"``); missing ids become ``path:<line>``;
* ``.csv``/``.tsv`` — a header row; ``text_field``/``id_field`` name the columns;
* a directory — every file inside with one of those suffixes (any case), sorted,
  recursively; what is left out is recorded in a :class:`CorpusReport` (see below).

Decoding: a byte order mark names the encoding (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE) and stays
the first character of the decoded text (offsets count it); otherwise ``encoding`` (UTF-8
unless given), strictly: a file that is not valid text is never decoded by guessing. Files
with a NUL byte (and no UTF-16/32 byte order mark) or the signature of a PDF, ZIP, PNG,
JPEG, GIF or gzip file are binary, not text.

In a folder, files that are not read are skipped and recorded (:class:`SkippedFile`: path,
kind, reason) in the ``report`` given to :func:`iter_documents`: hidden files and folders
(name starting with ``.``), unsupported suffixes, links to folders (not followed: no loops)
and broken links, FIFOs/devices/sockets, a second path to a file already read (a link),
binary files, files not valid in their encoding (byte offset named) and files with no text.
A file named explicitly is read whatever its suffix, and a problem with it is an error.

Example:
    >>> doc = Document.from_text("Ada Lovelace was born in London.")
    >>> doc.id, len(doc.hash)
    ('text:87bf57bd0700', 64)
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import os
import re
import stat
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from kg_engine.core.inputs import check_file
from kg_engine.errors import ConfigError, InputNotFoundError, InputReadError, InputSyntaxError

__all__ = [
    "CorpusFormat",
    "CorpusReport",
    "Document",
    "SkippedFile",
    "content_hash",
    "decode_file",
    "iter_documents",
    "path_id",
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
        """Content hash of the text and, for a document not at the start of its source, of
        its offset there: the provenance recorded from it depends on both, so a paragraph
        that moved in its file (or a file that gained a byte order mark) is extracted again.

        Example:
            >>> Document("a", "Hi.").hash == content_hash("Hi.")
            True
            >>> Document("a", "Hi.", offset=1).hash == content_hash("Hi.")
            False
        """
        return content_hash(self.text if not self.offset else f"{self.offset}\0{self.text}")

    @classmethod
    def from_text(cls, text: str, id: str | None = None) -> Document:
        """A document from a string; the default id is ``text:`` + 12 hex digits of its hash."""
        return cls(id=id or f"text:{content_hash(text)[:12]}", text=text)


@dataclass(frozen=True)
class SkippedFile:
    """A file of a folder that was not read, and why.

    Attributes:
        path: the file (as found in the folder; undecodable name bytes as ``\\xNN``).
        kind: ``hidden``, ``unsupported``, ``link`` (a link to a folder, not followed),
            ``broken``, ``special`` (FIFO, device, socket), ``unreadable``, ``duplicate``
            (another path to a file already read), ``binary``, ``encoding`` or ``empty``.
        reason: the message for the user, with the fix.
    """

    path: str
    kind: str
    reason: str


@dataclass
class CorpusReport:
    """What :func:`iter_documents` read and left out, filled in while it runs.

    Attributes:
        files: id of every file read (its documents' id or id prefix), including files
            that held no document -> its format (``text``, ``jsonl`` or ``csv``).
        folders: the folders walked (ids, see :func:`document_path`).
        skipped: files of those folders that were not read.
        legacy: ``(id, former id)`` of each path given whose id (:func:`document_path`)
            differs from the path as given, which was the id before: a store's documents
            under the former id are renamed when the run reads them again.
    """

    files: dict[str, str] = field(default_factory=dict)
    folders: list[str] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    legacy: list[tuple[str, str]] = field(default_factory=list)

    def former_ids(self, doc_id: str) -> list[str]:
        """The ids ``doc_id`` had before ids were normalised (:attr:`legacy`): the path as
        given in place of the normalised one.

        Example:
            >>> CorpusReport(legacy=[("corpus", "/home/me/corpus")]).former_ids("corpus/a.txt#p0")
            ['/home/me/corpus/a.txt#p0']
        """
        out = []
        for new, old in self.legacy:
            rest = doc_id[len(new):]
            if doc_id.startswith(new) and (not rest or rest[0] in (os.sep, "#", ":")):
                out.append(old + rest)
        return out


_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
         (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))
_SIGNATURES = ((b"%PDF-", "a PDF file"), (b"PK\x03\x04", "a ZIP archive (or .docx/.xlsx/.odt)"),
               (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
               (b"GIF8", "a GIF image"), (b"\x1f\x8b", "a gzip file"))


class _NotText(InputSyntaxError):
    """A file that is not text (``kind``: ``binary`` or ``encoding``)."""

    def __init__(self, message: str, source: str, kind: str) -> None:
        super().__init__(message, source=source)
        self.kind = kind


def decode_file(data: bytes, encoding: str = "utf-8", *, source: str = "<bytes>") -> str:
    """The text of a file's bytes; a byte order mark (UTF-8/16/32, read with the default
    ``encoding="utf-8"``) chooses the encoding and is kept as the text's first character.

    Raises:
        InputSyntaxError: binary data (a NUL byte, a PDF/ZIP/PNG/JPEG/GIF/gzip signature),
            or bytes not valid in the encoding (the byte offset named).

    Example:
        >>> decode_file(b"\\xff\\xfeH\\x00i\\x00")
        '\\ufeffHi'
        >>> try:
        ...     decode_file(b"caf\\xe9 au lait", source="x.txt")
        ... except InputSyntaxError as exc:
        ...     print(exc.msg)
        not valid utf-8 text (invalid continuation byte at byte 3); convert the file to utf-8 (e.g. iconv -f cp1252 -t utf-8)
    """
    bom, codec = b"", encoding
    if codecs.lookup(encoding).name == "utf-8":
        bom, codec = next(((b, c) for b, c in _BOMS if data.startswith(b)), (b"", encoding))
    if not bom or codec == "utf-8":
        for sig, what in _SIGNATURES:
            if data.startswith(sig):
                raise _NotText(f"is {what}, not text", source, "binary")
        nul = data.find(b"\0")
        if nul >= 0:
            raise _NotText(f"is binary, not text (a NUL byte at byte {nul}){_utf16_hint(data)}",
                           source, "binary")
    try:
        text = data[len(bom):].decode(codec)
    except UnicodeDecodeError as exc:
        raise _NotText(
            f"not valid {codec} text ({exc.reason} at byte {exc.start + len(bom)}); convert "
            f"the file to {encoding} (e.g. iconv -f cp1252 -t {encoding})", source, "encoding",
        ) from None
    return "\ufeff" + text if bom else text


def _utf16_hint(data: bytes) -> str:
    """A hint when NUL bytes look like UTF-16 text without a byte order mark."""
    head = data[:400] if len(data) >= 4 else b""
    for codec, zeros in (("utf-16le", head[1::2]), ("utf-16be", head[0::2])):
        if head and not zeros.strip(b"\0"):
            return (f"; it looks like {codec.upper()} without a byte order mark: convert it "
                    f"(iconv -f {codec} -t utf-8)")
    return ""


def _read(path: Path, encoding: str) -> str:
    return decode_file(path.read_bytes(), encoding, source=path_id(path))


def _lines(path: Path, encoding: str, *, newline: str | None = None) -> Iterator[str]:
    """The lines of a record file, decoded as it is read (a JSONL file may not fit in memory);
    a byte order mark chooses the encoding and is dropped (no part of the first record).
    ``newline`` as for :func:`open` (``None``: universal newlines; ``""``: for :mod:`csv`)."""
    src = path_id(path)
    with path.open("rb") as raw:
        head = raw.read(4)
        bom, codec = b"", encoding
        if codecs.lookup(encoding).name == "utf-8":
            bom, codec = next(((b, c) for b, c in _BOMS if head.startswith(b)), (b"", encoding))
        raw.seek(len(bom))
        for sig, what in _SIGNATURES:
            if head.startswith(sig):
                raise _NotText(f"is {what}, not text", src, "binary")
        fix = f"convert the file to {encoding} (e.g. iconv -f cp1252 -t {encoding})"
        if codecs.lookup(codec).name != "utf-8":  # UTF-16/32 (or as asked): decoded in chunks
            stream = io.TextIOWrapper(raw, encoding=codec, newline=newline)
            try:
                yield from stream
            except UnicodeDecodeError as exc:
                raise _NotText(f"not valid {codec} text ({exc.reason}); {fix}", src,
                               "encoding") from None
            finally:
                stream.detach()
            return
        pos, lines = len(bom), 0
        for data in raw:  # split at "\n" bytes, never inside a UTF-8 letter
            try:
                text = data.decode(codec)
            except UnicodeDecodeError as exc:
                raise _NotText(f"not valid {codec} text ({exc.reason} at byte "
                               f"{pos + exc.start}, line {lines + 1}); {fix}", src,
                               "encoding") from None
            pos += len(data)
            for line in io.StringIO(text, newline=newline):  # a CR alone ends a line too
                lines += 1
                yield line


def document_path(path: str | Path) -> Path:
    """The path a file or folder given to :func:`iter_documents` is named by in document
    ids: relative to the working folder when inside it, else absolute; normalised as text
    (``..`` and ``.`` folded, links not resolved). So ``corpus``, ``./corpus/`` and
    ``/home/me/corpus`` run from ``/home/me`` give the same ids (``corpus/a.txt``), and a
    folder moved together with the working folder keeps them.

    Example:
        >>> document_path(Path.cwd() / "corpus" / "a.txt") == Path("corpus", "a.txt")
        True
        >>> document_path("corpus/../corpus/./a.txt") == Path("corpus", "a.txt")
        True
    """
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute)
    return Path(absolute if relative == os.pardir or relative.startswith(os.pardir + os.sep) else relative)


def path_id(path: str | Path) -> str:
    """A path as text: bytes of the name that are not UTF-8 as ``\\xNN`` (so it can be
    stored and printed; the file system gave them as lone surrogates).

    Example:
        >>> path_id(os.fsdecode(b"caf\\xe9.txt"))
        'caf\\\\xe9.txt'
    """
    return os.fsencode(path).decode("utf-8", "backslashreplace")


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
        InputSyntaxError: the file is not text, or not valid in ``encoding`` (see
            :func:`decode_file`).
    """
    path = Path(path)
    # the bytes decoded, nothing else: no newline translation, so that provenance offsets
    # index the file's own text ("\r\n" is two characters there; Path.read_text made it one)
    text = _read(path, encoding)
    base = id_prefix or path_id(path)
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
    for lineno, line in enumerate(_lines(path, encoding), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputSyntaxError(f"not valid JSON: {exc.msg}", source=path_id(path),
                                   line=lineno, column=exc.colno) from exc
        if not isinstance(record, dict):
            raise InputSyntaxError("expected a JSON object per line", source=path_id(path),
                                   line=lineno)
        text = _get_field(record, text_field)
        if not isinstance(text, str):
            raise InputSyntaxError(
                f"no string field {text_field!r} (fields: {sorted(record)}); pass "
                "text_field= (CLI: --text-field)", source=path_id(path), line=lineno,
            )
        rid = _get_field(record, id_field)
        yield Document(id=str(rid) if rid is not None else f"{path_id(path)}:{lineno}", text=text,
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
    reader = csv.DictReader(_lines(path, encoding, newline=""), delimiter=delim)
    if reader.fieldnames is None or text_field not in reader.fieldnames:
        raise InputSyntaxError(
            f"no column {text_field!r} in the header {reader.fieldnames}; pass "
            "text_field= (CLI: --text-field)", source=path_id(path), line=1,
        )
    for row in reader:
        lineno = reader.line_num
        text = row.get(text_field) or ""
        if not text.strip():
            continue
        rid = row.get(id_field) if id_field in (reader.fieldnames or []) else None
        yield Document(id=rid if rid else f"{path_id(path)}:{lineno}", text=text,
                       meta={k: v for k, v in row.items() if k != text_field})


def _skip(report: CorpusReport | None, path: Path, kind: str, reason: str) -> None:
    if report is not None:
        report.skipped.append(SkippedFile(path_id(path), kind, reason))


def _walk(folder: Path, report: CorpusReport | None) -> list[Path]:
    """The files of ``folder`` to read, sorted; what is left out goes to ``report``."""
    out: list[Path] = []
    for top, dirs, names in os.walk(folder):  # links to folders are listed, never entered
        here = Path(top)
        keep = []
        for name in sorted(dirs):
            sub = here / name
            if name.startswith("."):
                _skip(report, sub, "hidden", "a hidden folder (name starting with '.'); "
                      "name it explicitly to read it")
            elif sub.is_symlink():
                _skip(report, sub, "link", "a link to a folder, not followed (links can loop); "
                      "name the folder explicitly to read it")
            else:
                keep.append(name)
        dirs[:] = keep
        for name in sorted(names):
            f = here / name
            if name.startswith("."):
                _skip(report, f, "hidden", "a hidden file (name starting with '.'); name it "
                      "explicitly to read it")
            elif f.suffix.lower() not in _SUFFIX_FORMAT:
                _skip(report, f, "unsupported", f"suffix {f.suffix or '(none)'!r} is not one of "
                      f"{', '.join(sorted(_SUFFIX_FORMAT))}; name the file explicitly to read it "
                      "as text")
            else:
                try:
                    mode = os.stat(f).st_mode
                except OSError as exc:
                    _skip(report, f, "broken", f"a link to nothing ({exc.strerror})")
                    continue
                if not stat.S_ISREG(mode):
                    _skip(report, f, "special", "not a regular file (a FIFO, device or socket)")
                elif not os.access(f, os.R_OK):
                    _skip(report, f, "unreadable", "permission denied: check its permissions")
                else:
                    out.append(f)
    return sorted(out)


def _unique(files: list[tuple[Path, bool]], report: CorpusReport | None) -> list[tuple[Path, bool]]:
    """One path per file: a second path to a file (a link, or a file named twice) is left out;
    the path kept does not depend on the order the paths came in (a link loses to its target)."""
    by_file: dict[str, list[tuple[Path, bool]]] = {}
    for entry in files:
        by_file.setdefault(os.path.realpath(entry[0]), []).append(entry)
    keep: set[Path] = set()
    for group in by_file.values():
        first = min(group, key=lambda e: (e[0].is_symlink(), str(e[0])))[0]
        keep.add(first)
        for f, _ in group:
            if f != first:
                _skip(report, f, "duplicate", f"the same file as {path_id(first)} (read once)")
    return [e for e in files if e[0] in keep]


def iter_documents(
    paths: Iterable[str | Path] | str | Path,
    *,
    format: CorpusFormat | None = None,
    text_field: str = "text",
    id_field: str = "id",
    split: Literal["none", "paragraphs"] = "none",
    encoding: str = "utf-8",
    report: CorpusReport | None = None,
) -> Iterator[Document]:
    """Documents from files and folders, in order.

    Args:
        paths: files or folders.
        format: force a format instead of guessing from the suffix.
        text_field: JSONL field / CSV column with the text.
        id_field: JSONL field / CSV column with the id.
        split: for text files, ``"paragraphs"`` makes one document per paragraph.
        encoding: file encoding (a byte order mark overrides UTF-8: :func:`decode_file`).
        report: filled with the files read and those of the folders left out, and why (see
            the module docstring); without one, a folder's binary or undecodable file is an
            error as a named file is.

    Raises:
        InputNotFoundError: a path does not exist (a FileNotFoundError).
        InputReadError: a named file that cannot be read (a FIFO, no permission).
        InputSyntaxError: a named file that is not text or not valid in ``encoding`` (file
            and byte offset named); a malformed JSONL/CSV file (file and line named).
        ConfigError: an unknown ``format``.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "a.txt").write_text("Ada was born in London.")
        >>> _ = (folder / "b.txt").write_bytes(b"\\x89PNG\\r\\n")
        >>> report = CorpusReport()
        >>> [d.text for d in iter_documents(folder, report=report)]
        ['Ada was born in London.']
        >>> [(Path(s.path).name, s.kind, s.reason) for s in report.skipped]
        [('b.txt', 'binary', 'is a PNG image, not text')]
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if format is not None and format not in ("text", "jsonl", "csv"):
        raise ConfigError(f"unknown corpus format {format!r}; valid: text, jsonl, csv")
    files: list[tuple[Path, bool]] = []  # (file, named by the caller)
    for p in paths:
        if not Path(p).exists():
            raise InputNotFoundError(f"{path_id(p)}: no such file or folder")
        path = document_path(p)
        if report is not None and path_id(path) != path_id(Path(p)):
            report.legacy.append((path_id(path), path_id(Path(p))))
        if path.is_dir():
            if report is not None:
                report.folders.append(path_id(path))
            files += [(f, False) for f in _walk(path, report)]
        else:
            files.append((check_file(path, "text"), True))
    for f, named in _unique(files, report):
        fmt = format or _SUFFIX_FORMAT.get(f.suffix.lower(), "text")
        n = 0
        try:
            if fmt == "jsonl":
                docs: Iterable[Document] = read_jsonl(f, text_field=text_field,
                                                      id_field=id_field, encoding=encoding)
            elif fmt == "csv":
                docs = read_csv(f, text_field=text_field, id_field=id_field, encoding=encoding)
            else:  # one file's documents: read before the first is given out
                docs = list(read_text_file(f, split=split, encoding=encoding))
            for n, doc in enumerate(docs, 1):
                yield doc
        except _NotText as exc:
            if named or report is None or n:  # n: records of the file given out already
                raise
            _skip(report, f, exc.kind, exc.msg)
            continue
        except OSError as exc:  # vanished or unreadable since the walk
            if named or report is None:
                raise InputReadError(f"{path_id(f)}: cannot be read ({exc.strerror})") from None
            _skip(report, f, "unreadable", f"cannot be read ({exc.strerror})")
            continue
        if report is not None:
            report.files[path_id(f)] = fmt
            if not n:
                _skip(report, f, "empty", "no text (empty, or only white space)")
