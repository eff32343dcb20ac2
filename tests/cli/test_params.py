"""Plain CLI values converted without pydantic (``kg_engine.cli.params``) give exactly what
typer's own pydantic converters give — values, ``BadParameter`` messages — on every parameter
of every ``kg`` command, and a ``kg query`` process does not import pydantic, rich, the RDF
parsers or (without REGEX) the ``regex`` package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from kg_engine.cli.app import make_app
from kg_engine.cli.params import _Plain, _plain, plain_coercion

typer_coercion = pytest.importorskip("typer._coercion")

ROOT = typer.main.get_command(make_app())
CTX = ROOT.context_class(ROOT)


def _params(command=ROOT):
    yield from command.get_params(CTX)
    for sub in getattr(command, "commands", {}).values():
        yield from _params(sub)


SAMPLES = {
    str: ["x", "", " a b ", "sqlite:///kg.sqlite", "\udcff", "1"],
    int: ["0", "7", "-3", "007", "123456789012345678", "1e3", "+4", " 5", "x", "1.0", ""],
    float: ["1.5", "-2", ".5", "10.", "0", "1e3", "inf", "nan", "abc", " 1", "1_0", ""],
    bool: [True, False],
    Path: ["a/b", "-", "/tmp", "~/x", " x ", ""],
}


def _outcome(runtime, value, param, ctx):
    try:
        out = runtime._coerce_value(value, param=param, ctx=ctx)
        return "ok", type(out), repr(out)  # repr: nan equals nan
    except Exception as exc:  # noqa: BLE001 - the exception is the outcome compared
        return type(exc).__name__, str(exc)


def test_plain_converters_equal_typers_on_every_parameter() -> None:
    ctx = ROOT.context_class(ROOT)
    seen: set[type] = set()
    checked = 0
    for param in _params():
        convert = _plain(param)
        if convert is None:
            continue
        desc = param.type_descriptor
        seen.add(desc.annotation)
        theirs = typer_coercion.build_runtime_param(desc)
        ours = _Plain(parameter_info=desc.parameter_info, annotation=desc.annotation,
                      convert=convert)
        for value in SAMPLES[desc.annotation]:
            assert _outcome(ours, value, param, ctx) == _outcome(theirs, value, param, ctx), \
                (param.name, desc.annotation, value)
            checked += 1
    assert seen == {str, int, float, bool, Path}  # every kind is exercised by some kg command
    assert checked > 100


def test_every_plain_parameter_gets_the_converter() -> None:
    app = typer.main.get_command(make_app())
    ctx = app.context_class(app)
    done = plain_coercion(app, ctx)
    assert done > 50
    assert plain_coercion(app, ctx) == 0  # idempotent
    left = [p.name for p in _params(app) if _plain(p) is not None and
            type(p._runtime_param).__name__ != "_Plain"]
    assert left == []
    # lists, choices and other kinds keep typer's converter
    assert any(_plain(p) is None for p in _params(app))


def test_kg_query_process_imports_no_module_it_does_not_use(tmp_path: Path) -> None:
    from kg_engine import KnowledgeGraph

    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    kg = KnowledgeGraph(url)
    kg.update('INSERT DATA { <urn:a> <urn:p> "x" }')
    kg.close()
    script = ("import json, sys\nfrom kg_engine.cli import main\n"
              "sys.argv = ['kg', 'query', 'SELECT ?o { ?s <urn:p> ?o }', '--format', 'json',"
              " '--timeout', '30', '--db', sys.argv[1]]\n"
              "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
              "print(json.dumps(sorted(m for m in ('pydantic', 'rich', 'regex',"
              " 'kg_engine.store.loader', 'kg_engine.store.turtle') if m in sys.modules)),"
              " file=sys.stderr)\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("KG_DEBUG", None)
    out = subprocess.run([sys.executable, "-c", script, url], capture_output=True, text=True,
                         env=env, check=True)
    assert json.loads(out.stdout)["results"]["bindings"] == [
        {"o": {"type": "literal", "value": "x"}}]
    assert json.loads(out.stderr.strip().splitlines()[-1]) == []


def test_bad_values_keep_typers_messages(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from kg_engine.cli.app import app_for

    args = ["query", "SELECT * {}", "--timeout", "soon", "--db", f"sqlite:///{tmp_path}/x"]
    out = CliRunner().invoke(app_for(args), args)
    assert out.exit_code == 2
    assert "Invalid value for '--timeout'" in out.output
    assert "unable to parse string as a number" in out.output
