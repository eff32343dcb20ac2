"""Tests of kg_engine.extraction.corpus."""

from __future__ import annotations

import itertools

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
