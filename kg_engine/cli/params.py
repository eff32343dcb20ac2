"""Command-line values of plain types converted without pydantic (typer ≥ 0.2x builds a pydantic
``TypeAdapter`` per parameter).

Typer converts every option value through pydantic: the first conversion of a ``kg`` process
imports pydantic (~50 CPU-ms) and builds one adapter per parameter (~2 ms each), more than
``kg query`` spends on a small query. :func:`plain_coercion` gives the parameters whose
annotation is ``str``, ``int``, ``float``, ``bool`` or ``pathlib.Path`` (optional or not, one
value, no parser, bounds or choices) a converter that gives typer's result for the values it
takes — a ``str`` unchanged; an integer or decimal numeral (digits, sign, point) as
``int``/``float``; a ``bool`` unchanged; a non-empty path string as ``Path`` then typer's own
path checks (``coerce_cli_path``) — and hands every other value (``"1e3"``, ``"inf"``, an
environment variable's ``"yes"``, an empty path, a value of another type) to typer's pydantic
converter, so messages and edge cases stay typer's. With a typer that has no such converters
(before 0.2x) it does nothing.

Example:
    >>> import typer, typer.main
    >>> app = typer.Typer(add_completion=False)
    >>> @app.command()
    ... def run(n: int = 1, name: str = "x") -> None:
    ...     print(n * name)
    >>> command = typer.main.get_command(app)
    >>> plain_coercion(command, command.context_class(command))  # n, name and --help
    3
    >>> command.main(["--n", "3", "--name", "ab"], standalone_mode=False)
    ababab
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["plain_coercion"]

try:  # typer's runtime converters (typer ≥ 0.2x); older typers convert with click types
    from typer._coercion import RuntimeParam, build_runtime_param
    from typer._param_types import coerce_cli_path
except ImportError:  # pragma: no cover - depends on the installed typer
    RuntimeParam = None  # type: ignore[assignment,misc]

_INT = re.compile(r"-?[0-9]{1,18}")
_FLOAT = re.compile(r"-?(?:[0-9]{1,15}(?:\.[0-9]{0,15})?|\.[0-9]{1,15})")
_TYPES = (str, int, float, bool, Path)


def _unsupported(value: Any, param: Any, ctx: Any) -> Any:
    """Marker result: typer's own (pydantic) converter takes the value."""
    return _unsupported


def _str(value: Any, param: Any, ctx: Any) -> Any:
    return value if type(value) is str else _unsupported


def _bool(value: Any, param: Any, ctx: Any) -> Any:
    return value if type(value) is bool else _unsupported


def _int(value: Any, param: Any, ctx: Any) -> Any:
    if type(value) is str and _INT.fullmatch(value):
        return int(value)
    return _unsupported


def _float(value: Any, param: Any, ctx: Any) -> Any:
    if type(value) is str and _FLOAT.fullmatch(value):
        return float(value)
    return _unsupported


def _path(value: Any, param: Any, ctx: Any) -> Any:
    if type(value) is not str or not value or "\x00" in value:
        return _unsupported
    # typer's own checks (exists, dir_okay, resolve_path, …) on the Path pydantic would make
    return coerce_cli_path(Path(value), param.type_descriptor.parameter_info, path_type=Path,
                           param=param, ctx=ctx)


_CONVERT = {str: _str, int: _int, float: _float, bool: _bool, Path: _path}

if RuntimeParam is not None:
    @dataclass(frozen=True)
    class _Plain(RuntimeParam):
        """A plain value converted here; any other by typer's converter, built when needed."""

        convert: Any = _unsupported

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            out = self.convert(value, param, ctx)
            if out is _unsupported:
                out = build_runtime_param(param.type_descriptor)._coerce_value(
                    value, param=param, ctx=ctx)
            return out


def _plain(param: Any) -> Any:
    """The converter for ``param`` (a typer parameter), or ``None``: typer's."""
    desc = getattr(param, "type_descriptor", None)
    if desc is None or param.nargs != 1 or param.multiple:
        return None
    info = desc.parameter_info
    if (desc.annotation not in _TYPES or desc.file_annotation is not None
            or info.parser is not None or getattr(info, "click_type", None) is not None
            or info.min is not None or info.max is not None or info.clamp
            or (desc.annotation is Path and info.path_type not in (None, Path))):
        return None
    return _CONVERT[desc.annotation]


def plain_coercion(command: Any, ctx: Any) -> int:
    """Give the plain-typed parameters of ``command`` (a click command built by typer; its
    help option included) and of its subcommands the converter above; ``ctx``: the command's
    context, whose help option names the subcommands inherit. Returns how many got one."""
    if RuntimeParam is None:  # pragma: no cover - depends on the installed typer
        return 0
    done = 0
    for param in command.get_params(ctx):
        convert = _plain(param)
        if convert is not None and getattr(param, "_runtime_param", False) is None:
            desc = param.type_descriptor
            param._runtime_param = _Plain(parameter_info=desc.parameter_info,
                                          annotation=desc.annotation, convert=convert)
            done += 1
    for sub in getattr(command, "commands", {}).values():
        if "help_option_names" not in (sub.context_settings or {}):  # else its own help
            done += plain_coercion(sub, ctx)
    return done
