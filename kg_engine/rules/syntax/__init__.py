"""Rule languages read into the rule IR: Jena rules, N3 rules, SPARQL ``CONSTRUCT``.

:func:`load_rules` takes a file path or the rule text itself and picks the parser by file
extension, else by content:

=================================  ===========================================
extension                          syntax
=================================  ===========================================
``.rules``, ``.jena``, ``.rule``   Jena rules (:mod:`.jena`)
``.n3``                            N3 rules (:mod:`.n3`)
``.rq``, ``.sparql``, ``.ru``      SPARQL CONSTRUCT / INSERT…WHERE (:mod:`.sparql`)
=================================  ===========================================

Every parsed program is checked for safety and stratification
(:mod:`kg_engine.rules.checks`); errors are :class:`~kg_engine.errors.RuleSyntaxError` naming the
file, line and column and what was expected.

Example:
    >>> rs = load_rules("{ ?x <urn:p> ?y } => { ?y <urn:q> ?x } .")
    >>> rs.names()
    ['rule-1']
    >>> load_rules("[r: (?x <urn:p> ?y) -> (?x <urn:q> ?z)]")
    Traceback (most recent call last):
    ...
    kg_engine.errors.RuleSyntaxError: rule 'r': variable ?z of the head is not bound by a positive body atom; bind it in the body, e.g. add a triple pattern that mentions ?z
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from kg_engine.errors import ConfigError, InputNotFoundError, RuleSyntaxError
from kg_engine.rules.ir import RuleSet
from kg_engine.rules.syntax.jena import parse_jena, to_jena
from kg_engine.rules.syntax.n3 import parse_n3
from kg_engine.rules.syntax.sparql import parse_sparql

__all__ = [
    "SYNTAXES",
    "detect_syntax",
    "load_rules",
    "parse_jena",
    "parse_n3",
    "parse_rules",
    "parse_sparql",
    "resolve_rules",
    "to_jena",
]

#: Syntax name -> parser.
SYNTAXES = {"jena": parse_jena, "n3": parse_n3, "sparql": parse_sparql}
_EXTENSIONS = {
    ".rules": "jena",
    ".rule": "jena",
    ".jena": "jena",
    ".n3": "n3",
    ".rq": "sparql",
    ".sparql": "sparql",
    ".ru": "sparql",
}


def detect_syntax(text: str) -> str:
    """Guess the rule syntax of ``text``: ``jena``, ``n3`` or ``sparql``.

    Example:
        >>> detect_syntax("PREFIX ex: <urn:> CONSTRUCT { ?x ex:q ?y } WHERE { ?x ex:p ?y }")
        'sparql'
    """
    code = re.sub(r"(?m)^\s*#[^\n]*$", "", text)
    if re.search(r"\b(CONSTRUCT|INSERT)\b\s*\{", code, re.IGNORECASE):
        return "sparql"
    if "=>" in code or re.search(r"log:implies|\}\s*<=", code):
        return "n3"
    if re.match(r"\s*(PREFIX|BASE)\b", code, re.IGNORECASE):
        return "sparql"
    if "->" in code or re.search(r"^\s*\[", code, re.MULTILINE):
        return "jena"
    raise RuleSyntaxError(
        "cannot tell the rule syntax: expected Jena rules ('[name: (?a p ?b) -> (?a q ?b)]'), "
        "N3 rules ('{ … } => { … } .') or a SPARQL CONSTRUCT query; or pass syntax=…",
        source="<rules>",
    )


def parse_rules(text: str, syntax: str | None = None, source: str = "<rules>", name: str | None = None) -> RuleSet:
    """Parse rule text in the given (or detected) syntax.

    Args:
        text: the rules.
        syntax: ``jena``, ``n3`` or ``sparql``; detected from the content when ``None``.
        source: description used in error messages.
        name: rule set name.

    Returns:
        the checked rule set.

    Raises:
        RuleSyntaxError: on malformed, unsafe or unstratifiable rules.
        ConfigError: if ``syntax`` is unknown.
    """
    if syntax is None:
        syntax = detect_syntax(text)
    if syntax not in SYNTAXES:
        from kg_engine.errors import ConfigError

        raise ConfigError(f"unknown rule syntax {syntax!r}; expected one of {', '.join(SYNTAXES)}")
    return SYNTAXES[syntax](text, source=source, name=name)


def load_rules(path_or_text: str | os.PathLike, syntax: str | None = None, name: str | None = None) -> RuleSet:
    """Read rules from a file or a string.

    A ``Path``, or a string naming an existing file, is read as a file (syntax from the
    extension, else from the content); any other string is parsed as rule text.

    Args:
        path_or_text: a rules file or rule text.
        syntax: force ``jena``, ``n3`` or ``sparql``.
        name: rule set name (default: the file's stem, or ``"user"`` for text).

    Returns:
        the checked rule set.

    Raises:
        RuleSyntaxError: on malformed, unsafe or unstratifiable rules (file, line, column),
            or a file that holds no rule.
        InputNotFoundError: if a ``Path`` does not exist.
    """
    text: str
    source = "<rules>"
    is_path = isinstance(path_or_text, os.PathLike)
    if not is_path and isinstance(path_or_text, str) and "\n" not in path_or_text and len(path_or_text) < 4096:
        try:
            is_path = Path(path_or_text).is_file()
        except OSError:
            is_path = False
    if is_path:
        path = Path(path_or_text)
        if not path.is_file():
            raise InputNotFoundError(f"rules file not found: {path}")
        try:
            text = path.read_text(encoding="utf-8-sig")  # a byte order mark is no content
        except UnicodeDecodeError as e:
            raise RuleSyntaxError(f"rules file is not UTF-8 text ({e.reason})", source=str(path)) from None
        source = str(path)
        if syntax is None:
            syntax = _EXTENSIONS.get(path.suffix.lower())
        if syntax is None:
            try:
                syntax = detect_syntax(text)
            except RuleSyntaxError as e:
                raise RuleSyntaxError(
                    e.message + f" (or name the file *{', *'.join(_EXTENSIONS)})", source=source
                ) from None
        rules = parse_rules(text, syntax, source=source, name=name or path.stem)
        if not rules.rules:  # a wrong or unsaved file: it would replace the profile with nothing
            raise RuleSyntaxError(
                f"no rules in this {syntax} file: write at least one, such as "
                + _EXAMPLE[syntax] + " (to stop reasoning: kg reason --off)", source=source)
        return rules
    return parse_rules(str(path_or_text), syntax, source=source, name=name or "user")


_EXAMPLE = {
    "jena": "'[r: (?a ex:p ?b) -> (?b ex:q ?a)]'",
    "n3": "'{ ?a ex:p ?b } => { ?b ex:q ?a } .'",
    "sparql": "'CONSTRUCT { ?b ex:q ?a } WHERE { ?a ex:p ?b }'",
}


def resolve_rules(spec: Any) -> Any:
    """What ``KnowledgeGraph.reason`` / ``kg reason --rules`` was given, ready for the engine.

    A :class:`RuleSet` is returned as is; an existing file is parsed; a bare name such as
    ``"rdfs"`` or ``"owl-rl"`` is returned as the built-in rule set name (the engine checks it
    and lists the known ones); anything that looks like a file name but does not exist raises;
    other text is parsed as rules. A list or tuple of those is one program: each part
    resolved, then combined (:func:`kg_engine.rules.rulesets.combine`: a built-in rule set
    with user rules, or several rules files).

    Args:
        spec: rule set, file, built-in name or rule text, or a list of them.

    Returns:
        a checked :class:`RuleSet`, a built-in name, or a
        :class:`~kg_engine.rules.rulesets.Combination`.

    Raises:
        InputNotFoundError: for a missing rules file.
        RuleSyntaxError: for malformed, unsafe or unstratifiable rules, or parts with rules
            of the same name.
        ConfigError: for two built-in rule sets in a list.

    Example:
        >>> resolve_rules("owl-rl")
        'owl-rl'
        >>> resolve_rules("missing.rules")
        Traceback (most recent call last):
        ...
        kg_engine.errors.InputNotFoundError: rules file not found: missing.rules
    """
    if isinstance(spec, RuleSet):
        return spec
    if isinstance(spec, (list, tuple)):
        from kg_engine.rules.rulesets import combine

        parts = [resolve_rules(p) for p in spec]
        return parts[0] if len(parts) == 1 else combine(parts)
    if isinstance(spec, os.PathLike):
        return load_rules(spec)
    text = str(spec)
    single = "\n" not in text and len(text) < 4096
    if single and Path(text).is_file():
        return load_rules(Path(text))
    if re.fullmatch(r"[A-Za-z][\w\-]*", text):
        return text
    looks_like_path = Path(text).suffix.lower() in _EXTENSIONS or os.sep in text or "/" in text
    if single and not re.search(r"[\[\]{}()?]", text) and looks_like_path:
        raise InputNotFoundError(f"rules file not found: {text}")
    if single and len(text) < 64 and not re.search(r"[\s\[\]{}()?<>]", text):
        raise ConfigError(f"unknown rule set {text!r}: give rdfs, owl-rl, a rules file "
                          "(.rules, .n3, .rq) or rule text")
    return load_rules(text)
