"""Untrusted RDF files: no network, no file read beyond the named inputs, bounded expansion."""

from __future__ import annotations

import builtins
import gzip
import io
import json
import socket
from pathlib import Path

import pytest

from kg_engine.errors import RDFSyntaxError, UnsupportedOperationError
from kg_engine.store import open_store
from kg_engine.store.untrusted import check_xml_entities

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


@pytest.fixture()
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Any attempt to resolve a name or open a connection is recorded and fails."""
    attempts: list[str] = []

    def refuse(*args, **kwargs):
        attempts.append(repr(args[:2]))
        raise OSError("network access during a load")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


@pytest.fixture()
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Files opened through ``open`` / ``io.open`` during the test."""
    names: list[str] = []
    real = builtins.open

    def spy(file, *args, **kwargs):
        names.append(str(file))
        return real(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    monkeypatch.setattr(io, "open", spy)
    return names


def _laughs(levels: int = 10) -> str:
    ents = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, levels)]
    return ('<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [\n' + "\n".join(ents) + "]>\n"
            f'<rdf:RDF xmlns:rdf="{RDF}" xmlns:ex="http://e/"><rdf:Description '
            f'rdf:about="http://e/a"><ex:p>&lol{levels - 1};</ex:p></rdf:Description></rdf:RDF>\n')


@pytest.mark.parametrize("context", [
    "https://schema.org/", "http://127.0.0.1:9/context.jsonld", "/etc/passwd", "context.jsonld",
    ["https://w3id.org/security/v1", {"ex": "http://e/"}],
])
def test_jsonld_remote_and_local_contexts_are_refused(
    tmp_path: Path, no_network: list[str], opened: list[str], context: object
) -> None:
    (tmp_path / "context.jsonld").write_text('{"@context": {"name": "http://e/name"}}')
    doc = tmp_path / "doc.jsonld"
    doc.write_text(json.dumps({"@context": context, "@id": "http://e/a", "name": "x"}))
    store = open_store("sqlite://")
    opened.clear()
    with pytest.raises(UnsupportedOperationError, match="doc.jsonld.*not fetched"):
        store.load(doc)
    assert no_network == [] and len(store) == 0
    assert all("passwd" not in n and not n.endswith("context.jsonld") for n in opened), opened


def test_jsonld_import_in_an_inline_context_is_refused(tmp_path: Path, no_network) -> None:
    doc = tmp_path / "doc.jsonld"
    doc.write_text(json.dumps({"@context": {"@import": "https://example.org/ctx",
                                            "name": "http://e/name"},
                               "@id": "http://e/a", "name": "x"}))
    with pytest.raises(UnsupportedOperationError, match="@import"):
        open_store("sqlite://").load(doc)
    assert no_network == []


def test_jsonld_inline_and_allow_listed_contexts_load(tmp_path: Path, no_network) -> None:
    doc = tmp_path / "doc.jsonld"
    doc.write_text(json.dumps({"@context": {"name": "http://e/name"}, "@id": "http://e/a",
                               "name": "x"}))
    store = open_store("sqlite://")
    assert store.load(doc).statements == 1
    # an allow-listed local context is read (and only that one)
    ctx = tmp_path / "ctx.jsonld"
    ctx.write_text('{"@context": {"label": "http://e/label"}}')
    doc2 = tmp_path / "doc2.jsonld"
    doc2.write_text(json.dumps({"@context": ctx.as_uri(), "@id": "http://e/b", "label": "y"}))
    assert store.load(doc2, allow_contexts=[ctx.as_uri()]).statements == 1
    assert no_network == []


def test_billion_laughs_is_refused_quickly(tmp_path: Path, no_network) -> None:
    path = tmp_path / "laughs.rdf"
    path.write_text(_laughs())
    store = open_store("sqlite://")
    with pytest.raises(RDFSyntaxError, match="laughs.rdf.*expands to"):
        store.load(path)
    gz = tmp_path / "laughs.rdf.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    with pytest.raises(RDFSyntaxError, match="expands to"):
        store.load(gz)
    assert len(store) == 0 and no_network == []


def test_modest_entities_still_load(tmp_path: Path, no_network) -> None:
    """OWL files use entities for namespaces: those keep working."""
    path = tmp_path / "onto.owl"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [\n<!ENTITY ex "http://e/">\n'
        f'<!ENTITY rdf "{RDF}">]>\n<rdf:RDF xmlns:rdf="&rdf;" xmlns:ex="&ex;">'
        '<rdf:Description rdf:about="&ex;a"><ex:p rdf:resource="&ex;b"/></rdf:Description>'
        "</rdf:RDF>\n")
    store = open_store("sqlite://")
    assert store.load(path).statements == 1


def test_external_entities_are_not_fetched(tmp_path: Path, no_network, opened) -> None:
    path = tmp_path / "xxe.rdf"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [\n'
        '<!ENTITY remote SYSTEM "http://127.0.0.1:9/x">\n<!ENTITY local SYSTEM "/etc/passwd">]>\n'
        f'<rdf:RDF xmlns:rdf="{RDF}" xmlns:ex="http://e/"><rdf:Description rdf:about="http://e/a">'
        "<ex:p>&remote;&local;</ex:p></rdf:Description></rdf:RDF>\n")
    store = open_store("sqlite://")
    opened.clear()
    try:
        store.load(path)
    except RDFSyntaxError:
        pass
    assert no_network == []
    assert all("passwd" not in n for n in opened)
    assert all("root:" not in str(o) for *_, o, _ in store.triples((None, None, None)))


def test_self_referencing_entities_are_refused() -> None:
    dtd = b'<!DOCTYPE r [<!ENTITY a "&b;"><!ENTITY b "&a;">]><r/>'
    with pytest.raises(RDFSyntaxError, match="refers to itself"):
        check_xml_entities(dtd, "loop.rdf")


@pytest.mark.parametrize(("name", "text"), [
    ("a.ttl", "@prefix ex: <http://e/> . ex:a ex:p ex:b .\n"),
    ("a.nt", "<http://e/a> <http://e/p> <http://e/b> .\n"),
    ("a.trig", "<http://e/g> { <http://e/a> <http://e/p> <http://e/b> }\n"),
    ("a.rdf", (f'<rdf:RDF xmlns:rdf="{RDF}"><rdf:Description rdf:about="http://e/a">'
               "<rdf:value>x</rdf:value></rdf:Description></rdf:RDF>")),
])
def test_no_network_for_any_format(tmp_path: Path, no_network, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    assert open_store("sqlite://").load(path).statements == 1
    assert no_network == []
