"""``kg export``: formats, exit codes."""

from __future__ import annotations

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
