"""``kg`` builds only the command it runs (start-up cost of ``kg query``, issue 14)."""

from __future__ import annotations

import subprocess
import sys

from kg_engine.cli.app import _COMMANDS, app_for


def _names(app) -> set[str]:
    return {info.name for info in app.registered_commands} | {
        g.name for g in app.registered_groups}


def test_app_for_builds_only_the_named_command() -> None:
    assert _names(app_for(["query", "SELECT * WHERE { }"])) == {"query"}
    assert _names(app_for(["--debug", "train-re", "--help"])) == {"train-re"}
    assert _names(app_for(["path", "a", "b"])) == {"analyze", "path"}  # one module, two commands
    assert _names(app_for(["gnn", "train"])) == {"gnn"}


def test_app_for_builds_everything_for_help_or_an_unknown_command() -> None:
    full = _names(app_for([]))
    assert len(full) >= len(_COMMANDS) and "query" in full and "gnn" in full
    assert _names(app_for(["--help"])) == full
    assert _names(app_for(["no-such-command"])) == full


def test_kg_query_imports_no_other_command(tmp_path) -> None:
    from kg_engine import KnowledgeGraph

    db = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    KnowledgeGraph(db).close()
    code = (
        f"import sys; sys.argv = ['kg', 'query', 'ASK {{ }}', '--db', {db!r}, '--format', 'json'];"
        "from kg_engine.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('kg_engine.cli.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = out.stdout.strip().splitlines()[-1]
    assert "kg_engine.cli.query" in loaded
    for other in ("gnn", "extract", "train_re", "serve", "demo"):
        assert f"kg_engine.cli.{other}'" not in loaded, loaded
    assert '"boolean": true' in out.stdout
