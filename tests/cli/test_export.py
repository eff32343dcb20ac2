"""``kg export``: formats, exit codes."""

from __future__ import annotations

import hashlib
from pathlib import Path

from typer.testing import CliRunner

from kg_engine.cli.app import app

runner = CliRunner()
DATA = Path(__file__).resolve().parents[2] / "data"


def test_export_cli(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    assert runner.invoke(app, ["load", str(DATA / "sample" / "university.ttl"), "--db", db]
                         ).exit_code == 0
    res = runner.invoke(app, ["export", str(tmp_path / "kg.ttl.gz"), "--db", db])
    assert res.exit_code == 0 and "as turtle" in res.output, res.output
    res = runner.invoke(app, ["export", str(tmp_path / "ada.html"), "--db", db, "--entity",
                              "<https://example.org/kg/ada>", "--hops", "2"])
    assert res.exit_code == 0, res.output
    rq = tmp_path / "q.rq"
    rq.write_text("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }")
    res = runner.invoke(app, ["export", str(tmp_path / "q.graphml"), "-q", f"@{rq}", "--db", db])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["export", str(tmp_path / "kg.docx"), "--db", db])
    assert res.exit_code == 2 and "cannot tell the export format" in res.output
    res = runner.invoke(app, ["export", str(tmp_path / "x.nt"), "--graph", "urn:nope", "--db", db])
    assert res.exit_code == 2 and not (tmp_path / "x.nt").exists()


def test_export_to_a_triple_format_says_it_merged_the_graphs(tmp_path: Path) -> None:
    """A new user's catalogue (a default graph and three named graphs) exported to .ttl / .nt /
    .rdf was written as one graph with no word about it ("wrote 277 statements as turtle"),
    and loading the file back put every statement in the default graph."""
    db = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    (tmp_path / "d.nq").write_text("<urn:a> <urn:p> <urn:b> .\n<urn:a> <urn:p> <urn:b> <urn:g> .\n"
                                   "<urn:a> <urn:q> <urn:b> <urn:g> .\n")
    assert runner.invoke(app, ["load", str(tmp_path / "d.nq"), "--db", db]).exit_code == 0
    for name in ("d.ttl", "d.nt", "d.rdf"):
        res = runner.invoke(app, ["export", str(tmp_path / name), "--db", db])
        assert res.exit_code == 0, res.output
        assert "wrote 2 statements" in res.output and "2 graphs merged into one" in res.output, \
            res.output
    for name in ("d.nq", "d.trig", "d.jsonld"):  # graph names kept: nothing to say
        res = runner.invoke(app, ["export", str(tmp_path / name), "--db", db])
        assert res.exit_code == 0 and "merged" not in res.output, res.output
    res = runner.invoke(app, ["export", str(tmp_path / "g.ttl"), "--graph", "urn:g", "--db", db])
    assert res.exit_code == 0 and "merged" not in res.output, res.output  # one graph


def test_a_refused_export_keeps_the_old_file_and_says_why(tmp_path: Path) -> None:
    """Every format past the file size limit (ulimit -f): exit 2 with the file and the cause
    (it was 'internal error … OSError: [Errno 27] File too large', exit 1), the file that was
    at the target unchanged, nothing else left in the folder."""
    from kg_engine.testing.iofaults import file_size_limit

    db = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    data = tmp_path / "d.nt"
    data.write_text("".join(  # literals that do not compress (the .gz output must fail too)
        f"<urn:s{i % 300}> <urn:p{i % 7}> <urn:{hashlib.sha256(str(i).encode()).hexdigest()}> .\n"
        for i in range(2000)))
    assert runner.invoke(app, ["load", str(data), "--db", db]).exit_code == 0
    out = tmp_path / "out"
    out.mkdir()
    names = ["kg.nt", "kg.nq.gz", "kg.ttl", "kg.trig", "kg.jsonld", "kg.rdf", "kg.graphml",
             "kg.gexf", "kg.html", "kg.pt"]
    for name in names:
        (out / name).write_bytes(b"old")
    for name in [*names, "csv"]:
        fmt = ["--format", "csv"] if name == "csv" else []
        with file_size_limit(40_000):  # the store's -shm index takes 32 KiB
            res = runner.invoke(app, ["export", str(out / name), *fmt, "--db", db])
        assert res.exit_code == 2, (name, res.output)
        assert f"{out / name} was not written" in res.output and "file size limit" in res.output
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    assert all((out / name).read_bytes() == b"old" for name in names)
