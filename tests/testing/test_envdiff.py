"""The environment differential on a fixed seed: a few environments x a few steps agree."""

from __future__ import annotations

import stat

from kg_engine.testing import envdiff as ed

FEW = ("c-ascii", "tr", "tz-kiritimati", "umask-077", "odd-paths")


def test_a_few_environments_agree_with_the_baseline() -> None:
    envs = [e for e in ed.ENVIRONMENTS if e.name in FEW]
    rep = ed.run(3, envs, full=False,
                 only=r"query-(case|dates|regex)-csv|query-argv|query-now-json|export-nt|stats-json")
    assert rep.environments == list(FEW) or set(rep.skipped) <= {"tr"}, rep.skipped
    assert rep.steps == 9 and rep.comparisons >= 9 * 4
    assert not rep.findings, "\n".join(map(str, rep.findings[:5]))


def test_normalise_masks_the_run_and_nothing_else() -> None:
    paths = {b"/tmp/r/store": b"<STORE>"}
    normalise = ed.normalise
    assert normalise(b"into /tmp/r/store/kg.sqlite in 0.5 s", paths, "message") == \
        b"into <STORE>/kg.sqlite in <T>"
    # a time stamp of the run keeps its UTC offset; an old one is data
    import time

    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)).encode()
    assert normalise(stamp + b"+14:00", {}, "data", now) == b"<NOW+14:00>"
    assert normalise(b"2024-03-10T12:00:00Z", {}, "data", now) == b"2024-03-10T12:00:00Z"
    # data keeps its white space; a message's is folded
    assert normalise(b"a  b\n", {}, "data") == b"a  b\n"
    assert normalise(b"a  b\n", {}, "message") == b"a b"


def test_permissions_must_follow_the_umask() -> None:
    e = ed.Environment("x", umask=0o077)
    run = ed._Run(modes={"<OUT>/a.nt": stat.S_IFREG | 0o600, "<OUT>/b.nt": stat.S_IFREG | 0o644,
                         "<OUT>/d": stat.S_IFDIR | 0o700, "<STORE>/kg.sqlite": stat.S_IFREG | 0o666})
    found = {f.what for f in ed._mode_findings(e, run)}
    assert found == {"<OUT>/b.nt", "<STORE>/kg.sqlite"}
    shared = ed.Environment("y", umask=0o002)  # SQLite's own 0644: documented, not a finding
    run = ed._Run(modes={"<STORE>/kg.sqlite": stat.S_IFREG | 0o644,
                         "<OUT>/a.nt": stat.S_IFREG | 0o644})
    assert {f.what for f in ed._mode_findings(shared, run)} == {"<OUT>/a.nt"}
