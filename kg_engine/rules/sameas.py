"""``owl:sameAs`` by representative rewriting (the RDFox approach) inside the SQL fixpoint.

Materialising equality naively (eq-sym, eq-trans, eq-rep-s/p/o) writes n² ``sameAs`` triples
per class of n equal terms and copies every fact about one member to all n — and then every
rule re-derives each consequence n times. Instead:

* every equivalence class gets one **representative**: its first IRI in lexical order (the
  first blank node if it has no IRI), so the result never depends on the order terms were
  inserted in; the map member → representative lives in ``kg_rules_sameas`` (one row per
  non-representative member), rebuilt from the sameAs triples by every full run;
* rules run over the **canonical** facts: when terms are merged, a canonical copy (members
  replaced by representatives) of every fact mentioning them is added, derived facts are
  canonicalised before they are committed, and inferred facts that became non-canonical are
  dropped — so each consequence is derived once, for the representative;
* ``sameAs`` itself is kept as a star: ``m owl:sameAs r`` and ``r owl:sameAs m`` for every
  member ``m`` of a class with representative ``r`` (2(n−1) triples, not n²);
* after the fixpoint, :meth:`SameAs.expand` writes the member variants of every canonical
  fact into the inferred graph, so queries over the store see the entailed triples for every
  member (``?x a :C`` returns all members), without any rule having run over them.

``eq-diff1`` (``x sameAs y`` and ``x differentFrom y``) becomes the constraint
``?x owl:differentFrom ?x`` over canonical facts.

Example:
    >>> from rdflib import OWL, RDF, URIRef
    >>> from kg_engine.store import open_store
    >>> from kg_engine.rules.engine import reason
    >>> EX = "urn:ex:"
    >>> store = open_store("sqlite://")
    >>> _ = store.add([(URIRef(EX + "a"), OWL.sameAs, URIRef(EX + "b")),
    ...                (URIRef(EX + "b"), RDF.type, URIRef(EX + "C"))])
    >>> _ = reason(store, "owl-rl")
    >>> sorted(str(s) for s, _, _, _ in store.triples((None, RDF.type, URIRef(EX + "C"))))
    ['urn:ex:a', 'urn:ex:b']
"""

from __future__ import annotations

from typing import Any

from rdflib import OWL

__all__ = ["SameAs", "equivalents"]

_CHANGED = "kg_rules_changed"
#: rules of :meth:`SameAs._reflexive_axioms`: their triples relate two members of one class,
#: so their canonical form is the reflexive noise the program leaves out; never copied
_REFLEXIVE_RULES = "'scm-cls', 'scm-op', 'scm-dp'"
_EQUIV = "kg_rules_equiv"


class SameAs:
    """Equality handling for one run of the fixpoint in the inferred graph ``gid``.

    The engine's fixpoint drives it through four calls, each given the name of the table
    of the round's new triples ``(s, p, o, rule)``: :meth:`start` (a full run, before the
    first round), :meth:`after_round` (after each round, before the triples are committed),
    :meth:`canonical_ids` (rule constants → representatives) and :meth:`expand` (after the
    fixpoint). It reads and writes the store's tables only; it knows nothing of the engine.
    """

    def __init__(self, store: Any, gid: int) -> None:
        self.store = store
        self.db = store.db
        self.gid = int(gid)
        self.sid = int(store.term_ids([OWL.sameAs], create=True)[OWL.sameAs])
        self.rep: dict[int, int] = {
            int(i): int(r)
            for i, r in self.db.fetchall("SELECT id, rep FROM kg_rules_sameas WHERE g = ?", (self.gid,))
        }
        temp = "TEMP" if store.dialect == "sqlite" else "TEMPORARY"
        self.db.execute(f"CREATE {temp} TABLE IF NOT EXISTS {_CHANGED} (id BIGINT PRIMARY KEY)")
        self.db.execute(
            f"CREATE {temp} TABLE IF NOT EXISTS {_EQUIV} (rep BIGINT NOT NULL, member BIGINT NOT NULL, "
            "PRIMARY KEY (rep, member))"
        )
        #: set when a merge touched a constant of the program (rules must be re-run naively)
        self.constants_changed = False

    # -- union-find ------------------------------------------------------------------------
    def find(self, i: int) -> int:
        return self.rep.get(i, i)

    def _merge(self, pairs: list[tuple[int, int]]) -> set[int]:
        """Merge classes; returns the ids whose representative changed."""
        if not pairs:
            return set()
        classes: dict[int, set[int]] = {}
        for m, r in self.rep.items():
            classes.setdefault(r, {r}).add(m)
        parent: dict[int, int] = {}

        def root(a: int) -> int:
            while parent.get(a, a) != a:
                parent[a] = parent.get(parent[a], parent[a])
                a = parent[a]
            return a

        for a, b in pairs:
            ra, rb = root(self.find(a)), root(self.find(b))
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
        groups: dict[int, set[int]] = {}
        for old_rep in set(parent) | set(parent.values()):
            groups.setdefault(root(old_rep), set()).add(old_rep)
        changed: set[int] = set()
        keys = self._rank({r for g in groups.values() for r in g})
        for members_reps in groups.values():
            if len(members_reps) < 2:
                continue
            members: set[int] = set()
            for r in members_reps:
                members |= classes.get(r, {r})
            # representative: the first IRI in lexical order (else the first blank node),
            # so the choice, and the star of sameAs links, never depends on insertion order
            new_rep = min(members_reps, key=keys.__getitem__)
            for m in members:
                old = self.rep.get(m, m)
                if m == new_rep:
                    if m in self.rep:
                        del self.rep[m]
                        changed.add(m)
                elif old != new_rep:
                    self.rep[m] = new_rep
                    changed.add(m)
        return changed

    def _rank(self, ids: set[int]) -> dict[int, tuple]:
        """Order of preference for representatives: IRIs first, then by lexical form."""
        out: dict[int, tuple] = {}
        lst = sorted(ids)
        for k in range(0, len(lst), 500):
            chunk = lst[k : k + 500]
            marks = ", ".join("?" * len(chunk))
            for id_, kind, lex in self.db.fetchall(
                f"SELECT id, kind, lex FROM kg_terms WHERE id IN ({marks})", chunk
            ):
                out[int(id_)] = (int(kind) != 1, str(lex), int(id_))
        for i in ids:
            out.setdefault(i, (True, "", i))
        return out

    # -- fixpoint hooks --------------------------------------------------------------------
    def start(self, new: str, constants: set[int]) -> None:
        """Rebuild the classes from the sameAs triples in the store; canonical copies go to ``new``.

        A full run starts from no classes at all rather than from the saved ones: facts
        asserted since the last run may mention members (their canonical copies are
        missing), so every member counts as changed and every fact about one is copied.
        """
        self.rep = {}
        self.db.execute("DELETE FROM kg_rules_sameas WHERE g = ?", (self.gid,))
        pairs = self.db.fetchall(
            "SELECT DISTINCT q.s, q.o FROM kg_quads q JOIN kg_terms t ON t.id = q.o "
            "WHERE q.p = ? AND q.s <> q.o AND t.kind <> 3",
            (self.sid,),
        )
        self._apply(new, [(int(a), int(b)) for a, b in pairs], constants)

    def after_round(self, new: str, constants: set[int]) -> None:
        """Merge sameAs conclusions of this round and canonicalise the round's triples.

        ``constants``: term ids of the program's constants; :attr:`constants_changed` is set
        when one of them gets another representative.
        """
        pairs = self.db.fetchall(
            f"SELECT n.s, n.o FROM {new} n JOIN kg_terms t ON t.id = n.o "
            f"WHERE n.p = ? AND n.s <> n.o AND t.kind <> 3",
            (self.sid,),
        )
        self._apply(new, [(int(a), int(b)) for a, b in pairs], constants)

    def _apply(self, new: str, pairs: list[tuple[int, int]], constants: set[int]) -> None:
        db = self.db
        changed = self._merge(pairs)
        # sameAs conclusions are replaced by star links below.
        db.execute(f"DELETE FROM {new} WHERE p = ?", (self.sid,))
        if changed:
            self._save(changed)
            db.execute(f"DELETE FROM {_CHANGED}")
            db.executemany(f"INSERT INTO {_CHANGED} (id) VALUES (?)", [(i,) for i in changed])
            if constants & changed:
                self.constants_changed = True
            # canonical copies of every stored fact mentioning a changed term
            for col in ("s", "p", "o"):
                db.execute(
                    f"INSERT INTO {new} (rule, s, p, o) SELECT 'eq-rep', {self._canon('q')} "
                    f"FROM {_CHANGED} c JOIN kg_quads q ON q.{col} = c.id "
                    f"{self._joins('q')} WHERE q.p <> {self.sid} AND NOT EXISTS (SELECT 1 FROM "
                    f"kg_quads e WHERE {self._match('e', 'q')}{self._known('e')}) AND NOT EXISTS (SELECT 1 FROM "
                    f"kg_rules_derivations d WHERE d.g = q.g AND d.s = q.s AND d.p = q.p AND "
                    f"d.o = q.o AND d.rule IN ({_REFLEXIVE_RULES})) ON CONFLICT DO NOTHING"
                )
            # facts of the inferred graph that are no longer canonical
            for table in ("kg_quads", "kg_rules_derivations"):
                for col in ("s", "p", "o"):
                    db.execute(
                        f"DELETE FROM {table} WHERE g = ? AND {col} IN (SELECT id FROM {_CHANGED})",
                        (self.gid,),
                    )
            # star links for the classes that changed
            links = []
            for m in changed:
                r = self.rep.get(m)
                if r is not None:
                    links += [(m, self.sid, r), (r, self.sid, m)]
            db.executemany(
                f"INSERT INTO {new} (rule, s, p, o) SELECT 'eq-rep', ?, ?, ? WHERE NOT EXISTS "
                f"(SELECT 1 FROM kg_quads e WHERE e.s = ? AND e.p = ? AND e.o = ?{self._known('e')}) "
                f"ON CONFLICT DO NOTHING",
                [(s, p, o, s, p, o) for s, p, o in links],
            )
        if self.rep:
            self._canonicalise(new)

    def _canonicalise(self, new: str) -> None:
        """Replace the round's non-canonical triples (other than star links) by canonical ones."""
        db = self.db
        cond = " OR ".join(
            f"n.{c} IN (SELECT id FROM kg_rules_sameas WHERE g = {self.gid})" for c in ("s", "p", "o")
        )
        db.execute(
            f"INSERT INTO {new} (rule, s, p, o) SELECT n.rule, {self._canon('n')} FROM {new} n "
            f"{self._joins('n')} WHERE n.p <> {self.sid} AND ({cond}) AND NOT EXISTS (SELECT 1 FROM "
            f"kg_quads e WHERE {self._match('e', 'n')}{self._known('e')}) ON CONFLICT DO NOTHING"
        )
        db.execute(
            f"DELETE FROM {new} WHERE p <> {self.sid} AND ("
            + " OR ".join(f"{c} IN (SELECT id FROM kg_rules_sameas WHERE g = {self.gid})" for c in ("s", "p", "o"))
            + ")"
        )

    def _joins(self, a: str) -> str:
        return " ".join(
            f"LEFT JOIN kg_rules_sameas m{c} ON m{c}.g = {self.gid} AND m{c}.id = {a}.{c}"
            for c in ("s", "p", "o")
        )

    def _canon(self, a: str) -> str:
        return ", ".join(f"COALESCE(m{c}.rep, {a}.{c})" for c in ("s", "p", "o"))

    def _match(self, e: str, a: str) -> str:
        return " AND ".join(f"{e}.{c} = COALESCE(m{c}.rep, {a}.{c})" for c in ("s", "p", "o"))

    def _known(self, e: str) -> str:
        """`` AND`` the statement ``e`` is in the default graph or the inferred graph (a
        conclusion asserted only in a named graph is still inferred: see
        :meth:`~kg_engine.rules.engine.RuleEngine.known`)."""
        return f" AND {e}.g IN (0, {int(self.gid)})"

    def _save(self, changed: set[int]) -> None:
        rows = [(i,) for i in changed]
        self.db.executemany(f"DELETE FROM kg_rules_sameas WHERE g = {self.gid} AND id = ?", rows)
        self.db.executemany(
            "INSERT INTO kg_rules_sameas (g, id, rep) VALUES (?, ?, ?)",
            [(self.gid, i, self.rep[i]) for i in changed if i in self.rep],
        )

    def canonical_ids(self, ids: dict) -> dict:
        """Rule constants mapped to their representatives."""
        return {t: self.rep.get(i, i) for t, i in ids.items()}

    # -- after the fixpoint ------------------------------------------------------------------
    def expand(self, new: str) -> None:
        """Write the member variants of canonical facts into ``new`` (committed by the caller)."""
        if not self.rep:
            return
        db = self.db
        db.execute(f"DELETE FROM {_EQUIV}")
        db.execute(
            f"INSERT INTO {_EQUIV} (rep, member) SELECT rep, id FROM kg_rules_sameas WHERE g = ?",
            (self.gid,),
        )
        db.execute(
            f"INSERT INTO {_EQUIV} (rep, member) SELECT DISTINCT rep, rep FROM kg_rules_sameas "
            f"WHERE g = ? ON CONFLICT DO NOTHING",
            (self.gid,),
        )
        joins = " ".join(f"LEFT JOIN {_EQUIV} x{c} ON x{c}.rep = q.{c}" for c in ("s", "p", "o"))
        sel = ", ".join(f"COALESCE(x{c}.member, q.{c})" for c in ("s", "p", "o"))
        match = " AND ".join(f"e.{c} = COALESCE(x{c}.member, q.{c})" for c in ("s", "p", "o"))
        for col in ("s", "p", "o"):
            db.execute(
                f"INSERT INTO {new} (rule, s, p, o) SELECT 'eq-rep', {sel} FROM kg_quads q {joins} "
                f"WHERE q.{col} IN (SELECT rep FROM {_EQUIV}) AND q.p <> {self.sid} AND NOT EXISTS "
                f"(SELECT 1 FROM kg_quads e WHERE {match}{self._known('e')}) ON CONFLICT DO NOTHING"
            )
        # members of a class must never be literals in subject position (they are not: sameAs
        # pairs with a literal are ignored), and variants never repeat a stored triple.
        self._reflexive_axioms(new)

    def _reflexive_axioms(self, new: str) -> None:
        """scm-cls / scm-op / scm-dp between the members of one class.

        The program leaves out the reflexive ``c subClassOf c`` (``p subPropertyOf p``) and
        ``c equivalentClass c`` of a declared class (property); between two different members
        of an equivalence class their variants are not noise: ``C1 owl:sameAs C2`` with
        ``C1 a owl:Class`` entails ``C1 rdfs:subClassOf C2``.
        """
        from rdflib import RDF, RDFS

        plan = (
            (OWL.Class, (RDFS.subClassOf, OWL.equivalentClass), "scm-cls"),
            (OWL.ObjectProperty, (RDFS.subPropertyOf, OWL.equivalentProperty), "scm-op"),
            (OWL.DatatypeProperty, (RDFS.subPropertyOf, OWL.equivalentProperty), "scm-dp"),
        )
        terms = [RDF.type] + [t for decl, rels, _ in plan for t in (decl, *rels)]
        ids = self.store.term_ids(terms)
        type_id = ids.get(RDF.type)
        for decl, rels, rule in plan:
            if decl not in ids or type_id is None:
                continue
            for rel in rels:
                rel_id = self.store.term_ids([rel], create=True)[rel]
                self.db.execute(
                    f"INSERT INTO {new} (rule, s, p, o) SELECT ?, a.member, ?, b.member FROM {_EQUIV} a "
                    f"JOIN {_EQUIV} b ON b.rep = a.rep AND b.member <> a.member WHERE EXISTS (SELECT 1 "
                    f"FROM kg_quads d WHERE d.s = a.rep AND d.p = ? AND d.o = ?) AND NOT EXISTS "
                    f"(SELECT 1 FROM kg_quads e WHERE e.s = a.member AND e.p = ? AND e.o = b.member"
                    f"{self._known('e')}) "
                    f"ON CONFLICT DO NOTHING",
                    (rule, rel_id, type_id, ids[decl], rel_id),
                )


def equivalents(store: Any, term: Any, graph: Any) -> set:
    """All terms ``owl:sameAs`` ``term`` (itself included) in the inferred ``graph``.

    Example:
        >>> from rdflib import URIRef
        >>> from kg_engine.store import open_store
        >>> from kg_engine.rules.engine import inferred_graph
        >>> equivalents(open_store("sqlite://"), URIRef("urn:a"), inferred_graph("owl-rl"))
        {rdflib.term.URIRef('urn:a')}
    """
    from kg_engine.rules import tables

    tables.create_tables(store)
    ids = store.term_ids([term, graph])
    if term not in ids or graph not in ids:
        return {term}
    tid, gid = ids[term], ids[graph]
    row = store.db.fetchone("SELECT rep FROM kg_rules_sameas WHERE g = ? AND id = ?", (gid, tid))
    rep = int(row[0]) if row else tid
    members = {int(r[0]) for r in store.db.fetchall(
        "SELECT id FROM kg_rules_sameas WHERE g = ? AND rep = ?", (gid, rep))}
    members.add(rep)
    return set(store.decode(members).values())
