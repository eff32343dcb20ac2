"""The rule engine's own tables (created on first use with ``metadata.create_all``).

``kg_rules_derivations(g, s, p, o, rule, round)`` — for each inferred statement, the rule
that derived it first and the round it was derived in (``explain`` rebuilds derivation
trees from it by backward evaluation of that rule's body).

``kg_rules_programs(g, name, program, updated_at)`` — for each inferred graph, the exact
program (``RuleSet.to_dict()`` as JSON, built-in rule sets already specialised to the TBox)
that the engine last ran to fill it.

``kg_rules_sameas(g, id, rep)`` — ``owl:sameAs`` equivalence classes of the inferred graph
``g`` as representative rewriting: every non-representative member ``id`` and its class's
representative ``rep`` (see :mod:`kg_engine.rules.sameas`).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
)

__all__ = [
    "DELETE_TABLE",
    "DELTA_TABLES",
    "OVERDELETE_TABLE",
    "SEED_TABLE",
    "create_tables",
    "derivations",
    "metadata",
    "programs",
    "sameas",
]

#: Per-connection temporary tables of a run (created by ``RuleEngine.prepare_temp_tables``):
#: the two alternating delta tables ``(s, p, o, rule)`` of the semi-naive rounds …
DELTA_TABLES = ("kg_rules_d0", "kg_rules_d1")
#: … the over-deleted (marked) triples of a DRed delete …
OVERDELETE_TABLE = "kg_rules_od"
#: … the new triples an incremental run starts from …
SEED_TABLE = "kg_rules_seed"
#: … and the asserted quads ``(g, s, p, o)`` a delete removes.
DELETE_TABLE = "kg_rules_del"

_Id = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

derivations = Table(
    "kg_rules_derivations",
    metadata,
    Column("g", _Id, nullable=False),
    Column("s", _Id, nullable=False),
    Column("p", _Id, nullable=False),
    Column("o", _Id, nullable=False),
    Column("rule", Text, nullable=False),
    Column("round", Integer, nullable=False),
    PrimaryKeyConstraint("s", "p", "o", "g", name="kg_rules_derivations_pk"),
    sqlite_with_rowid=False,
)

programs = Table(
    "kg_rules_programs",
    metadata,
    Column("g", _Id, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("program", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
)


sameas = Table(
    "kg_rules_sameas",
    metadata,
    Column("g", _Id, nullable=False),
    Column("id", _Id, nullable=False),
    Column("rep", _Id, nullable=False),
    PrimaryKeyConstraint("g", "id", name="kg_rules_sameas_pk"),
    sqlite_with_rowid=False,
)


def create_tables(store) -> None:
    """Create the rule tables in ``store`` if they are missing.

    When they all exist nothing is run. The DDL runs through the store's own connection in
    its transaction (joining one in progress), so a run that fails or is killed leaves no
    empty rule tables behind (``create_all`` would commit on its own).
    """
    has = getattr(store, "has_table", None)
    if has is not None and all(has(t.name) for t in metadata.sorted_tables):
        return
    db = getattr(store, "db", None)
    if has is None or db is None:
        metadata.create_all(store.engine, checkfirst=True)
        return
    from sqlalchemy.schema import CreateIndex, CreateTable

    dialect = store.engine.dialect
    with db.transaction():
        for table in metadata.sorted_tables:
            if has(table.name):
                continue
            db.execute(str(CreateTable(table).compile(dialect=dialect)))
            for index in table.indexes:
                db.execute(str(CreateIndex(index).compile(dialect=dialect)))
