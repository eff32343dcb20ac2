"""Environment differential: one user workflow through the ``kg`` command line, run in
subprocesses under varied environments, compared with a baseline run.

The baseline is ``LANG=C.UTF-8``, ``TZ=UTC``, ``PYTHONHASHSEED=0``, ``umask 022``, the store's
folder as the current directory with a relative ``--db``, plain ASCII paths, stdout a pipe.
Each other :class:`Environment` changes one thing users really have: an ASCII or Latin-1 or
Turkish or German locale, a time zone far from UTC, a strict umask, a read-only current
directory, no or an unwritable ``HOME``, a current directory away from the store with relative
paths, non-ASCII paths with spaces, another hash seed, stdout a file, ``COLUMNS=20``,
``NO_COLOR``, input files with CRLF line ends and a UTF-8 byte order mark.

The workflow (:func:`workflow`, drawn from a seed): ``kg load`` (Turtle and N-Triples),
``kg update`` (a file and the command line), ``kg reason``, ``kg query`` in every
``--format`` (code-point ORDER BY, LCASE/UCASE of Turkish, German, Greek strings,
case-insensitive REGEX, numbers, dateTimes with and without a time zone, NOW(), GROUP_CONCAT,
blank nodes, CONSTRUCT, ASK), ``kg explain``, ``kg export`` in every format, ``kg extract`` on
a folder with non-ASCII file names and text (``full`` only), ``kg stats`` and ``kg check``.

How outputs are compared (:func:`normalise`): data (query results other than tables, JSON
reports, exported files) byte for byte (RDF/XML and JSON-LD exports as graphs: rdflib's
writers order statements by blank-node labels, new at every load; GEXF without its
``lastmodifieddate``, the local date; PyG files by their tensors and fields); messages for people (``kg load``'s "loaded …",
``kg reason``'s summary) with runs of white space taken as one space, since they are wrapped
to the width of the terminal. In both, the run's own paths and ``--db`` are replaced by
``<STORE>``, ``<DATA>``, ``<OUT>``, ``<DB>``; durations and rates by ``<T>``; a time stamp of
the run (NOW(), provenance, within a day of it) by ``<NOW>`` keeping its UTC offset, so a time
stamp that moves with ``TZ`` still differs. Under ``COLUMNS=20`` messages and tables are not
compared (laid out for the terminal's width, as documented), the exit codes and data are.
Exported files, the store and its side files must have the permissions the umask gives
(nothing more open, e.g. world-writable, and nothing more closed, e.g. a 0600 export under
umask 022).

:func:`run` returns an :class:`EnvReport`; ``benchmarks/env_differential.py`` is the command
line. Locales missing from the system are generated with ``localedef`` into a private folder
(``LOCPATH``); a read-only directory is a read-only bind mount in a private mount namespace
(``unshare -m``) when run as root (root writes through permissions), else ``chmod a-w``.

Example:
    >>> normalise(b"loaded 3 statements in 0.01 s (1,265 statements/s)", {}, "message")
    b'loaded 3 statements in <T> (<T>)'
    >>> normalise(b"_:bea9dfb8d096e4c91_-1 <p> _:b0a9dfb8d096e4c91_-2 , _:bea9dfb8d096e4c91_-1", {}, "data")
    b'<B1> <p> <B2> , <B1>'
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import random
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ENVIRONMENTS",
    "EnvReport",
    "Environment",
    "Finding",
    "Step",
    "normalise",
    "run",
    "workflow",
]

BASELINE = {"LANG": "C.UTF-8", "TZ": "UTC", "PYTHONHASHSEED": "0"}


@dataclass(frozen=True)
class Environment:
    """One environment: changes to the baseline's.

    Attributes:
        name: short name used in reports.
        env: variables set (a value) or removed (``None``) over the baseline's.
        umask: the processes' umask.
        cwd: ``store`` (the store's folder, relative ``--db``), ``other`` (a folder two levels
            away, every path relative) or ``readonly`` (a read-only folder, absolute paths).
        paths: ``plain`` or ``odd`` (store, data and export folders with non-ASCII and spaces).
        stdout: ``pipe`` or ``file``.
        inputs: ``plain`` or ``crlf-bom`` (every input file with CRLF line ends and a BOM).
        home: ``temp`` (a fresh folder), ``unset`` or ``readonly``.
        argv_encoding: how the terminal encodes non-ASCII command-line text.
        locale: a locale the run needs (made with ``localedef`` when the system lacks it).
        width: tables and messages are laid out for another width: compare data only.
    """

    name: str
    env: Mapping[str, str | None] = field(default_factory=dict)
    umask: int = 0o022
    cwd: str = "store"
    paths: str = "plain"
    stdout: str = "pipe"
    inputs: str = "plain"
    home: str = "temp"
    argv_encoding: str = "utf-8"
    locale: str | None = None
    width: bool = False


_ASCII = {"LANG": "C", "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}

ENVIRONMENTS: tuple[Environment, ...] = (
    Environment("c-ascii", _ASCII),
    Environment("c-default", {"LANG": "C", "LC_ALL": "C"}),
    Environment("latin1", {"LANG": "de_DE.ISO-8859-1", "LC_ALL": "de_DE.ISO-8859-1"},
                argv_encoding="latin-1", locale="de_DE.ISO-8859-1"),
    Environment("tr", {"LANG": "tr_TR.UTF-8", "LC_ALL": "tr_TR.UTF-8"}, locale="tr_TR.UTF-8"),
    Environment("de", {"LANG": "de_DE.UTF-8", "LC_ALL": "de_DE.UTF-8"}, locale="de_DE.UTF-8"),
    Environment("tz-kiritimati", {"TZ": "Pacific/Kiritimati"}),
    Environment("tz-st-johns", {"TZ": "America/St_Johns"}),
    Environment("tz-utc+12", {"TZ": "UTC+12"}),
    Environment("umask-077", umask=0o077),
    Environment("umask-002", umask=0o002),
    Environment("readonly-cwd", cwd="readonly"),
    Environment("home-unset", home="unset"),
    Environment("home-readonly", home="readonly"),
    Environment("other-cwd", cwd="other"),
    Environment("odd-paths", paths="odd"),
    Environment("odd-paths-ascii", _ASCII, paths="odd"),
    Environment("hashseed-1", {"PYTHONHASHSEED": "1"}),
    Environment("hashseed-random", {"PYTHONHASHSEED": "random"}),
    Environment("stdout-file", stdout="file"),
    Environment("columns-20", {"COLUMNS": "20"}, width=True),
    Environment("no-color", {"NO_COLOR": "1", "TERM": "dumb"}),
    Environment("crlf-bom", inputs="crlf-bom"),
)

# ---------------------------------------------------------------------------------------------
# the workflow

EX = "http://example.org/env/"
#: strings whose order, case mappings and case-insensitive matches differ between locales
STRINGS = (
    "İstanbul", "istanbul", "Istanbul", "ırmak", "IRMAK", "Iğdır", "iı İI", "Straße", "STRASSE",
    "straße", "Éclair", "eclair", "e\u0301clair", "Ångström", "ǅemal", "ﬁsh", "ΣΟΦΟΣ",
    "σοφός", "Zebra", "zebra", "apple", "Apple", "_under", "10", "9", "日本語", "😀 emoji",
    "naïve café", "ﬃ", "ŉ", "Ǆ", "ẞ",
)
NUMBERS = ("1234.5", "-0.75", "0.1", "1000000.25", "3", "-12")
DOUBLES = ("1.5E3", "2.5E-1", "-1.0E0")
DATETIMES = ("2024-03-10T01:30:00", "2024-03-10T23:59:59", "2024-03-10T12:00:00Z",
             "2024-03-10T12:00:00+14:00", "2024-03-10T12:00:00-03:30", "2023-12-31T23:30:00",
             "2024-02-29T10:00:00-12:00")
TEXTS = {
    "Müller café.txt": "Ayşe Yılmaz works for Siemens in München.\nİbrahim Çelik lives in İzmir.\n",
    "日本 語.txt": "Zoë Ångström founded Nordwind GmbH in Köln in 2019.\n",
    "ırmak İ.txt": "Straße und Brücke: Jürgen Weiß met Ömer Işık in Berlin.\n",
}

QUERY_FORMATS = ("table", "csv", "tsv", "json", "xml")
EXPORT_FORMATS = ("nt", "nq", "turtle", "trig", "json-ld", "xml", "graphml", "gexf", "csv",
                  "html")
EXPORT_FORMATS_FULL = (*EXPORT_FORMATS, "pyg", "pyg-hetero")
_SUFFIX = {"turtle": "ttl", "json-ld": "jsonld", "xml": "rdf", "pyg": "pt", "pyg-hetero": "pt"}


@dataclass(frozen=True)
class Step:
    """One ``kg`` command line.

    Attributes:
        name: unique within the workflow.
        args: the arguments; ``{db}``, ``{data}``, ``{out}`` stand for the run's ``--db`` URL
            and folders (an argument holding one is a path: passed as the file system's bytes;
            the others as the terminal encodes text).
        kind: ``data`` (stdout compared byte for byte), ``message`` (white space folded) or
            ``table`` (byte for byte, except where the terminal's width differs).
        outputs: files under ``{out}`` the step writes (compared byte for byte).
        stdin: the ``{data}`` file fed to its standard input (default: none).
    """

    name: str
    args: tuple[str, ...]
    kind: str = "data"
    outputs: tuple[str, ...] = ()
    stdin: str | None = None


def _ttl_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def workflow(seed: int, full: bool = True) -> tuple[dict[str, str], list[Step]]:
    """The input files (``{data}``-relative name -> text) and steps for ``seed``.

    ``full`` adds ``kg extract`` (spaCy) and the PyG exports (torch), the slow steps.

    Example:
        >>> files, steps = workflow(1, full=False)
        >>> sorted(files)[:2], steps[0].args[:2]
        (['facts.nt', 'facts.ttl'], ('load', '{data}/facts.ttl'))
    """
    rng = random.Random(seed)
    names = rng.sample(STRINGS, k=min(len(STRINGS), rng.randint(16, len(STRINGS))))
    ttl = [f"@prefix ex: <{EX}> .", "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .",
           "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .",
           "ex:Person rdfs:subClassOf ex:Agent .", "ex:name rdfs:domain ex:Named ."]
    for i, s in enumerate(names):
        lang = rng.choice(("", "", "@tr", "@de", "@en-GB"))
        ttl.append(f"ex:s{i} ex:name {_ttl_string(s)}{lang} .")
        if i % 3 == 0:
            ttl.append(f"ex:s{i} a ex:Person .")
    for i, n in enumerate(rng.sample(NUMBERS, k=4) + rng.sample(DOUBLES, k=2)):
        typ = "double" if "E" in n else "decimal" if "." in n else "integer"
        ttl.append(f'ex:n{i} ex:num "{n}"^^xsd:{typ} .')
    for i, d in enumerate(rng.sample(DATETIMES, k=5)):
        ttl.append(f'ex:d{i} ex:when "{d}"^^xsd:dateTime .')
    ttl.append('ex:d9 ex:when "2024-03-10"^^xsd:date .')
    ttl.append('ex:s0 ex:addr [ ex:city "Köln" ; ex:street "Hauptstraße 1" ] .')
    ttl.append('ex:s1 ex:addr [ ex:city "İzmir" ] .')
    nt = [f"<{EX}nt{i}> <{EX}name> {_ttl_string(s)} ." for i, s in
          enumerate(rng.sample(STRINGS, k=6))]
    nt.append(f"<{EX}nt0> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{EX}Person> .")
    pre = f"PREFIX ex: <{EX}>\nPREFIX xsd: <http://www.w3.org/2001/XMLSchema#>\n"
    queries = {
        "order": "SELECT ?s ?o WHERE { ?s ex:name ?o } ORDER BY ?o ?s",
        "order-desc": "SELECT ?o WHERE { ?s ex:name ?o } ORDER BY DESC(STR(?o)) ?s",
        "case": "SELECT ?o (LCASE(?o) AS ?l) (UCASE(?o) AS ?u) (STRLEN(?o) AS ?n)\n"
                "WHERE { ?s ex:name ?o } ORDER BY ?o ?s",
        "regex": 'SELECT ?o (REGEX(?o, "^i", "i") AS ?i) (REGEX(?o, "ı", "i") AS ?dotless)\n'
                 '  (REGEX(?o, "STRASSE|straße", "i") AS ?ss) (CONTAINS(LCASE(?o), "i") AS ?c)\n'
                 "WHERE { ?s ex:name ?o } ORDER BY ?o ?s",
        "compare": 'SELECT ?o WHERE { ?s ex:name ?o FILTER(?o < "a" && STR(?o) >= "I") } '
                   "ORDER BY ?o",
        "numbers": "SELECT ?v (?v * 2 AS ?d) (STR(?v) AS ?s) (?v + 0.5 AS ?p) (ROUND(?v) AS ?r)\n"
                   "WHERE { ?x ex:num ?v } ORDER BY ?v",
        "aggregates": "SELECT (SUM(?v) AS ?sum) (AVG(?v) AS ?avg) (MIN(?v) AS ?min) "
                      "(MAX(?v) AS ?max) (COUNT(?v) AS ?n) WHERE { ?x ex:num ?v }",
        "dates": 'SELECT ?d (HOURS(?d) AS ?h) (DAY(?d) AS ?day) (TZ(?d) AS ?tz)\n'
                 '  (?d < "2024-03-10T12:00:00"^^xsd:dateTime AS ?lt)\n'
                 '  (?d = "2024-03-10T12:00:00"^^xsd:dateTime AS ?eq)\n'
                 "WHERE { ?x ex:when ?d } ORDER BY ?d ?x",
        "now": "SELECT (TZ(NOW()) AS ?tz) (NOW() > \"2000-01-01T00:00:00Z\"^^xsd:dateTime AS ?after)\n"
               "  (NOW() AS ?now) (DATATYPE(NOW()) AS ?t) WHERE {}",
        "group": 'SELECT ?s (GROUP_CONCAT(?o; separator="|") AS ?all) (COUNT(*) AS ?n)\n'
                 "WHERE { ?s ?p ?o FILTER(isIRI(?s)) } GROUP BY ?s ORDER BY ?s",
        "bnodes": "SELECT ?x ?b ?c WHERE { ?x ex:addr ?b . ?b ex:city ?c } ORDER BY ?c",
        "typed": "SELECT ?s ?t WHERE { ?s a ?t } ORDER BY ?s ?t",
    }
    files = {"facts.ttl": "\n".join(ttl) + "\n", "facts.nt": "\n".join(nt) + "\n"}
    for name, q in queries.items():
        files[f"q-{name}.rq"] = pre + q + "\n"
    files["q-construct.rq"] = pre + "CONSTRUCT { ?s ex:label ?o } WHERE { ?s ex:name ?o }\n"
    files["q-ask.rq"] = pre + 'ASK { ?s ex:name "Straße" }\n'
    files["update.ru"] = (pre + 'INSERT DATA { ex:u1 ex:name "Ölçüm İşi"@tr ; ex:when '
                          '"2024-03-10T05:00:00"^^xsd:dateTime }\n;\n'
                          "INSERT { ?s ex:lower ?l } WHERE { ?s ex:name ?o "
                          "BIND(LCASE(?o) AS ?l) }\n")
    steps = [Step("load-ttl", ("load", "{data}/facts.ttl", "--db", "{db}"), "message"),
             Step("load-nt", ("load", "{data}/facts.nt", "--db", "{db}"), "message"),
             Step("update-file", ("update", "-f", "{data}/update.ru", "--db", "{db}"), "message"),
             Step("update-argv", ("update", (f'PREFIX ex: <{EX}> INSERT DATA {{ ex:argv ex:name '
                                             '"Straße café", "naïve"@fr }'), "--db", "{db}"),
                  "message"),
             Step("query-argv", ("query", "--format", "tsv", (f'PREFIX ex: <{EX}> SELECT ?s '
                                 'WHERE { ?s ex:name "Straße café" }'), "--db", "{db}")),
             Step("reason", ("reason", "rdfs", "--json", "--db", "{db}"))]
    for name in queries:
        for fmt in QUERY_FORMATS:
            steps.append(Step(f"query-{name}-{fmt}", ("query", "-f", f"{{data}}/q-{name}.rq",
                                                      "--format", fmt, "--db", "{db}"),
                              "table" if fmt == "table" else "data"))
    steps += [Step("query-construct", ("query", "-f", "{data}/q-construct.rq", "--db", "{db}")),
              Step("query-ask", ("query", "-f", "{data}/q-ask.rq", "--format", "json",
                                 "--db", "{db}")),
              Step("query-stdin", ("query", "-f", "-", "--format", "csv", "--db", "{db}"),
                   stdin="q-case.rq"),
              Step("explain", ("explain", "ex:s0 a ex:Agent", "--db", "{db}"), "table"),
              Step("explain-json", ("explain", "ex:s0 a ex:Agent", "--json", "--db", "{db}"))]
    for fmt in EXPORT_FORMATS_FULL if full else EXPORT_FORMATS:
        out = f"export-{fmt}.{_SUFFIX.get(fmt, fmt)}"
        steps.append(Step(f"export-{fmt}", ("export", f"{{out}}/{out}", "--format", fmt,
                                            "--db", "{db}"), "message", (out,)))
    if full:
        for name, text in TEXTS.items():
            files[f"texts/{name}"] = text
        steps += [Step("extract", ("extract", "{data}/texts", "--db", "{db}"), "message"),
                  Step("query-extracted", ("query", "--format", "tsv", (
                  "SELECT ?s ?p ?o WHERE { ?s ?p ?o FILTER(STRSTARTS(STR(?s), 'urn:')) } "
                  "ORDER BY ?s ?p ?o"), "--db", "{db}"))]
    steps += [Step("stats", ("stats", "--db", "{db}"), "table"),
              Step("stats-json", ("stats", "--json", "--db", "{db}")),
              Step("check", ("check", "--json", "--db", "{db}"))]
    return files, steps


# ---------------------------------------------------------------------------------------------
# comparison

_TIMING = re.compile(rb"\d[\d,]*(?:\.\d+)? ?(?:s|ms|CPU-s)\b|\d[\d,]*(?:\.\d+)? [\w ]*?/s\b"
                     rb"|\d[\d,]*(?:\.\d+)? [\w]+/s\b")
_JSON_TIMING = re.compile(rb'("(?:seconds|cpu_seconds|elapsed|time_s|bytes)": )[-\d.eE+]+')
#: blank node labels (new at every load, as RDF has them): rdflib's, and the hashed ones of
#: the N-Triples writer; renamed <B1>, <B2>… in the order they first occur in one output
_BNODE = re.compile(rb"(?<![\w-])(?:_:)?(h[0-9a-f]{24}|b[0-9a-f]{14,20}_-?\d+|N[0-9a-f]{32})(?![\w-])")
_HTML_ID = re.compile(rb'"n\d+"')
_STAMP = re.compile(rb"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?")


def _now_mask(m: re.Match[bytes], around: float) -> bytes:
    """``<NOW…>`` for a time stamp within a day of ``around`` (its UTC offset kept)."""
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    try:
        t = dt.datetime(y, mo, d, h, mi, s, tzinfo=dt.UTC).timestamp()
    except ValueError:
        return m.group(0)
    if abs(t - around) > 86400 * 1.5:
        return m.group(0)
    return b"<NOW" + (m.group(8) or b"") + b">"


def normalise(out: bytes, paths: Mapping[bytes, bytes], kind: str,
              around: float | None = None) -> bytes:
    """``out`` with the run's paths, durations and time stamps replaced (see the module's
    docstring); ``message`` also folds white space.

    Example:
        >>> normalise(b"wrote to /tmp/my\\nout/e.nt", {b"/tmp/my out": b"<OUT>"}, "message")
        b'wrote to <OUT>/e.nt'
    """
    if kind == "message":  # wrapped to the terminal: a line may break inside a path
        out = b" ".join(out.split())
        paths = {b" ".join(k.split()): v for k, v in paths.items()}
    for path in sorted(paths, key=len, reverse=True):
        out = out.replace(path, paths[path])
    if around is not None:
        out = _STAMP.sub(lambda m: _now_mask(m, around), out)
    out = _JSON_TIMING.sub(rb"\1<T>", out)
    labels: dict[bytes, bytes] = {}
    out = _BNODE.sub(lambda m: labels.setdefault(m.group(1), b"<B%d>" % (len(labels) + 1)), out)
    if kind == "message":
        out = _TIMING.sub(b"<T>", out)
    elif kind == "html":  # the page's own node ids follow the blank nodes' labels
        ids: dict[bytes, bytes] = {}
        out = _HTML_ID.sub(lambda m: ids.setdefault(m.group(0), b'"<N%d>"' % (len(ids) + 1)), out)
    return out


@dataclass
class Finding:
    """One difference from the baseline, or one broken invariant (``baseline`` empty)."""

    env: str
    step: str
    what: str
    baseline: str
    got: str

    def __str__(self) -> str:
        return f"[{self.env}] {self.step}: {self.what}\n  baseline: {self.baseline}\n  got:      {self.got}"


@dataclass
class EnvReport:
    """What :func:`run` did: environments × steps run, comparisons, findings, skips."""

    seed: int
    environments: list[str] = field(default_factory=list)
    steps: int = 0
    comparisons: int = 0
    findings: list[Finding] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        return (f"seed {self.seed}: {len(self.environments)} environments x {self.steps} steps, "
                f"{self.comparisons} comparisons, {len(self.findings)} findings, "
                f"{len(self.skipped)} skipped, {self.seconds:.0f} s")


def _first_difference(a: bytes, b: bytes) -> tuple[str, str]:
    la, lb = a.splitlines(), b.splitlines()
    for x, y in zip(la, lb, strict=False):
        if x != y:
            return repr(x[:300]), repr(y[:300])
    return (f"{len(la)} lines", f"{len(lb)} lines") if len(la) != len(lb) else (repr(a[-200:]),
                                                                                 repr(b[-200:]))


# ---------------------------------------------------------------------------------------------
# running

_LOCALE_DIR: dict[str, str] = {}


def _available_locales() -> set[str]:
    try:
        out = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return set()
    return {_locale_key(x) for x in out.split()}


def _locale_key(name: str) -> str:
    lang, _, enc = name.partition(".")
    return lang + "." + enc.lower().replace("-", "").replace("_", "")


def ensure_locale(name: str) -> str | None:
    """``None`` when the system has the locale ``name``; else a ``LOCPATH`` folder holding it
    (made with ``localedef`` once per process). Raises ``RuntimeError`` when it cannot be made."""
    if _locale_key(name) in _available_locales():
        return None
    if name not in _LOCALE_DIR:
        # one folder for every process (localedef takes a second a locale)
        folder = os.path.join(tempfile.gettempdir(), f"kg-envdiff-locales-{os.geteuid()}")
        os.makedirs(folder, exist_ok=True)
        os.chmod(folder, 0o755)  # a PostgreSQL server running as another user reads it too
        lang, _, charmap = name.partition(".")
        if os.path.isfile(os.path.join(folder, name, "LC_CTYPE")):
            _LOCALE_DIR[name] = folder
            return folder
        proc = subprocess.run(["localedef", "-i", lang, "-f", charmap, os.path.join(folder, name)],
                              capture_output=True, text=True, check=False)
        if not os.path.isdir(os.path.join(folder, name)):
            raise RuntimeError(f"localedef {name} failed: {proc.stderr.strip()[-300:]}")
        _LOCALE_DIR[name] = folder
    return _LOCALE_DIR[name]


@functools.cache
def _can_unshare() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    with tempfile.TemporaryDirectory() as d:
        proc = subprocess.run(["unshare", "-m", "sh", "-c", _RO_SCRIPT + 'exec "$@"', "sh", "1", d,
                               "touch", os.path.join(d, "x")], capture_output=True, check=False)
        return proc.returncode != 0 and not os.path.exists(os.path.join(d, "x"))


# bind-mounts each of the first $1 folders read-only over itself, then re-enters the cwd
_RO_SCRIPT = ('n=$1; shift; while [ "$n" -gt 0 ]; do mount --bind "$1" "$1" && '
              'mount -o remount,bind,ro "$1" "$1" || exit 97; shift; n=$((n-1)); done; '
              'cd "$(pwd -P)" || exit 98; ')


def _write_inputs(data: Path, files: Mapping[str, str], inputs: str) -> None:
    for name, text in files.items():
        path = data / name
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = text.encode("utf-8")
        if inputs == "crlf-bom":
            raw = b"\xef\xbb\xbf" + raw.replace(b"\n", b"\r\n")
        path.write_bytes(raw)


@dataclass
class _Run:
    """One environment's run: per step (rc, stdout, stderr, {file: bytes}) normalised."""

    results: dict[str, tuple[int, bytes, bytes, dict[str, bytes]]] = field(default_factory=dict)
    modes: dict[str, int] = field(default_factory=dict)  # relative path -> mode, created files
    strays: list[str] = field(default_factory=list)  # files created outside the run's folders


def _layout(root: Path, e: Environment) -> dict[str, Path]:
    odd = e.paths == "odd"
    lay = {"store": root / ("Spëicher ß 日本" if odd else "store"),
           "data": root / ("Dätä mit Leer ı" if odd else "data"),
           "out": root / ("Ausgabe İ ü" if odd else "out"),
           "home": root / "home"}
    lay["cwd"] = {"store": lay["store"], "other": root / "elsewhere" / "deeper",
                  "readonly": root / "readonly"}[e.cwd]
    for p in lay.values():
        p.mkdir(parents=True, exist_ok=True)
    return lay


def _run_env(e: Environment, files: Mapping[str, str], steps: Sequence[Step], root: Path,
             on_step: Callable[[str], None] | None = None) -> _Run:
    lay = _layout(root, e)
    _write_inputs(lay["data"], files, e.inputs)
    cwd = lay["cwd"]

    def place(p: Path) -> str:
        return os.path.relpath(p, cwd) if e.cwd == "other" else str(p)

    db = ("sqlite:///kg.sqlite" if e.cwd == "store" else
          f"sqlite:///{place(lay['store'] / 'kg.sqlite')}")
    where = {"{db}": db, "{data}": place(lay["data"]), "{out}": place(lay["out"])}
    paths = {db.encode(): b"<DB>"}
    for key in ("store", "data", "out", "home"):
        paths[os.fsencode(str(lay[key]))] = f"<{key.upper()}>".encode()
        paths[os.fsencode(os.path.relpath(lay[key], cwd))] = f"<{key.upper()}>".encode()
    paths.pop(b".", None)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "HF_HUB_OFFLINE": "1",
           "HOME": str(lay["home"]), **BASELINE}
    for k, v in e.env.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    if e.home == "unset":
        env.pop("HOME")
    if e.locale:
        locpath = ensure_locale(e.locale)
        if locpath:
            env["LOCPATH"] = locpath
    readonly = ([lay["cwd"]] if e.cwd == "readonly" else []) + (
        [lay["home"]] if e.home == "readonly" else [])
    prefix: list[str] = []
    if readonly:
        if _can_unshare():
            prefix = ["unshare", "-m", "sh", "-c", _RO_SCRIPT + 'exec "$@"', "sh",
                      str(len(readonly)), *map(str, readonly)]
        else:
            for d in readonly:
                d.chmod(0o555)
    before = _snapshot(root)
    run = _Run()
    try:
        for step in steps:
            args = []
            for a in step.args:
                if any(k in a for k in where):
                    for k, v in where.items():
                        a = a.replace(k, v)
                    args.append(os.fsencode(a))
                else:
                    args.append(a.encode(e.argv_encoding))
            cmd = [*map(os.fsencode, prefix), os.fsencode(sys.executable), b"-m", b"kg_engine",
                   *args]
            started = time.time()
            with tempfile.TemporaryFile() as sink, open(
                    lay["data"] / step.stdin if step.stdin else os.devnull, "rb") as feed:
                proc = subprocess.run(cmd, cwd=cwd, env=env, stdin=feed,
                                      stdout=sink if e.stdout == "file" else subprocess.PIPE,
                                      stderr=subprocess.PIPE, timeout=600,
                                      preexec_fn=functools.partial(os.umask, e.umask), check=False)
                sink.seek(0)
                stdout = sink.read() if e.stdout == "file" else proc.stdout
            around = (started + time.time()) / 2
            kind = step.kind
            outs = {}
            for name in step.outputs:
                f = lay["out"] / name
                raw = _read_output(f)
                syntax = _GRAPH_COMPARED.get(Path(name).suffix)
                if syntax and raw != b"<missing>":
                    raw = _canonical_graph(raw, syntax)
                elif name.endswith(".pt") and raw != b"<missing>":
                    raw = _tensors_text(raw)
                elif name.endswith(".gexf"):  # networkx writes the local date (documented)
                    raw = re.sub(rb'lastmodifieddate="[^"]*"', b'lastmodifieddate="<DATE>"', raw)
                outs[name] = normalise(raw, paths, "html" if name.endswith(".html") else "data",
                                       around)
            run.results[step.name] = (proc.returncode, normalise(stdout, paths, kind, around),
                                      normalise(proc.stderr, paths, "message", around), outs)
            if on_step:
                on_step(step.name)
    finally:
        for d in readonly:
            d.chmod(0o755)
    after = _snapshot(root)
    for rel, mode in after.items():
        if rel not in before:
            top = rel.split("/", 1)[0]
            if top in {lay[k].name for k in ("store", "out", "data")} or (
                    e.cwd == "store" and top == lay["store"].name):
                run.modes[_canon_rel(rel, lay)] = mode
            else:
                run.strays.append(_canon_rel(rel, lay))
    return run


def _read_output(path: Path) -> bytes:
    """A file's bytes; a folder's files' names and bytes (``kg export … csv`` writes one)."""
    if path.is_dir():
        return b"".join(b"== " + os.fsencode(p.relative_to(path)) + b"\n" + p.read_bytes()
                        for p in sorted(path.rglob("*")) if p.is_file())
    return path.read_bytes() if path.exists() else b"<missing>"


#: exports compared as graphs: rdflib's RDF/XML and JSON-LD writers order statements by
#: the blank nodes' labels (new at every load), as documented
_GRAPH_COMPARED = {".rdf": "xml", ".jsonld": "json-ld"}


def _canonical_graph(raw: bytes, syntax: str) -> bytes:
    """An RDF export as canonical sorted N-Triples (see :data:`_GRAPH_COMPARED`)."""
    from xml.sax import SAXException

    from rdflib import Graph
    from rdflib.compare import to_canonical_graph
    from rdflib.exceptions import ParserError

    try:
        g = Graph().parse(data=raw, format=syntax)
    except (SAXException, ParserError, ValueError) as exc:  # compared as bytes, error named
        return b"<not " + syntax.encode() + b": " + str(exc).encode() + b">\n" + raw
    lines = to_canonical_graph(g).serialize(format="nt", encoding="utf-8").splitlines()
    return b"\n".join(sorted(x for x in lines if x.strip())) + b"\n"


def _tensors_text(raw: bytes) -> bytes:
    """A PyG export (``torch.save``) as text: its tensors' values and its other fields (the
    zip's bytes follow the blank nodes' labels, which are new at every load)."""
    import io

    import torch

    def text(x: object) -> str:
        if hasattr(x, "to_dict"):
            x = x.to_dict()
        if isinstance(x, torch.Tensor):
            return f"tensor({x.dtype}, {list(x.shape)}, {x.tolist()})"
        if isinstance(x, dict):
            return "{" + ", ".join(f"{k!r}: {text(v)}" for k, v in x.items()) + "}"
        if isinstance(x, list | tuple):
            return "[" + ", ".join(text(v) for v in x) + "]"
        return repr(x)
    return text(torch.load(io.BytesIO(raw), weights_only=False)).encode()


def _canon_rel(rel: str, lay: Mapping[str, Path]) -> str:
    head, _, tail = rel.partition("/")
    for key in ("store", "data", "out", "home"):
        if head == lay[key].name:
            return f"<{key.upper()}>/{tail}"
    return rel


def _snapshot(root: Path) -> dict[str, int]:
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            found[os.path.relpath(p, root)] = os.lstat(p).st_mode
    return found


def _mode_findings(e: Environment, run: _Run) -> list[Finding]:
    """Created files must have the umask's permissions: not more open, not more closed."""
    found = []
    for rel, mode in sorted(run.modes.items()):
        # SQLite creates its files 0644 less the umask (documented: README "Environment")
        sqlite = re.search(r"\.sqlite(-wal|-shm|-journal)?$", rel) is not None
        want = (0o777 if stat.S_ISDIR(mode) else 0o644 if sqlite else 0o666) & ~e.umask
        got = stat.S_IMODE(mode)
        if got & 0o002 or got != want and not rel.endswith("-journal"):
            found.append(Finding(e.name, "permissions", rel, f"{want:04o} (umask {e.umask:04o})",
                                 f"{got:04o}"))
    return found


def _compare(e: Environment, base: _Run, got: _Run, report: EnvReport,
             kinds: Mapping[str, str]) -> None:
    for name, (rc0, out0, err0, files0) in base.results.items():
        rc, out, err, files = got.results[name]
        report.comparisons += 1
        if rc != rc0:
            report.findings.append(Finding(e.name, name, "exit code", f"{rc0} {err0[:300]!r}",
                                           f"{rc} {err[:300]!r}"))
            continue
        if out != out0 and not (e.width and kinds[name] in ("message", "table")):
            report.findings.append(Finding(e.name, name, "stdout", *_first_difference(out0, out)))
        if err != err0 and not e.width:
            report.findings.append(Finding(e.name, name, "stderr", *_first_difference(err0, err)))
        for f, b0 in files0.items():
            report.comparisons += 1
            if files[f] != b0:
                report.findings.append(Finding(e.name, name, f"file {f}",
                                               *_first_difference(b0, files[f])))
    for rel in sorted(set(base.modes) - set(got.modes)):
        report.findings.append(Finding(e.name, "files", f"{rel} not created", "created", "-"))
    for rel in sorted(set(got.modes) - set(base.modes)):
        report.findings.append(Finding(e.name, "files", f"{rel} created", "-", "created"))
    for rel in got.strays:
        report.findings.append(Finding(e.name, "files", f"stray file {rel}", "-", "created"))
    report.findings += _mode_findings(e, got)


def run(seed: int, envs: Sequence[Environment] = ENVIRONMENTS, full: bool = True,
        root: str | Path | None = None, keep: bool = False, only: str | None = None,
        log: Callable[[str], None] | None = None) -> EnvReport:
    """Run the workflow of ``seed`` in the baseline and in each of ``envs``; compare.

    Args:
        seed: draws the data (see :func:`workflow`).
        envs: the environments (default: all of :data:`ENVIRONMENTS`).
        full: also ``kg extract`` and the PyG exports (slow: spaCy, torch).
        root: where the runs' folders go (default: a temporary folder, removed after).
        keep: keep the runs' folders.
        only: run only the steps whose name matches this regular expression (the loads
            always run).
        log: called with a line per environment done.

    Returns:
        The :class:`EnvReport`; a finding per difference from the baseline.
    """
    started = time.monotonic()
    files, steps = workflow(seed, full)
    if only:
        steps = [s for s in steps if s.name.startswith("load") or re.search(only, s.name)]
    report = EnvReport(seed, steps=len(steps))
    tmp = Path(tempfile.mkdtemp(prefix="kg-envdiff-", dir=root))
    try:
        base_env = Environment("baseline")
        base = _run_env(base_env, files, steps, tmp / "baseline")
        for rc, _out, err, _files in base.results.values():
            if rc:
                raise RuntimeError(f"the baseline run failed: {err[:500]!r}")
        report.findings += _mode_findings(base_env, base)
        for rel in base.strays:
            report.findings.append(Finding("baseline", "files", f"stray file {rel}", "-", "created"))
        for e in envs:
            try:
                got = _run_env(e, files, steps, tmp / e.name)
            except RuntimeError as exc:
                report.skipped[e.name] = str(exc)
                continue
            report.environments.append(e.name)
            _compare(e, base, got, report, {s.name: s.kind for s in steps})
            if log:
                mine = [f for f in report.findings if f.env == e.name]
                log(f"{e.name}: {len(mine)} findings ({time.monotonic() - started:.0f} s)")
                for f in mine:
                    log(str(f))
    finally:
        if not keep:
            for p in tmp.rglob("*"):
                if p.is_dir():
                    p.chmod(0o755)
            shutil.rmtree(tmp, ignore_errors=True)
    report.seconds = time.monotonic() - started
    return report


# ---------------------------------------------------------------------------------------------
# the locale-dependent queries on PostgreSQL and against pyoxigraph

#: the workflow's queries whose answers a collation or a C locale could change
LOCALE_QUERIES = ("order", "order-desc", "case", "regex", "compare")


def _json_rows(raw: bytes) -> list[tuple]:
    """A SELECT's JSON results as rows of (type, value, lang, datatype) in the order given."""
    import json

    doc = json.loads(raw)
    names = doc["head"]["vars"]
    return [tuple((b[v]["type"].replace("typed-literal", "literal"), b[v]["value"],
                   b[v].get("xml:lang"), b[v].get("datatype")) if v in b else None
                  for v in names) for b in doc["results"]["bindings"]]


def _ox_rows(store: object, text: str) -> list[tuple]:
    import pyoxigraph as ox

    res = store.query(text)  # type: ignore[attr-defined]
    names = [v.value for v in res.variables]
    rows = []
    for sol in res:
        row = []
        for v in names:
            t = sol[v]
            if t is None:
                row.append(None)
            elif isinstance(t, ox.Literal):
                dt_ = t.datatype.value
                plain = dt_ in ("http://www.w3.org/2001/XMLSchema#string",
                                "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString")
                row.append(("literal", t.value, t.language, None if plain else dt_))
            else:
                row.append(("uri" if isinstance(t, ox.NamedNode) else "bnode", t.value, None, None))
        rows.append(tuple(row))
    return rows


def _locale_answers(db: str, files: Mapping[str, str], env: Mapping[str, str],
                    root: Path) -> dict[str, list[tuple] | str]:
    """``kg load`` then each of :data:`LOCALE_QUERIES` as JSON through the command line."""
    data = root / "data"
    _write_inputs(data, files, "plain")
    full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root),
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]), **BASELINE, **env}

    def kg(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-m", "kg_engine", *args, "--db", db], cwd=root,
                              env=full, capture_output=True, timeout=600, check=False)

    done = kg("load", str(data / "facts.ttl"))
    if done.returncode:
        raise RuntimeError(f"kg load into {db} failed: {done.stderr[-500:]!r}")
    answers: dict[str, list[tuple] | str] = {}
    for name in LOCALE_QUERIES:
        got = kg("query", "-f", str(data / f"q-{name}.rq"), "--format", "json")
        answers[name] = (_json_rows(got.stdout) if got.returncode == 0
                         else f"exit {got.returncode}: {got.stderr[-300:]!r}")
    return answers


def _row_difference(a: list[tuple] | str, b: list[tuple] | str) -> tuple[str, str]:
    """The first rows where two answers differ, as short text (values only)."""
    if isinstance(a, str) or isinstance(b, str) or len(a) != len(b):
        return str(a)[:400], str(b)[:400]

    def short(row: tuple) -> str:
        return " ".join("-" if t is None else t[1] for t in row)
    pairs = [(short(x), short(y)) for x, y in zip(a, b, strict=True) if x != y][:4]
    return " | ".join(p[0] for p in pairs), " | ".join(p[1] for p in pairs)


def locale_differential(seed: int, locale: str = "tr_TR.UTF-8", postgres: bool = True,
                        log: Callable[[str], None] | None = None) -> EnvReport:
    """The locale-dependent queries (code-point ORDER BY, LCASE/UCASE, REGEX's ``i`` flag,
    string comparison) on SQLite under ``C.UTF-8`` (the reference run), on SQLite under
    ``locale``, on a PostgreSQL database whose collation and ``LC_CTYPE`` are ``locale``
    (client under ``C.UTF-8`` and under ``locale``), and in pyoxigraph.

    A PostgreSQL answer, or the SQLite one under ``locale``, that differs from the reference
    run's is a finding (``env`` says which); so is every query where the reference run and
    pyoxigraph disagree (``env`` = ``pyoxigraph``; judge those against the spec).
    """
    import rdflib

    from kg_engine.testing.oxigraph import oxigraph_store

    started = time.monotonic()
    files, _ = workflow(seed, full=False)
    report = EnvReport(seed, steps=len(LOCALE_QUERIES))
    locpath = ensure_locale(locale)
    client = {"LANG": locale, "LC_ALL": locale, **({"LOCPATH": locpath} if locpath else {})}
    tmp = Path(tempfile.mkdtemp(prefix="kg-envdiff-locale-"))
    try:
        ref = _locale_answers("sqlite:///kg.sqlite", files, {}, tmp / "ref")
        runs = {f"sqlite-{locale}": lambda: _locale_answers("sqlite:///kg.sqlite", files, client,
                                                            tmp / "sqlite-loc")}
        pg = None
        if postgres:
            pg, url = _locale_database(locale, locpath)
            runs[f"postgres-{locale}-client-C.UTF-8"] = lambda: _locale_answers(
                url, files, {}, tmp / "pg-c")
            runs[f"postgres-{locale}-client-{locale}"] = lambda: _locale_answers(
                url.replace("kg_locale", "kg_locale2"), files, client, tmp / "pg-loc")
        try:
            for name, answer in runs.items():
                got = answer()
                report.environments.append(name)
                for q in LOCALE_QUERIES:
                    report.comparisons += 1
                    if got[q] != ref[q]:
                        report.findings.append(Finding(name, f"query-{q}", "answer",
                                                       *_row_difference(ref[q], got[q])))
                if log:
                    log(f"{name}: {sum(f.env == name for f in report.findings)} findings")
        finally:
            if pg is not None:
                pg.stop()
        g = rdflib.Graph().parse(data=files["facts.ttl"], format="turtle")
        store = oxigraph_store(g)
        report.environments.append("pyoxigraph")
        for q in LOCALE_QUERIES:
            report.comparisons += 1
            want = _ox_rows(store, files[f"q-{q}.rq"])
            if want != ref[q]:
                report.findings.append(Finding("pyoxigraph", f"query-{q}", "answer",
                                               *_row_difference(ref[q], want)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report.seconds = time.monotonic() - started
    return report


def _locale_database(locale: str, locpath: str | None) -> tuple[object, str]:
    """A throwaway PostgreSQL server with two databases whose collation and ``LC_CTYPE``
    are ``locale`` (``kg_locale``, ``kg_locale2``); returns the server and the first's URL."""
    import psycopg

    from kg_engine.testing.postgres import TemporaryPostgres

    saved = os.environ.get("LOCPATH")
    if locpath:  # the server (started from this environment) finds the generated locale
        os.environ["LOCPATH"] = locpath
    try:
        pg = TemporaryPostgres().start()
    finally:
        if saved is None:
            os.environ.pop("LOCPATH", None)
        else:
            os.environ["LOCPATH"] = saved
    try:
        with psycopg.connect(host=str(pg.root), port=pg.port, user=pg.user, dbname="postgres",
                             autocommit=True) as conn:
            for name in ("kg_locale", "kg_locale2"):
                conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
                             f"LC_COLLATE '{locale}' LC_CTYPE '{locale}'")
    except Exception as exc:
        pg.stop()
        raise RuntimeError(f"PostgreSQL has no locale {locale}: {exc}") from exc
    return pg, pg.url("kg_locale")
