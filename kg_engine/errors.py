"""One exception hierarchy for kg-engine.

Every error raised on purpose by kg-engine derives from :class:`KgEngineError` and also
from the builtin exception a Python user would expect (``SyntaxError`` for malformed input,
``ValueError`` for bad arguments, ``FileNotFoundError`` for missing files…), so
``except SyntaxError`` keeps working for code that does not know about kg-engine.

Messages name the input (file, line, column where known), what was expected, and the fix.

Example:
    >>> from kg_engine.errors import RDFSyntaxError
    >>> err = RDFSyntaxError("expected '.' at end of triple", source="facts.nt", line=3)
    >>> str(err)
    "facts.nt:3: expected '.' at end of triple"
    >>> isinstance(err, SyntaxError)
    True
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "InputNotFoundError",
    "InputReadError",
    "InputSyntaxError",
    "KgEngineError",
    "MissingDependencyError",
    "ModelError",
    "OutputWriteError",
    "QuerySyntaxError",
    "QueryTimeoutError",
    "RDFSyntaxError",
    "RuleSyntaxError",
    "RuleTimeoutError",
    "StoreError",
    "StoreURLError",
    "StoreUpgradeRequired",
    "TermError",
    "UnsupportedOperationError",
]


class KgEngineError(Exception):
    """Base class of every error kg-engine raises on purpose."""


class InputSyntaxError(KgEngineError, SyntaxError):
    """Malformed user input (RDF, SPARQL, rules, configs), located by source/line/column.

    Args:
        message: what was wrong and what was expected.
        source: file name or a short description of the input (``"<query>"``).
        line: 1-based line number, if known.
        column: 1-based column number, if known.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.column = column
        # SyntaxError's own attributes, so tracebacks and IDEs show the position.
        super().__init__(message)
        self.msg = message
        self.filename = source
        self.lineno = line
        self.offset = column

    def __str__(self) -> str:
        where = ":".join(str(x) for x in (self.source, self.line, self.column) if x is not None)
        return f"{where}: {self.message}" if where else self.message


class RDFSyntaxError(InputSyntaxError):
    """A malformed RDF file or string (N-Triples, Turtle, RDF/XML, …)."""


class QuerySyntaxError(InputSyntaxError):
    """A malformed SPARQL query or update."""


class RuleSyntaxError(InputSyntaxError):
    """A malformed, unsafe or unstratifiable rule."""


class InputNotFoundError(KgEngineError, FileNotFoundError):
    """An input file (data, query, rules, config, model) does not exist."""


class InputReadError(KgEngineError, OSError):
    """An input that exists but cannot be read as a file: a folder, a FIFO or device, a file
    without read permission, a truncated compressed file."""


class OutputWriteError(KgEngineError, OSError):
    """A file could not be written because the system refused the space: the disk or quota is
    full, or the file would pass the file size limit. Nothing half-written is left under the
    file's name (a file there before is unchanged); ``errno`` is the system's."""

    def __str__(self) -> str:  # the message alone, not OSError's "[Errno 28] …: 'file'"
        return str(self.args[0]) if self.args else ""


class ConfigError(KgEngineError, ValueError):
    """An invalid configuration file or value (unknown name, wrong type, missing key)."""


class StoreError(KgEngineError, RuntimeError):
    """The store could not carry out an operation (database error, inconsistent schema)."""


class StoreURLError(StoreError, ValueError):
    """A database URL kg-engine cannot open (unknown scheme, missing driver)."""


class StoreUpgradeRequired(StoreError):
    """A read-only open of a store an older kg-engine wrote, which must be upgraded (opened
    for writing once, e.g. ``kg vacuum``) before it is read: answers from it as it is could
    be wrong (:mod:`kg_engine.store.migrate`)."""


class TermError(KgEngineError, ValueError):
    """An RDF term where it cannot stand: a literal subject, a non-IRI predicate, a variable
    in a statement."""


class UnsupportedOperationError(KgEngineError, NotImplementedError):
    """A feature that is deliberately disabled or not available for this input."""


class QueryTimeoutError(KgEngineError, TimeoutError):
    """A query ran past its timeout and was cancelled in the database."""


class RuleTimeoutError(KgEngineError, TimeoutError):
    """A rule's built-in (a regular expression) ran past its time bound; the run was rolled back."""


class ModelError(KgEngineError, ValueError):
    """A missing, corrupt or incompatible trained model or checkpoint."""


class MissingDependencyError(KgEngineError, ImportError):
    """An optional dependency is not installed; the message names the pip extra to install."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"{package} is required for this feature: pip install 'kg-engine[{extra}]'"
        )
        self.package = package
        self.extra = extra
