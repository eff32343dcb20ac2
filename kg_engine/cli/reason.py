"""``kg reason [rdfs|owl-rl|FILE]… [--profile]``: materialise a rule set in the store.

The rule set is the argument or ``--rules`` (default ``owl-rl``): ``kg reason rdfs`` and
``kg reason --rules rdfs`` are the same command. Several run as one program: a built-in
rule set with your rules (``kg reason owl-rl my.rules``, ``kg reason --rules owl-rl --rules
my.rules``: every rule reads what the others derive), or several rules files.

Prints the number of derived triples, the semi-naive rounds, the time, consistency violations
and, with ``--profile``, the per-rule profile (time, derived triples, SQL statements). The rule
set becomes the store's reasoning profile: ``kg query`` answers with the inferred statements
and every write keeps them current; ``kg reason --off`` ends that. A
malformed, unsafe or unstratifiable rules file exits with code 2 and a message naming the file,
line and column; the store is left as it was.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from kg_engine.cli.common import (
    DEFAULT_DB,
    DbOption,
    console,
    open_kg,
    reasoning_text,
    user_errors,
)

#: Violations printed per constraint rule (all are counted).
_SHOW_VIOLATIONS = 5


def reason(
    rule_set: Annotated[
        list[str] | None,
        typer.Argument(help="the rule set(s) (as --rules)", show_default=False),
    ] = None,
    rules: Annotated[
        list[str] | None,
        typer.Option(
            "--rules",
            "-r",
            help="rdfs | owl-rl | a rules file (.rules Jena, .n3 N3, .rq SPARQL CONSTRUCT); "
                 "default owl-rl; repeat it to run a built-in rule set and your rules "
                 "together (--rules owl-rl --rules my.rules)",
            show_default=False,
        ),
    ] = None,
    profile: Annotated[bool, typer.Option("--profile", help="print the per-rule profile")] = False,
    recompute: Annotated[
        bool, typer.Option("--recompute", help="clear the inferred graph and compute it again")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
    off: Annotated[
        bool, typer.Option("--off", help="stop answering with inferences and maintaining them")
    ] = False,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Materialise RULES: derived triples go to the graph urn:kg-engine:inferred:<name>,
    answer queries and are kept current on every write."""
    parts = list(dict.fromkeys([*(rule_set or []), *(rules or [])])) or ["owl-rl"]
    if off:
        with user_errors(), open_kg(db, create=False) as kg:
            before = reasoning_text(kg)
            kg.reason_off()
        console.print(f"reasoning off (was: {before})" if before else "reasoning was off",
                      highlight=False)
        return
    with user_errors(), open_kg(db, create=False) as kg:
        previous, before = kg.store.reasoning, reasoning_text(kg)
        result = kg.reason(parts[0] if len(parts) == 1 else parts, profile=profile,
                           recompute=recompute)
    if as_json:
        console.print_json(json.dumps(_as_dict(result)))
        return
    console.print(
        f"[bold]{result.program}[/]: derived {result.derived:,} triples"
        + (f", removed {result.removed:,}" if result.removed else "")
        + f" in {result.rounds} rounds, {result.seconds:.2f} s (CPU {result.cpu_seconds:.2f} s)"
        + f" into <{result.graph}>",
        highlight=False,
        soft_wrap=True,
    )
    console.print(f"reasoning profile: {' + '.join(parts)} (inferences in answers, kept current "
                  "on writes; kg reason --off to stop)", highlight=False, markup=False)
    if previous is not None and str(previous.graph) != str(result.graph):
        console.print(f"note: it replaces the profile {before} (a store has one; give one kg reason "
                      "all the rule sets to reason with them together): the "
                      f"statements of <{previous.graph}> no longer answer queries and are not "
                      "maintained; they stay as a named graph", highlight=False, markup=False)
    total = sum(result.violation_counts.values())
    if total:
        console.print(f"[bold yellow]{total:,} violation(s)[/] of consistency rules:", highlight=False)
        shown: dict[str, int] = {}
        for v in result.violations:
            if shown.get(v.rule, 0) < _SHOW_VIOLATIONS:
                console.print(f"  {v}", markup=False, highlight=False, soft_wrap=True)
                shown[v.rule] = shown.get(v.rule, 0) + 1
        for rule, n in sorted(result.violation_counts.items()):
            if n > shown.get(rule, 0):
                console.print(f"  … {n - shown.get(rule, 0):,} more for {rule}", highlight=False)
    else:
        console.print("no violations")
    if profile and result.profile:
        table = Table("rule", "seconds", "derived", "SQL statements",
                      title="per-rule profile (slowest first)")
        for p in result.profile:
            table.add_row(escape(p.rule), f"{p.seconds:.3f}", f"{p.fired:,}", f"{p.statements:,}")
        console.print(table)


def _as_dict(result) -> dict:
    return {
        "program": result.program,
        "graph": str(result.graph),
        "derived": result.derived,
        "removed": result.removed,
        "rounds": result.rounds,
        "seconds": result.seconds,
        "cpu_seconds": result.cpu_seconds,
        "violation_counts": result.violation_counts,
        "violations": [
            {"rule": v.rule, "bindings": {k: t.n3() for k, t in v.bindings.items()}}
            for v in result.violations
        ],
        "profile": [
            {"rule": p.rule, "seconds": p.seconds, "derived": p.fired, "statements": p.statements}
            for p in result.profile
        ],
    }


def register(app: typer.Typer) -> None:
    """Add the ``reason`` command to ``app``."""
    app.command("reason")(reason)
