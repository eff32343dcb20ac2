"""Differential testing of rule built-in comparisons against SPARQL ``FILTER``.

A rule ``?x ex:hit ?y :- ?x ex:v ?v, (?y ex:v ?w,) ?v OP C`` must derive exactly the
``?x ?y`` that ``SELECT ?x ?y WHERE { ?x ex:v ?v (. ?y ex:v ?w) FILTER(?v OP C) }`` answers
over the same store, in each rule syntax (SPARQL ``CONSTRUCT``, Jena ``equal``/``lessThan``…,
N3 ``math:equalTo``/``math:lessThan``…), for every operator and for literals of every kind:
numbers (``NaN``, ``INF``, out-of-range and ill-typed lexical forms such as ``"300"^^xsd:byte``,
``"abc"^^xsd:decimal`` or Arabic-Indic digits), booleans, dates and dateTimes, simple and
language-tagged strings, other datatypes and IRIs (``docs/sparql.md``, "Ill-typed literals";
``docs/rules.md``, built-ins). :func:`check` draws literals from :data:`LITERALS` and
constants from :data:`CONSTANTS`, runs every condition as one program per syntax and
returns the disagreements.

Example:
    >>> import random
    >>> check(random.Random(1), n_literals=6, n_conditions=4)
    []
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["CONSTANTS", "LITERALS", "OPERATORS", "check", "compare"]

_XSD = "http://www.w3.org/2001/XMLSchema#"
_PREFIXES = (f"@prefix ex: <http://ex/> .\n@prefix xsd: <{_XSD}> .\n"
             "@prefix math: <http://www.w3.org/2000/10/swap/math#> .\n")

#: object values of the data, in Turtle (each one the value of its own subject)
LITERALS = (
    '"300"^^xsd:byte', '"127"^^xsd:byte', '"abc"^^xsd:decimal', '"150"^^xsd:integer', '"5000000000"^^xsd:int',
    '"1e3"^^xsd:decimal', '"-1"^^xsd:nonNegativeInteger', '"NaN"^^xsd:double', '"INF"^^xsd:float',
    '"-INF"^^xsd:double', '"abc"^^xsd:double', '"200"^^xsd:unsignedByte', '"true"^^xsd:boolean',
    '"1"^^xsd:boolean', '"2"^^xsd:boolean', '"101.5"^^xsd:decimal', '" 120 "^^xsd:integer',
    '"\u0661\u0662\u0660"^^xsd:integer', '"120.0"^^xsd:integer', '"0.1"^^xsd:float', '"0.1"', '"abc"',
    '"abc"@en', '"300"', '"2024-01-01"^^xsd:date', '"2024-13-01"^^xsd:date',
    '"2024-01-01T00:00:00Z"^^xsd:dateTime', '"x"^^<http://ex/dt>', '<http://ex/iri>', '"0"^^xsd:integer',
)
#: right-hand operands: constants as SPARQL and N3 write them, and ``?w`` (another value)
CONSTANTS = ('100', '300', '"abc"', 'true', '"2024-01-01"^^xsd:date', '"300"^^xsd:byte',
             '"NaN"^^xsd:double', '"abc"@en', '?w')
#: SPARQL operator -> (Jena built-in, N3 built-in)
OPERATORS = {"=": ("equal", "math:equalTo"), "!=": ("notEqual", "math:notEqualTo"),
             "<": ("lessThan", "math:lessThan"), ">": ("greaterThan", "math:greaterThan"),
             "<=": ("le", "math:notGreaterThan"), ">=": ("ge", "math:notLessThan")}


def _program(conds: list[tuple[str, str]], syntax: str) -> str:
    out = []
    for k, (op, c) in enumerate(conds):
        pair = c == "?w"
        head, y = f"<http://ex/hit{k}>", ("?y" if pair else "ex:none")
        jena, n3 = OPERATORS[op]
        if syntax == "rq":
            body = " . ?y ex:v ?w" if pair else ""
            out.append(f"# rule: r{k}\nCONSTRUCT {{ ?x {head} {y} }} WHERE {{ ?x ex:v ?v{body} FILTER(?v {op} {c}) }}")
        elif syntax == "rules":
            cj = "'true'^^xsd:boolean" if c == "true" else c
            out.append(f"[r{k}: (?x ex:v ?v){' (?y ex:v ?w)' if pair else ''} {jena}(?v, {cj}) -> (?x {head} {y})]")
        else:
            out.append(f"{{ ?x ex:v ?v{' . ?y ex:v ?w' if pair else ''} . ?v {n3} {c} }} => {{ ?x {head} {y} }} .")
    if syntax == "rq":
        return f"PREFIX ex: <http://ex/>\nPREFIX xsd: <{_XSD}>\n" + "\n;\n".join(out) + "\n"
    return _PREFIXES + "\n".join(out) + "\n"


def check(rng: random.Random, *, n_literals: int = 12, n_conditions: int = 12,
          new_url: Callable[[], str] | None = None) -> list[str]:
    """:func:`compare` over ``n_literals`` of :data:`LITERALS` and ``n_conditions``
    ``(operator, constant)`` conditions drawn by ``rng``."""
    values = rng.sample(LITERALS, min(n_literals, len(LITERALS)))
    conds = [(rng.choice(list(OPERATORS)), rng.choice(CONSTANTS)) for _ in range(n_conditions)]
    return compare(values, conds, new_url)


def compare(values: list[str], conds: list[tuple[str, str]],
            new_url: Callable[[], str] | None = None) -> list[str]:
    """Disagreements between SPARQL ``FILTER`` and rules of each syntax, one line each.

    Args:
        values: the data's object values, in Turtle (``ex:x0 ex:v VALUE`` …).
        conds: ``(operator, right operand)`` pairs: keys of :data:`OPERATORS`, operands as
            in :data:`CONSTANTS`.
        new_url: a new empty store's URL per syntax (a PostgreSQL database); default: an
            SQLite file.
    """
    from kg_engine import KnowledgeGraph

    data = _PREFIXES + "".join(f"ex:x{i} ex:v {v} .\n" for i, v in enumerate(values))
    name = {f"http://ex/x{i}": v for i, v in enumerate(values)} | {"http://ex/none": "-"}
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "data.ttl").write_text(data, encoding="utf-8")
        for syntax in ("rq", "rules", "n3"):
            rules = Path(tmp) / f"cmp.{syntax}"
            rules.write_text(_program(conds, syntax), encoding="utf-8")
            kg = KnowledgeGraph(new_url() if new_url else f"sqlite:///{tmp}/{syntax}.sqlite")
            try:
                kg.load(str(Path(tmp) / "data.ttl"))
                kg.reason(str(rules))
                for k, (op, c) in enumerate(conds):
                    pair = " . ?y ex:v ?w" if c == "?w" else ""
                    want = {(str(r[0]), str(r[1]) if r[1] is not None else "http://ex/none") for r in kg.query(
                        f"PREFIX ex: <http://ex/> PREFIX xsd: <{_XSD}> SELECT ?x ?y WHERE "
                        f"{{ ?x ex:v ?v{pair} FILTER(?v {op} {c}) }}")}
                    got = {(str(r[0]), str(r[1])) for r in kg.query(
                        f"SELECT ?x ?y WHERE {{ ?x <http://ex/hit{k}> ?y }}")}
                    for x, y in sorted(want ^ got):
                        side = "only SPARQL" if (x, y) in want else f"only the {syntax} rule"
                        problems.append(f"?v {op} {c} with ?v = {name[x]}"
                                        + (f", ?w = {name[y]}" if c == "?w" else "") + f": {side}")
            finally:
                kg.close()
    return problems
