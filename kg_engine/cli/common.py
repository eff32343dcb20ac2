"""What every ``kg`` command shares: the ``--db`` option and the one error boundary.

The boundary (:func:`guard`, put around every command by ``cli/app.py``): a
:class:`~kg_engine.errors.KgEngineError`, or a failure of a layer below that is the input's
or the environment's fault (see :func:`kg_engine.api.lower_layer_error`), prints ONE line
and exits 2; any other exception is a bug: one line with a hint, exit 1 (``kg --debug …``
or ``KG_DEBUG=1`` shows the traceback); Ctrl-C prints what was rolled back and exits 130.
A store file that the failing command created is removed again.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import typer.core

from kg_engine.errors import KgEngineError

if TYPE_CHECKING:
    from rich.console import Console

    console: Console
    err_console: Console

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_BUG",
    "EXIT_INTERRUPTED",
    "USER_ERRORS",
    "DbOption",
    "KgGroup",
    "command_line_text",
    "console",
    "err_console",
    "guard",
    "guard_commands",
    "open_kg",
    "report",
    "user_errors",
]

EXIT_BAD_INPUT = 2
EXIT_BUG = 1
EXIT_INTERRUPTED = 130
#: Exceptions that mean "the input was wrong": a message and exit code 2, no traceback.
USER_ERRORS = (KgEngineError,)


def __getattr__(name: str) -> Any:
    """``console`` / ``err_console``: rich consoles, made on first use (PEP 562) — importing
    rich costs ~13 CPU-ms, which a ``kg query`` that prints no table need not pay."""
    if name in ("console", "err_console"):
        from rich.console import Console

        made = globals()[name] = Console(stderr=name == "err_console")
        return made
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="KG_DB",
        help="Database URL: sqlite:///PATH, sqlite:// (in-memory) or postgresql+psycopg://…",
        show_envvar=True,
    ),
]
DEFAULT_DB = "sqlite:///kg.sqlite"


def command_line_text(text: str) -> str:
    """``text`` from the command line (a query, a statement) as the terminal sent it.

    Under an ASCII locale (``LANG=C`` with Python's UTF-8 mode turned off) Python hands
    non-ASCII bytes of ``argv`` over as surrogate escapes: ``"Straße"`` arrived as
    ``"Stra\\udcc3\\udc9fe"`` and matched nothing. Those bytes are read as UTF-8, what
    terminals send; anything else is left as it was.

    Example:
        >>> command_line_text(b"Stra\\xc3\\x9fe".decode("ascii", "surrogateescape"))
        'Straße'
    """
    if not any("\udc80" <= c <= "\udcff" for c in text):
        return text
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8")
    except UnicodeError:
        return text


def report(exc: BaseException | str, prefix: str = "error") -> None:
    """Print an error as ONE line on stderr (newlines in the message are flattened)."""
    from rich.markup import escape

    text = " ".join(str(exc).split()) or type(exc).__name__
    err = globals().get("err_console")
    if err is None:
        err = __getattr__("err_console")
    err.print(f"[bold red]{prefix}:[/]", escape(text), highlight=False, soft_wrap=True,
              emoji=False)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn bad-input exceptions into a message and exit code 2."""
    try:
        yield
    except USER_ERRORS as exc:
        report(exc)
        raise typer.Exit(EXIT_BAD_INPUT) from None


#: Stores opened by the running command: (knowledge graph — None: its opening failed —, file
#: the command created or None).
_opened: list[tuple[Any, Path | None]] = []
#: Their connections, kept until the next command (how their transactions ended).
_touched: list[Any] = []
_debug = {"on": bool(os.environ.get("KG_DEBUG"))}


def set_debug(on: bool) -> None:
    """Show tracebacks of internal errors (``kg --debug``)."""
    _debug["on"] = on or bool(os.environ.get("KG_DEBUG"))


def open_kg(db: str | None, *, readonly: bool = False, create: bool = True):
    """Open the knowledge graph named by ``--db`` / ``$KG_DB`` / the default.

    Args:
        db: the ``--db`` value (``None``: ``$KG_DB`` or the default; ``''`` is an error).
        readonly: for commands that only read (stats, query, explain, export): nothing is
            created or written, a missing store is an error.
        create: create a missing store (a failing command removes it again).
    """
    from kg_engine.api import KnowledgeGraph
    from kg_engine.store.database import sqlite_path

    url = (os.environ.get("KG_DB") or DEFAULT_DB) if db is None else db
    path = sqlite_path(url) if url.strip() else None
    new = Path(path) if path and not os.path.exists(path) and not readonly else None
    try:
        kg = KnowledgeGraph(url, readonly=readonly, create=create)
    except BaseException:  # creating it failed (the disk is full): the file is removed too
        if new is not None:
            _opened.append((None, new))
        raise
    _opened.append((kg, new))
    _touched.append(kg.store.db)
    return kg


def store_prefixes(kg: Any) -> dict[str, str]:
    """The prefixes tables shorten IRIs with (``kg query``, ``kg stats``, ``kg explain``): rdf,
    rdfs, owl and xsd, then those the store binds (the Turtle files loaded, their ``@prefix :``
    too — queries may use them undeclared —, ``kg.graph.bind``)."""
    from rdflib.namespace import OWL, RDF, RDFS, XSD

    out = {"rdf": str(RDF), "rdfs": str(RDFS), "owl": str(OWL), "xsd": str(XSD)}
    out.update({p: str(ns) for p, ns in kg.graph.store.namespaces()})
    return out


def reasoning_text(kg: Any) -> str | None:
    """The store's reasoning profile for people: the built-in rule set's name, or the user
    rules' inferred graph (the profile records those as ``"program"``), or both
    (``"owl-rl+program"``); ``None``: off."""
    profile = kg.store.reasoning
    if profile is None:
        return None
    builtin, _, user = profile.rules.rpartition("+")
    if user != "program":
        return profile.rules
    return f"{builtin + ' + ' if builtin else ''}user rules → <{profile.graph}>"


#: What Ctrl-C leaves behind, per command (the default: one transaction rolled back).
INTERRUPTED = {
    "load": "the load was rolled back: nothing from these files was written",
    "update": "the update was rolled back: no operation of the request was applied",
    "reason": "the reasoning run was rolled back: no inferred triple was written",
    "extract": "documents finished before the interrupt are kept (a re-run skips them); the "
               "one in progress was rolled back",
    "demo": "the demo store is incomplete: run kg demo again",
}


def _interrupted(name: str) -> str:
    """What Ctrl-C left behind, from how the stores' last transactions ended."""
    outcomes = [db.last_outcome for db in _touched]
    if name == "extract" or "rollback" in outcomes:
        return INTERRUPTED.get(name, "the transaction in progress was rolled back; what was "
                               "committed before is kept")
    if "commit" in outcomes:
        return "the command's changes had been committed before the interrupt; the store is " \
               "complete and consistent"
    return "nothing had been written; the store is as it was"


def _remove_created() -> None:
    """Close the stores the command opened; delete the files it created (it failed) unless
    work was committed in them (documents extracted before the failure are kept), by this
    command or by another process that opened the new file meanwhile (see :func:`_unused`)."""
    while _opened:
        kg, new = _opened.pop()
        if kg is not None:
            with contextlib.suppress(Exception):
                kg.store.close()
        if new is not None and _unused(new):
            for suffix in ("-journal", "-wal", "-shm", ""):
                with contextlib.suppress(OSError):
                    Path(str(new) + suffix).unlink()


def _click_errors() -> tuple[type[BaseException], ...]:
    """click's usage exceptions, when click is loaded (typer ≥ 0.2x has its own copy; the
    ``click`` package costs ~5 CPU-ms to import, and none of its exceptions exist without it)."""
    click = sys.modules.get("click")
    return (click.exceptions.ClickException, click.exceptions.Abort) if click else ()


def _unused(path: Path) -> bool:
    """Whether the store file ``path`` holds nothing and no other process has it open.

    Two commands may start on one new file at once: the one that fails must not delete the
    store the other one is writing or has written (``kg load A`` and a failing ``kg load B``
    started together left nothing of A's committed load). Every SQLite connection to a store
    holds a shared lock on a byte of its write-ahead log's index (``-shm``) while it is
    open (:func:`_held_elsewhere`); a log left without one (its checkpoint failed: the disk
    is full) is read with the file, so that what another process committed in it counts.
    """
    import sqlite3

    if _held_elsewhere(path):
        return False
    try:
        logged = os.path.getsize(f"{path}-wal") > 0
    except OSError:
        logged = False
    # without a log the file alone holds the store, read as it is
    query = "mode=ro" if logged else "mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?{query}", uri=True)
        try:
            tables = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            if any(not t.startswith("kg_") for t in tables):
                return False
            for table in tables:
                if table == "kg_meta":
                    # what every new store holds: its version, since when writes are recorded
                    if conn.execute("SELECT 1 FROM kg_meta WHERE key NOT IN ('schema_version', "
                                    "'writes_recorded') LIMIT 1").fetchone():
                        return False
                elif conn.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone():
                    return False
        finally:
            conn.close()
    except (sqlite3.Error, OSError):
        return False  # not readable as a store: keep it
    return not _held_elsewhere(path)  # (nobody opened it meanwhile)


#: Exit 1 when another process holds a lock on the ``-shm`` file argv[1] at SQLite's (unix
#: VFS) "dead man switch" byte, 128: every connection holds a shared lock there while it has
#: the store open. Run in a child process: closing a descriptor of a file drops ALL of the
#: closing process's POSIX locks on it (SQLite's own, of connections still open), and a
#: child sees this process's connections too.
_PROBE = """import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
lock = fcntl.fcntl(fd, fcntl.F_GETLK, struct.pack("hhqqi4x", fcntl.F_WRLCK, 0, 128, 1, 0))
sys.exit(struct.unpack("hhqqi4x", lock)[0] != fcntl.F_UNLCK)
"""


def _held_elsewhere(path: Path) -> bool:
    """Whether another connection has the SQLite store ``path`` open (its lock on the log
    index ``-shm``, see :data:`_PROBE`; a rollback journal counts as in use)."""
    import subprocess

    if os.path.exists(f"{path}-journal"):
        return True
    if not os.path.exists(f"{path}-shm"):
        return False
    done = subprocess.run([sys.executable, "-I", "-S", "-c", _PROBE, f"{path}-shm"],
                          capture_output=True, check=False)
    return done.returncode != 0


def _command_db(kwargs: dict[str, Any]) -> str | None:
    """The store a command was given (``--db``, else ``$KG_DB`` or the default), for a
    database error from a store it opened other than through :func:`open_kg` (``kg serve``'s
    app): named by its URL, not as "the store"; None for a command without ``--db``."""
    if "db" not in kwargs:
        return None
    from kg_engine.store.database import redact_url

    db = kwargs["db"]
    url = (os.environ.get("KG_DB") or DEFAULT_DB) if db is None else db
    return url if url.startswith("sqlite:") or not url.strip() else redact_url(url)


def guard(command: Callable[..., Any], name: str | None = None) -> Callable[..., Any]:
    """Wrap a command's callback in the one error boundary (see the module docstring)."""
    name = name or command.__name__

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        _opened.clear()
        _touched.clear()
        ok = False
        try:
            result = command(*args, **kwargs)
            ok = True
            return result
        except typer.Exit as exc:
            ok = exc.exit_code == 0
            raise
        except (*_click_errors(), typer.TyperException, typer.Abort):
            raise
        except KeyboardInterrupt:
            report(_interrupted(name), prefix="interrupted")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:
            if _debug["on"]:
                raise
            from kg_engine.api import lower_layer_error

            url = next((kg.url for kg, _ in _opened if kg is not None and "store" in kg.__dict__),
                       None) or _command_db(kwargs)
            err = lower_layer_error(exc, url)
            if err is None:
                report(f"internal error in kg {name} ({type(exc).__name__}: {exc}); this is a "
                       "bug in kg-engine: run again with kg --debug … for the traceback and "
                       "report it")
                raise typer.Exit(EXIT_BUG) from None
            report(err)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        finally:
            if ok:
                _opened.clear()
            else:
                _remove_created()

    run.kg_guarded = True  # type: ignore[attr-defined]
    return run


def guard_commands(app: typer.Typer, prefix: str = "") -> None:
    """Put :func:`guard` around every command of ``app`` and of its sub-apps."""
    for info in app.registered_commands:
        if info.callback is not None and not getattr(info.callback, "kg_guarded", False):
            name = info.name or info.callback.__name__.replace("_", "-")
            info.callback = guard(info.callback, prefix + name)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            guard_commands(group.typer_instance, f"{prefix}{group.name} ")


def usage_line(exc: typer.TyperException, path: str = "kg") -> str:
    """Click's/Typer's usage error as ONE line: the command, what was wrong, where help is."""
    ctx = getattr(exc, "ctx", None)
    if ctx is not None and len(ctx.command_path) > len(path):
        path = ctx.command_path
    what = " ".join(exc.format_message().split()) or type(exc).__name__
    return f"{path}: {what.rstrip('.')}; see {path} --help"


def _command_path(ctx: Any, words: list[str]) -> str:
    """``kg gnn train`` from the group context of ``kg gnn train --bad``: the leading words
    of the command line that name (sub)commands."""
    path, group = ctx.command_path, ctx.command
    for word in words:
        sub = getattr(group, "commands", {}).get(word)
        if sub is None:
            break
        path, group = f"{path} {word}", sub
    return path


class KgGroup(typer.core.TyperGroup):
    """The ``kg`` app's group: usage errors (unknown option or command, missing argument,
    bad choice or type) print ONE line ``error: kg CMD: … ; see kg CMD --help`` and exit 2,
    instead of Typer's usage box. Running with no arguments still shows the help."""

    def _one_line(self, call: Callable[[], Any], ctx: Any = None) -> Any:
        words = [*getattr(ctx, "_protected_args", []), *ctx.args] if ctx is not None else []
        try:
            return call()
        except typer.TyperException as exc:  # Typer's own copy of click's exceptions
            if type(exc).__name__ == "NoArgsIsHelpError":  # `kg`, `kg gnn`: show the help
                raise
            report(usage_line(exc, _command_path(ctx, words) if ctx is not None else "kg"))
            raise typer.Exit(EXIT_BAD_INPUT) from None

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        from kg_engine.cli.params import plain_coercion

        plain_coercion(self, ctx)  # plain values converted without pydantic (cli/params.py)
        return super().parse_args(ctx, args)

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        return self._one_line(lambda: super(KgGroup, self).make_context(*args, **kwargs))

    def invoke(self, ctx: Any) -> Any:
        return self._one_line(lambda: super(KgGroup, self).invoke(ctx), ctx)
