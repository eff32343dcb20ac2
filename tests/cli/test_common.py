"""Usage errors of every ``kg`` command are ONE line naming the option/argument, exit 2.

The commands are not listed by hand: the test walks the Typer app's command tree, so a
command added later is covered too. For each command: an unknown option, each option that
takes a value given without one, each option with a choice or a number type given a wrong
value, and (when it has required arguments) no arguments at all.
"""

from __future__ import annotations

import enum
import typing
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from kg_engine.cli.app import app

ROOT = typer.main.get_command(app)


def _commands(group=ROOT, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    out = []
    for name, cmd in sorted(group.commands.items()):
        if hasattr(cmd, "commands"):
            out.append(((*path, name), cmd))
            out.extend(_commands(cmd, (*path, name)))
        else:
            out.append(((*path, name), cmd))
    return out


COMMANDS = _commands()
LEAVES = [(p, c) for p, c in COMMANDS if not hasattr(c, "commands")]


def _kinds(param) -> set[type]:
    """The Python types a parameter's annotation allows (``float | None`` → {float, NoneType})."""
    ann = param.type_descriptor.annotation
    args = typing.get_args(ann)
    return {a for a in (args or (ann,)) if isinstance(a, type)}


def _typed(param) -> bool:
    """A number or a choice (an Enum / Literal), so that ``not-a-value`` is wrong for it."""
    kinds = _kinds(param)
    literal = typing.get_origin(param.type_descriptor.annotation) is typing.Literal
    return literal or bool(kinds & {int, float}) or any(issubclass(k, enum.Enum) for k in kinds)


def _required_args(cmd) -> list[str]:
    """Placeholder values for the command's required arguments (so the option is what fails)."""
    out = []
    for p in cmd.params:
        if p.param_type_name == "argument" and p.required:
            value = "1" if _kinds(p) & {int, float} else "placeholder"
            out.extend([value] * (p.nargs if p.nargs > 0 else 1))
    return out


def _usage_error(args: list[str], path: tuple[str, ...], *names: str) -> str:
    r = CliRunner().invoke(app, [*path, *args])
    assert r.exit_code == 2, (args, r.output)
    lines = r.output.strip().splitlines()
    assert len(lines) == 1, (args, r.output)
    line = lines[0]
    cmd = " ".join(("kg", *path))
    assert line.startswith(f"error: {cmd}: "), (args, line)
    assert line.endswith(f"see {cmd} --help"), (args, line)
    assert "╭" not in line and "Traceback" not in line
    for name in names:
        assert name in line, (args, name, line)
    return line


def test_the_tree_holds_every_command() -> None:
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"load", "query", "update", "reason", "extract", "gnn", "gnn train"} <= names


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # a usage error must create nothing
    yield
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=" ".join)
def test_unknown_option(path: tuple[str, ...]) -> None:
    cmd = dict(COMMANDS)[path]
    if cmd.context_settings.get("ignore_unknown_options"):  # train-ner/-re: config overrides
        r = CliRunner().invoke(app, [*path, "--no-such-option"])
        assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
        assert "--no-such-option" in r.output, r.output
        return
    _usage_error(["--no-such-option"], path, "--no-such-option")


def test_unknown_command_of_a_group() -> None:
    _usage_error(["nocommand"], (), "nocommand")
    for path, cmd in COMMANDS:
        if hasattr(cmd, "commands"):
            _usage_error(["nocommand"], path, "nocommand")


@pytest.mark.parametrize("path,cmd", LEAVES, ids=[" ".join(p) for p, _ in LEAVES])
def test_missing_argument_and_bad_option_values(path: tuple[str, ...], cmd) -> None:
    args = _required_args(cmd)
    if args:  # no arguments at all: the first required one is named
        first = next(p for p in cmd.params if p.param_type_name == "argument" and p.required)
        _usage_error([], path, "Missing argument", first.name)
    checked = 0
    for p in cmd.params:
        if p.param_type_name != "option" or p.is_flag or p.count or p.hidden:
            continue
        opt = max(p.opts, key=len)
        _usage_error([*args, opt], path, opt, "requires an argument")
        checked += 1
        if _typed(p):
            _usage_error([*args, opt, "not-a-value"], path, f"{opt}'", "Invalid value")
    assert checked >= 1  # every command takes at least --db (or an output/option value)


def test_a_failed_command_keeps_a_new_store_another_process_wrote(tmp_path_factory) -> None:
    """A command that created a store file and failed removes it only if nobody else used
    it. Before: `kg load good.nt` and a failing `kg load bad.nt` started together on a new
    file — the failing one deleted the store the other one had just loaded (it reported
    success; nothing was left)."""
    from rdflib import URIRef

    from kg_engine.cli import common
    from kg_engine.store import open_store

    tmp_path = tmp_path_factory.mktemp("race")
    triple = (URIRef("urn:a"), URIRef("urn:p"), URIRef("urn:b"))
    # another connection holds the new store open (it is writing): kept
    path = tmp_path / "open.sqlite"
    common._opened.clear()
    common.open_kg(f"sqlite:///{path}")
    other = open_store(f"sqlite:///{path}")
    other.add([triple])
    common._remove_created()
    assert path.exists()
    assert len(other) == 1
    other.close()
    # another process wrote it and is gone: kept
    path = tmp_path / "written.sqlite"
    common.open_kg(f"sqlite:///{path}")
    with open_store(f"sqlite:///{path}") as other:
        other.add([triple])
    common._remove_created()
    with open_store(f"sqlite:///{path}", readonly=True) as store:
        assert len(store) == 1
    # nobody wrote anything: removed, as before
    path = tmp_path / "unused.sqlite"
    common.open_kg(f"sqlite:///{path}")
    common._remove_created()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["open.sqlite", "written.sqlite"]


def test_a_new_store_whose_log_could_not_be_checkpointed_is_removed(tmp_path_factory) -> None:
    """A load into a new store, the disk full (or the file size limit reached): its log
    could not be copied into the file at close, so -wal and -shm stayed, which read as
    'another process has it open': the empty store and its log were left behind. Now a
    log that no connection holds is read with the file; nothing is left."""
    from typer.testing import CliRunner

    from kg_engine.cli.app import app
    from kg_engine.testing.iofaults import file_size_limit

    tmp_path = tmp_path_factory.mktemp("full")
    data = tmp_path / "d.nt"
    data.write_text("".join(f"<urn:s{i}> <urn:p> \"{'x' * 100}{i}\" .\n" for i in range(2000)))
    store = tmp_path / "new"
    store.mkdir()
    for limit in (3000, 30_000, 60_000):  # creating the file, its log, the load
        with file_size_limit(limit):
            res = CliRunner().invoke(app, ["load", str(data), "--db",
                                           f"sqlite:///{store / 'kg.sqlite'}"])
        assert res.exit_code == 2 and "file size limit" in res.output, res.output
        assert list(store.iterdir()) == [], limit
