"""Tests of kg_engine.extraction.corpus."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from kg_engine.errors import InputNotFoundError, InputSyntaxError
from kg_engine.extraction.corpus import Document, content_hash, iter_documents, read_text_file


def test_text_file_whole_and_paragraphs(tmp_path) -> None:
    text = "First para line.\nstill first.\n\n  Second para.\n\n\nThird."
    f = tmp_path / "a.txt"
    f.write_text(text)
    (doc,) = iter_documents(f)
    assert doc.id == str(f) and doc.text == text
    paras = list(read_text_file(f, split="paragraphs"))
    assert [d.id for d in paras] == [f"{f}#p0", f"{f}#p1", f"{f}#p2"]
    for d in paras:  # offsets point into the original file
        assert text[d.offset:d.offset + len(d.text)] == d.text


@pytest.mark.parametrize("eol", ["\r\n", "\r"])
def test_text_file_offsets_index_the_file_with_its_line_ends(tmp_path, eol) -> None:
    """No newline translation: a CRLF file's "\r\n" is two characters of the document (the
    offsets of every extracted statement after the first line were once short by the line
    ends before it), CR line ends stay CR, blank lines between them split paragraphs."""
    text = f"Ada lives here.{eol}Still first.{eol}{eol}  Second para.{eol} {eol}{eol}Third."
    f = tmp_path / "crlf.txt"
    f.write_bytes(text.encode("utf-8"))
    (doc,) = read_text_file(f)
    assert doc.text == text and doc.offset == 0
    paras = list(read_text_file(f, split="paragraphs"))
    assert [d.text for d in paras] == [f"Ada lives here.{eol}Still first.", "Second para.", "Third."]
    for d in paras:
        assert text[d.offset:d.offset + len(d.text)] == d.text


def test_text_file_byte_order_mark_is_no_text_but_counts_in_offsets(tmp_path) -> None:
    text = "\ufeffAda lives here.\n\nSecond."
    f = tmp_path / "bom.txt"
    f.write_bytes(text.encode("utf-8"))
    (doc,) = read_text_file(f)
    assert doc.text == text[1:] and doc.offset == 1  # spaCy once read "\ufeffAda" as one token
    paras = list(read_text_file(f, split="paragraphs"))
    assert [(d.text, d.offset) for d in paras] == [("Ada lives here.", 1), ("Second.", 18)]
    assert all(text[d.offset:d.offset + len(d.text)] == d.text for d in paras)


def test_jsonl_fields_and_errors(tmp_path) -> None:
    f = tmp_path / "c.jsonl"
    f.write_text('{"id": 7, "body": {"text": "Hello."}}\n\n{"body": {"text": "Bye."}}\n')
    docs = list(iter_documents(f, text_field="body.text"))
    assert [d.id for d in docs] == ["7", f"{f}:3"] and docs[1].text == "Bye."
    with pytest.raises(InputSyntaxError) as err:
        list(iter_documents(f))
    assert err.value.line == 1 and "text_field" in str(err.value)
    f.write_text('{"text": "ok"}\n{"text": \n')
    with pytest.raises(InputSyntaxError) as err:
        list(iter_documents(f))
    assert err.value.line == 2


def test_csv_and_tsv(tmp_path) -> None:
    f = tmp_path / "c.csv"
    f.write_text('id,text\nd1,"Hello, world."\nd2,\n')
    assert [(d.id, d.text) for d in iter_documents(f)] == [("d1", "Hello, world.")]
    t = tmp_path / "c.tsv"
    t.write_text("body\nHello.\n")
    (d,) = iter_documents(t, text_field="body")
    assert d.id == f"{t}:2"
    with pytest.raises(InputSyntaxError, match="no column 'text'"):
        list(iter_documents(t))


def test_folder_and_missing(tmp_path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "b.txt").write_text("B.")
    (tmp_path / "sub" / "a.md").write_text("A.")
    (tmp_path / "skip.bin").write_bytes(b"\0")
    assert [d.text for d in iter_documents(tmp_path)] == ["B.", "A."]
    with pytest.raises(InputNotFoundError):
        list(iter_documents(tmp_path / "nope.txt"))


def test_bad_encoding(tmp_path) -> None:
    f = tmp_path / "x.txt"
    f.write_bytes(b"caf\xe9")
    with pytest.raises(InputSyntaxError, match="utf-8"):
        list(iter_documents(f))


def test_document_hash_and_default_id() -> None:
    d = Document.from_text("abc")
    assert d.hash == content_hash("abc") and d.id == "text:" + d.hash[:12]
    assert Document.from_text("abc", id="x").id == "x"


def test_split_long_cuts_at_paragraphs_then_sentences_and_covers_the_text() -> None:
    from kg_engine.extraction.corpus import split_long

    text = ("Ada wrote notes. " * 30 + "\n\n") * 20 + "x" * 700
    spans = split_long(text, 600)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))  # contiguous, nothing lost
    assert all(0 < end - start <= 600 for start, end in spans)
    assert text[spans[0][1] - 2:spans[0][1]] == "\n\n"  # a paragraph break first
    assert split_long("no breaks" + "y" * 50, 20)[0] == (0, 20)  # no break late enough: hard cut


@pytest.mark.parametrize("codec,bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"),
                                       ("utf-32-le", b"\xff\xfe\x00\x00"),
                                       ("utf-32-be", b"\x00\x00\xfe\xff"), ("utf-8", b"\xef\xbb\xbf")])
def test_a_byte_order_mark_chooses_the_encoding(tmp_path, codec, bom) -> None:
    """UTF-16/32 files (Windows' "Unicode" text) were "not valid utf-8 at byte 0"."""
    text = "Zoë Baird lives in Zürich.\r\nJosé Martí."
    (tmp_path / "u.txt").write_bytes(bom + text.encode(codec))
    (doc,) = iter_documents(tmp_path / "u.txt")
    assert (doc.text, doc.offset) == (text, 1)  # the mark counts in offsets, as in UTF-8


def test_record_files_with_a_byte_order_mark_keep_their_first_record_and_ids(tmp_path) -> None:
    """Excel's "CSV UTF-8" starts with a byte order mark: the header's first column was
    "\\ufeffid", so every id was lost (ids became path:line); a JSONL file with one failed."""
    (tmp_path / "t.csv").write_bytes(b"\xef\xbb\xbfid,text\r\nrow-a,Ada.\r\n")
    (tmp_path / "t.jsonl").write_bytes(b"\xef\xbb\xbf" + b'{"id": "j", "text": "Bob."}\n')
    (tmp_path / "u.tsv").write_bytes(b"\xff\xfe" + "id\ttext\r\nrow-u\tCy.\r\n".encode("utf-16-le"))
    assert [(d.id, d.text) for d in iter_documents(tmp_path)] == [
        ("row-a", "Ada."), ("j", "Bob."), ("row-u", "Cy.")]


def test_a_folder_reports_every_file_it_does_not_read(tmp_path) -> None:
    """PDF bytes named .txt and a text with a NUL byte were extracted as text; a PNG named
    .txt stopped the whole run; links to nothing, FIFOs, other suffixes were left out
    without a word, and a link to a file of the folder read it twice."""
    from kg_engine.extraction.corpus import CorpusReport

    (tmp_path / "a.txt").write_text("Ada was born in London.")
    (tmp_path / "paper.txt").write_bytes(b"%PDF-1.4\n1 0 obj << >> endobj\n")
    (tmp_path / "nul.txt").write_bytes(b"Ada.\0Bob.")
    (tmp_path / "img.txt").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "latin.txt").write_bytes("Zoë.".encode("cp1252"))
    (tmp_path / "empty.md").write_bytes(b" \n")
    (tmp_path / "notes.rst").write_text("Bob.")
    (tmp_path / ".hidden.txt").write_text("Bob.")
    (tmp_path / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    (tmp_path / "link.txt").symlink_to(tmp_path / "a.txt")
    (tmp_path / "up").symlink_to(tmp_path, target_is_directory=True)
    os.mkfifo(tmp_path / "fifo.txt")
    report = CorpusReport()
    assert [d.text for d in iter_documents(tmp_path, report=report)] == ["Ada was born in London."]
    kinds = {Path(s.path).name: s.kind for s in report.skipped}
    assert kinds == {"paper.txt": "binary", "nul.txt": "binary", "img.txt": "binary",
                     "latin.txt": "encoding", "empty.md": "empty", "notes.rst": "unsupported",
                     ".hidden.txt": "hidden", "gone.txt": "broken", "link.txt": "duplicate",
                     "up": "link", "fifo.txt": "special"}
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert "byte 2" in reasons["latin.txt"] and "NUL byte at byte 4" in reasons["nul.txt"]
    assert report.files == {str(tmp_path / "a.txt"): "text", str(tmp_path / "empty.md"): "text"}


def test_suffixes_match_in_any_case_and_a_link_loses_to_its_file_in_any_order(tmp_path) -> None:
    """NOTES.TXT and DATA.CSV in a folder were left out; the path kept of two to one file
    does not depend on the order they were named in."""
    (tmp_path / "NOTES.TXT").write_text("Ada.")
    (tmp_path / "DATA.CSV").write_text("id,text\nr,Bob.\n")
    assert [d.id for d in iter_documents(tmp_path)] == ["r", str(tmp_path / "NOTES.TXT")]
    (tmp_path / "z.txt").symlink_to(tmp_path / "NOTES.TXT")
    for order in ([tmp_path / "z.txt", tmp_path / "NOTES.TXT"],
                  [tmp_path / "NOTES.TXT", tmp_path / "z.txt"]):
        assert [d.id for d in iter_documents(order)] == [str(tmp_path / "NOTES.TXT")]


def test_a_moved_paragraph_has_another_hash() -> None:
    """The provenance of a paragraph depends on where it starts: a paragraph moved down (or a
    file that gained a byte order mark) was "unchanged", its recorded offsets went stale."""
    assert Document("f#p0", "Ada.", offset=0).hash != Document("f#p0", "Ada.", offset=3).hash
    assert Document("f", "Ada.").hash == content_hash("Ada.")  # whole files: as before


def test_record_files_name_the_byte_and_line_that_is_not_utf8_and_keep_cr_line_ends(tmp_path) -> None:
    f = tmp_path / "r.jsonl"
    f.write_bytes(b'{"text": "Ada."}\r{"text": "Bob."}\n{"text": "Zo\xeb."}\n')
    with pytest.raises(InputSyntaxError, match=r"at byte 46, line 3"):
        list(iter_documents(f))
    f.write_bytes(b'{"text": "Ada."}\r{"text": "Bob."}\n')
    assert [d.id for d in iter_documents(f)] == [f"{f}:1", f"{f}:2"]


def test_utf16_without_a_byte_order_mark_is_binary_with_a_hint(tmp_path) -> None:
    from kg_engine.extraction.corpus import CorpusReport

    (tmp_path / "le.txt").write_bytes("Ada was born in London.".encode("utf-16-le"))
    (tmp_path / "be.txt").write_bytes("Ada was born in London.".encode("utf-16-be"))
    report = CorpusReport()
    assert list(iter_documents(tmp_path, report=report)) == []
    hint = "it looks like {} without a byte order mark: convert it (iconv -f {} -t utf-8)"
    assert [(s.kind, s.reason.split("; ")[1]) for s in report.skipped] == [
        ("binary", hint.format("UTF-16BE", "utf-16be")),
        ("binary", hint.format("UTF-16LE", "utf-16le"))]


def test_a_file_without_read_permission_is_reported(tmp_path, monkeypatch) -> None:
    """Root reads a chmod 000 file anyway: the permission check is faked here."""
    from kg_engine.extraction import corpus as c

    (tmp_path / "a.txt").write_text("Ada.")
    (tmp_path / "locked.txt").write_text("Bob.")
    real = os.access
    monkeypatch.setattr(c.os, "access", lambda p, mode: "locked" not in str(p) and real(p, mode))
    report = c.CorpusReport()
    assert [d.text for d in iter_documents(tmp_path, report=report)] == ["Ada."]
    assert [(Path(s.path).name, s.kind) for s in report.skipped] == [("locked.txt", "unreadable")]
